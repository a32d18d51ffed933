//! The content-addressed artifact store:
//! `<cache>/fixtures/<input-hash>/<name>-<lang>.<ext>` (`wasm` for components, `par.gz` for
//! providers), with a small sidecar (`<name>-<lang>.json`) holding its digest, size and how long
//! the build took.

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

    fn paths(&self, input_hash: &str, stem: &str, ext: &str) -> (PathBuf, PathBuf) {
        let dir = self.root.join(input_hash);
        (
            dir.join(format!("{stem}.{ext}")),
            dir.join(format!("{stem}.json")),
        )
    }

    /// The artifact stored for this input hash, if it is complete.
    pub fn lookup(&self, input_hash: &str, stem: &str, ext: &str) -> Option<Artifact> {
        let (wasm, meta) = self.paths(input_hash, stem, ext);
        let mut artifact: Artifact = serde_json::from_slice(&std::fs::read(meta).ok()?).ok()?;
        let len = std::fs::metadata(&wasm).ok()?.len();
        (len == artifact.bytes).then(|| {
            artifact.path = wasm;
            artifact
        })
    }

    /// Moves a freshly built artifact into the store (the sidecar is written last, so an
    /// interrupted store is never taken for a complete one).
    pub fn store(
        &self,
        input_hash: &str,
        stem: &str,
        ext: &str,
        built: &Path,
        build_seconds: f64,
    ) -> std::io::Result<Artifact> {
        let (wasm, meta) = self.paths(input_hash, stem, ext);
        let dir = wasm.parent().expect("artifact has a directory");
        std::fs::create_dir_all(dir)?;
        let bytes = std::fs::read(built)?;
        let artifact = Artifact {
            path: wasm.clone(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes: bytes.len() as u64,
            build_seconds: (build_seconds * 100.0).round() / 100.0,
        };
        let tmp = dir.join(format!(".{stem}.{ext}.tmp"));
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
        assert_eq!(cache.lookup("abc", "probe-rust", "wasm"), None);
        let built = dir.path().join("out.wasm");
        std::fs::write(&built, b"\0asm").unwrap();
        let stored = cache
            .store("abc", "probe-rust", "wasm", &built, 1.234)
            .unwrap();
        assert_eq!(stored.path, dir.path().join("fixtures/abc/probe-rust.wasm"));
        assert_eq!(stored.bytes, 4);
        assert_eq!(stored.build_seconds, 1.23);
        assert_eq!(stored.sha256, hex::encode(Sha256::digest(b"\0asm")));
        assert_eq!(cache.lookup("abc", "probe-rust", "wasm"), Some(stored));
        assert_eq!(cache.lookup("abd", "probe-rust", "wasm"), None);
        assert_eq!(cache.lookup("abc", "probe-rust", "par.gz"), None);
    }

    #[test]
    fn stores_providers_under_their_own_extension() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("fixtures"));
        let built = dir.path().join("out.par.gz");
        std::fs::write(&built, b"\x1f\x8bpar").unwrap();
        let stored = cache
            .store("h", "kv-memory-rust", "par.gz", &built, 2.0)
            .unwrap();
        assert_eq!(
            stored.path,
            dir.path().join("fixtures/h/kv-memory-rust.par.gz")
        );
        assert_eq!(cache.lookup("h", "kv-memory-rust", "par.gz"), Some(stored));
        assert_eq!(cache.lookup("h", "kv-memory-rust", "wasm"), None);
        let left: Vec<_> = std::fs::read_dir(dir.path().join("fixtures/h"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }

    #[test]
    fn a_truncated_artifact_is_not_a_hit() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let built = dir.path().join("out.wasm");
        std::fs::write(&built, b"\0asm\x01").unwrap();
        let stored = cache.store("h", "x-c", "wasm", &built, 0.0).unwrap();
        std::fs::write(&stored.path, b"\0as").unwrap();
        assert_eq!(cache.lookup("h", "x-c", "wasm"), None);
    }
}
