//! Run manifests: what a run was given and how it was started, written to the
//! output folder before the run so every product can be traced back.
//!
//! A manifest holds the resolved experiment as a JSON value, the seed, the
//! crate version, the command line, the start time (UTC, RFC 3339) and the
//! SHA-256 checksum and size of every input file.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::atomic::write_atomic;
use crate::{Error, Result};

/// The usual file name of a manifest in an output folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// One input file and its checksum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// The path as given to the run.
    pub path: PathBuf,
    /// Lower-case hexadecimal SHA-256 of the file's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The record of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// calimap's crate version.
    pub calimap_version: String,
    /// The command line, program name first.
    pub command_line: Vec<String>,
    /// When the run started (UTC, RFC 3339).
    pub start_time: String,
    /// The seed of every stochastic step, if the run has one.
    pub seed: Option<u64>,
    /// The resolved experiment.
    pub config: serde_json::Value,
    /// Input files with checksums, in the order they were added.
    pub inputs: Vec<InputFile>,
}

/// SHA-256 of a file, streamed, as lower-case hexadecimal.
pub fn sha256_file(path: impl AsRef<Path>) -> Result<(String, u64)> {
    let path = path.as_ref();
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = BufReader::with_capacity(1 << 16, f);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex(&h.finalize()), total))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl RunManifest {
    /// A manifest for a run starting now, with this process's command line.
    pub fn new(config: serde_json::Value, seed: Option<u64>) -> Self {
        Self {
            calimap_version: env!("CARGO_PKG_VERSION").to_string(),
            // Lossy, so that a non-UTF-8 argument cannot make this panic.
            command_line: std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            start_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            seed,
            config,
            inputs: Vec::new(),
        }
    }

    /// A manifest whose resolved experiment is any serialisable value.
    pub fn from_config<C: Serialize>(config: &C, seed: Option<u64>) -> Result<Self> {
        let v = serde_json::to_value(config)
            .map_err(|e| Error::Other(format!("manifest: cannot serialise the config: {e}")))?;
        Ok(Self::new(v, seed))
    }

    /// Checksum `path` and record it as an input (a file already listed is not added twice).
    pub fn add_input(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if self.inputs.iter().any(|i| i.path == path) {
            return Ok(());
        }
        let (sha256, bytes) = sha256_file(path)?;
        self.inputs.push(InputFile {
            path: path.to_path_buf(),
            sha256,
            bytes,
        });
        Ok(())
    }

    /// Write as pretty JSON to `path`, atomically.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Other(format!("manifest: {e}")))?;
        write_atomic(path, |w| {
            w.write_all(text.as_bytes())
                .and_then(|_| w.write_all(b"\n"))
                .map_err(|e| Error::io(path, e))
        })
    }

    /// Write as [`MANIFEST_FILE`] in folder `dir`; returns the file's path.
    pub fn write_to_dir(&self, dir: impl AsRef<Path>) -> Result<PathBuf> {
        let p = dir.as_ref().join(MANIFEST_FILE);
        self.write(&p)?;
        Ok(p)
    }

    /// Read a manifest written by [`RunManifest::write`].
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::parse(path, Some(e.line()), e.to_string()))
    }

    /// The inputs whose current checksum differs from the recorded one (or
    /// that can no longer be read): a quick check that a rerun sees the same data.
    pub fn changed_inputs(&self) -> Vec<PathBuf> {
        self.inputs
            .iter()
            .filter(|i| {
                sha256_file(&i.path)
                    .map(|(h, _)| h != i.sha256)
                    .unwrap_or(true)
            })
            .map(|i| i.path.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_fips_180_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_file(&p).unwrap(),
            (
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string(),
                3
            )
        );
        let e = dir.path().join("empty");
        std::fs::write(&e, b"").unwrap();
        assert_eq!(
            sha256_file(&e).unwrap().0,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Longer than one read buffer: one million 'a' (FIPS 180-2, B.3).
        let m = dir.path().join("million");
        std::fs::write(&m, vec![b'a'; 1_000_000]).unwrap();
        assert_eq!(
            sha256_file(&m).unwrap().0,
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn manifest_round_trip_and_change_detection() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("forcing.txt");
        std::fs::write(&input, b"abc").unwrap();
        let cfg = serde_json::json!({"name": "demo", "years": [2009, 2010]});
        let mut m = RunManifest::new(cfg.clone(), Some(42));
        m.add_input(&input).unwrap();
        m.add_input(&input).unwrap();
        assert_eq!(m.inputs.len(), 1);
        assert!(m.add_input(dir.path().join("missing")).is_err());
        let p = m.write_to_dir(dir.path()).unwrap();
        let back = RunManifest::read(&p).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.config, cfg);
        assert_eq!(back.seed, Some(42));
        assert_eq!(back.calimap_version, env!("CARGO_PKG_VERSION"));
        assert!(chrono::DateTime::parse_from_rfc3339(&back.start_time).is_ok());
        assert!(back.changed_inputs().is_empty());
        std::fs::write(&input, b"abd").unwrap();
        assert_eq!(back.changed_inputs(), vec![input.clone()]);
        std::fs::write(&p, b"{ not json").unwrap();
        let e = RunManifest::read(&p).unwrap_err().to_string();
        assert!(e.contains("manifest.json"), "{e}");
    }
}
