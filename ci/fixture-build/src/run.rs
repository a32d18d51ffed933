//! One build run: decide for every listed fixture whether it is cached, to be built, or missing,
//! build what is needed, and produce the manifest entries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cache::{Artifact, Cache};
use crate::hash::{input_hash, ExtraInputs};
use crate::lang::{self, Toolchain};
use crate::manifest::{Entry, Status};
use crate::spec::{Fixture, Kind, Language};
use crate::toolchain::{Env, Tool};
use crate::verify;

#[derive(Debug, Default, Clone)]
pub struct Selection {
    /// Fixture names to build (all when empty).
    pub only: Vec<String>,
    /// Languages to build (all when empty).
    pub langs: Vec<Language>,
}

impl Selection {
    pub fn selects(&self, f: &Fixture) -> bool {
        (self.only.is_empty() || self.only.iter().any(|n| n == f.name()))
            && (self.langs.is_empty() || self.langs.contains(&f.language()))
    }
}

/// What happened to one fixture in this run.
#[derive(Debug)]
pub enum Outcome {
    Cached(Artifact, String),
    Built(Artifact, String),
    /// Its toolchain is not installed.
    NoToolchain(String),
    /// Not selected and not in the cache.
    NotSelected,
    Failed(String),
}

pub struct Report {
    pub results: Vec<(Fixture, Outcome)>,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = (&Fixture, &str)> {
        self.results.iter().filter_map(|(f, o)| match o {
            Outcome::Failed(e) => Some((f, e.as_str())),
            _ => None,
        })
    }

    pub fn without_toolchain(&self) -> impl Iterator<Item = (&Fixture, &str)> {
        self.results.iter().filter_map(|(f, o)| match o {
            Outcome::NoToolchain(r) => Some((f, r.as_str())),
            _ => None,
        })
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.results
            .iter()
            .map(|(f, outcome)| {
                let status = match outcome {
                    Outcome::Cached(a, hash) | Outcome::Built(a, hash) => Status::Built {
                        path: a.path.clone(),
                        sha256: a.sha256.clone(),
                        bytes: a.bytes,
                        input_hash: hash.clone(),
                        build_seconds: a.build_seconds,
                    },
                    Outcome::NoToolchain(reason) => Status::Missing {
                        reason: reason.clone(),
                    },
                    Outcome::NotSelected => Status::Missing {
                        reason: "not built: left out by --only/--lang and not in the cache".into(),
                    },
                    Outcome::Failed(e) => Status::Missing {
                        reason: format!("build failed: {}", e.lines().next().unwrap_or("")),
                    },
                };
                Entry {
                    name: f.entry.name.clone(),
                    language: f.entry.language.id().to_string(),
                    world: f.entry.world.clone(),
                    kind: f.entry.kind.id().into(),
                    status,
                }
            })
            .collect()
    }
}

pub fn run(env: &Env, fixtures: Vec<Fixture>, selection: &Selection) -> Report {
    let cache = Cache::new(env.cache.join("fixtures"));
    let wasm_tools = env
        .wasm_tools()
        .map_err(|e| {
            eprintln!("fixture-build: warning: {e}: WIT and built components go unchecked")
        })
        .ok();
    let mut toolchains: BTreeMap<(Kind, Language), Result<Box<dyn Toolchain>, String>> =
        BTreeMap::new();
    let mut wit_checks: BTreeMap<PathBuf, Result<(), String>> = BTreeMap::new();
    let mut results = Vec::with_capacity(fixtures.len());

    for fixture in fixtures {
        let label = fixture.label();
        let toolchain = toolchains
            .entry((fixture.kind(), fixture.language()))
            .or_insert_with(|| lang::locate(fixture.kind(), fixture.language(), env));
        let toolchain = match toolchain {
            Ok(t) => t,
            Err(reason) => {
                let reason = format!("{} toolchain not found: {reason}", fixture.language());
                if selection.selects(&fixture) {
                    eprintln!(
                        "fixture-build: {label}: missing ({} toolchain)",
                        fixture.language()
                    );
                }
                results.push((fixture, Outcome::NoToolchain(reason)));
                continue;
            }
        };
        let outcome = one(
            env,
            &cache,
            wasm_tools.as_ref(),
            toolchain.as_ref(),
            &fixture,
            selection,
            &mut wit_checks,
        );
        match &outcome {
            Outcome::Cached(a, _) => {
                eprintln!("fixture-build: {label}: cached ({})", size(a.bytes))
            }
            Outcome::Built(a, _) => {
                eprintln!(
                    "fixture-build: {label}: built in {:.1}s ({})",
                    a.build_seconds,
                    size(a.bytes)
                )
            }
            Outcome::Failed(e) => {
                eprintln!(
                    "fixture-build: {label}: FAILED: {}",
                    e.lines().next().unwrap_or("")
                )
            }
            Outcome::NoToolchain(_) | Outcome::NotSelected => {}
        }
        results.push((fixture, outcome));
    }
    Report { results }
}

