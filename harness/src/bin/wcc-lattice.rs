//! `wcc-lattice`: stands up a lattice of the binaries under test and holds it until Ctrl-C or
//! SIGTERM, for poking at it by hand (and for the teardown tests).
//!
//! ```text
//! wcc-lattice [--hosts N] [--wadm] [--feature NAME]... [--label KEY=VALUE]...
//! ```
//! Prints one JSON line on stdout once everything is ready: lattice name, NATS URL, host IDs and
//! the process IDs of every service.
use std::process::ExitCode;

use harness::Lattice;

const USAGE: &str =
    "usage: wcc-lattice [--hosts N] [--wadm] [--feature NAME]... [--label KEY=VALUE]...";

fn parse(args: &[String]) -> Result<harness::LatticeBuilder, String> {
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
    Ok(builder)
}

async fn hold(builder: harness::LatticeBuilder) -> Result<(), String> {
    // Handlers go in before the readiness line, so a signal right after it is handled gracefully.
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let lattice = builder.start().await.map_err(|e| e.to_string())?;
    let info = serde_json::json!({
        "lattice": lattice.name(),
        "nats_url": lattice.nats_url(),
        "hosts": lattice.host_ids(),
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
    let builder = match parse(&args) {
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
    match runtime.block_on(hold(builder)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
