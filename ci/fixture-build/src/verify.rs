//! Checks that a built component exports everything its world exports, using wasm-tools: the
//! world's own exports are read from a dummy component made from the same WIT.

use std::collections::BTreeSet;
use std::path::Path;

use crate::process::Tool;

/// `import`/`export` lines of `wasm-tools component wit` output for a component.
fn items(wasm_tools: &Path, component: &Path, keyword: &str) -> Result<BTreeSet<String>, String> {
    let wit = Tool::new(wasm_tools)
        .arg("component")
        .arg("wit")
        .arg(component)
        .run()
        .map_err(|e| e.to_string())?;
    Ok(wit
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix(keyword)?.strip_prefix(' '))
        .map(|l| l.trim_end_matches(';').trim().to_string())
        // `export foo: func(...)`-style items and interfaces alike are named by what precedes ':'
        // or '{' (an inline interface); keep the whole name for package-qualified interfaces.
        .map(|l| match l.find('{') {
            Some(i) => l[..i].trim().to_string(),
            None => l,
        })
        .collect())
}

/// Fails unless `component` exports every export of `world` (as defined in `wit_dir`).
pub fn exports_world(
    wasm_tools: &Path,
    wit_dir: &Path,
    world: &str,
    component: &Path,
    work: &Path,
) -> Result<(), String> {
    let core = work.join("world-dummy.core.wasm");
    let dummy = work.join("world-dummy.wasm");
    Tool::new(wasm_tools)
        .args(["component", "embed", "--dummy", "-w", world])
        .arg(wit_dir)
        .arg("-o")
        .arg(&core)
        .run()
        .map_err(|e| format!("cannot make a dummy of world {world}: {e}"))?;
    Tool::new(wasm_tools)
        .args(["component", "new"])
        .arg(&core)
        .arg("-o")
        .arg(&dummy)
        .run()
        .map_err(|e| format!("cannot make a dummy of world {world}: {e}"))?;
    let wanted = items(wasm_tools, &dummy, "export")?;
    let have = items(wasm_tools, component, "export")?;
    let missing: Vec<_> = wanted.difference(&have).cloned().collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "component does not export all of world {world}: missing {}; it exports {}",
            missing.join(", "),
            have.into_iter().collect::<Vec<_>>().join(", ")
        ))
    }
}

/// Parses `dir` as a WIT package with its dependencies.
pub fn wit_parses(wasm_tools: &Path, dir: &Path) -> Result<(), String> {
    Tool::new(wasm_tools)
        .args(["component", "wit"])
        .arg(dir)
        .run()
        .map(|_| ())
        .map_err(|e| e.to_string())
}
