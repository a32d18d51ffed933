//! The one redaction policy every snapshot goes through.
//!
//! Values that differ between runs or machines become stable placeholders: the lattice name,
//! host IDs (numbered in start order), other nkeys, ULIDs, UUIDs, RFC 3339 timestamps, loopback
//! ports, fixture paths, scratch folders, the host version, and by key the fields that vary by
//! nature (uptime, friendly names, event ids and times). Object keys are sorted. Redacting twice
//! changes nothing (a property test checks it). Secret values a test hands out are known to it
//! ([`Redactor::secret`]) and become `[secret]`, also in text that keeps its ids
//! ([`Redactor::scrub_secrets`]: failure messages, diagnostics).
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
        // A lattice's scratch folder (`<temp>/wcc-<ulid>-<random>/…`, the lattice name maybe
        // already replaced by its literal): logs and shared files, different in every run. First,
        // before the ULID inside it is replaced on its own.
        Pattern {
            re: Regex::new(&format!(
                r"{}/(?:wcc-[0-9a-z]+|\[lattice\])-[^\s\x22']*",
                regex::escape(std::env::temp_dir().to_string_lossy().trim_end_matches('/'))
            ))
            .expect("valid scratch-path regex"),
            placeholder: "[scratch]",
        },
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
        // A port is a whole number: digits running on into a word are not a port.
        p(
            r"(127\.0\.0\.1|localhost|0\.0\.0\.0):\d{2,5}\b",
            "$1:[port]",
        ),
        p(r"file://[^\s\x22']+", "file://[path]"),
    ]
});

/// What every known secret value becomes.
pub const SECRET: &str = "[secret]";

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

    /// Knows `value` as a secret: it becomes [`SECRET`] wherever it appears.
    pub fn secret(self, value: &str) -> Self {
        self.literal(value, SECRET)
    }

    /// Replaces the secrets it knows and nothing else: for text whose ids must stay readable.
    pub fn scrub_secrets(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (value, placeholder) in &self.literals {
            if placeholder == SECRET {
                out = out.replace(value, SECRET);
            }
        }
        out
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
    fn secrets_become_placeholders_everywhere() {
        let host = "NBMS3UGZYAV3AUQQNU5PIZXRLBAHJ7EFM6K7NLZPGWUO4CB4A5D3O4TM";
        let r = Redactor::new()
            .literal(host, "[host-0]")
            .secret("s3cr3t-Value")
            .secret("longer-s3cr3t-Value-2");
        let text = format!("host {host} got s3cr3t-Value and longer-s3cr3t-Value-2");
        assert_eq!(
            r.scrub_secrets(&text),
            format!("host {host} got [secret] and [secret]")
        );
        assert_eq!(
            r.redact_str(&text),
            "host [host-0] got [secret] and [secret]"
        );
        let v = serde_json::json!({"config": {"s3cr3t-Value": ["x s3cr3t-Value y"]}});
        let shown = r.redact_json(&v).to_string();
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(
            r.scrub_secrets(&r.scrub_secrets(&text)),
            r.scrub_secrets(&text)
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

    mod properties {
        use super::super::Redactor;
        use proptest::prelude::*;

        /// One value that differs between runs, as it appears in a reply or a log.
        fn volatile() -> impl Strategy<Value = String> {
            let ulid = any::<u128>().prop_map(|u| ulid::Ulid::from(u).to_string());
            let timestamp = (
                2000u32..2100,
                1u32..13,
                1u32..29,
                0u32..24,
                0u32..60,
                0u32..60,
                prop::option::of(0u32..1_000_000),
                prop::sample::select(vec!["Z", "+00:00", "-05:30", ""]),
            )
                .prop_map(|(y, mo, d, h, mi, s, frac, zone)| {
                    let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
                    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}")
                });
            let port = (
                prop::sample::select(vec!["127.0.0.1", "localhost", "0.0.0.0"]),
                10u16..=65535,
            )
                .prop_map(|(host, port)| format!("{host}:{port}"));
            let scratch = (any::<u128>(), "[A-Za-z0-9]{6}", "[a-z0-9/._-]{0,20}").prop_map(
                |(u, rand, rest)| {
                    format!(
                        "{}/wcc-{}-{rand}/{rest}",
                        std::env::temp_dir().display(),
                        ulid::Ulid::from(u).to_string().to_lowercase()
                    )
                },
            );
            prop_oneof![
                "[NMVAUCO][A-Z2-7]{55}",
                "S[NMVAUCO][A-Z2-7]{56}",
                ulid.clone(),
                ulid.prop_map(|u| u.to_lowercase()),
                "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                timestamp,
                port,
                "file:///[a-z0-9/._-]{1,40}",
                scratch,
            ]
        }

        /// Text around the values: words, punctuation, JSON-ish quoting, any Unicode.
        fn filler() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z0-9 ,.:=(){}\\[\\]\"'\n-]{0,12}",
                any::<String>().prop_map(|s| s.chars().take(12).collect()),
            ]
        }

        /// A separator no identifier pattern can run across.
        fn separator() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![" ", "\n", " \"", "\" ", ", ", " (", ") ", "\t"])
        }

        proptest! {
            #[test]
            fn redacting_twice_changes_nothing(
                parts in prop::collection::vec((filler(), volatile()), 0..6),
                tail in filler(),
            ) {
                let text: String = parts.iter().map(|(f, v)| format!("{f}{v}")).collect::<String>() + &tail;
                let r = Redactor::new().literal("wcc-01jabcdefghjkmnpqrstvwxyz", "[lattice]");
                let once = r.redact_str(&text);
                prop_assert_eq!(r.redact_str(&once), once.clone(), "input {:?}", text);
                let json = serde_json::json!({"b": text, "a": [once.clone()], "time": "x"});
                let j1 = r.redact_json(&json);
                prop_assert_eq!(r.redact_json(&j1), j1);
            }

            #[test]
            fn no_volatile_value_survives(
                parts in prop::collection::vec((filler(), separator(), volatile(), separator()), 1..6),
            ) {
                let text: String = parts
                    .iter()
                    .map(|(f, a, v, b)| format!("{f}{a}{v}{b}"))
                    .collect();
                let out = Redactor::new().redact_str(&text);
                for (_, _, v, _) in &parts {
                    prop_assert!(!out.contains(v.as_str()), "{:?} survived in {:?}", v, out);
                }
            }
        }
    }

    #[test]
    fn scratch_folders_become_a_placeholder() {
        let tmp = std::env::temp_dir();
        let r = Redactor::new().literal("wcc-01jd4q7z8x9y0a1b2c3d4e5f6g", "[lattice]");
        let text = format!(
            "log {}/wcc-01jd4q7z8x9y0a1b2c3d4e5f6g-FHBhPJ/host-0.log kept",
            tmp.display()
        );
        assert_eq!(r.redact_str(&text), "log [scratch] kept");
    }

    #[test]
    fn longer_literals_win() {
        let r = Redactor::new()
            .literal("abc", "[short]")
            .literal("abcdef", "[long]");
        assert_eq!(r.redact_str("abcdef abc"), "[long] [short]");
    }
}
