//! Reference wadm launcher: the published `wadm` 0.21.x crate behind wadm's own command line.
//!
//! The parser is wadm's own (`wadm::config::WadmConfig`, catalogue ORC-01), so every flag and
//! `WADM_*` variable of the upstream `wadm` binary is accepted.
//!
//! Telemetry follows the upstream binary (OBS-08): logs go to stderr (JSON with
//! `--structured-logging`); with `--tracing` (`WADM_TRACING_ENABLED`) or `--tracing-endpoint`
//! (`WADM_TRACING_ENDPOINT`) spans are also exported over OTLP/HTTP (protobuf) to that endpoint,
//! default `http://localhost:4318/v1/traces` (`/v1/traces` is appended when missing), with
//! resource `service.name` `wadm`, every span sampled. Traces only: no metrics, no log records.
//! The same `RUST_LOG` filter decides which spans are logged and exported. Unlike upstream, which
//! exits without flushing, pending spans are exported before the process ends (SIGTERM, SIGINT or
//! wadm exiting).

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::{span_processor_with_async_runtime, Sampler, SdkTracerProvider};
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::{fmt, prelude::*, EnvFilter};
use wadm::config::WadmConfig;

/// Upstream's path for traces, appended to an endpoint that lacks it.
const TRACES_PATH: &str = "/v1/traces";
/// Upstream's endpoint when tracing is switched on without one.
const DEFAULT_TRACES_ENDPOINT: &str = "http://localhost:4318/v1/traces";
/// The resource `service.name` upstream exports under.
const SERVICE_NAME: &str = "wadm";

/// Where spans go, or `None` when neither `--tracing` nor `--tracing-endpoint` is set.
fn traces_endpoint(config: &WadmConfig) -> Option<String> {
    if !config.tracing_enabled && config.tracing_endpoint.is_none() {
        return None;
    }
    let mut endpoint = config
        .tracing_endpoint
        .clone()
        .unwrap_or_else(|| DEFAULT_TRACES_ENDPOINT.to_string());
    if !endpoint.ends_with(TRACES_PATH) {
        endpoint.push_str(TRACES_PATH);
    }
    Some(endpoint)
}

/// A tracer provider exporting batches of spans over OTLP/HTTP to `endpoint`. Its batch task runs
/// on the current Tokio runtime (`OTEL_BSP_*` variables tune it, as in upstream's SDK).
fn tracer_provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .build()
        .context("failed to build the OTLP/HTTP span exporter")?;
    let batches = span_processor_with_async_runtime::BatchSpanProcessor::builder(
        exporter,
        opentelemetry_sdk::runtime::Tokio,
    )
    .build();
    let resource = opentelemetry_sdk::Resource::builder_empty()
        .with_attribute(opentelemetry::KeyValue::new("service.name", SERVICE_NAME))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_max_attributes_per_span(16)
        .with_max_events_per_span(16)
        .with_resource(resource)
        .with_span_processor(batches)
        .build())
}

/// Installs the global subscriber: the `RUST_LOG` filter, the stderr log layer and, when
/// `endpoint` is given, the OTLP span layer. Returns the provider to shut down at exit. Must run
/// inside the Tokio runtime. An exporter that cannot be built leaves logging only, as upstream.
fn init_telemetry(structured: bool, endpoint: Option<&str>) -> Option<SdkTracerProvider> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,async_nats=error,cranelift_codegen=warn"));
    let provider = endpoint.and_then(|endpoint| match tracer_provider(endpoint) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("unable to configure OTLP tracing, logging only: {e:#}");
            None
        }
    });
    let spans = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(SERVICE_NAME)));
    let result = tracing_subscriber::registry()
        .with(filter)
        .with(spans)
        .with(structured.then(|| fmt::layer().json().with_writer(std::io::stderr)))
        .with((!structured).then(|| fmt::layer().with_ansi(false).with_writer(std::io::stderr)))
        .try_init();
    if let Err(e) = result {
        eprintln!("logger was already initialised, continuing: {e}");
    }
    if let Some(endpoint) = endpoint.filter(|_| provider.is_some()) {
        tracing::info!(%endpoint, "exporting traces over OTLP/HTTP");
    }
    provider
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
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let provider = {
        let _inside = runtime.enter();
        init_telemetry(config.structured_logging, traces_endpoint(&config).as_deref())
    };
    let outcome = runtime.block_on(run(config));
    // Exports the spans still queued. Called from this thread while the runtime's workers still
    // run the batch task, which does the export and answers.
    if let Some(provider) = provider {
        if let Err(e) = provider.shutdown() {
            eprintln!("warning: failed to flush the last spans: {e}");
        }
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