fn one(
    env: &Env,
    cache: &Cache,
    wasm_tools: Option<&Tool>,
    toolchain: &dyn Toolchain,
    fixture: &Fixture,
    selection: &Selection,
    wit_checks: &mut BTreeMap<PathBuf, Result<(), String>>,
) -> Outcome {
    let hash = match fixture_hash(toolchain, fixture) {
        Ok(h) => h,
        Err(e) => return Outcome::Failed(format!("cannot read its inputs: {e}")),
    };
    let stem = format!("{}-{}", fixture.name(), fixture.language());
    let ext = fixture.kind().extension();
    if let Some(artifact) = cache.lookup(&hash, &stem, ext) {
        return Outcome::Cached(artifact, hash);
    }
    if !selection.selects(fixture) {
        return Outcome::NotSelected;
    }
    if let Some(wt) = wasm_tools {
        let check = wit_checks.entry(fixture.wit.clone()).or_insert_with(|| {
            verify::wit_parses(&wt.path, &fixture.wit).map_err(|e| {
                eprintln!(
                    "fixture-build: malformed WIT in {}: {e}",
                    fixture.wit.display()
                );
                e
            })
        });
        if check.is_err() {
            return Outcome::Failed(format!("malformed WIT in {}", fixture.wit.display()));
        }
    }
    eprintln!(
        "fixture-build: {}: building ({})",
        fixture.label(),
        &hash[..12]
    );
    match build(env, wasm_tools, toolchain, fixture, &hash, &stem) {
        Ok((built, seconds, work)) => {
            let stored = cache.store(&hash, &stem, ext, &built, seconds);
            let _ = std::fs::remove_dir_all(&work);
            match stored {
                Ok(artifact) => Outcome::Built(artifact, hash),
                Err(e) => Outcome::Failed(format!("cannot store the artifact: {e}")),
            }
        }
        Err(e) => Outcome::Failed(e),
    }
}

/// The input hash of `fixture` built with `toolchain`.
fn fixture_hash(toolchain: &dyn Toolchain, fixture: &Fixture) -> std::io::Result<String> {
    let identity = toolchain.identity();
    let recipe = toolchain.recipe();
    let extra = ExtraInputs {
        files: toolchain.shared_inputs(fixture),
        toolchain: &identity,
        recipe: &recipe,
    };
    input_hash(fixture, &extra)
}

/// Removes cached artifacts no fixture uses any more, and leftover work directories. An artifact
/// is kept when it matches a fixture's current input hash, or when `keep` lists its hash (the
/// manifest's, for fixtures whose toolchain is not here to compute a hash with). Returns the
/// removed directories.
pub fn gc(
    env: &Env,
    fixtures: &[Fixture],
    keep: &BTreeSet<String>,
    dry_run: bool,
) -> std::io::Result<Vec<PathBuf>> {
    let mut keep = keep.clone();
    let mut toolchains: BTreeMap<(Kind, Language), Option<Box<dyn Toolchain>>> = BTreeMap::new();
    for f in fixtures {
        let tc = toolchains
            .entry((f.kind(), f.language()))
            .or_insert_with(|| lang::locate(f.kind(), f.language(), env).ok());
        if let Some(tc) = tc {
            keep.insert(fixture_hash(tc.as_ref(), f)?);
        }
    }
    let mut removed = Vec::new();
    let artifacts = env.cache.join("fixtures");
    for entry in std::fs::read_dir(&artifacts).into_iter().flatten() {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && !keep.contains(&name) {
            removed.push(entry.path());
        }
    }
    for entry in std::fs::read_dir(env.scratch()).into_iter().flatten() {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("work-") {
            removed.push(entry.path());
        }
    }
    if !dry_run {
        for dir in &removed {
            std::fs::remove_dir_all(dir)?;
        }
    }
    Ok(removed)
}

/// Builds into a fresh work directory; returns the artifact, the build time and the directory.
fn build(
    env: &Env,
    wasm_tools: Option<&Tool>,
    toolchain: &dyn Toolchain,
    fixture: &Fixture,
    hash: &str,
    stem: &str,
) -> Result<(PathBuf, f64, PathBuf), String> {
    let work = env.scratch().join(format!("work-{stem}-{}", &hash[..12]));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("create {}: {e}", work.display()))?;
    let out = work.join(format!("{stem}.{}", fixture.kind().extension()));
    let start = Instant::now();
    toolchain
        .build(fixture, &work, &out)
        .map_err(|e| format!("{e:#}"))?;
    let seconds = start.elapsed().as_secs_f64();
    if !out.is_file() {
        return Err(format!("the build produced no {}", out.display()));
    }
    if let (Some(wt), Kind::Component) = (wasm_tools, fixture.kind()) {
        verify::exports_world(&wt.path, &fixture.wit, &fixture.entry.world, &out, &work)?;
    }
    Ok((out, seconds, work))
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// The repository root: the nearest ancestor of `start` holding `fixtures/fixtures.toml`.
pub fn find_repo(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join("fixtures/fixtures.toml").is_file())
        .map(Path::to_path_buf)
}
