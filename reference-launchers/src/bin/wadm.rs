//! Reference wadm launcher.
//!
//! Runs the published `wadm` 0.21.x crate with wadm's own command line (`wadm::config::WadmConfig`,
//! catalogue ORC-01): every flag and `WADM_*` variable of the upstream `wadm` binary is accepted
//! because the parser is wadm's own.
//!
//! Difference from upstream: OTLP trace export (`--tracing`, `--tracing-endpoint`, OBS-08) is not
//! wired in this launcher yet; asking for it prints a warning on stderr and logs still go to stderr.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::{fmt, prelude::*, EnvFilter};
use wadm::config::WadmConfig;

fn init_logging(structured: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,async_nats=error,cranelift_codegen=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if structured {
        registry.with(fmt::layer().json().with_writer(std::io::stderr)).try_init()
    } else {
        registry.with(fmt::layer().with_ansi(false).with_writer(std::io::stderr)).try_init()
    };
    if let Err(e) = result {
        eprintln!("logger was already initialised, continuing: {e}");
    }
}

async fn run(config: WadmConfig) -> anyhow::Result<()> {
    // Installed before wadm starts, so a signal that arrives while it starts still stops it
    // through the path below rather than by the default action.
    let mut terminate = signal(SignalKind::terminate()).context("failed to install SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("failed to install SIGINT handler")?;
    let mut tasks = wadm::start_wadm(config).await.context("failed to run wadm")?;
    tokio::select! {
        joined = tasks.join_next() => match joined {
            Some(Ok(Ok(()))) | None => {
                tracing::info!("wadm has exited");
                Ok(())
            }
            Some(Ok(Err(e))) => Err(e.context("a wadm task failed")),
            Some(Err(e)) => Err(anyhow::Error::new(e).context("a wadm task panicked")),
        },
        _ = interrupt.recv() => {
            tracing::info!("received SIGINT, shutting down");
            Ok(())
        }
        _ = terminate.recv() => {
            tracing::info!("received SIGTERM, shutting down");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let config = WadmConfig::parse();
    init_logging(config.structured_logging);
    if config.tracing_enabled || config.tracing_endpoint.is_some() {
        eprintln!(
            "warning: this reference wadm launcher does not export OTLP traces yet; \
             --tracing/--tracing-endpoint are accepted and ignored"
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
