//! One builder per language (and one for providers). A builder first locates its toolchain (a
//! missing toolchain is a reason, not an error), then turns a fixture's sources into a component,
//! or a provider into a provider archive.

mod c;
mod go;
mod javascript;
mod provider;
mod python;
mod rust;

use std::path::{Path, PathBuf};

use crate::spec::{Fixture, Kind, Language};
use crate::toolchain::Env;

/// A language's toolchain, located and identified, ready to build fixtures.
pub trait Toolchain {
    /// Versions of every tool the build runs (part of the input hash).
    fn identity(&self) -> String;
    /// The build steps and any glue written on the fly (part of the input hash).
    fn recipe(&self) -> String;
    /// Files or directories outside the fixture's sources that its build reads.
    fn shared_inputs(&self, _fixture: &Fixture) -> Vec<PathBuf> {
        Vec::new()
    }
    /// Builds `fixture` into `out` (a component, or for a provider a `.par.gz`), using `work`
    /// (empty, private) as scratch space.
    fn build(&self, fixture: &Fixture, work: &Path, out: &Path) -> anyhow::Result<()>;
}

/// Locates the toolchain for fixtures of `kind` in `lang`; `Err` says what is missing.
pub fn locate(kind: Kind, lang: Language, env: &Env) -> Result<Box<dyn Toolchain>, String> {
    if kind == Kind::Provider {
        return match lang {
            Language::Rust => provider::locate(env).map(|t| Box::new(t) as Box<dyn Toolchain>),
            other => Err(format!("no provider builder for {other}")),
        };
    }
    match lang {
        Language::Rust => rust::locate(env).map(|t| Box::new(t) as Box<dyn Toolchain>),
        Language::Python => python::locate(env).map(|t| Box::new(t) as Box<dyn Toolchain>),
        Language::Javascript => javascript::locate(env).map(|t| Box::new(t) as Box<dyn Toolchain>),
        Language::C => c::locate(env).map(|t| Box::new(t) as Box<dyn Toolchain>),
        Language::Go => go::locate(env).map(|t| Box::new(t) as Box<dyn Toolchain>),
    }
}

/// Copies the files under `from` into `to` (created), so a tool that writes beside its inputs
/// (caches, bytecode) writes into the build's scratch space, not into the repository.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else if path.is_file() {
            std::fs::copy(&path, &target)?;
        }
    }
    Ok(())
}
