//! A lattice's scratch directory: a temporary folder for its logs, with the `shared` subfolder
//! that its hosts see too (fixtures are copied there).
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::error::HarnessError;

/// The subdirectory of a lattice's scratch directory that its hosts see too.
pub(crate) const SHARED_DIR: &str = "shared";

/// A new scratch directory named `<prefix>-…` under the system's temporary folder, with its
/// `shared` subfolder made. Removed when the returned [`TempDir`] drops.
pub(crate) fn create(prefix: &str) -> Result<(TempDir, PathBuf), HarnessError> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{prefix}-"))
        .tempdir()
        .map_err(HarnessError::io("create a lattice's scratch directory"))?;
    let shared = shared_of(dir.path());
    std::fs::create_dir(&shared)
        .map_err(HarnessError::io(format!("create {}", shared.display())))?;
    Ok((dir, shared))
}

/// The `shared` subfolder of the scratch directory `dir`.
pub(crate) fn shared_of(dir: &Path) -> PathBuf {
    dir.join(SHARED_DIR)
}

#[cfg(test)]
mod tests {
    #[test]
    fn creates_the_shared_folder_and_removes_all_on_drop() {
        let (dir, shared) = super::create("wcc-scratch-test").unwrap();
        assert!(shared.is_dir());
        assert_eq!(shared, super::shared_of(dir.path()));
        assert!(dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("wcc-scratch-test-"));
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists());
    }
}
