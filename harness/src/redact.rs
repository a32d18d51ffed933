//! The one redaction policy every snapshot goes through.
//!
//! Values that differ between runs or machines become stable placeholders: the lattice name,
//! host IDs (numbered in start order), other nkeys, ULIDs, UUIDs, RFC 3339 timestamps, loopback
//! ports, fixture paths, the host version, and by key the fields that vary by nature (uptime,
//! friendly names, event ids and times). Object keys are sorted.
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

struct Pattern {
    re: Regex,
    placeholder: &'static str,
}

static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    let p = |re: &str, placeholder| Pattern {
        re: Regex::new(re).expect("valid redaction regex"),
        placeholder,
    };
    vec![
        // RFC 3339 timestamps (before anything that could eat their digits).
        p(
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
            "[timestamp]",
        ),
        // nkeys: servers (hosts), modules, services, accounts, users; seeds.
        p(r"\b[NMVAUCO][A-Z2-7]{55}\b", "[nkey]"),
        p(r"\bS[NMVAUCO][A-Z2-7]{56}\b", "[seed]"),
        // UUIDs before ULIDs (a UUID has hyphens, a ULID has none).
        p(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
            "[uuid]",
        ),
        p(r"\b[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}\b", "[ulid]"),
        p(r"(127\.0\.0\.1|localhost|0\.0\.0\.0):\d{2,5}", "$1:[port]"),
        p(r"file://[^\s\x22']+", "file://[path]"),
    ]
});

/// Keys whose values vary by nature and are replaced whole.
const VOLATILE_KEYS: &[(&str, &str)] = &[
    ("uptime_seconds", "[uptime]"),
    ("uptime_human", "[uptime]"),
    ("friendly_name", "[friendly-name]"),
    ("time", "[timestamp]"),
    ("hostcore.arch", "[arch]"),
    ("hostcore.os", "[os]"),
    ("hostcore.osfamily", "[os-family]"),
];

/// A redaction policy instance: the shared patterns plus literals known for one lattice.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    literals: Vec<(String, String)>,
}

impl Redactor {
    /// The shared patterns only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the identity of a lattice: its name, host IDs (`[host-0]`, ...), NATS URL and the
    /// host version each host reports.
    pub fn for_lattice(lattice: &crate::lattice::Lattice) -> Self {
        let mut r = Self::new()
            .literal(lattice.name(), "[lattice]")
            .literal(&lattice.nats_url(), "nats://[nats]");
        for (i, id) in lattice.host_ids().iter().enumerate() {
            r = r.literal(id, &format!("[host-{i}]"));
        }
        r
    }

    /// Replaces every occurrence of `value` by `placeholder` (before the patterns run). Longer
    /// literals are applied first so one literal cannot break another.
    pub fn literal(mut self, value: &str, placeholder: &str) -> Self {
        if !value.is_empty() {
            self.literals
                .push((value.to_string(), placeholder.to_string()));
            self.literals
                .sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        }
        self
    }

    /// Redacts a string.
    pub fn redact_str(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (value, placeholder) in &self.literals {
            out = out.replace(value, placeholder);
        }
        for p in PATTERNS.iter() {
            out = p.re.replace_all(&out, p.placeholder).into_owned();
        }
        out
    }

    /// Redacts a JSON value: strings by [`Redactor::redact_str`], volatile keys whole, keys sorted.
    pub fn redact_json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.redact_str(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_json(v)).collect())
            }
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for key in keys {
                    let v = &map[key];
                    let redacted = match VOLATILE_KEYS.iter().find(|(k, _)| k == key) {
                        Some((_, placeholder)) if !v.is_null() => {
                            Value::String((*placeholder).to_string())
                        }
                        _ => self.redact_json(v),
                    };
                    out.insert(self.redact_str(key), redacted);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }
}

/// Asserts a JSON snapshot of `value` through a [`Redactor`], recording `input` as the
/// snapshot's info. Expands in the caller's crate, so snapshots live beside the tests
/// (`snapshots/<name>.snap` next to the test file); review new ones with `cargo insta review`
/// (or rename the `.snap.new` file after reading it). Both `input` and `value` must implement
/// `serde::Serialize`.
///
/// ```no_run
/// // In a test: writes or compares `snapshots/greeting.snap` beside the test file.
/// let redactor = harness::redact::Redactor::new().literal("wcc-01jabc", "[lattice]");
/// let reply = serde_json::json!({"lattice": "wcc-01jabc", "greeting": "Hello, Ada!"});
/// harness::snapshot!(redactor, "greeting", "GET /hello/Ada", reply);
/// ```
#[macro_export]
macro_rules! snapshot {
    ($redactor:expr, $name:expr, $input:expr, $value:expr) => {{
        let __value =
            $crate::__serde_json::to_value(&$value).expect("snapshot value serializes to JSON");
        let __redacted = $redactor.redact_json(&__value);
        let mut __settings = $crate::insta::Settings::clone_current();
        __settings.set_prepend_module_to_snapshot(false);
        __settings.set_omit_expression(true);
        __settings.set_info(
            &$redactor
                .redact_json(&$crate::__serde_json::to_value(&$input).expect("input serializes")),
        );
        __settings.bind(|| {
            $crate::insta::assert_json_snapshot!($name, __redacted);
        });
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_times_ports_and_paths_become_placeholders() {
        let host = "NBMS3UGZYAV3AUQQNU5PIZXRLBAHJ7EFM6K7NLZPGWUO4CB4A5D3O4TM";
        let r = Redactor::new()
            .literal(host, "[host-0]")
            .literal("wcc-01jabc", "[lattice]");
        let text = format!(
            "host {host} on wcc-01jabc at 2026-11-24T21:12:54.123Z id 01JD4Q7Z8X9Y0A1B2C3D4E5F6G uuid 9f1c2f4e-2b7a-4c7e-9d3a-1b2c3d4e5f60 listening 127.0.0.1:43987 image file:///root/.cache/x/http-rust.wasm other MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"
        );
        assert_eq!(
            r.redact_str(&text),
            "host [host-0] on [lattice] at [timestamp] id [ulid] uuid [uuid] listening 127.0.0.1:[port] image file://[path] other [nkey]"
        );
    }

    #[test]
    fn json_keys_are_sorted_and_volatile_fields_replaced() {
        let v = serde_json::json!({"z": 1, "uptime_seconds": 12, "friendly_name": "odd-cat-1234",
            "labels": {"hostcore.os": "linux", "zone": "a"}, "a": [{"time": "2026-01-01T00:00:00Z"}], "js_domain": null});
        let out = Redactor::new().redact_json(&v);
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"a":[{"time":"[timestamp]"}],"friendly_name":"[friendly-name]","js_domain":null,"labels":{"hostcore.os":"[os]","zone":"a"},"uptime_seconds":"[uptime]","z":1}"#
        );
    }

    #[test]
    fn longer_literals_win() {
        let r = Redactor::new()
            .literal("abc", "[short]")
            .literal("abcdef", "[long]");
        assert_eq!(r.redact_str("abcdef abc"), "[long] [short]");
    }
}
