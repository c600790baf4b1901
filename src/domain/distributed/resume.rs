//! Resumable maps: the outputs of a long [`Engine::map`] kept on disk block by
//! block, so that a run killed by the scheduler (wall-time limit, node
//! failure) or stopped by a panicking item starts again where it stopped.
//!
//! The items are cut into blocks of consecutive items. Rank 0 looks in the
//! checkpoint folder for blocks already done, sends the list of missing
//! blocks to every rank, and maps the missing blocks one after the other;
//! each finished block is written atomically (temporary name, then rename) as
//! `block-<first>-<end>.bin`. A block file is only reused when its
//! fingerprint (SHA-256 of the caller's key and of the block's encoded items)
//! matches, so changed items, a changed parameter set or another experiment
//! never reuse stale outputs; an unreadable block file is recomputed.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{decode, encode, Engine};
use crate::{Error, Result};

/// Where and how a resumable map keeps its finished blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Folder of the block files (created by rank 0 when missing).
    pub dir: PathBuf,
    /// Items per block (>= 1). Each block costs one round of messages and a
    /// wait for its slowest chunk, so a block should hold many chunks.
    pub block: usize,
    /// What the outputs depend on besides the items (model version, parameter
    /// set, experiment checksum): part of every block's fingerprint.
    pub key: String,
}

/// What a resumable map did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeStats {
    /// Blocks in the whole map.
    pub blocks: usize,
    /// Blocks read back from the checkpoint folder.
    pub reused: usize,
    /// Blocks computed (and written) by this call.
    pub computed: usize,
}

/// One block file's contents.
#[derive(Serialize, Deserialize)]
struct BlockFile<O> {
    fingerprint: [u8; 32],
    outputs: Vec<O>,
}

/// Rank 0's plan, sent to every rank: the blocks to compute, or why it cannot run.
#[derive(Serialize, Deserialize)]
struct Plan {
    todo: std::result::Result<Vec<(u64, u64)>, String>,
}

fn block_path(dir: &Path, start: usize, end: usize) -> PathBuf {
    dir.join(format!("block-{start:010}-{end:010}.bin"))
}

fn fingerprint<I: Serialize>(key: &str, items: &[I]) -> Result<[u8; 32]> {
    let mut h = Sha256::new();
    h.update((key.len() as u64).to_le_bytes());
    h.update(key.as_bytes());
    h.update(encode(items)?);
    Ok(h.finalize().into())
}

/// Write `bytes` to `path` through a temporary file in the same folder, then rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("bin.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Read a block file back when it exists, decodes and has the expected fingerprint.
fn read_block<O: DeserializeOwned>(
    path: &Path,
    fingerprint: &[u8; 32],
    len: usize,
) -> Option<Vec<O>> {
    let bytes = std::fs::read(path).ok()?;
    let file: BlockFile<O> = decode(&bytes).ok()?;
    (file.fingerprint == *fingerprint && file.outputs.len() == len).then_some(file.outputs)
}

