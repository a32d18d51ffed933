//! The input hash: what a fixture's build reads, and nothing else. Two builds with the same input
//! hash are interchangeable, so the artifact is cached under it (Python and JS builds are not
//! byte-identical between runs, so the outputs cannot serve as the key).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::spec::{Fixture, Kind};

/// Bump when the way every fixture is built changes in a way that changes the artifacts.
const HASH_VERSION: &str = "fixture-build input hash v1";

/// Directories and files that are build outputs or editor droppings, never inputs.
const IGNORED_DIRS: &[&str] = &["target", "node_modules", "__pycache__", ".git"];
const IGNORED_SUFFIXES: &[&str] = &[".pyc", ".wasm", "~", ".swp"];

/// Everything besides the fixture's own sources and WIT that a build depends on.
#[derive(Debug, Default, Clone)]
pub struct ExtraInputs<'a> {
    /// Files or directories shared by several fixtures (a cargo workspace's manifest and lock
    /// file, a Go module, ...). Named by their last path component only.
    pub files: Vec<PathBuf>,
    /// The toolchain's identity: versions of every tool the build runs.
    pub toolchain: &'a str,
    /// The build recipe: commands and any glue the builder writes; a change rebuilds.
    pub recipe: &'a str,
}

/// A length-prefixed, tagged stream of fields, so that no two different inputs feed the same bytes.
struct Feed(Sha256);

impl Feed {
    fn field(&mut self, tag: &str, value: &[u8]) {
        self.0.update((tag.len() as u64).to_le_bytes());
        self.0.update(tag.as_bytes());
        self.0.update((value.len() as u64).to_le_bytes());
        self.0.update(value);
    }
}

pub fn input_hash(fixture: &Fixture, extra: &ExtraInputs<'_>) -> std::io::Result<String> {
    let mut feed = Feed(Sha256::new());
    feed.field("version", HASH_VERSION.as_bytes());
    // The entry, tags excepted: they select fixtures in tests and do not change what is built.
    let e = &fixture.entry;
    feed.field("name", e.name.as_bytes());
    feed.field("language", e.language.id().as_bytes());
    // Fed only for kinds other than the original one, so components keep their hashes (and caches).
    if e.kind != Kind::Component {
        feed.field("kind", e.kind.id().as_bytes());
    }
    feed.field("world", e.world.as_bytes());
    feed.field("sources", path_bytes(&e.sources));
    feed.field(
        "wit",
        e.wit.as_deref().map(path_bytes).unwrap_or(b"<shared>"),
    );
    // Likewise only when set, so fixtures built from sources keep their hashes.
    if let Some(binary) = &e.binary {
        feed.field("binary", binary.as_bytes());
    }
    feed.field("toolchain", extra.toolchain.as_bytes());
    feed.field("recipe", extra.recipe.as_bytes());
    tree(&mut feed, "src", &fixture.sources)?;
    tree(&mut feed, "wit", &fixture.wit)?;
    for file in &extra.files {
        feed.field(
            "extra",
            path_bytes(file.file_name().map(Path::new).unwrap_or(file)),
        );
        if file.is_dir() {
            tree(&mut feed, "extra-tree", file)?;
        } else {
            feed.field("extra-content", &std::fs::read(file)?);
        }
    }
    Ok(hex::encode(feed.0.finalize()))
}

fn path_bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_encoded_bytes()
}

