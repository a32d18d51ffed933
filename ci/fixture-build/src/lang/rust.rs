//! Rust fixtures: members of the cargo workspace in `fixtures/components/rust`, built for
//! `wasm32-wasip2`, which links components directly (wit-bindgen generates the bindings).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::process::{first_line, Tool};
use crate::spec::Fixture;
use crate::toolchain::Env;

const TARGET: &str = "wasm32-wasip2";

pub struct Rust {
    cargo: PathBuf,
    identity: String,
    target_dir: PathBuf,
}

pub fn locate(env: &Env) -> Result<Rust, String> {
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .or_else(|| crate::toolchain::which("cargo"))
        .ok_or("cargo not found")?;
    let rustc = crate::toolchain::which("rustc").ok_or("rustc not found")?;
    let workspace = env.repo.join("fixtures/components/rust");
    let version = Tool::new(&rustc)
        .arg("-vV")
        .dir(&workspace)
        .run()
        .map_err(|e| e.to_string())?;
    let sysroot = first_line(&rustc, &["--print", "sysroot"]).map_err(|e| e.to_string())?;
    if !Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .is_dir()
    {
        return Err(format!(
            "rust target {TARGET} not installed (rustup target add {TARGET})"
        ));
    }
    let identity = format!("{}target {TARGET}", version.replace('\n', "; "));
    Ok(Rust {
        cargo,
        identity,
        target_dir: env.scratch().join("rust-target"),
    })
}

impl super::Toolchain for Rust {
    fn identity(&self) -> String {
        self.identity.clone()
    }

    fn recipe(&self) -> String {
        format!("cargo build --release --locked --target {TARGET} -p <package>")
    }

    fn shared_inputs(&self, fixture: &Fixture) -> Vec<PathBuf> {
        let ws = workspace_of(fixture);
        vec![ws.join("Cargo.toml"), ws.join("Cargo.lock")]
    }

    fn build(&self, fixture: &Fixture, _work: &Path, out: &Path) -> anyhow::Result<()> {
        let package = package_name(&fixture.sources)?;
        let ws = workspace_of(fixture);
        let tool = Tool::new(&self.cargo)
            .args([
                "build",
                "--release",
                "--locked",
                "--target",
                TARGET,
                "-p",
                &package,
            ])
            .dir(&ws)
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .without_cargo_run_env();
        tool.run()?;
        let artifact = self
            .target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", package.replace('-', "_")));
        std::fs::copy(&artifact, out).with_context(|| format!("copy {}", artifact.display()))?;
        Ok(())
    }
}

/// The cargo workspace holding a fixture: the parent of its sources directory.
fn workspace_of(fixture: &Fixture) -> PathBuf {
    fixture
        .sources
        .parent()
        .unwrap_or(&fixture.sources)
        .to_path_buf()
}

fn package_name(sources: &Path) -> anyhow::Result<String> {
    let manifest = sources.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("read {}", manifest.display()))?;
    let value: toml::Value =
        toml::from_str(&text).with_context(|| format!("parse {}", manifest.display()))?;
    value
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .with_context(|| format!("{} has no [package] name", manifest.display()))
}
