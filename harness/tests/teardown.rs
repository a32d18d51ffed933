//! Nothing survives the harness: a process holding a lattice that is SIGKILLed, or interrupted
//! with Ctrl-C (SIGINT), leaves no nats-server, host, wadm or capability provider behind. The
//! providers are the hard part: the host starts them as its own children, so they are the harness's
//! grandchildren, and nothing ties them to the harness process.
//!
//! Needs the binaries under test and the fixtures (`bash ci/setup`).
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// True once `pid` is gone (or a zombie, which holds no resources and is waiting to be reaped).
fn gone(pid: u32) -> bool {
    harness::procfs::gone(pid as i32)
}

/// The fixture provider the lattice starts (a native binary the host runs as its child).
const PROVIDER: &str = "kv-memory";

/// Parent pid of `pid`.
fn parent_of(pid: u32) -> Option<u32> {
    harness::procfs::Stat::of(pid as i32).map(|s| s.parent as u32)
}

/// Living children of any of `parents`, as (pid, command line).
fn children_of(parents: &[u32]) -> Vec<(u32, String)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid).is_some_and(|p| parents.contains(&p)) && !gone(*pid))
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            (pid, String::from_utf8_lossy(&cmdline).replace('\0', " "))
        })
        .collect()
}

/// A `wcc-lattice` of nats, wadm and 2 hosts, the first running the fixture provider; returns
/// it, the pids of the services and of the provider process(es), and the log directory.
///
/// `tmp` is the lattice's `TMPDIR`: its reaper records and log directory live there, out of reach
/// of the sweeps other runs on the machine do at every lattice start (one of those could otherwise
/// kill the survivors, or remove the log directory, before this test looks).
fn hold_lattice(tmp: &std::path::Path) -> (std::process::Child, Vec<u32>, std::path::PathBuf) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wcc-lattice"))
        .args(["--hosts", "2", "--wadm", "--provider", PROVIDER])
        .env("TMPDIR", tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("wcc-lattice starts");
    let stdout = child.stdout.take().expect("piped stdout");
    // The first line arrives once the lattice is ready; the lattice start itself is bounded.
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .expect("a readiness line")
        .expect("readable stdout");
    let info: serde_json::Value = serde_json::from_str(&line).expect("readiness line is JSON");
    let pids: Vec<u32> = info["pids"]
        .as_array()
        .expect("pids")
        .iter()
        .map(|p| p.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(pids.len(), 4, "nats + wadm + 2 hosts: {info}");
    assert_eq!(info["providers"], serde_json::json!([PROVIDER]), "{info}");
    assert!(
        pids.iter().all(|p| !gone(*p)),
        "every service runs before the kill: {info}"
    );
    // The provider is a child of a host (started once `provider_started` was seen).
    let providers = children_of(&pids);
    assert!(
        !providers.is_empty(),
        "the {PROVIDER} provider runs as a child process of a host before the kill: {info}"
    );
    let logs = std::path::PathBuf::from(info["logs"].as_str().expect("log dir"));
    assert!(logs.is_dir(), "{info}");
    let mut all = pids;
    all.extend(providers.iter().map(|(pid, _)| *pid));
    (child, all, logs)
}

fn assert_all_gone(pids: &[u32], how: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let alive: Vec<String> = pids
            .iter()
            .copied()
            .filter(|p| !gone(*p))
            .map(|p| {
                let cmdline = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                format!(
                    "{p} ({})",
                    String::from_utf8_lossy(&cmdline).replace('\0', " ").trim()
                )
            })
            .collect();
        if alive.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            // Not left behind by this test either (its records go with its temp dir).
            for p in pids {
                // SAFETY: plain syscall on a process this test's lattice started.
                unsafe {
                    libc::kill(*p as libc::pid_t, libc::SIGKILL);
                }
            }
            panic!("20 s after {how}, these lattice processes (services and providers) still run: {alive:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigkill_of_the_harness_leaves_no_process() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let (mut child, pids, logs) = hold_lattice(tmp.path());
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert_all_gone(&pids, "SIGKILL of the harness process");
    // The scratch directory outlives a SIGKILL; the next run's reaper removes it.
    assert!(
        logs.is_dir(),
        "nothing could have removed {} yet",
        logs.display()
    );
    // The sweep reads the records under TMPDIR (std's environment lock keeps this safe next to
    // the other test's spawn, which may inherit it: harmless).
    let outer = std::env::var_os("TMPDIR");
    std::env::set_var("TMPDIR", tmp.path());
    harness::reaper::sweep();
    match outer {
        Some(v) => std::env::set_var("TMPDIR", v),
        None => std::env::remove_var("TMPDIR"),
    }
    assert!(!logs.exists(), "the reaper left {} behind", logs.display());
}

#[test]
fn ctrl_c_of_the_harness_leaves_no_process() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let (mut child, pids, logs) = hold_lattice(tmp.path());
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = child.wait().expect("reaped");
    assert!(
        status.success(),
        "graceful shutdown on Ctrl-C exits 0, got {status}"
    );
    assert_all_gone(&pids, "Ctrl-C of the harness process");
    assert!(
        !logs.exists(),
        "a graceful shutdown leaves {} behind",
        logs.display()
    );
}
