//! Typed access to the fixture components built by `ci/build-fixtures`, through the manifest it
//! writes (`<repo>/.wcc/fixtures.json`, or the file named by `WCC_FIXTURES`).
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::HarnessError;

pub use crate::settings::FIXTURES_ENV;

/// The languages fixtures are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Rust (`wasm32-wasip2`, wit-bindgen).
    Rust,
    /// Python (componentize-py).
    Python,
    /// JavaScript (jco / componentize-js).
    #[serde(rename = "javascript")]
    JavaScript,
    /// C (clang + wasi-libc, wit-bindgen c).
    C,
    /// Go (standard Go, wasip1 + adapter).
    Go,
}

impl Lang {
    /// Every language, in report order.
    pub const ALL: [Lang; 5] = [
        Lang::Rust,
        Lang::Python,
        Lang::JavaScript,
        Lang::C,
        Lang::Go,
    ];

    /// The id used in the manifest and in test names (`rust`, `python`, `javascript`, `c`, `go`).
    pub fn id(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::C => "c",
            Lang::Go => "go",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A fixture a test needs: a name from `fixtures/fixtures.toml` in one language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FixtureRef {
    /// The fixture name (`probe`, `runner`, `http`).
    pub name: &'static str,
    /// Its language.
    pub lang: Lang,
}

impl FixtureRef {
    /// `name` in `lang`.
    pub const fn new(name: &'static str, lang: Lang) -> Self {
        Self { name, lang }
    }
}

impl fmt::Display for FixtureRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.name, self.lang)
    }
}

/// Whether a fixture could be built.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixtureStatus {
    /// Built; `path` holds the component.
    Built,
    /// Not built; `reason` says why (e.g. its toolchain is not installed).
    Missing,
}

/// One entry of the fixture manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FixtureEntry {
    /// Fixture name.
    pub name: String,
    /// Language id.
    pub language: Lang,
    /// WIT world it targets.
    #[serde(default)]
    pub world: String,
    /// `component` (providers come later).
    #[serde(default)]
    pub kind: String,
    /// Built or missing.
    pub status: FixtureStatus,
    /// Absolute path of the built artifact.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// SHA-256 of the artifact.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Why it is missing.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The manifest written by the fixture build.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FixtureManifest {
    /// Manifest schema version (1).
    pub schema: u32,
    /// Every fixture, built or not.
    pub fixtures: Vec<FixtureEntry>,
}

/// A built fixture, ready to be started.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// Which fixture.
    pub reference: FixtureRef,
    /// The component file.
    pub path: PathBuf,
}

impl Fixture {
    /// The `file://` reference a host loads it from (VAC-01).
    pub fn file_ref(&self) -> String {
        format!("file://{}", self.path.display())
    }
}

/// Where the manifest is read from.
pub fn manifest_path() -> PathBuf {
    crate::settings::fixtures_manifest().unwrap_or_else(|| {
        crate::binaries::repo_root()
            .join(".wcc")
            .join("fixtures.json")
    })
}

impl FixtureManifest {
    /// Reads and parses a manifest file.
    pub fn read(path: &Path) -> Result<Self, HarnessError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            HarnessError::Fixture(format!(
                "manifest {} cannot be read ({e}); run `bash ci/build-fixtures` (or `bash ci/setup`) first",
                path.display()
            ))
        })?;
        let manifest: Self = serde_json::from_str(&text).map_err(|e| {
            HarnessError::Fixture(format!("manifest {} is malformed: {e}", path.display()))
        })?;
        if manifest.schema != 1 {
            return Err(HarnessError::Fixture(format!(
                "manifest {} has unknown schema {}",
                path.display(),
                manifest.schema
            )));
        }
        Ok(manifest)
    }

    /// The fixture, or why it cannot be used.
    pub fn get(&self, reference: FixtureRef) -> Result<Fixture, String> {
        let entry = self
            .fixtures
            .iter()
            .find(|f| f.name == reference.name && f.language == reference.lang)
            .ok_or_else(|| format!("fixture {reference} is not in the fixture manifest"))?;
        match (&entry.status, &entry.path) {
            (FixtureStatus::Built, Some(path)) if path.is_file() => Ok(Fixture {
                reference,
                path: path.clone(),
            }),
            (FixtureStatus::Built, Some(path)) => Err(format!(
                "fixture {reference} was built to {} but the file is gone; rebuild fixtures",
                path.display()
            )),
            (FixtureStatus::Built, None) => Err(format!(
                "fixture {reference} is marked built but has no path"
            )),
            (FixtureStatus::Missing, _) => Err(format!(
                "fixture {reference} is missing, because {}",
                entry
                    .reason
                    .as_deref()
                    .unwrap_or("the fixture build gave no reason")
            )),
        }
    }
}

/// The manifest of this checkout, read once per process. Errors are kept and returned each time.
pub fn manifest() -> Result<&'static FixtureManifest, HarnessError> {
    static MANIFEST: OnceLock<Result<FixtureManifest, String>> = OnceLock::new();
    MANIFEST
        .get_or_init(|| FixtureManifest::read(&manifest_path()).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| HarnessError::Fixture(e.clone()))
}

/// Looks a fixture up in this checkout's manifest.
pub fn fixture(reference: FixtureRef) -> Result<Fixture, HarnessError> {
    manifest()?.get(reference).map_err(HarnessError::Fixture)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_explain_what_is_missing() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let json = serde_json::json!({"schema": 1, "generated_at": "x", "fixtures": [
            {"name": "probe", "language": "rust", "world": "probe", "kind": "component", "status": "built",
             "path": file.path(), "sha256": "00", "bytes": 1},
            {"name": "probe", "language": "go", "world": "probe", "kind": "component", "status": "missing",
             "reason": "go toolchain not found"},
            {"name": "http", "language": "c", "status": "built", "path": "/nonexistent/http-c.wasm"}
        ]});
        let manifest: FixtureManifest = serde_json::from_value(json).unwrap();
        let ok = manifest.get(FixtureRef::new("probe", Lang::Rust)).unwrap();
        assert_eq!(ok.file_ref(), format!("file://{}", file.path().display()));
        let go = manifest
            .get(FixtureRef::new("probe", Lang::Go))
            .unwrap_err();
        assert!(
            go.contains("missing, because go toolchain not found"),
            "{go}"
        );
        assert!(manifest
            .get(FixtureRef::new("runner", Lang::Rust))
            .unwrap_err()
            .contains("not in the fixture manifest"));
        assert!(manifest
            .get(FixtureRef::new("http", Lang::C))
            .unwrap_err()
            .contains("file is gone"));
    }

    #[test]
    fn malformed_or_absent_manifest_is_a_clear_error() {
        let err = FixtureManifest::read(Path::new("/nonexistent/fixtures.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ci/build-fixtures"), "{err}");
        let bad = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(bad.path(), "{not json").unwrap();
        assert!(FixtureManifest::read(bad.path())
            .unwrap_err()
            .to_string()
            .contains("malformed"));
    }

    #[test]
    fn language_ids_round_trip() {
        for lang in Lang::ALL {
            let json = serde_json::to_string(&lang).unwrap();
            assert_eq!(json, format!("\"{}\"", lang.id()));
            assert_eq!(serde_json::from_str::<Lang>(&json).unwrap(), lang);
        }
    }
}
