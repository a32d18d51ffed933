//! Where the tools are. `ci/install-fixture-toolchains` puts them under
//! `<cache>/toolchains`; a tool found there wins over one on PATH.

use std::path::{Path, PathBuf};

use crate::process::first_line;

/// The preview1 adapter release matching the reference host's wasmtime.
pub const ADAPTER_FILE: &str = "wasi_snapshot_preview1.reactor-38.0.4.wasm";

#[derive(Debug, Clone)]
pub struct Env {
    /// `${WCC_CACHE:-$HOME/.cache/wasmcloud-conformance}`
    pub cache: PathBuf,
    /// The repository root (holds `fixtures/`).
    pub repo: PathBuf,
}

impl Env {
    pub fn toolchains(&self) -> PathBuf {
        self.cache.join("toolchains")
    }

    /// Scratch space for builds (cargo target dirs, Go caches, temporary outputs).
    pub fn scratch(&self) -> PathBuf {
        self.cache.join("build")
    }

    /// Finds `name` in the project's toolchain dirs (`rel_dirs` under `toolchains/`), then on PATH.
    pub fn find(&self, name: &str, rel_dirs: &[&str]) -> Option<PathBuf> {
        let tc = self.toolchains();
        rel_dirs
            .iter()
            .map(|d| tc.join(d).join(name))
            .find(|p| is_executable(p))
            .or_else(|| which(name))
    }

    /// wasm-tools: C and Go builds assemble components with it; every build is checked with it.
    pub fn wasm_tools(&self) -> Result<Tool, String> {
        let path = self
            .find("wasm-tools", &["py/bin", "cargo/bin"])
            .ok_or("wasm-tools not found (run ci/install-fixture-toolchains)")?;
        let version = first_line(&path, &["--version"]).map_err(|e| format!("wasm-tools: {e}"))?;
        Ok(Tool { path, version })
    }

    /// The preview1 reactor adapter for core modules built against wasi_snapshot_preview1.
    pub fn adapter(&self) -> Result<PathBuf, String> {
        if let Some(p) = std::env::var_os("WCC_WASI_ADAPTER") {
            return Ok(PathBuf::from(p));
        }
        let p = self.toolchains().join("adapters").join(ADAPTER_FILE);
        if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "preview1 adapter not found at {} (run ci/install-fixture-toolchains)",
                p.display()
            ))
        }
    }
}

/// A located tool and its version line.
#[derive(Debug, Clone)]
pub struct Tool {
    pub path: PathBuf,
    pub version: String,
}

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// sha256 of a file, for identities of data files that have no version (the adapter).
pub fn file_sha256(p: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    Ok(hex::encode(sha2::Sha256::digest(std::fs::read(p)?)))
}