/// [`Engine::map`] with a checkpoint: the same outputs, in item order on rank
/// 0 (`None` on the other ranks), but finished blocks are written to
/// `checkpoint.dir` and reused by a later call with the same items and key.
/// Every rank must call it (it is collective); only rank 0's `items` and
/// `checkpoint` are used.
///
/// When an item panics, the blocks finished before it stay on disk and the
/// error is returned; the next call recomputes only the missing blocks.
pub fn map_resumable<E, I, O>(
    engine: &E,
    items: &[I],
    chunk: usize,
    checkpoint: &Checkpoint,
    f: &(dyn Fn(&I) -> O + Sync),
) -> Result<(Option<Vec<O>>, ResumeStats)>
where
    E: Engine + ?Sized,
    I: Serialize + DeserializeOwned + Sync,
    O: Serialize + DeserializeOwned + Send,
{
    let root = engine.is_root();
    let block = checkpoint.block;
    // Rank 0: read what is done, plan the rest.
    let mut done: Vec<Option<Vec<O>>> = Vec::new();
    let mut prints: Vec<[u8; 32]> = Vec::new();
    let mut stats = ResumeStats::default();
    let plan = if root {
        let todo = (|| -> Result<Vec<(u64, u64)>> {
            if block == 0 {
                return Err(Error::Other(
                    "checkpoint: the block size must be at least 1".into(),
                ));
            }
            std::fs::create_dir_all(&checkpoint.dir).map_err(|e| Error::io(&checkpoint.dir, e))?;
            let mut todo = Vec::new();
            for start in (0..items.len()).step_by(block) {
                let end = (start + block).min(items.len());
                let print = fingerprint(&checkpoint.key, &items[start..end])?;
                let found = read_block(
                    &block_path(&checkpoint.dir, start, end),
                    &print,
                    end - start,
                );
                if found.is_none() {
                    todo.push((start as u64, end as u64));
                }
                done.push(found);
                prints.push(print);
            }
            Ok(todo)
        })();
        Some(Plan {
            todo: todo.map_err(|e| e.to_string()),
        })
    } else {
        None
    };
    let plan = engine.broadcast(plan)?;
    let todo = plan.todo.map_err(|m| {
        Error::Other(if root {
            m
        } else {
            format!("rank 0 could not prepare the checkpoint: {m}")
        })
    })?;
    stats.blocks = if root { done.len() } else { 0 };
    stats.reused = stats.blocks.saturating_sub(todo.len());

    for &(start, end) in &todo {
        let (start, end) = (start as usize, end as usize);
        let slice = if root { &items[start..end] } else { &[][..] };
        let outputs = engine.map_offset(slice, start, chunk, f)?;
        if let Some(outputs) = outputs {
            let b = start / block;
            let file = BlockFile {
                fingerprint: prints[b],
                outputs,
            };
            write_atomically(&block_path(&checkpoint.dir, start, end), &encode(&file)?)?;
            done[b] = Some(file.outputs);
        }
        stats.computed += 1;
    }
    if !root {
        return Ok((None, stats));
    }
    let mut out = Vec::with_capacity(items.len());
    for (b, part) in done.into_iter().enumerate() {
        match part {
            Some(part) => out.extend(part),
            None => {
                return Err(Error::Other(format!(
                    "checkpoint {}: block {b} is missing after the run",
                    checkpoint.dir.display()
                )))
            }
        }
    }
    Ok((Some(out), stats))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::super::LocalEngine;
    use super::*;

    fn cost(x: &u32) -> std::result::Result<f64, String> {
        if x % 11 == 3 {
            Err(format!("cell {x} failed"))
        } else {
            Ok(f64::from(*x).ln())
        }
    }

    #[test]
    fn resumes_from_finished_blocks_and_gives_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let engine = LocalEngine::new(Some(2)).unwrap();
        let items: Vec<u32> = (0..103).collect();
        let ck = Checkpoint {
            dir: dir.path().join("ck"),
            block: 10,
            key: "test v1".into(),
        };
        let calls = AtomicUsize::new(0);
        let f = |x: &u32| {
            calls.fetch_add(1, Ordering::SeqCst);
            cost(x)
        };
        let reference = encode(&items.iter().map(cost).collect::<Vec<_>>()).unwrap();

        let (first, s1) = map_resumable(&engine, &items, 3, &ck, &f).unwrap();
        assert_eq!(encode(&first.unwrap()).unwrap(), reference);
        assert_eq!((s1.blocks, s1.reused, s1.computed), (11, 0, 11));
        assert_eq!(calls.swap(0, Ordering::SeqCst), 103);

        // Everything is on disk: nothing is recomputed.
        let (again, s2) = map_resumable(&engine, &items, 3, &ck, &f).unwrap();
        assert_eq!(encode(&again.unwrap()).unwrap(), reference);
        assert_eq!((s2.reused, s2.computed), (11, 0));
        assert_eq!(calls.swap(0, Ordering::SeqCst), 0);

        // A lost block and a corrupt one are recomputed, and only they.
        std::fs::remove_file(block_path(&ck.dir, 20, 30)).unwrap();
        std::fs::write(block_path(&ck.dir, 100, 103), b"garbage").unwrap();
        let (third, s3) = map_resumable(&engine, &items, 3, &ck, &f).unwrap();
        assert_eq!(encode(&third.unwrap()).unwrap(), reference);
        assert_eq!((s3.reused, s3.computed), (9, 2));
        assert_eq!(calls.swap(0, Ordering::SeqCst), 13);

        // Another key (say, another parameter set) never reuses these outputs.
        let other = Checkpoint {
            key: "test v2".into(),
            ..ck.clone()
        };
        let (_, s4) = map_resumable(&engine, &items, 3, &other, &f).unwrap();
        assert_eq!(s4.computed, 11);
        assert_eq!(calls.swap(0, Ordering::SeqCst), 103);
    }

    #[test]
    fn a_panic_keeps_the_finished_blocks_for_the_next_call() {
        let dir = tempfile::tempdir().unwrap();
        let engine = LocalEngine::new(Some(1)).unwrap();
        let items: Vec<u32> = (0..40).collect();
        let ck = Checkpoint {
            dir: dir.path().to_path_buf(),
            block: 8,
            key: String::new(),
        };
        let crash = |x: &u32| {
            if *x == 27 {
                panic!("node lost");
            }
            cost(x)
        };
        let err = map_resumable(&engine, &items, 2, &ck, &crash).unwrap_err();
        assert!(err.to_string().contains("item 27"), "{err}");
        let calls = AtomicUsize::new(0);
        let f = |x: &u32| {
            calls.fetch_add(1, Ordering::SeqCst);
            cost(x)
        };
        let (out, stats) = map_resumable(&engine, &items, 2, &ck, &f).unwrap();
        assert_eq!((stats.reused, stats.computed), (3, 2));
        assert_eq!(calls.load(Ordering::SeqCst), 16);
        let reference = encode(&items.iter().map(cost).collect::<Vec<_>>()).unwrap();
        assert_eq!(encode(&out.unwrap()).unwrap(), reference);
    }

    #[test]
    fn a_zero_block_size_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let ck = Checkpoint {
            dir: dir.path().to_path_buf(),
            block: 0,
            key: String::new(),
        };
        let engine = LocalEngine::default();
        let err = map_resumable(&engine, &[1u8], 1, &ck, &|x: &u8| *x).unwrap_err();
        assert!(err.to_string().contains("block size"), "{err}");
    }
}
