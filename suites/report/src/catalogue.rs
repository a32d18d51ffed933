//! The conformance catalogue: the behaviours an implementation is held to, one item each, in the
//! TOML format of the suite's `catalogue.toml`. The suite embeds its file and hands the text to
//! [`Catalogue::parse`]; reports name the catalogue they were run against by [`CatalogueRef`]
//! (version and SHA-256 of the file), and `verify` checks that name.
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Which catalogue a report was run against: its version and the SHA-256 (hex) of its file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueRef {
    /// `[catalogue] version` of the file.
    pub version: String,
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: String,
}

impl std::fmt::Display for CatalogueRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (sha256 {})", self.version, self.sha256)
    }
}

/// How far the catalogue trusts an item's reading of the upstream code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemStatus {
    /// Read from the code; tests assert it.
    #[serde(rename = "plain")]
    Plain,
    /// Inferred from the code; a test's observation settles it.
    #[serde(rename = "verify")]
    Verify,
    /// Looks unintended upstream; tests are tolerant and record the divergence.
    #[serde(rename = "bug?")]
    Bug,
}

/// One behaviour of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// `<PREFIX>-<NN>`, e.g. `CFG-01`; tests name it in `covers`.
    pub id: String,
    /// The area its prefix stands for (see [`area_of`]).
    pub area: String,
    /// A short title.
    pub title: String,
    /// What the host or wadm must do.
    pub contract: String,
    /// How a test observes it (subject, event, API, log …).
    pub observed: String,
    /// Upstream source path(s) it was read from (`W:` wasmCloud, `D:` wadm).
    pub source: String,
    /// `plain`, `verify` or `bug?`.
    pub status: ItemStatus,
}

/// What the catalogue describes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// The `wasmcloud` binary's version.
    pub host: String,
    /// The `wasmcloud-host` crate's version.
    pub host_crate: String,
    /// wadm's version.
    pub wadm: String,
    /// The upstream branch read.
    pub branch: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    version: String,
    upstream: Upstream,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    catalogue: Header,
    #[serde(rename = "item", default)]
    items: Vec<Item>,
}

/// A parsed, checked catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalogue {
    version: String,
    upstream: Upstream,
    sha256: String,
    items: Vec<Item>,
}

/// The area an item ID's prefix stands for (`None`: no such prefix).
pub fn area_of(id: &str) -> Option<&'static str> {
    let (prefix, _) = id.split_once('-')?;
    Some(match prefix {
        "CFG" => "configuration",
        "HL" => "host-lifecycle",
        "ORC" => "orchestration",
        "NET" => "networking",
        "VAC" => "vendorless",
        "OBS" => "observability",
        "SEC" => "security",
        "Q" => "quirks",
        _ => return None,
    })
}

/// Whether `id` is `<PREFIX>-<NN>`: a known prefix and two or more digits.
pub fn well_formed_id(id: &str) -> bool {
    id.split_once('-').is_some_and(|(_, n)| {
        area_of(id).is_some() && n.len() >= 2 && n.chars().all(|c| c.is_ascii_digit())
    })
}

impl Catalogue {
    /// Parses and checks catalogue text: TOML with a `[catalogue]` table (`version`,
    /// `[catalogue.upstream]`) and `[[item]]` tables. Every item needs a well-formed, unique ID,
    /// the area of its prefix, and no empty field; the error names each problem found.
    pub fn parse(text: &str) -> Result<Self, String> {
        use sha2::Digest as _;
        let file: File = toml::from_str(text).map_err(|e| format!("not a catalogue: {e}"))?;
        let mut problems = Vec::new();
        if file.catalogue.version.trim().is_empty() {
            problems.push("[catalogue] version is empty".to_string());
        }
        let u = &file.catalogue.upstream;
        for (field, value) in [
            ("host", &u.host),
            ("host_crate", &u.host_crate),
            ("wadm", &u.wadm),
            ("branch", &u.branch),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("[catalogue.upstream] {field} is empty"));
            }
        }
        if file.items.is_empty() {
            problems.push("it defines no [[item]]".to_string());
        }
        let mut seen = BTreeSet::new();
        for item in &file.items {
            let id = &item.id;
            if !well_formed_id(id) {
                problems.push(format!(
                    "item `{id}`: the id is not <PREFIX>-<NN> with a known prefix (CFG, HL, ORC, NET, VAC, OBS, SEC, Q)"
                ));
            } else if area_of(id) != Some(item.area.as_str()) {
                problems.push(format!(
                    "item {id}: area `{}` is not the area of its prefix, `{}`",
                    item.area,
                    area_of(id).unwrap_or_default()
                ));
            }
            if !seen.insert(id.as_str()) {
                problems.push(format!("item {id} is defined twice"));
            }
            for (field, value) in [
                ("title", &item.title),
                ("contract", &item.contract),
                ("observed", &item.observed),
                ("source", &item.source),
            ] {
                if value.trim().is_empty() {
                    problems.push(format!("item {id}: {field} is empty"));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(Self {
            version: file.catalogue.version,
            upstream: file.catalogue.upstream,
            sha256: hex::encode(sha2::Sha256::digest(text.as_bytes())),
            items: file.items,
        })
    }

    /// Its version (`[catalogue] version`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// What it describes.
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// SHA-256 (hex) of the text it was parsed from.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Its items, in file order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Its item IDs.
    pub fn ids(&self) -> BTreeSet<String> {
        self.items.iter().map(|i| i.id.clone()).collect()
    }

    /// Whether it defines `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.items.iter().any(|i| i.id == id)
    }

    /// The item `id`.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    /// How many items it has.
    pub fn count(&self) -> usize {
        self.items.len()
    }

    /// The name a report records: version and SHA-256.
    pub fn reference(&self) -> CatalogueRef {
        CatalogueRef {
            version: self.version.clone(),
            sha256: self.sha256.clone(),
        }
    }
}

