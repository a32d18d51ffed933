//! `fixtures/fixtures.toml`: the explicit list of fixtures, parsed and checked before anything is
//! built.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The languages a fixture can be written in. The id is what the manifest and the guests report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Python,
    Javascript,
    C,
    Go,
}

impl Language {
    pub const ALL: [Language; 5] = [
        Language::Rust,
        Language::Python,
        Language::Javascript,
        Language::C,
        Language::Go,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Javascript => "javascript",
            Language::C => "c",
            Language::Go => "go",
        }
    }

    pub fn parse(id: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.id() == id)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// What a fixture builds into.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A WebAssembly component exporting `world` (`<name>-<language>.wasm`).
    #[default]
    Component,
    /// A native capability provider packed as a provider archive (`<name>-<language>.par.gz`);
    /// it has no world.
    Provider,
}

impl Kind {
    /// The id the manifest reports.
    pub fn id(self) -> &'static str {
        match self {
            Kind::Component => "component",
            Kind::Provider => "provider",
        }
    }

    /// The artifact's file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Component => "wasm",
            Kind::Provider => "par.gz",
        }
    }
}

/// One `[[fixture]]` entry, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureEntry {
    pub name: String,
    pub language: Language,
    /// `component` (the default) or `provider`.
    #[serde(default)]
    pub kind: Kind,
    /// The world a component is built from; empty (or absent) for a provider.
    #[serde(default)]
    pub world: String,
    /// Guest sources, relative to the directory of fixtures.toml.
    pub sources: PathBuf,
    /// WIT directory to build against instead of the shared `wit/`, relative to fixtures.toml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wit: Option<PathBuf>,
    /// A provider only: the file name of a binary built outside `fixtures/` that `ci/setup` links
    /// into `<repo>/.wcc/bin` (the upstream blobstore-fs provider, built with the reference
    /// launchers). It is packed as it is instead of a package of the provider workspace; `sources`
    /// then names the packer's sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixturesFile {
    schema: u32,
    #[serde(default, rename = "fixture")]
    fixtures: Vec<FixtureEntry>,
}

/// A fixture ready to build: its entry plus absolute paths.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub entry: FixtureEntry,
    pub sources: PathBuf,
    pub wit: PathBuf,
}

impl Fixture {
    pub fn name(&self) -> &str {
        &self.entry.name
    }
    pub fn language(&self) -> Language {
        self.entry.language
    }
    pub fn kind(&self) -> Kind {
        self.entry.kind
    }
    /// `name/language`, how the build names a fixture in messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.entry.name, self.entry.language)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parse {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: unsupported schema {found} (this build reads schema 1)")]
    Schema { path: PathBuf, found: u32 },
    #[error("fixture {label}: {problem}")]
    Entry { label: String, problem: String },
}

pub const SCHEMA: u32 = 1;
pub const SHARED_WIT_DIR: &str = "wit";

/// Reads and checks `fixtures.toml`; paths in it are taken relative to its directory.
pub fn load(path: &Path) -> Result<Vec<Fixture>, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.to_owned(),
        source,
    })?;
    let root = path.parent().unwrap_or(Path::new("."));
    parse(&text, path, root)
}

/// Parses the text of a fixtures file and checks every entry against the files under `root`.
pub fn parse(text: &str, path: &Path, root: &Path) -> Result<Vec<Fixture>, SpecError> {
    let file: FixturesFile = toml::from_str(text).map_err(|e| SpecError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if file.schema != SCHEMA {
        return Err(SpecError::Schema {
            path: path.to_owned(),
            found: file.schema,
        });
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(file.fixtures.len());
    for entry in file.fixtures {
        let label = format!("{}/{}", entry.name, entry.language);
        let bad = |problem: String| SpecError::Entry {
            label: label.clone(),
            problem,
        };
        if !is_name(&entry.name) {
            return Err(bad(format!(
                "name {:?} must be lowercase letters, digits and '-'",
                entry.name
            )));
        }
        match entry.kind {
            Kind::Component if !is_name(&entry.world) => {
                return Err(bad(format!(
                    "world {:?} is not a WIT identifier",
                    entry.world
                )));
            }
            Kind::Provider if !entry.world.is_empty() => {
                return Err(bad("a provider has no world".into()));
            }
            Kind::Provider if entry.language != Language::Rust => {
                return Err(bad(format!(
                    "providers are built from rust only, not {}",
                    entry.language
                )));
            }
            _ => {}
        }
        if let Some(binary) = &entry.binary {
            if entry.kind != Kind::Provider {
                return Err(bad("only a provider can be a prebuilt binary".into()));
            }
            if !is_file_name(binary) {
                return Err(bad(format!(
                    "binary {binary:?} must be a file name (of a binary in .wcc/bin), not a path"
                )));
            }
        }
        if !seen.insert((entry.name.clone(), entry.language)) {
            return Err(bad("listed twice".into()));
        }
        let sources = relative(root, &entry.sources).map_err(&bad)?;
        if !sources.is_dir() {
            return Err(bad(format!(
                "sources directory {} does not exist",
                sources.display()
            )));
        }
        if !has_files(&sources) {
            return Err(bad(format!(
                "sources directory {} holds no files",
                sources.display()
            )));
        }
        let wit_rel = entry
            .wit
            .clone()
            .unwrap_or_else(|| PathBuf::from(SHARED_WIT_DIR));
        let wit = relative(root, &wit_rel).map_err(&bad)?;
        if !wit.is_dir() {
            return Err(bad(format!(
                "WIT directory {} does not exist",
                wit.display()
            )));
        }
        out.push(Fixture {
            entry,
            sources,
            wit,
        });
    }
    Ok(out)
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A plain file name: not empty, no separator, not `.` or `..`.
fn is_file_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0'])
}

/// Joins a relative path onto `root`, refusing absolute paths and `..` (fixtures stay inside
/// `fixtures/`, so the input hash sees everything a build reads).
fn relative(root: &Path, p: &Path) -> Result<PathBuf, String> {
    use std::path::Component;
    if p.as_os_str().is_empty() {
        return Err("empty path".into());
    }
    if !p
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "path {} must be relative and stay inside fixtures/",
            p.display()
        ));
    }
    Ok(root.join(p))
}

