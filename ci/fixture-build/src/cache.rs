//! The content-addressed artifact store:
//! `<cache>/fixtures/<input-hash>/<name>-<lang>.wasm`, with a small sidecar
//! (`<name>-<lang>.json`) holding its digest, size and how long the build took.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    #[serde(skip)]
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub build_seconds: f64,
}

pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    fn paths(&self, input_hash: &str, stem: &str) -> (PathBuf, PathBuf) {
        let dir = self.root.join(input_hash);
        (
            dir.join(format!("{stem}.wasm")),
            dir.join(format!("{stem}.json")),
        )
    }

    /// The artifact stored for this input hash, if it is complete.
    pub fn lookup(&self, input_hash: &str, stem: &str) -> Option<Artifact> {
        let (wasm, meta) = self.paths(input_hash, stem);
        let mut artifact: Artifact = serde_json::from_slice(&std::fs::read(meta).ok()?).ok()?;
        let len = std::fs::metadata(&wasm).ok()?.len();
        (len == artifact.bytes).then(|| {
            artifact.path = wasm;
            artifact
        })
    }

    /// Moves a freshly built component into the store (the sidecar is written last, so an
    /// interrupted store is never taken for a complete one).
    pub fn store(
        &self,
        input_hash: &str,
        stem: &str,
        built: &Path,
        build_seconds: f64,
    ) -> std::io::Result<Artifact> {
        let (wasm, meta) = self.paths(input_hash, stem);
        let dir = wasm.parent().expect("artifact has a directory");
        std::fs::create_dir_all(dir)?;
        let bytes = std::fs::read(built)?;
        let artifact = Artifact {
            path: wasm.clone(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes: bytes.len() as u64,
            build_seconds: (build_seconds * 100.0).round() / 100.0,
        };
        let tmp = dir.join(format!(".{stem}.wasm.tmp"));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &wasm)?;
        let tmp = dir.join(format!(".{stem}.json.tmp"));
        std::fs::write(
            &tmp,
            serde_json::to_vec(&artifact).expect("sidecar serializes"),
        )?;
        std::fs::rename(&tmp, &meta)?;
        Ok(artifact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_finds_by_input_hash() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("fixtures"));
        assert_eq!(cache.lookup("abc", "probe-rust"), None);
        let built = dir.path().join("out.wasm");
        std::fs::write(&built, b"\0asm").unwrap();
        let stored = cache.store("abc", "probe-rust", &built, 1.234).unwrap();
        assert_eq!(stored.path, dir.path().join("fixtures/abc/probe-rust.wasm"));
        assert_eq!(stored.bytes, 4);
        assert_eq!(stored.build_seconds, 1.23);
        assert_eq!(stored.sha256, hex::encode(Sha256::digest(b"\0asm")));
        assert_eq!(cache.lookup("abc", "probe-rust"), Some(stored));
        assert_eq!(cache.lookup("abd", "probe-rust"), None);
    }

    #[test]
    fn a_truncated_artifact_is_not_a_hit() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let built = dir.path().join("out.wasm");
        std::fs::write(&built, b"\0asm\x01").unwrap();
        let stored = cache.store("h", "x-c", &built, 0.0).unwrap();
        std::fs::write(&stored.path, b"\0as").unwrap();
        assert_eq!(cache.lookup("h", "x-c"), None);
    }
}
