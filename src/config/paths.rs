//! Path resolution for experiment files.
//!
//! Relative paths in an experiment resolve against the folder of the file
//! that names them. A path that starts with `@shared/` points into the shared
//! real-data folder: `$CALIMAP_SHARED_DATA` when set, else the first of
//! `<experiment folder>/../../shared/data` and `<current folder>/../shared/data`
//! that exists.

use std::path::{Path, PathBuf};

/// Environment variable that names the shared real-data folder.
pub const SHARED_DATA_ENV: &str = "CALIMAP_SHARED_DATA";

/// The shared real-data folder, if it can be found from `near` (a folder) or the
/// environment.
pub fn shared_data_dir(near: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(SHARED_DATA_ENV) {
        let p = PathBuf::from(dir);
        return p.is_dir().then_some(p);
    }
    let mut candidates = Vec::new();
    if let Some(near) = near {
        candidates.push(near.join("../../shared/data"));
        candidates.push(near.join("../shared/data"));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join("../shared/data"));
    }
    candidates.into_iter().find(|p| p.is_dir())
}

/// Resolve `raw` as written in the file at `base_file`.
pub fn resolve(base_file: &Path, raw: &str) -> Result<PathBuf, String> {
    let base_dir = base_file.parent().unwrap_or(Path::new("."));
    if let Some(rest) = raw.strip_prefix("@shared/") {
        let dir = shared_data_dir(Some(base_dir)).ok_or_else(|| {
            format!(
                "`{raw}` refers to the shared data folder, which was not found: set {SHARED_DATA_ENV} or place it at ../shared/data"
            )
        })?;
        return Ok(dir.join(rest));
    }
    let p = Path::new(raw);
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    })
}
