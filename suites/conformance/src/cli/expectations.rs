//! Expectation files: the known failures of an implementation,
//! `suites/conformance/expectations/<implementation>.toml`:
//!
//! ```toml
//! [[known-failure]]
//! test = "links::conflicting_target_rejected"
//! reason = "acme host accepts the second link (ACME-123)"
//! ```
//!
//! A listed test that fails is reported `expected-failure` (counted apart; the run still passes);
//! one that passes is reported `unexpected-pass` and fails the run, so the file stays current.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::exit::{CliError, Exit};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "known-failure", default)]
    known_failures: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    test: String,
    reason: String,
}

/// Known failures: test name → reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Expectations {
    pub(crate) known_failures: BTreeMap<String, String>,
}

/// Where the expectation file of `implementation` lives in the repository.
pub(crate) fn default_path(implementation: &str) -> PathBuf {
    harness::binaries::repo_root()
        .join("suites/conformance/expectations")
        .join(format!("{implementation}.toml"))
}

impl Expectations {
    /// The union of several expectation files (a matrix cell's, one per version it runs): a test
    /// listed in more than one keeps every reason, joined in order.
    pub(crate) fn merge(parts: impl IntoIterator<Item = Expectations>) -> Self {
        let mut known_failures: BTreeMap<String, String> = BTreeMap::new();
        for part in parts {
            for (test, reason) in part.known_failures {
                known_failures
                    .entry(test)
                    .and_modify(|r| {
                        r.push_str("; ");
                        r.push_str(&reason);
                    })
                    .or_insert(reason);
            }
        }
        Self { known_failures }
    }

