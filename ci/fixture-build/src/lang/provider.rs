//! Rust capability providers: members of the cargo workspace in `fixtures/providers`, built for
//! the machine's own target and packed by the workspace's `par-pack` into a provider archive
//! (`.par.gz`: `claims.jwt` signed with freshly generated nkeys, one `<arch>-<os>.bin`). A
//! provider with `binary` is not built here: `ci/setup` builds it elsewhere (with the reference
//! launchers) and links it into `.wcc/bin`, and it is packed from there as it is.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::process::{first_line, Tool};
use crate::spec::Fixture;
use crate::toolchain::Env;

/// The workspace package that packs a binary into a provider archive.
pub const PACKER: &str = "par-pack";
/// A provider archive must stay well under this (OCI registries and `file://` loads choke well
/// before; the fixtures are about 5 MB).
pub const MAX_ARCHIVE_BYTES: u64 = 100 * 1024 * 1024;
/// Where `ci/setup` links the binaries it builds, relative to the repository: a provider's
/// `binary` is looked up here.
pub const PREBUILT_DIR: &str = ".wcc/bin";

pub struct RustProvider {
    cargo: PathBuf,
    identity: String,
    target_dir: PathBuf,
    prebuilt_dir: PathBuf,
}

pub fn locate(env: &Env) -> Result<RustProvider, String> {
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .or_else(|| crate::toolchain::which("cargo"))
        .ok_or("cargo not found")?;
    let rustc = crate::toolchain::which("rustc").ok_or("rustc not found")?;
    let workspace = env.repo.join("fixtures/providers");
    let version = Tool::new(&rustc)
        .arg("-vV")
        .dir(&workspace)
        .run()
        .map_err(|e| e.to_string())?;
    let cargo_version = first_line(&cargo, &["--version"]).map_err(|e| e.to_string())?;
    Ok(RustProvider {
        cargo,
        identity: format!("{}{cargo_version}", version.replace('\n', "; ")),
        target_dir: env.scratch().join("provider-target"),
        prebuilt_dir: env.repo.join(PREBUILT_DIR),
    })
}

impl RustProvider {
    /// The prebuilt binary a fixture names with `binary`, if it names one.
    fn prebuilt(&self, fixture: &Fixture) -> Option<PathBuf> {
        fixture
            .entry
            .binary
            .as_deref()
            .map(|name| self.prebuilt_dir.join(name))
    }
}

/// Why `binary` cannot be packed, if it cannot (a missing one is ci/setup's to build).
fn check_prebuilt(binary: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        binary.is_file(),
        "the prebuilt provider binary {} does not exist: ci/setup builds it with the reference \
         launchers and links it there (run bash ci/setup)",
        binary.display()
    );
    Ok(())
}

impl super::Toolchain for RustProvider {
    fn identity(&self) -> String {
        self.identity.clone()
    }

    fn recipe(&self) -> String {
        // A prebuilt binary is packed in place of <package binary>; the binary is an input of
        // such a fixture (shared_inputs), so the recipe of the others stays as it was.
        format!(
            "cargo build --release --locked --workspace; \
             {PACKER} --name <name> --binary <package binary> --out <out>.par.gz"
        )
    }

    fn shared_inputs(&self, fixture: &Fixture) -> Vec<PathBuf> {
        let ws = workspace_of(fixture);
        let mut inputs = shared_inputs(&ws, &fixture.sources).unwrap_or_else(|e| {
            // The build fails on the same problem with a better message; hash what is certain.
            eprintln!("fixture-build: {}: {e:#}", fixture.label());
            vec![ws.join("Cargo.toml"), ws.join("Cargo.lock")]
        });
        // Its content, through ci/setup's link. A missing one is left out (nothing cached can
        // match a hash without it): the build then fails, saying how to get it.
        if let Some(binary) = self.prebuilt(fixture).filter(|b| b.is_file()) {
            inputs.push(binary);
        }
        inputs
    }

    fn build(&self, fixture: &Fixture, _work: &Path, out: &Path) -> anyhow::Result<()> {
        let prebuilt = self.prebuilt(fixture);
        if let Some(binary) = &prebuilt {
            check_prebuilt(binary)?;
        }
        let ws = workspace_of(fixture);
        // The whole workspace, always: cargo unifies features over what one build selects, so a
        // build of fewer packages would compile much of the shared tree again (ci/setup-load
        // builds the HTTP server provider with the same command, a no-op after this one).
        let tool = Tool::new(&self.cargo)
            .args(["build", "--release", "--locked", "--workspace"])
            .dir(&ws)
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .without_cargo_run_env();
        tool.run()?;
        let release = self.target_dir.join("release");
        let binary = match prebuilt {
            Some(binary) => binary,
            None => release.join(package_name(&fixture.sources)?),
        };
        Tool::new(release.join(PACKER))
            .arg("--name")
            .arg(fixture.name())
            .arg("--binary")
            .arg(&binary)
            .arg("--out")
            .arg(out)
            .run()?;
        check_archive_size(out)
    }
}

