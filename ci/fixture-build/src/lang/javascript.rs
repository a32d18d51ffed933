//! JavaScript fixtures: `componentize-js` (the ComponentizeJS CLI, run directly rather than through
//! jco) turns `app.js` into a component around the StarlingMonkey engine.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::process::{first_line, Tool};
use crate::spec::Fixture;
use crate::toolchain::{which, Env};

const PACKAGE: &str = "node/node_modules/@bytecodealliance/componentize-js";

pub struct Javascript {
    node: PathBuf,
    cli: PathBuf,
    identity: String,
}

pub fn locate(env: &Env) -> Result<Javascript, String> {
    let node = which("node").ok_or("node not found (install nodejs >= 18)")?;
    let node_version = first_line(&node, &["--version"]).map_err(|e| e.to_string())?;
    let package = env.toolchains().join(PACKAGE);
    let cli = package.join("src/cli.js");
    if !cli.is_file() {
        return Err(format!(
            "componentize-js not installed at {} (run ci/install-fixture-toolchains)",
            package.display()
        ));
    }
    let version = package_version(&package.join("package.json"))?;
    Ok(Javascript {
        node,
        cli,
        identity: format!("node {node_version}; componentize-js {version}"),
    })
}

fn package_version(package_json: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(package_json)
        .map_err(|e| format!("read {}: {e}", package_json.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("parse {}: {e}", package_json.display()))?;
    value["version"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{} has no version", package_json.display()))
}

/// Worlds that serve HTTP keep the engine's HTTP features; the others leave them out, so the
/// component does not import wasi:http for nothing.
fn serves_http(fixture: &Fixture) -> bool {
    fixture.entry.world == "http"
}

impl super::Toolchain for Javascript {
    fn identity(&self) -> String {
        self.identity.clone()
    }

    fn recipe(&self) -> String {
        "node componentize-js/src/cli.js <sources>/app.js -w <wit> -n <world> [-d http fetch-event] -o <out>".into()
    }

    fn build(&self, fixture: &Fixture, work: &Path, out: &Path) -> anyhow::Result<()> {
        let app = fixture.sources.join("app.js");
        if !app.is_file() {
            anyhow::bail!("{} has no app.js", fixture.sources.display());
        }
        let mut tool = Tool::new(&self.node)
            .arg(&self.cli)
            .arg(&app)
            .arg("-w")
            .arg(&fixture.wit)
            .arg("-n")
            .arg(&fixture.entry.world);
        if !serves_http(fixture) {
            tool = tool.args(["-d", "http", "fetch-event"]);
        }
        tool.arg("-o")
            .arg(out)
            .dir(work)
            .env("TMPDIR", work)
            .run()
            .context("componentize-js")?;
        Ok(())
    }
}
