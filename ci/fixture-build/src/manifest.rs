//! The fixture manifest (`<repo>/.wcc/fixtures.json`) the harness reads to find fixtures.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: u32,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub fixtures: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub language: String,
    pub world: String,
    /// "component" (a `.wasm`) or "provider" (a `.par.gz` provider archive; `world` is empty).
    pub kind: String,
    #[serde(flatten)]
    pub status: Status,
}

/// `built` carries the artifact; `missing` says why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Status {
    Built {
        path: PathBuf,
        sha256: String,
        bytes: u64,
        input_hash: String,
        build_seconds: f64,
    },
    Missing {
        reason: String,
    },
}

impl Manifest {
    pub fn new(fixtures: Vec<Entry>) -> Manifest {
        let generated_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .expect("UTC time formats as RFC 3339");
        Manifest {
            schema: SCHEMA,
            generated_at,
            fixtures,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serializes") + "\n"
    }

    /// Writes the manifest through a temporary file so a reader never sees half of it.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, self.to_json())?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Manifest {
        Manifest {
            schema: 1,
            generated_at: "2026-01-02T03:04:05Z".into(),
            fixtures: vec![
                Entry {
                    name: "probe".into(),
                    language: "rust".into(),
                    world: "probe".into(),
                    kind: "component".into(),
                    status: Status::Built {
                        path: "/abs/path.wasm".into(),
                        sha256: "ab".repeat(32),
                        bytes: 12345,
                        input_hash: "cd".repeat(32),
                        build_seconds: 1.2,
                    },
                },
                Entry {
                    name: "probe".into(),
                    language: "go".into(),
                    world: "probe".into(),
                    kind: "component".into(),
                    status: Status::Missing {
                        reason: "go toolchain not found: x".into(),
                    },
                },
            ],
        }
    }

    #[test]
    fn serializes_to_the_agreed_shape() {
        let value: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(
            value,
            json!({
                "schema": 1,
                "generated_at": "2026-01-02T03:04:05Z",
                "fixtures": [
                    {"name": "probe", "language": "rust", "world": "probe", "kind": "component",
                     "status": "built", "path": "/abs/path.wasm", "sha256": "ab".repeat(32),
                     "bytes": 12345, "input_hash": "cd".repeat(32), "build_seconds": 1.2},
                    {"name": "probe", "language": "go", "world": "probe", "kind": "component",
                     "status": "missing", "reason": "go toolchain not found: x"}
                ]
            })
        );
    }

    #[test]
    fn keeps_the_agreed_key_order() {
        let text = serde_json::to_string(&sample()).unwrap();
        assert!(text.starts_with(r#"{"schema":1,"generated_at":"2026-01-02T03:04:05Z","fixtures":[{"name":"probe","language":"rust","world":"probe","kind":"component","status":"built","path":"/abs/path.wasm","sha256":""#), "{text}");
        assert!(text.ends_with(r#"{"name":"probe","language":"go","world":"probe","kind":"component","status":"missing","reason":"go toolchain not found: x"}]}"#), "{text}");
    }

    #[test]
    fn round_trips() {
        let m = sample();
        let back: Manifest = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn generated_at_is_rfc3339_utc() {
        let m = Manifest::new(vec![]);
        time::OffsetDateTime::parse(
            &m.generated_at,
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert!(m.generated_at.ends_with('Z'), "{}", m.generated_at);
    }

    #[test]
    fn writes_atomically_into_a_new_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".wcc/fixtures.json");
        sample().write(&path).unwrap();
        let back: Manifest = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back, sample());
        assert!(!path.with_extension("json.tmp").exists());
    }
}