fn has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut it| {
            it.any(|e| {
                e.map(|e| {
                    let p = e.path();
                    p.is_file() || (p.is_dir() && has_files(&p))
                })
                .unwrap_or(false)
            })
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("components/rust/probe/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("lib.rs"), "fn main() {}").unwrap();
        std::fs::create_dir_all(dir.path().join("components/go/empty")).unwrap();
        std::fs::create_dir_all(dir.path().join("wit")).unwrap();
        std::fs::write(dir.path().join("wit/w.wit"), "package a:b;").unwrap();
        dir
    }

    fn parse_in(dir: &tempfile::TempDir, text: &str) -> Result<Vec<Fixture>, SpecError> {
        parse(text, &dir.path().join("fixtures.toml"), dir.path())
    }

    const GOOD: &str = r#"
        schema = 1
        [[fixture]]
        name = "probe"
        language = "rust"
        world = "probe"
        sources = "components/rust/probe"
        tags = ["echo"]
    "#;

    #[test]
    fn parses_a_good_entry() {
        let dir = tree();
        let fixtures = parse_in(&dir, GOOD).unwrap();
        assert_eq!(fixtures.len(), 1);
        let f = &fixtures[0];
        assert_eq!(f.name(), "probe");
        assert_eq!(f.language(), Language::Rust);
        assert_eq!(f.entry.world, "probe");
        assert_eq!(f.entry.tags, vec!["echo".to_string()]);
        assert_eq!(f.sources, dir.path().join("components/rust/probe"));
        assert_eq!(f.wit, dir.path().join("wit"));
        assert_eq!(f.label(), "probe/rust");
    }

    #[test]
    fn tags_and_wit_are_optional_and_wit_can_be_overridden() {
        let dir = tree();
        let text = GOOD.replace("tags = [\"echo\"]", "wit = \"wit\"");
        let f = &parse_in(&dir, &text).unwrap()[0];
        assert!(f.entry.tags.is_empty());
        assert_eq!(f.entry.wit.as_deref(), Some(Path::new("wit")));
    }

    #[test]
    fn an_empty_list_is_fine() {
        let dir = tree();
        assert!(parse_in(&dir, "schema = 1").unwrap().is_empty());
    }

    fn entry_error(text: &str) -> String {
        let dir = tree();
        match parse_in(&dir, text) {
            Err(e) => e.to_string(),
            Ok(f) => panic!("accepted: {f:?}"),
        }
    }

    #[test]
    fn rejects_unknown_language() {
        let e = entry_error(&GOOD.replace("language = \"rust\"", "language = \"cobol\""));
        assert!(e.contains("unknown variant `cobol`"), "{e}");
    }

    #[test]
    fn rejects_missing_field() {
        let e = entry_error(&GOOD.replace("world = \"probe\"", ""));
        assert!(e.contains("world \"\" is not a WIT identifier"), "{e}");
        let e = entry_error(&GOOD.replace("sources = \"components/rust/probe\"", ""));
        assert!(e.contains("missing field `sources`"), "{e}");
    }

    const PROVIDER: &str = r#"
        schema = 1
        [[fixture]]
        name = "kv-memory"
        language = "rust"
        kind = "provider"
        sources = "components/rust/probe"
        wit = "wit"
    "#;

    #[test]
    fn kind_defaults_to_component_and_providers_have_no_world() {
        let dir = tree();
        assert_eq!(parse_in(&dir, GOOD).unwrap()[0].kind(), Kind::Component);
        let f = &parse_in(&dir, PROVIDER).unwrap()[0];
        assert_eq!(f.kind(), Kind::Provider);
        assert_eq!(f.entry.world, "");
        assert_eq!(f.kind().extension(), "par.gz");
        assert_eq!(Kind::Component.extension(), "wasm");
        let e = entry_error(&PROVIDER.replace("kind = ", "world = \"probe\"\nkind = "));
        assert!(e.contains("a provider has no world"), "{e}");
        let e = entry_error(&PROVIDER.replace("\"rust\"", "\"go\""));
        assert!(e.contains("providers are built from rust only"), "{e}");
        let e = entry_error(&PROVIDER.replace("\"provider\"", "\"service\""));
        assert!(e.contains("unknown variant `service`"), "{e}");
    }

    #[test]
    fn a_prebuilt_binary_is_a_provider_named_by_a_file_name() {
        let dir = tree();
        let prebuilt = PROVIDER.replace("kind = ", "binary = \"upstream-provider\"\nkind = ");
        let f = &parse_in(&dir, &prebuilt).unwrap()[0];
        assert_eq!(f.entry.binary.as_deref(), Some("upstream-provider"));
        assert_eq!(parse_in(&dir, PROVIDER).unwrap()[0].entry.binary, None);
        let e = entry_error(&GOOD.replace("world = ", "binary = \"upstream-provider\"\nworld = "));
        assert!(
            e.contains("only a provider can be a prebuilt binary"),
            "{e}"
        );
        for name in [
            "",
            ".",
            "..",
            "bin/upstream",
            "../upstream",
            "/usr/bin/true",
        ] {
            let e = entry_error(&prebuilt.replace("upstream-provider", name));
            assert!(e.contains("must be a file name"), "{name:?}: {e}");
        }
    }

    #[test]
    fn rejects_unknown_field() {
        let e = entry_error(&GOOD.replace("tags", "tag"));
        assert!(e.contains("unknown field `tag`"), "{e}");
    }

    #[test]
    fn rejects_other_schema() {
        let e = entry_error(&GOOD.replace("schema = 1", "schema = 2"));
        assert!(e.contains("unsupported schema 2"), "{e}");
    }

    #[test]
    fn rejects_entry_without_sources() {
        let e = entry_error(&GOOD.replace("components/rust/probe", "components/rust/nothing"));
        assert!(
            e.starts_with("fixture probe/rust: sources directory"),
            "{e}"
        );
        assert!(e.contains("does not exist"), "{e}");
    }

    #[test]
    fn rejects_empty_sources() {
        let e = entry_error(
            &GOOD
                .replace("components/rust/probe", "components/go/empty")
                .replace("rust", "go"),
        );
        assert!(e.contains("holds no files"), "{e}");
    }

    #[test]
    fn rejects_paths_leaving_the_fixtures_dir() {
        let e = entry_error(&GOOD.replace("components/rust/probe", "../elsewhere"));
        assert!(e.contains("must be relative"), "{e}");
        let e = entry_error(&GOOD.replace("components/rust/probe", "/etc"));
        assert!(e.contains("must be relative"), "{e}");
    }

    #[test]
    fn rejects_duplicates_and_bad_names() {
        let twice = format!("{GOOD}{}", GOOD.replace("schema = 1", ""));
        assert!(entry_error(&twice).contains("listed twice"));
        let e = entry_error(&GOOD.replace("name = \"probe\"", "name = \"Probe X\""));
        assert!(e.contains("must be lowercase"), "{e}");
    }

    #[test]
    fn rejects_missing_wit_dir() {
        let e = entry_error(&GOOD.replace("tags = [\"echo\"]", "wit = \"wit-nowhere\""));
        assert!(e.contains("WIT directory"), "{e}");
    }

    #[test]
    fn the_repository_list_is_valid() {
        let path = crate::manifest_dir().join("../../fixtures/fixtures.toml");
        let fixtures = load(&path).unwrap();
        assert!(fixtures
            .iter()
            .any(|f| f.name() == "probe" && f.language() == Language::Rust));
        for name in ["kv-memory", "kv-file"] {
            assert!(
                fixtures
                    .iter()
                    .any(|f| f.name() == name && f.kind() == Kind::Provider),
                "{name}"
            );
        }
        // The upstream blobstore-fs provider: the binary ci/setup builds with the launchers.
        let blobstore = fixtures
            .iter()
            .find(|f| f.name() == "blobstore-fs-provider")
            .expect("blobstore-fs-provider is listed");
        assert_eq!(
            blobstore.entry.binary.as_deref(),
            Some("wasmcloud-provider-blobstore-fs")
        );
    }
}
