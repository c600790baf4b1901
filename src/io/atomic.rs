//! Atomic file output: write to a temporary name in the destination folder,
//! flush it to disk, then rename it over the destination.
//!
//! A reader therefore sees either the old file or the complete new one, never
//! a half-written file, even if the process is killed mid-write. The
//! temporary file lives in the same folder so the rename stays on one file
//! system (where `rename` is atomic on POSIX).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary path beside a destination, removed on drop unless committed.
///
/// For writers that must create the file themselves by path (for example the
/// netCDF library): create the file at [`AtomicPath::temp`], close it, then
/// call [`AtomicPath::commit`].
#[derive(Debug)]
pub struct AtomicPath {
    temp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl AtomicPath {
    /// Reserve a temporary name beside `dest` (the folder must exist).
    pub fn new(dest: impl AsRef<Path>) -> Result<Self> {
        let dest = dest.as_ref().to_path_buf();
        let name = dest
            .file_name()
            .ok_or_else(|| {
                Error::io(
                    &dest,
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "output path has no file name",
                    ),
                )
            })?
            .to_string_lossy()
            .into_owned();
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(Error::io(
                &dest,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("output folder {} does not exist", dir.display()),
                ),
            ));
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.tmp.{}.{n}", std::process::id()));
        Ok(Self {
            temp,
            dest,
            committed: false,
        })
    }

    /// The temporary path to write to.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flush the temporary file to disk and rename it to the destination.
    pub fn commit(mut self) -> Result<()> {
        if let Ok(f) = File::open(&self.temp) {
            f.sync_all().map_err(|e| Error::io(&self.temp, e))?;
        }
        std::fs::rename(&self.temp, &self.dest).map_err(|e| Error::io(&self.dest, e))?;
        self.committed = true;
        if let Some(dir) = self.dest.parent() {
            // Persist the rename itself; not every platform can open a folder.
            if let Ok(d) = File::open(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            }) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for AtomicPath {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Write `dest` atomically through a buffered writer given to `fill`.
///
/// If `fill` fails, the destination is left untouched and the temporary file
/// is removed.
pub fn write_atomic<F>(dest: impl AsRef<Path>, fill: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<()>,
{
    let ap = AtomicPath::new(dest)?;
    {
        let file = File::create(ap.temp()).map_err(|e| Error::io(ap.temp(), e))?;
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        w.flush().map_err(|e| Error::io(ap.dest(), e))?;
    }
    ap.commit()
}

/// Write `bytes` to `dest` atomically.
pub fn write_bytes_atomic(dest: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let dest = dest.as_ref();
    write_atomic(dest, |w| w.write_all(bytes).map_err(|e| Error::io(dest, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_bytes_atomic(&p, b"first").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        write_bytes_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        // Only the destination is left in the folder.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn failed_write_leaves_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.txt");
        write_bytes_atomic(&p, b"old").unwrap();
        let r = write_atomic(&p, |w| {
            w.write_all(b"partial").unwrap();
            Err(Error::Other("simulated failure".into()))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_folder_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope").join("c.txt");
        let e = write_bytes_atomic(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
