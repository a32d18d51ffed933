//! Lattice-up time (NATS + 1 host + wadm, all ready by protocol) against a floor measured in the
//! same run: the three bare processes started one after another and polled until each answers
//! (NATS accepts a client, the host answers `host.get.<id>`, wadm answers `model.list`), with no
//! harness in between. Target: lattice-up at most 1.5x the floor. Lattice-up no longer includes
//! wadm learning of the hosts (the wadm client's first call waits for that); the bench reports that
//! time too, as the time until wadm knows the host.
//!
//! `cargo bench -p harness --bench lattice_up` (needs `bash ci/setup`); writes
//! `results/perf/lattice-up.json`. `WCC_BENCH_ROUNDS` sets the rounds (default 7).
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::binaries::{repo_root, Binaries};
use harness::Lattice;

const POLL: Duration = Duration::from_millis(5);
const LIMIT: Duration = Duration::from_secs(30);
/// Lattice-up may take at most this multiple of the floor (issue "Speed of the gate").
const TARGET_RATIO: f64 = 1.5;

struct Killed(Vec<Child>);
impl Drop for Killed {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    harness::net::free_port().unwrap()
}

async fn until_answers(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < LIMIT,
            "{what} did not answer within {LIMIT:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// The floor: bare processes, minimal readiness checks.
async fn floor(bins: &Binaries) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let lattice = format!("floor{}", std::process::id());
    let start = Instant::now();
    let mut procs = Killed(Vec::new());
    procs.0.push(
        Command::new(&bins.nats_server)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("nats://127.0.0.1:{port}");
    let mut client = None;
    until_answers("nats-server", async || {
        client = async_nats::connect(&url).await.ok();
        client.is_some()
    })
    .await;
    let client = client.unwrap();
    procs.0.push(
        Command::new(&bins.wadm)
            .env_clear()
            .env("WADM_NATS_SERVER", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let list = format!("wadm.api.{lattice}.model.list");
    until_answers("wadm", async || {
        matches!(
            tokio::time::timeout(
                Duration::from_millis(200),
                client.request(list.clone(), "".into())
            )
            .await,
            Ok(Ok(_))
        )
    })
    .await;
    let key = nkeys::KeyPair::new_server();
    procs.0.push(
        Command::new(&bins.host)
            .env_clear()
            .env("WASMCLOUD_LATTICE", &lattice)
            .env("WASMCLOUD_NATS_PORT", port.to_string())
            .env("WASMCLOUD_HOST_SEED", key.seed().unwrap())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let get = format!("wasmbus.ctl.v1.{lattice}.host.get.{}", key.public_key());
    until_answers("host", async || {
        matches!(
            tokio::time::timeout(
                Duration::from_millis(200),
                client.request(get.clone(), "".into())
            )
            .await,
            Ok(Ok(_))
        )
    })
    .await;
    start.elapsed()
}

/// Lattice-up (hosts answering; wadm answering and watching for the hosts in the background),
/// then how much longer until the wadm client's first call may go out (wadm knows the host).
async fn lattice_up(bins: &Binaries) -> (Duration, Duration) {
    let start = Instant::now();
    let lattice = Lattice::builder()
        .hosts(1)
        .wadm(true)
        .binaries(bins.clone())
        .start()
        .await
        .expect("lattice starts");
    let up = start.elapsed();
    lattice
        .wadm()
        .ready()
        .await
        .expect("wadm learns of the host");
    let aware = start.elapsed();
    drop(lattice);
    (up, aware)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful either way.
    let bins = Binaries::from_env().unwrap_or_else(|e| panic!("{e}"));
    let rounds: usize = std::env::var("WCC_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    // One warm-up of each (page cache, first JetStream directory), not counted.
    floor(&bins).await;
    lattice_up(&bins).await;
    let (mut floors, mut ups, mut aware) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        floors.push(floor(&bins).await);
        let (u, a) = lattice_up(&bins).await;
        ups.push(u);
        aware.push(a);
    }
    let (f, u, a) = (
        median(floors.clone()),
        median(ups.clone()),
        median(aware.clone()),
    );
    let ratio = u.as_secs_f64() / f.as_secs_f64();
    let ratio_aware = a.as_secs_f64() / f.as_secs_f64();
    println!("floor (bare processes answering): median {f:?} of {floors:?}");
    println!("lattice-up (harness, ready by protocol): median {u:?} of {ups:?}");
    println!("lattice-up until wadm knows the host (what a wadm test's first call waits for): median {a:?} of {aware:?}");
    println!(
        "ratio {ratio:.2} (target <= {TARGET_RATIO}): {}",
        if ratio <= TARGET_RATIO {
            "met"
        } else {
            "NOT met"
        }
    );
    println!("ratio until wadm knows the host {ratio_aware:.2}");
    let out = repo_root().join("results").join("perf");
    std::fs::create_dir_all(&out).unwrap();
    let json = serde_json::json!({
        "benchmark": "lattice-up",
        "topology": "nats + 1 host + wadm",
        "rounds": rounds,
        "floor_ms": floors.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>(),
        "lattice_up_ms": ups.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>(),
        "floor_median_ms": f.as_secs_f64() * 1e3,
        "lattice_up_median_ms": u.as_secs_f64() * 1e3,
        "until_wadm_aware_ms": aware.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>(),
        "until_wadm_aware_median_ms": a.as_secs_f64() * 1e3,
        "ratio": ratio,
        "ratio_until_wadm_aware": ratio_aware,
        "target_ratio": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
        "measured_at": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| "unknown".into()),
    });
    std::fs::write(
        out.join("lattice-up.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
}