/// Small catalogues for unit tests of the modules that read reports.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A catalogue text with `ids` as items.
    pub(crate) fn text(version: &str, ids: &[&str]) -> String {
        let mut t = format!(
            "[catalogue]\nversion = \"{version}\"\n[catalogue.upstream]\nhost = \"h\"\nhost_crate = \"c\"\nwadm = \"w\"\nbranch = \"b\"\n"
        );
        for id in ids {
            t.push_str(&format!(
                "[[item]]\nid = \"{id}\"\narea = \"{}\"\ntitle = \"t\"\ncontract = \"c\"\nobserved = \"o\"\nsource = \"W:s\"\nstatus = \"plain\"\n",
                area_of(id).unwrap_or("?")
            ));
        }
        t
    }

    /// A catalogue with `ids` as items.
    pub(crate) fn catalogue(ids: &[&str]) -> Catalogue {
        Catalogue::parse(&text("test/r1", ids)).expect("a valid test catalogue")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{catalogue, text};
    use super::*;

    #[test]
    fn a_catalogue_parses_with_its_version_hash_and_items() {
        let t = text("v/r1", &["CFG-01", "Q-03"]);
        let c = Catalogue::parse(&t).unwrap();
        assert_eq!(c.version(), "v/r1");
        assert_eq!(c.count(), 2);
        assert_eq!(
            c.ids(),
            ["CFG-01", "Q-03"].iter().map(ToString::to_string).collect()
        );
        assert!(c.contains("Q-03") && !c.contains("Q-04"));
        assert_eq!(c.item("CFG-01").unwrap().area, "configuration");
        assert_eq!(c.item("CFG-01").unwrap().status, ItemStatus::Plain);
        assert_eq!(c.upstream().branch, "b");
        assert_eq!(c.sha256().len(), 64);
        assert_ne!(
            c.sha256(),
            Catalogue::parse(&format!("{t}\n")).unwrap().sha256(),
            "the hash is of the bytes"
        );
        assert_eq!(
            c.reference().to_string(),
            format!("v/r1 (sha256 {})", c.sha256())
        );
    }

    #[test]
    fn statuses_are_plain_verify_or_bug() {
        let t = text("v", &["HL-01"]);
        for (s, want) in [
            ("verify", Some(ItemStatus::Verify)),
            ("bug?", Some(ItemStatus::Bug)),
            ("plain", Some(ItemStatus::Plain)),
            ("maybe", None),
        ] {
            let c = Catalogue::parse(&t.replace("\"plain\"", &format!("\"{s}\"")));
            assert_eq!(
                c.as_ref().ok().map(|c| c.items()[0].status),
                want,
                "{s}: {c:?}"
            );
        }
    }

    #[test]
    fn each_problem_of_a_catalogue_is_named() {
        let err = |t: &str| Catalogue::parse(t).unwrap_err();
        assert!(err("not toml [").contains("not a catalogue"));
        assert!(err(&text("v", &[])).contains("no [[item]]"));
        assert!(err(&text("", &["HL-01"])).contains("version is empty"));
        assert!(err(&text("v", &["HL-01", "HL-01"])).contains("HL-01 is defined twice"));
        assert!(err(&text("v", &["ZZ-01"])).contains("`ZZ-01`"));
        assert!(err(&text("v", &["HL-1"])).contains("`HL-1`"));
        let wrong_area = text("v", &["HL-01"]).replace("host-lifecycle", "networking");
        assert!(err(&wrong_area).contains("area `networking` is not the area of its prefix"));
        let empty = text("v", &["HL-01"]).replace("contract = \"c\"", "contract = \" \"");
        assert!(err(&empty).contains("HL-01: contract is empty"));
        let extra = text("v", &["HL-01"]).replace("title = \"t\"", "title = \"t\"\nnote = \"x\"");
        assert!(err(&extra).contains("unknown field"));
    }

    #[test]
    fn ids_are_known_prefixes_and_numbers() {
        for ok in ["CFG-01", "HL-19", "Q-03", "VAC-14", "SEC-100"] {
            assert!(well_formed_id(ok), "{ok}");
        }
        for bad in ["CFG-1", "XX-01", "HL01", "HL-0a", "-01", "hl-01"] {
            assert!(!well_formed_id(bad), "{bad}");
        }
        assert_eq!(catalogue(&["OBS-01"]).items()[0].area, "observability");
    }
}