fn check_archive_size(archive: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::metadata(archive)
        .with_context(|| format!("{} was not written", archive.display()))?
        .len();
    anyhow::ensure!(
        bytes < MAX_ARCHIVE_BYTES,
        "{} is {bytes} bytes, over the {MAX_ARCHIVE_BYTES}-byte limit",
        archive.display()
    );
    Ok(())
}

/// The cargo workspace holding a provider: the parent of its sources directory.
fn workspace_of(fixture: &Fixture) -> PathBuf {
    fixture
        .sources
        .parent()
        .unwrap_or(&fixture.sources)
        .to_path_buf()
}

fn package_name(sources: &Path) -> anyhow::Result<String> {
    let manifest = read_toml(&sources.join("Cargo.toml"))?;
    manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .with_context(|| format!("{} has no [package] name", sources.display()))
}

fn read_toml(path: &Path) -> anyhow::Result<toml::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parse {}", path.display()))
}

/// What a provider's build reads besides its own sources: the workspace's manifest, lock file and
/// cargo configuration, every crate of the workspace it depends on by path (transitively), and
/// the packer. Sibling providers are not inputs, so changing one does not rebuild the other.
pub fn shared_inputs(ws: &Path, sources: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let root = read_toml(&ws.join("Cargo.toml"))?;
    let workspace_paths = |name: &str| -> Option<PathBuf> {
        root.get("workspace")?
            .get("dependencies")?
            .get(name)?
            .get("path")?
            .as_str()
            .map(|p| ws.join(p))
    };
    let mut crates = BTreeSet::new();
    let mut todo = vec![sources.to_path_buf(), ws.join(PACKER)];
    while let Some(dir) = todo.pop() {
        let manifest = read_toml(&dir.join("Cargo.toml"))?;
        for table in ["dependencies", "build-dependencies", "dev-dependencies"] {
            let Some(deps) = manifest.get(table).and_then(|d| d.as_table()) else {
                continue;
            };
            for (name, spec) in deps {
                let name = spec.get("package").and_then(|p| p.as_str()).unwrap_or(name);
                let path = match spec.get("path").and_then(|p| p.as_str()) {
                    Some(p) => Some(dir.join(p)),
                    None if spec.get("workspace").and_then(|w| w.as_bool()) == Some(true) => {
                        workspace_paths(name)
                    }
                    None => None,
                };
                if let Some(path) = path {
                    let path = normalize(&path);
                    if path != normalize(sources) && crates.insert(path.clone()) {
                        todo.push(path);
                    }
                }
            }
        }
        if dir != sources {
            crates.insert(normalize(&dir));
        }
    }
    let mut inputs = vec![ws.join("Cargo.toml"), ws.join("Cargo.lock")];
    let config = ws.join(".cargo/config.toml");
    if config.is_file() {
        inputs.push(config);
    }
    inputs.extend(crates);
    Ok(inputs)
}