    /// As an expectation file, headed by `comment` (each line prefixed with `# `).
    pub(crate) fn to_toml(&self, comment: &str) -> String {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(rename = "known-failure")]
            known_failures: Vec<OutEntry<'a>>,
        }
        #[derive(serde::Serialize)]
        struct OutEntry<'a> {
            test: &'a str,
            reason: &'a str,
        }
        let out = Out {
            known_failures: self
                .known_failures
                .iter()
                .map(|(test, reason)| OutEntry { test, reason })
                .collect(),
        };
        let mut text: String = comment.lines().map(|l| format!("# {l}\n")).collect();
        text.push_str(&toml::to_string(&out).unwrap_or_default());
        text
    }

    /// Parses `text` (from `origin`, for messages); every test named must be in `known_tests`.
    pub(crate) fn parse(text: &str, origin: &str, known_tests: &[&str]) -> Result<Self, CliError> {
        let bad = |problem: String| {
            CliError::new(
                Exit::Expectations,
                format!("expectation file {origin}: {problem}"),
            )
        };
        let file: File = toml::from_str(text)
            .map_err(|e| bad(format!("malformed: {}", e.to_string().trim_end())))?;
        let mut known_failures = BTreeMap::new();
        for entry in file.known_failures {
            if !known_tests.contains(&entry.test.as_str()) {
                return Err(bad(format!(
                    "names the unknown test `{}` (see `wasmcloud-conformance list` for test names)",
                    entry.test
                )));
            }
            if entry.reason.trim().is_empty() {
                return Err(bad(format!(
                    "the known failure `{}` needs a non-empty reason",
                    entry.test
                )));
            }
            if known_failures
                .insert(entry.test.clone(), entry.reason)
                .is_some()
            {
                return Err(bad(format!("lists `{}` twice", entry.test)));
            }
        }
        Ok(Self { known_failures })
    }

    /// Loads `explicit` (which must exist), or else the default file of `implementation` if there
    /// is one. Returns the expectations and the path they came from.
    pub(crate) fn load(
        explicit: Option<&Path>,
        implementation: &str,
        known_tests: &[&str],
    ) -> Result<(Self, Option<PathBuf>), CliError> {
        let (path, required) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => (default_path(implementation), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok((
                Self::parse(&text, &path.display().to_string(), known_tests)?,
                Some(path),
            )),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok((Self::default(), None))
            }
            Err(e) => Err(CliError::new(
                Exit::Expectations,
                format!("expectation file {}: cannot read it: {e}", path.display()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTS: &[&str] = &["host::ping", "links::conflict"];

    #[test]
    fn entries_parse() {
        let e = Expectations::parse(
            "# acme\n[[known-failure]]\ntest = \"links::conflict\"\nreason = \"ACME-1\"\n",
            "acme.toml",
            TESTS,
        )
        .unwrap();
        assert_eq!(
            e.known_failures.get("links::conflict").map(String::as_str),
            Some("ACME-1")
        );
        assert_eq!(
            Expectations::parse("", "empty.toml", TESTS).unwrap(),
            Expectations::default()
        );
    }

    #[test]
    fn merged_files_keep_every_reason_and_read_back() {
        let parse = |text: &str| Expectations::parse(text, "t.toml", TESTS).unwrap();
        let a =
            parse("[[known-failure]]\ntest = \"host::ping\"\nreason = \"old host: \\\"x\\\"\"\n");
        let b = parse("[[known-failure]]\ntest = \"host::ping\"\nreason = \"old wadm\"\n[[known-failure]]\ntest = \"links::conflict\"\nreason = \"L\"\n");
        let merged = Expectations::merge([a, b]);
        assert_eq!(
            merged.known_failures.get("host::ping").map(String::as_str),
            Some("old host: \"x\"; old wadm")
        );
        let text = merged.to_toml("cell c\ntwo lines");
        assert!(text.starts_with("# cell c\n# two lines\n"), "{text}");
        assert_eq!(parse(&text), merged);
        let none = Expectations::merge([]).to_toml("empty");
        assert_eq!(parse(&none), Expectations::default());
    }

    #[test]
    fn problems_are_named() {
        let cases = [
            ("[[known-failure]\n", "malformed"),
            ("[[known-failure]]\ntest = \"host::ping\"\n", "missing field `reason`"),
            (
                "[[known-failure]]\ntest = \"host::ping\"\nreason = \"x\"\nseverity = 3\n",
                "unknown field `severity`",
            ),
            (
                "[[known-failures]]\ntest = \"host::ping\"\nreason = \"x\"\n",
                "unknown field `known-failures`",
            ),
            (
                "[[known-failure]]\ntest = \"host::nope\"\nreason = \"x\"\n",
                "unknown test `host::nope`",
            ),
            ("[[known-failure]]\ntest = \"host::ping\"\nreason = \" \"\n", "non-empty reason"),
            (
                "[[known-failure]]\ntest = \"host::ping\"\nreason = \"a\"\n[[known-failure]]\ntest = \"host::ping\"\nreason = \"b\"\n",
                "twice",
            ),
        ];
        for (text, needle) in cases {
            let err = Expectations::parse(text, "acme.toml", TESTS).unwrap_err();
            assert_eq!(err.exit, Exit::Expectations);
            assert!(
                err.message.starts_with("expectation file acme.toml: ")
                    && err.message.contains(needle),
                "{needle:?} not in {}",
                err.message
            );
        }
    }

    #[test]
    fn a_missing_default_file_means_no_expectations_but_a_named_one_must_exist() {
        let (e, path) = Expectations::load(None, "no-such-implementation-xyz", TESTS).unwrap();
        assert!(e.known_failures.is_empty() && path.is_none());
        let err =
            Expectations::load(Some(Path::new("/nonexistent/x.toml")), "acme", TESTS).unwrap_err();
        assert_eq!(err.exit, Exit::Expectations);
        assert!(
            err.message.contains("/nonexistent/x.toml"),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_checked_in_expectation_files_are_valid() {
        let registry = conformance_suite::registry();
        let names: Vec<&str> = registry.iter().map(|t| t.name).collect();
        let dir = harness::binaries::repo_root().join("suites/conformance/expectations");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                Expectations::parse(&text, &path.display().to_string(), &names)
                    .unwrap_or_else(|e| panic!("{}", e.message));
            }
        }
    }
}