/// Feeds every file under `dir`: relative path (with `/` separators) and content, in sorted order.
fn tree(feed: &mut Feed, tag: &str, dir: &Path) -> std::io::Result<()> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    feed.field(tag, format!("{} files", files.len()).as_bytes());
    for rel in files {
        feed.field("path", rel.as_bytes());
        feed.field("content", &std::fs::read(dir.join(&rel))?);
    }
    Ok(())
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let kind = std::fs::metadata(&path)?; // follows symlinks: the content is what counts
        if kind.is_dir() {
            if !IGNORED_DIRS.contains(&name.as_ref()) {
                collect(root, &path, out)?;
            }
        } else if kind.is_file() && !IGNORED_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            let rel = path.strip_prefix(root).expect("walked under root");
            let rel: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            out.push(rel.join("/"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{FixtureEntry, Language};

    struct Tree {
        dir: tempfile::TempDir,
        fixture: Fixture,
    }

    fn tree() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let sources = dir.path().join("components/c/probe");
        let wit = dir.path().join("wit");
        std::fs::create_dir_all(sources.join("sub")).unwrap();
        std::fs::create_dir_all(wit.join("deps/x")).unwrap();
        std::fs::write(sources.join("probe.c"), "int x;").unwrap();
        std::fs::write(sources.join("sub/glue.h"), "#pragma once").unwrap();
        std::fs::write(wit.join("fixtures.wit"), "package test:fixtures@0.1.0;").unwrap();
        std::fs::write(wit.join("deps/x/x.wit"), "package x:y;").unwrap();
        std::fs::write(dir.path().join("shared.lock"), "lock v1").unwrap();
        std::fs::create_dir_all(dir.path().join("shared/pkg")).unwrap();
        std::fs::write(dir.path().join("shared/pkg/lib.go"), "package pkg").unwrap();
        let entry = FixtureEntry {
            name: "probe".into(),
            language: Language::C,
            kind: Kind::Component,
            world: "probe".into(),
            sources: "components/c/probe".into(),
            wit: None,
            binary: None,
            tags: vec!["a".into()],
        };
        Tree {
            fixture: Fixture {
                entry,
                sources,
                wit,
            },
            dir,
        }
    }

    fn hash(t: &Tree) -> String {
        hash_with(t, "clang 14", "recipe 1")
    }

    fn hash_with(t: &Tree, toolchain: &str, recipe: &str) -> String {
        let extra = ExtraInputs {
            files: vec![
                t.dir.path().join("shared.lock"),
                t.dir.path().join("shared"),
            ],
            toolchain,
            recipe,
        };
        input_hash(&t.fixture, &extra).unwrap()
    }

    #[test]
    fn is_stable() {
        let t = tree();
        let first = hash(&t);
        assert_eq!(first.len(), 64);
        assert_eq!(first, hash(&t));
        // The same content elsewhere on disk hashes the same (absolute paths are not inputs).
        let other = tree();
        assert_eq!(first, hash(&other));
    }

    #[test]
    fn ignores_build_outputs_and_tags() {
        let mut t = tree();
        let before = hash(&t);
        std::fs::create_dir_all(t.fixture.sources.join("target/wasm")).unwrap();
        std::fs::write(t.fixture.sources.join("target/wasm/out.o"), "junk").unwrap();
        std::fs::write(t.fixture.sources.join("out.wasm"), "junk").unwrap();
        std::fs::create_dir_all(t.fixture.sources.join("__pycache__")).unwrap();
        std::fs::write(t.fixture.sources.join("__pycache__/a.pyc"), "junk").unwrap();
        t.fixture.entry.tags.push("more".into());
        assert_eq!(before, hash(&t));
    }

    #[test]
    fn changes_with_every_input() {
        let t = tree();
        let base = hash(&t);
        let changed = |what: &str, h: String| assert_ne!(base, h, "{what} did not change the hash");

        changed("toolchain", hash_with(&t, "clang 15", "recipe 1"));
        changed("recipe", hash_with(&t, "clang 14", "recipe 2"));

        for (what, edit) in [
            ("source content", t.fixture.sources.join("probe.c")),
            ("nested source", t.fixture.sources.join("sub/glue.h")),
            ("wit", t.fixture.wit.join("fixtures.wit")),
            ("wit dependency", t.fixture.wit.join("deps/x/x.wit")),
            ("shared file", t.dir.path().join("shared.lock")),
            ("shared directory", t.dir.path().join("shared/pkg/lib.go")),
        ] {
            let old = std::fs::read(&edit).unwrap();
            std::fs::write(&edit, [old.as_slice(), b" "].concat()).unwrap();
            changed(what, hash(&t));
            std::fs::write(&edit, old).unwrap();
            assert_eq!(base, hash(&t), "restoring {what} did not restore the hash");
        }

        std::fs::write(t.fixture.sources.join("new.c"), "").unwrap();
        changed("added file", hash(&t));
        std::fs::remove_file(t.fixture.sources.join("new.c")).unwrap();
        std::fs::rename(
            t.fixture.sources.join("probe.c"),
            t.fixture.sources.join("probe2.c"),
        )
        .unwrap();
        changed("renamed file", hash(&t));
        std::fs::rename(
            t.fixture.sources.join("probe2.c"),
            t.fixture.sources.join("probe.c"),
        )
        .unwrap();

        for edit in [
            |e: &mut FixtureEntry| e.name = "probe2".into(),
            |e: &mut FixtureEntry| e.language = Language::Go,
            |e: &mut FixtureEntry| e.world = "other".into(),
            |e: &mut FixtureEntry| e.wit = Some("wit".into()),
            |e: &mut FixtureEntry| e.kind = Kind::Provider,
            |e: &mut FixtureEntry| e.binary = Some("prebuilt".into()),
        ] {
            let mut t2 = tree();
            edit(&mut t2.fixture.entry);
            changed("entry", hash(&t2));
        }
    }
}
