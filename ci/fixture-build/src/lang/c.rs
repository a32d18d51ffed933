//! C fixtures: bindings from `wit-bindgen c`, compiled with clang against wasi-libc as a
//! preview1 reactor, then made a component with the preview1 reactor adapter.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::process::{first_line, Tool};
use crate::spec::Fixture;
use crate::toolchain::{file_sha256, which, Env};

const TARGET: &str = "wasm32-wasi";

pub struct C {
    clang: PathBuf,
    wit_bindgen: PathBuf,
    wasm_tools: PathBuf,
    adapter: PathBuf,
    identity: String,
}

pub fn locate(env: &Env) -> Result<C, String> {
    let clang = std::env::var_os("WCC_WASI_CC")
        .map(PathBuf::from)
        .or_else(|| which("clang-14"))
        .or_else(|| which("clang"))
        .ok_or(
            "clang not found (apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32)",
        )?;
    let clang_version = first_line(&clang, &["--version"]).map_err(|e| e.to_string())?;
    // clang answers the bare name when it cannot find the file for the target.
    let libc = first_line(&clang, &["--target=wasm32-wasi", "-print-file-name=libc.a"])
        .map_err(|e| e.to_string())?;
    if !Path::new(&libc).is_absolute() {
        return Err(format!(
            "{} finds no wasi-libc for {TARGET} (apt-get install wasi-libc)",
            clang.display()
        ));
    }
    let builtins = first_line(
        &clang,
        &[
            "--target=wasm32-wasi",
            "--rtlib=compiler-rt",
            "-print-libgcc-file-name",
        ],
    )
    .map_err(|e| e.to_string())?;
    if !Path::new(&builtins).is_file() {
        return Err(format!(
            "no compiler-rt builtins for {TARGET} at {builtins} (apt-get install libclang-rt-14-dev-wasm32)"
        ));
    }
    let wit_bindgen = env.find("wit-bindgen", &["cargo/bin"]).ok_or(
        "wit-bindgen not found (cargo install wit-bindgen-cli; ci/install-fixture-toolchains does)",
    )?;
    let wit_bindgen_version =
        first_line(&wit_bindgen, &["--version"]).map_err(|e| e.to_string())?;
    let wasm_tools = env.wasm_tools()?;
    let adapter = env.adapter()?;
    let adapter_sha =
        file_sha256(&adapter).map_err(|e| format!("read {}: {e}", adapter.display()))?;
    let identity = format!(
        "{clang_version}; {wit_bindgen_version}; {}; adapter sha256 {adapter_sha}",
        wasm_tools.version
    );
    Ok(C {
        clang,
        wit_bindgen,
        wasm_tools: wasm_tools.path,
        adapter,
        identity,
    })
}

/// Files in `dir` with the given suffix, sorted (the order reaches the linker).
fn files_ending(dir: &Path, suffix: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    Ok(out)
}

impl super::Toolchain for C {
    fn identity(&self) -> String {
        self.identity.clone()
    }

    fn recipe(&self) -> String {
        format!(
            "wit-bindgen c <wit> --world <world> --out-dir gen; \
             clang --target={TARGET} -mexec-model=reactor -O2 -Wall -I gen -I <sources> -o core.wasm <sources>/*.c gen/*.c gen/*_component_type.o; \
             wasm-tools component new core.wasm --adapt wasi_snapshot_preview1=<adapter> -o <out>"
        )
    }

    fn build(&self, fixture: &Fixture, work: &Path, out: &Path) -> anyhow::Result<()> {
        let gen = work.join("gen");
        Tool::new(&self.wit_bindgen)
            .arg("c")
            .arg(&fixture.wit)
            .arg("--world")
            .arg(&fixture.entry.world)
            .arg("--out-dir")
            .arg(&gen)
            .run()
            .context("wit-bindgen c")?;
        let sources = files_ending(&fixture.sources, ".c")?;
        if sources.is_empty() {
            anyhow::bail!("{} has no .c files", fixture.sources.display());
        }
        let core = work.join("core.wasm");
        Tool::new(&self.clang)
            .args([
                &format!("--target={TARGET}"),
                "-mexec-model=reactor",
                "-O2",
                "-Wall",
            ])
            .arg("-I")
            .arg(&gen)
            .arg("-I")
            .arg(&fixture.sources)
            .arg("-o")
            .arg(&core)
            .args(&sources)
            .args(files_ending(&gen, ".c")?)
            .args(files_ending(&gen, "_component_type.o")?)
            .dir(work)
            .run()
            .context("clang")?;
        Tool::new(&self.wasm_tools)
            .args(["component", "new"])
            .arg(&core)
            .arg("--adapt")
            .arg(format!("wasi_snapshot_preview1={}", self.adapter.display()))
            .arg("-o")
            .arg(out)
            .run()
            .context("wasm-tools component new")?;
        Ok(())
    }
}
