//! The latency the nemesis adds per message: request/reply round trips over a real nats-server,
//! the requester connected directly, then through a nemesis without rules, then through one
//! with eight rules none of which matches (every message is still checked against each). A
//! round trip crosses the nemesis twice (the request out, the reply back), so the added latency
//! per message is half the difference of the medians.
//!
//! `cargo bench -p harness --bench nemesis` (needs `bash ci/setup` for nats-server); writes
//! `results/perf/nemesis.json`. `WCC_BENCH_ROUNDS` sets the round trips per case (default 2000).
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt as _;
use harness::binaries::{repo_root, Binaries};
use harness::nemesis::{Fault, Nemesis, Rule};

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn round_trips(requester: &async_nats::Client, n: usize) -> Vec<Duration> {
    let payload = Bytes::from(vec![b'x'; 256]);
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        tokio::time::timeout(
            Duration::from_secs(10),
            requester.request("bench.echo", payload.clone()),
        )
        .await
        .expect("an answer within 10 s")
        .expect("an answer");
        times.push(start.elapsed());
    }
    times.sort();
    times
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

async fn connect(url: &str) -> async_nats::Client {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match async_nats::connect(url).await {
            Ok(c) => return c,
            Err(e) if Instant::now() > deadline => panic!("cannot connect to {url}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("WCC_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
        .max(10);
    let bins = Binaries::from_env().expect("nats-server (run ci/setup)");
    let port = harness::net::free_port().unwrap();
    let _nats = Killed(
        std::process::Command::new(&bins.nats_server)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nats-server"),
    );
    let url = format!("nats://127.0.0.1:{port}");
    let responder = connect(&url).await;
    let mut requests = responder.subscribe("bench.echo").await.unwrap();
    let answering = responder.clone();
    tokio::spawn(async move {
        while let Some(m) = requests.next().await {
            if let Some(reply) = m.reply {
                let _ = answering.publish(reply, m.payload).await;
            }
        }
    });
    responder.flush().await.unwrap();

    let nemesis = Nemesis::start("127.0.0.1:0".parse().unwrap(), &format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let direct = connect(&url).await;
    let behind = connect(&format!("nats://{}", nemesis.address())).await;
    // Warm up every path.
    round_trips(&direct, 50).await;
    round_trips(&behind, 50).await;

    let d = round_trips(&direct, rounds).await;
    let b = round_trips(&behind, rounds).await;
    for i in 0..8 {
        nemesis.rule(Rule::to_server(
            &format!("nothing.{i}.>"),
            Fault::Delay(Duration::from_secs(1)),
        ));
    }
    let r = round_trips(&behind, rounds).await;

    let per_message = |x: &[Duration]| (quantile(x, 0.5) - quantile(&d, 0.5)) / 2.0;
    let json = serde_json::json!({
        "bench": "nemesis",
        "rounds": rounds,
        "payload_bytes": 256,
        "round_trip_us": {
            "direct": {"p50": quantile(&d, 0.5), "p99": quantile(&d, 0.99)},
            "through_nemesis": {"p50": quantile(&b, 0.5), "p99": quantile(&b, 0.99)},
            "through_nemesis_8_rules": {"p50": quantile(&r, 0.5), "p99": quantile(&r, 0.99)},
        },
        "added_per_message_us_p50": {
            "no_rules": per_message(&b),
            "8_rules": per_message(&r),
        },
        "frames_through_nemesis": nemesis.traffic().to_server + nemesis.traffic().to_client,
    });
    let out = repo_root().join("results/perf");
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join("nemesis.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    println!("{}", serde_json::to_string_pretty(&json).unwrap());
    println!("written to {}", path.display());
}
