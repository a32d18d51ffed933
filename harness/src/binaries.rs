//! Which binaries make up the lattice under test, and checks that they are usable.
//!
//! Defaults are the links `ci/setup` writes into `<repo>/.wcc/bin`; a vendor points the harness at
//! its own build with `WCC_NATS_SERVER_BIN`, `WCC_HOST_BIN` and `WCC_WADM_BIN`.
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::HarnessError;

/// Environment variable naming the nats-server binary.
pub const NATS_SERVER_ENV: &str = "WCC_NATS_SERVER_BIN";
/// Environment variable naming the wasmCloud host binary.
pub const HOST_ENV: &str = "WCC_HOST_BIN";
/// Environment variable naming the wadm binary.
pub const WADM_ENV: &str = "WCC_WADM_BIN";

/// The three binaries of a lattice.
#[derive(Clone, Debug)]
pub struct Binaries {
    /// `nats-server` (with JetStream).
    pub nats_server: PathBuf,
    /// A wasmCloud host honouring the upstream `wasmcloud` CLI/env contract.
    pub host: PathBuf,
    /// wadm honouring the upstream `wadm` CLI/env contract.
    pub wadm: PathBuf,
}

/// The directory `ci/setup` links the binaries into.
pub fn default_bin_dir() -> PathBuf {
    repo_root().join(".wcc").join("bin")
}

/// The root of this repository (where the harness was compiled from).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

impl Binaries {
    /// Resolves the binaries from the environment or the defaults, checking each is executable.
    pub fn from_env() -> Result<Self, HarnessError> {
        let pick = |env: &str, default: &str| {
            std::env::var_os(env)
                .map(PathBuf::from)
                .unwrap_or_else(|| default_bin_dir().join(default))
        };
        let bins = Self {
            nats_server: pick(NATS_SERVER_ENV, "nats-server"),
            host: pick(HOST_ENV, "wasmcloud"),
            wadm: pick(WADM_ENV, "wadm"),
        };
        check_executable("nats-server", &bins.nats_server, NATS_SERVER_ENV)?;
        check_executable("wasmCloud host", &bins.host, HOST_ENV)?;
        check_executable("wadm", &bins.wadm, WADM_ENV)?;
        Ok(bins)
    }
}

/// Fails with a message that says what is wrong and how to fix it.
pub fn check_executable(what: &'static str, path: &Path, env: &str) -> Result<(), HarnessError> {
    let fix = format!(
        "run `bash ci/setup` to install the reference build, or set {env} to a working binary"
    );
    let unusable = |problem: String| HarnessError::BinaryUnusable {
        what,
        path: path.to_path_buf(),
        problem,
        fix: fix.clone(),
    };
    let meta = std::fs::metadata(path).map_err(|e| unusable(format!("cannot stat it ({e})")))?;
    if !meta.is_file() {
        return Err(unusable("it is not a regular file".into()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(unusable("it is not executable (no x bit)".into()));
    }
    Ok(())
}

/// Runs `<bin> --version` (bounded) and returns its first line of output.
pub async fn version_of(bin: &Path) -> Result<String, String> {
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new(bin)
            .arg("--version")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| format!("`{} --version` did not finish within 10 s", bin.display()))?
    .map_err(|e| format!("`{} --version` could not run: {e}", bin.display()))?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    let line = String::from_utf8_lossy(&text)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    if !out.status.success() || line.is_empty() {
        return Err(format!(
            "`{} --version` failed ({}): {line}",
            bin.display(),
            out.status
        ));
    }
    Ok(line)
}

/// SHA-256 of a file, hex encoded (names exactly which build was tested).
pub fn sha256_of(path: &Path) -> Result<String, HarnessError> {
    use sha2::Digest as _;
    let bytes =
        std::fs::read(path).map_err(HarnessError::io(format!("read {}", path.display())))?;
    Ok(hex::encode(sha2::Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_names_the_fix() {
        let err = check_executable("wadm", Path::new("/nonexistent/wadm"), WADM_ENV).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("/nonexistent/wadm")
                && msg.contains("WCC_WADM_BIN")
                && msg.contains("ci/setup"),
            "{msg}"
        );
    }

    #[test]
    fn non_executable_file_is_rejected() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let err = check_executable("wadm", file.path(), WADM_ENV).unwrap_err();
        assert!(err.to_string().contains("not executable"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = check_executable("wadm", dir.path(), WADM_ENV).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[tokio::test]
    async fn version_of_a_failing_binary_is_an_error() {
        assert!(version_of(Path::new("/bin/false")).await.is_err());
        assert!(version_of(Path::new("/nonexistent")).await.is_err());
    }
}
