//! Python fixtures: `componentize-py` turns `app.py` (plus anything beside it) into a component.
//! The bindings are generated inside the build, as the module `wit_world`.

use std::path::{Path, PathBuf};

use crate::process::{first_line, Tool};
use crate::spec::Fixture;
use crate::toolchain::Env;

pub struct Python {
    componentize_py: PathBuf,
    version: String,
}

pub fn locate(env: &Env) -> Result<Python, String> {
    let componentize_py = env
        .find("componentize-py", &["py/bin"])
        .ok_or("componentize-py not found (pip install componentize-py; ci/install-fixture-toolchains does)")?;
    let version = first_line(&componentize_py, &["--version"]).map_err(|e| e.to_string())?;
    Ok(Python {
        componentize_py,
        version,
    })
}

impl super::Toolchain for Python {
    fn identity(&self) -> String {
        self.version.clone()
    }

    fn recipe(&self) -> String {
        "cp -r <sources> src; componentize-py -d <wit> -w <world> componentize app -p src -o <out>"
            .into()
    }

    fn build(&self, fixture: &Fixture, work: &Path, out: &Path) -> anyhow::Result<()> {
        if !fixture.sources.join("app.py").is_file() {
            anyhow::bail!("{} has no app.py", fixture.sources.display());
        }
        // Built from a copy: componentize-py leaves __pycache__ beside the sources.
        let src = work.join("src");
        super::copy_tree(&fixture.sources, &src)?;
        Tool::new(&self.componentize_py)
            .arg("-d")
            .arg(&fixture.wit)
            .arg("-w")
            .arg(&fixture.entry.world)
            .args(["componentize", "app", "-p"])
            .arg(&src)
            .arg("-o")
            .arg(out)
            .dir(work)
            .run()?;
        Ok(())
    }
}