/// Drops `.` and folds `..` lexically (the paths are inside the workspace, no symlinks).
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A workspace: two providers sharing `common` (which uses `util` by relative path), the packer.
    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path();
        write(
            &ws.join("Cargo.toml"),
            r#"
            [workspace]
            members = ["a", "b", "common", "util", "par-pack"]
            [workspace.dependencies]
            common = { path = "common" }
            anyhow = "1"
            "#,
        );
        write(&ws.join("Cargo.lock"), "");
        for (krate, deps) in [
            ("a", "common.workspace = true\nanyhow.workspace = true"),
            ("b", "common = { workspace = true }"),
            ("common", "util = { path = \"../util\" }"),
            ("util", "anyhow = \"1\""),
            ("par-pack", "nkeys = \"0.4\""),
        ] {
            write(
                &ws.join(krate).join("Cargo.toml"),
                &format!("[package]\nname = \"{krate}\"\n[dependencies]\n{deps}\n"),
            );
        }
        dir
    }

    #[test]
    fn shared_inputs_follow_path_dependencies_but_not_siblings() {
        let dir = workspace();
        let ws = dir.path();
        let inputs = shared_inputs(ws, &ws.join("a")).unwrap();
        assert_eq!(
            inputs,
            vec![
                ws.join("Cargo.toml"),
                ws.join("Cargo.lock"),
                ws.join("common"),
                ws.join("par-pack"),
                ws.join("util"),
            ]
        );
        let b = shared_inputs(ws, &ws.join("b")).unwrap();
        assert!(!b.contains(&ws.join("a")) && b.contains(&ws.join("util")));
        write(&ws.join(".cargo/config.toml"), "[build]\n");
        assert!(shared_inputs(ws, &ws.join("a"))
            .unwrap()
            .contains(&ws.join(".cargo/config.toml")));
    }

    #[test]
    fn package_names_and_errors() {
        let dir = workspace();
        assert_eq!(package_name(&dir.path().join("b")).unwrap(), "b");
        let err = package_name(&dir.path().join("nothing")).unwrap_err();
        assert!(format!("{err:#}").contains("read"), "{err:#}");
        let err = shared_inputs(dir.path(), &dir.path().join("nothing")).unwrap_err();
        assert!(format!("{err:#}").contains("nothing"), "{err:#}");
    }

    /// A provider named by `binary`: its sources are the packer's, its binary in `prebuilt_dir`.
    fn prebuilt_fixture(ws: &Path, prebuilt_dir: &Path) -> (RustProvider, Fixture) {
        let provider = RustProvider {
            cargo: PathBuf::from("cargo"),
            identity: String::new(),
            target_dir: ws.join("target"),
            prebuilt_dir: prebuilt_dir.to_path_buf(),
        };
        let fixture = Fixture {
            entry: crate::spec::FixtureEntry {
                name: "upstream".into(),
                language: crate::spec::Language::Rust,
                kind: crate::spec::Kind::Provider,
                world: String::new(),
                sources: "par-pack".into(),
                wit: None,
                binary: Some("upstream-provider".into()),
                tags: vec![],
            },
            sources: ws.join(PACKER),
            wit: ws.join("wit"),
        };
        (provider, fixture)
    }

    #[test]
    fn a_prebuilt_binary_is_an_input_and_must_exist() {
        use super::super::Toolchain as _;
        let dir = workspace();
        let ws = dir.path();
        let bin = tempfile::tempdir().unwrap();
        let (provider, fixture) = prebuilt_fixture(ws, bin.path());
        let binary = bin.path().join("upstream-provider");
        assert_eq!(provider.prebuilt(&fixture), Some(binary.clone()));

        // Missing: not an input (nothing to hash), and the build says how to get it.
        let inputs = provider.shared_inputs(&fixture);
        assert_eq!(inputs, vec![ws.join("Cargo.toml"), ws.join("Cargo.lock")]);
        let err = provider
            .build(&fixture, bin.path(), &bin.path().join("out.par.gz"))
            .unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("does not exist") && err.contains("ci/setup"),
            "{err}"
        );
        assert!(err.contains(&binary.display().to_string()), "{err}");

        // Present: the workspace's manifest and lock (the packer is the sources) and the binary.
        std::fs::write(&binary, b"\x7fELF").unwrap();
        assert_eq!(
            provider.shared_inputs(&fixture),
            vec![ws.join("Cargo.toml"), ws.join("Cargo.lock"), binary.clone()]
        );
        check_prebuilt(&binary).unwrap();

        // A provider built from its package has no prebuilt binary.
        let mut own = fixture.clone();
        own.entry.binary = None;
        assert_eq!(provider.prebuilt(&own), None);
    }

    #[test]
    fn archive_size_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let par = dir.path().join("x.par.gz");
        assert!(check_archive_size(&par).is_err());
        std::fs::write(&par, b"small").unwrap();
        check_archive_size(&par).unwrap();
        std::fs::File::create(&par)
            .unwrap()
            .set_len(MAX_ARCHIVE_BYTES)
            .unwrap();
        let err = check_archive_size(&par).unwrap_err().to_string();
        assert!(err.contains("over the"), "{err}");
    }

    #[test]
    fn the_repository_providers_share_kv_common_and_the_packer() {
        let ws = crate::manifest_dir().join("../../fixtures/providers");
        let ws = normalize(&ws);
        let inputs = shared_inputs(&ws, &ws.join("kv-memory")).unwrap();
        assert!(inputs.contains(&ws.join("kv-common")), "{inputs:?}");
        assert!(inputs.contains(&ws.join(PACKER)), "{inputs:?}");
        assert!(!inputs.contains(&ws.join("kv-file")), "{inputs:?}");
    }
}
