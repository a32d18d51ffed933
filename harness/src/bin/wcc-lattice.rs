//! `wcc-lattice`: stands up a lattice of the binaries under test and holds it until Ctrl-C or
//! SIGTERM, for poking at it by hand (and for the teardown tests).
//!
//! ```text
//! wcc-lattice [--hosts N] [--wadm] [--feature NAME]... [--label KEY=VALUE]... [--provider NAME]...
//! ```
//! `--provider NAME` starts the fixture provider NAME (Rust, from `.wcc/fixtures.json`, e.g.
//! `kv-memory`) on the first host, as provider ID NAME. Prints one JSON line on stdout once
//! everything is ready (providers started): lattice name, NATS URL, host IDs, provider IDs and the
//! process IDs of every service.
use std::process::ExitCode;

use harness::Lattice;

const USAGE: &str =
    "usage: wcc-lattice [--hosts N] [--wadm] [--feature NAME]... [--label KEY=VALUE]... [--provider NAME]...";

fn parse(args: &[String]) -> Result<(harness::LatticeBuilder, Vec<String>), String> {
    let mut providers = Vec::new();
    let mut hosts = 1usize;
    let mut wadm = false;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--hosts" => {
                hosts = value("--hosts")?
                    .parse()
                    .map_err(|e| format!("--hosts: {e}\n{USAGE}"))?
            }
            "--wadm" => wadm = true,
            "--provider" => providers.push(value("--provider")?),
            "--feature" => features.push(value("--feature")?),
            "--label" => {
                let pair = value("--label")?;
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--label wants KEY=VALUE, got {pair}"))?;
                labels.push((k.to_string(), v.to_string()));
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let mut builder = Lattice::builder().hosts(hosts).wadm(wadm);
    for f in &features {
        builder = builder.host_feature(f);
    }
    for (k, v) in &labels {
        builder = builder.host_label(k, v);
    }
    Ok((builder, providers))
}

/// Starts the fixture provider `name` on `host` and waits for `provider_started`.
async fn start_provider(lattice: &Lattice, host: &str, name: &str) -> Result<(), String> {
    use harness::fixtures::{fixture, FixtureRef, Lang};
    let name: &'static str = Box::leak(name.to_string().into_boxed_str());
    let par = fixture(FixtureRef::new(name, Lang::Rust)).map_err(|e| e.to_string())?;
    let mark = lattice.journal().mark();
    let ack = lattice
        .ctl()
        .start_provider(host, &par.file_ref(), name, vec![])
        .await
        .map_err(|e| e.to_string())?;
    if !ack.succeeded() {
        return Err(format!("provider.start {name}: {}", ack.message()));
    }
    lattice
        .journal()
        .wait_for(
            mark,
            "provider_started",
            name,
            std::time::Duration::from_secs(60),
            |e| e.field("provider_id") == Some(name),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

async fn hold(builder: harness::LatticeBuilder, providers: Vec<String>) -> Result<(), String> {
    // Handlers go in before the readiness line, so a signal right after it is handled gracefully.
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let lattice = builder.start().await.map_err(|e| e.to_string())?;
    if let Some(host) = lattice.host_ids().first() {
        for name in &providers {
            if let Err(e) = start_provider(&lattice, host, name).await {
                lattice.shutdown().await;
                return Err(e);
            }
        }
    }
    let info = serde_json::json!({
        "lattice": lattice.name(),
        "nats_url": lattice.nats_url(),
        "hosts": lattice.host_ids(),
        "providers": providers,
        "pids": lattice.pids(),
        "logs": lattice.log_dir(),
        "startup_ms": lattice.startup_time().as_millis(),
    });
    println!("{info}");
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = term.recv() => {}
    }
    lattice.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (builder, providers) = match parse(&args) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(hold(builder, providers)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
