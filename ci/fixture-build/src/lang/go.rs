use std::path::Path;

use crate::spec::Fixture;
use crate::toolchain::Env;

pub struct Stub;

pub fn locate(_env: &Env) -> Result<Stub, String> {
    Err("go builder not written yet".into())
}

impl super::Toolchain for Stub {
    fn identity(&self) -> String { String::new() }
    fn recipe(&self) -> String { String::new() }
    fn build(&self, _fixture: &Fixture, _work: &Path, _out: &Path) -> anyhow::Result<()> {
        anyhow::bail!("not written")
    }
}
