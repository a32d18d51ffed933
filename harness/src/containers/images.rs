//! Which local image runs each binary under test. `ci/images/build` builds them (no registry) and
//! records, per binary (by real path), its size, mtime and image in `.wcc/images.json`; when a
//! binary no longer matches its record the harness runs the build again (once per process).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::binaries::{repo_root, Binaries, HOST_ENV, NATS_SERVER_ENV, WADM_ENV};
use crate::error::HarnessError;

/// The images of one lattice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Images {
    /// Runs `nats-server`.
    pub nats_server: String,
    /// Runs the wasmCloud host.
    pub host: String,
    /// Runs wadm.
    pub wadm: String,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    schema: u32,
    binaries: BTreeMap<PathBuf, Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    size: u64,
    mtime: i64,
    image: String,
}

fn manifest_path() -> PathBuf {
    repo_root().join(".wcc").join("images.json")
}

/// The image recorded for `binary`, if the record still matches the file.
fn lookup(manifest: &Manifest, binary: &Path) -> Result<String, String> {
    let real = std::fs::canonicalize(binary)
        .map_err(|e| format!("{} cannot be resolved ({e})", binary.display()))?;
    let meta =
        std::fs::metadata(&real).map_err(|e| format!("{} cannot be read ({e})", real.display()))?;
    let entry = manifest
        .binaries
        .get(&real)
        .ok_or_else(|| format!("no image was built from {}", real.display()))?;
    let mtime = std::os::unix::fs::MetadataExt::mtime(&meta);
    if entry.size != meta.len() || entry.mtime != mtime {
        return Err(format!(
            "{} changed since its image {} was built",
            real.display(),
            entry.image
        ));
    }
    Ok(entry.image.clone())
}

fn read(binaries: &Binaries) -> Result<Images, String> {
    if let Some(other) = &binaries.mixed_host {
        return Err(format!(
            "a mixed-version lattice ({} = {}) runs on the processes backend only: the lattice images hold one host binary",
            crate::binaries::MIXED_HOST_ENV,
            other.display()
        ));
    }
    let path = manifest_path();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{} cannot be read ({e})", path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| format!("{} is malformed ({e})", path.display()))?;
    if manifest.schema != 1 {
        return Err(format!(
            "{} has unknown schema {}",
            path.display(),
            manifest.schema
        ));
    }
    Ok(Images {
        nats_server: lookup(&manifest, &binaries.nats_server)?,
        host: lookup(&manifest, &binaries.host)?,
        wadm: lookup(&manifest, &binaries.wadm)?,
    })
}

/// The images for `binaries` (building them first when they are missing or stale), with the
/// vendor images of `overrides` (`(variable, image)`, the variables being `WCC_HOST_IMAGE`,
/// `WCC_WADM_IMAGE`, `WCC_NATS_IMAGE`) in their place.
pub(crate) async fn resolve(
    binaries: &Binaries,
    overrides: &[(&'static str, String)],
    docker: &testcontainers::bollard::Docker,
) -> Result<Images, HarnessError> {
    for (var, image) in overrides {
        require_local(docker, var, image).await?;
    }
    let pick = |var: &str| {
        overrides
            .iter()
            .find(|(v, _)| *v == var)
            .map(|(_, i)| i.clone())
    };
    let (host, wadm, nats) = (
        pick(super::HOST_IMAGE_ENV),
        pick(super::WADM_IMAGE_ENV),
        pick(super::NATS_IMAGE_ENV),
    );
    let mut images = match (&host, &wadm, &nats) {
        (Some(_), Some(_), Some(_)) => Images::default(),
        _ => from_binaries(binaries).await?,
    };
    if let Some(i) = host {
        images.host = i;
    }
    if let Some(i) = wadm {
        images.wadm = i;
    }
    if let Some(i) = nats {
        images.nats_server = i;
    }
    Ok(images)
}

/// Fails unless `image` is on the local engine (nothing is pulled: there is no registry here).
async fn require_local(
    docker: &testcontainers::bollard::Docker,
    var: &str,
    image: &str,
) -> Result<(), HarnessError> {
    match docker.inspect_image(image).await {
        Ok(_) => Ok(()),
        Err(e) => Err(HarnessError::Config(format!(
            "{var}={image}: no such image on the local Docker engine ({e}); load or build it first \
             (`docker load -i image.tar` or `docker build -t {image} …`), nothing is pulled"
        ))),
    }
}

/// The images built from `binaries`, building them first when they are missing or stale.
pub(crate) async fn from_binaries(binaries: &Binaries) -> Result<Images, HarnessError> {
    // One build per process at a time; the script itself locks against other processes.
    static BUILD: Mutex<()> = Mutex::const_new(());
    if let Ok(images) = read(binaries) {
        return Ok(images);
    }
    let _guard = BUILD.lock().await;
    let why = match read(binaries) {
        Ok(images) => return Ok(images),
        Err(why) => why,
    };
    let script = repo_root().join("ci").join("images").join("build");
    eprintln!(
        "[wcc] building lattice images ({why}): bash {}",
        script.display()
    );
    let out = tokio::process::Command::new("bash")
        .arg(&script)
        .env(NATS_SERVER_ENV, &binaries.nats_server)
        .env(HOST_ENV, &binaries.host)
        .env(WADM_ENV, &binaries.wadm)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(HarnessError::io(format!("run {}", script.display())))?;
    if !out.status.success() {
        let tail = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = tail
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(HarnessError::Config(format!(
            "build the lattice images ({why}): {} exited with {}\n{}",
            script.display(),
            out.status,
            tail.join("\n")
        )));
    }
    read(binaries).map_err(|e| {
        HarnessError::Config(format!("lattice images still unusable after a build: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_and_unknown_binaries_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("wadm");
        std::fs::write(&bin, b"v1").unwrap();
        let real = std::fs::canonicalize(&bin).unwrap();
        let meta = std::fs::metadata(&real).unwrap();
        let entry = |size| Entry {
            size,
            mtime: std::os::unix::fs::MetadataExt::mtime(&meta),
            image: "wcc/wadm:abc".into(),
        };
        let manifest = Manifest {
            schema: 1,
            binaries: BTreeMap::from([(real.clone(), entry(2))]),
        };
        assert_eq!(lookup(&manifest, &bin).unwrap(), "wcc/wadm:abc");
        let manifest = Manifest {
            schema: 1,
            binaries: BTreeMap::from([(real, entry(3))]),
        };
        assert!(lookup(&manifest, &bin)
            .unwrap_err()
            .contains("changed since"));
        let manifest = Manifest {
            schema: 1,
            binaries: BTreeMap::new(),
        };
        assert!(lookup(&manifest, &bin)
            .unwrap_err()
            .contains("no image was built"));
    }
}
