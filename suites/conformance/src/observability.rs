//! Completely OTEL observable (catalogue OBS): the hosts' traces, metrics and logs and wadm's traces
//! exported over OTLP/HTTP to a receiver inside the harness (`harness::otel::OtlpReceiver`).
use std::time::Duration;

use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::{ensure, Context as _};
use harness::manifest::AppBuilder;
use harness::otel::OtlpReceiver;
use harness::wait::{Probe, Wait};

use crate::bindings::echo;
use crate::bindings::test::fixtures::logger;
use crate::fixtures::PROBE_RUST;
use crate::framework::T;
use crate::steps::scale;

const ECHO_OPERATION: &str = "test:fixtures/echo@0.1.0/echo";
const FEATURES: &[Feature] = &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc];

/// Scales the Rust probe as `id` on the first host and calls echo `n` times over wRPC.
async fn invoke_echo(cx: &Cx, id: &str, n: usize) -> anyhow::Result<wrpc_transport_nats::Client> {
    invoke_echo_on(cx, &cx.host_id(), id, n).await
}

/// [`invoke_echo`] on host `host`.
async fn invoke_echo_on(
    cx: &Cx,
    host: &str,
    id: &str,
    n: usize,
) -> anyhow::Result<wrpc_transport_nats::Client> {
    scale(cx, host, &cx.image(PROBE_RUST)?, id, 1).await?;
    let client = cx.lattice().wrpc_client(id).await?;
    for i in 0..n {
        let msg = format!("traced #{i}");
        harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
            echo::echo(&client, None, &msg)
        })
        .await
        .context("wRPC echo")?;
    }
    Ok(client)
}

/// Waits (bounded) until `pick` finds what it wants in the receiver.
async fn await_export<T>(
    rx: &OtlpReceiver,
    what: &str,
    pick: impl Fn(&OtlpReceiver) -> Option<T>,
) -> anyhow::Result<T> {
    let pick = &pick;
    Ok(Wait::new(what, T.telemetry)
        .kind("telemetry")
        .interval(Duration::from_millis(100))
        .until(|_| async move {
            match pick(rx) {
                Some(v) => Probe::Ready(v),
                None => Probe::NotYet(rx.summary()),
            }
        })
        .await?)
}

/// OBS-01..04: invocations are traced, with the documented span and resource.
pub static TRACES: ConformanceTest = ConformanceTest {
    name: "observability::invocations_are_traced",
    source: file!(),
    description: "with observability enabled, each wRPC invocation is exported as a component_invocation span (func, instance, id) from service wasmcloud-host",
    area: Area::Observability,
    features: FEATURES,
    covers: &["OBS-01", "OBS-02", "OBS-03", "OBS-04", "CFG-08"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).otel(),
    run: traces,
};

fn traces(cx: Cx) -> TestFuture {
    Box::pin(async move {
        invoke_echo(&cx, "traced", 3).await?;
        let rx = cx.otel()?;
        let spans = await_export(rx, "three component_invocation spans for echo", |rx| {
            let spans: Vec<_> = rx
                .spans()
                .into_iter()
                .filter(|s| {
                    s.name == "component_invocation"
                        && s.attributes.get("func").map(String::as_str) == Some("echo")
                })
                .collect();
            (spans.len() >= 3).then_some(spans)
        })
        .await?;
        for s in &spans {
            ensure!(
                s.service == "wasmcloud-host",
                "service.name is {:?} (OBS-03: fixed to wasmcloud-host)",
                s.service
            );
            ensure!(
                s.attributes.get("instance").map(String::as_str)
                    == Some("test:fixtures/echo@0.1.0"),
                "instance: {:?}",
                s.attributes
            );
            ensure!(
                s.attributes.get("id").map(String::as_str) == Some("traced"),
                "id: {:?}",
                s.attributes
            );
            ensure!(
                s.trace_id.len() == 32 && s.span_id.len() == 16,
                "ids: {} {}",
                s.trace_id,
                s.span_id
            );
        }
        let traces: std::collections::BTreeSet<_> =
            spans.iter().map(|s| s.trace_id.clone()).collect();
        ensure!(
            traces.len() == spans.len(),
            "independent calls without a caller context start their own traces: {traces:?}"
        );
        Ok(())
    })
}

/// OBS-04: an incoming `traceparent` becomes the parent of the invocation span.
pub static TRACEPARENT: ConformanceTest = ConformanceTest {
    name: "observability::incoming_traceparent_is_parent",
    source: file!(),
    description: "a wRPC invocation carrying a W3C traceparent header is exported as a component_invocation span in that trace, child of the caller's span",
    area: Area::Observability,
    features: FEATURES,
    covers: &["OBS-04", "NET-08"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).otel(),
    run: traceparent,
};

fn traceparent(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let client = invoke_echo(&cx, "child", 0).await?;
        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let parent_id = "00f067aa0ba902b7";
        let mut headers = harness::wrpc::HeaderMap::new();
        headers.insert(
            "traceparent",
            format!("00-{trace_id}-{parent_id}-01").as_str(),
        );
        harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
            echo::echo(&client, Some(headers.clone()), "with a caller")
        })
        .await
        .context("wRPC echo with traceparent")?;
        let rx = cx.otel()?;
        let span = await_export(rx, "the invocation span in the caller's trace", |rx| {
            rx.spans()
                .into_iter()
                .find(|s| s.name == "component_invocation" && s.trace_id == trace_id)
        })
        .await?;
        ensure!(
            span.parent_span_id == parent_id,
            "the invocation span's parent is {:?}, the caller's span is {parent_id}",
            span.parent_span_id
        );
        Ok(())
    })
}

/// OBS-04: one trace across a link on two hosts, the callee's span the child of the caller's.
pub static ACROSS_A_LINK: ConformanceTest = ConformanceTest {
    name: "observability::trace_across_a_link",
    source: file!(),
    description: "a call with a W3C traceparent to a runner on host 0, linked to an echo on host 1, is exported as one trace: the runner's component_invocation span (func run, its instance and id) is the child of the caller's span, and the echo's component_invocation span on the other host (func echo, its instance and id) is the child of the runner's span: the trace context travels with the call over NATS",
    area: Area::Observability,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc, Feature::Links],
    covers: &["OBS-04", "NET-08", "NET-05"],
    fixtures: &[PROBE_RUST, crate::fixtures::RUNNER_RUST],
    setup: Setup::hosts(2).otel(),
    run: across_a_link,
};

fn across_a_link(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let client = crate::steps::runner_linked_across_hosts(&cx).await?;
        let trace_id = "5cf92f3577b34da6a3ce929d0e0e4737";
        let caller = "10f067aa0ba902b8";
        let mut headers = harness::wrpc::HeaderMap::new();
        headers.insert("traceparent", format!("00-{trace_id}-{caller}-01").as_str());
        let answer = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
            crate::bindings::runner::run(&client, Some(headers.clone()), "traced across")
        })
        .await
        .context("runner.run with a traceparent")?;
        ensure!(answer == "traced across", "the runner answered {answer:?}");
        let rx = cx.otel()?;
        let invocation = |spans: &[harness::otel::SpanView], id: &str| {
            spans
                .iter()
                .find(|s| {
                    s.name == "component_invocation"
                        && s.attributes.get("id").map(String::as_str) == Some(id)
                })
                .cloned()
        };
        let (spans, runner, echo) = await_export(rx, "both invocation spans of the trace", |rx| {
            let spans: Vec<_> = rx
                .spans()
                .into_iter()
                .filter(|s| s.trace_id == trace_id)
                .collect();
            let runner = invocation(&spans, "near-runner")?;
            let echo = invocation(&spans, "far-echo")?;
            Some((spans, runner, echo))
        })
        .await?;
        ensure!(
            runner.parent_span_id == caller,
            "the runner's invocation span has parent {:?}; the caller's span is {caller}",
            runner.parent_span_id
        );
        for (span, func, instance, id) in [
            (&runner, "run", "test:fixtures/runner@0.1.0", "near-runner"),
            (&echo, "echo", "test:fixtures/echo@0.1.0", "far-echo"),
        ] {
            ensure!(
                span.attributes.get("func").map(String::as_str) == Some(func)
                    && span.attributes.get("instance").map(String::as_str) == Some(instance)
                    && span.service == "wasmcloud-host",
                "{id}'s invocation span: service {:?}, attributes {:?}; expected func {func}, instance {instance}",
                span.service,
                span.attributes
            );
        }
        ensure!(
            echo.parent_span_id == runner.span_id,
            "the echo's invocation span has parent {:?}, not the runner's invocation span {} (chain: {:?}; spans of the trace: {:?})",
            echo.parent_span_id,
            runner.span_id,
            chain(&spans, &echo, &runner.span_id),
            spans.iter().map(|s| (&s.name, &s.span_id, &s.parent_span_id)).collect::<Vec<_>>()
        );
        Ok(())
    })
}

/// The names of the spans from `from` up to (not including) the span `ancestor`, following
/// parents within `spans`; an error says where the chain breaks.
fn chain(
    spans: &[harness::otel::SpanView],
    from: &harness::otel::SpanView,
    ancestor: &str,
) -> Result<Vec<String>, String> {
    let mut path = Vec::new();
    let mut at = from;
    while at.span_id != ancestor {
        path.push(at.name.clone());
        if path.len() > 32 {
            return Err(format!("no end after {path:?}"));
        }
        at = spans
            .iter()
            .find(|s| s.span_id == at.parent_span_id)
            .ok_or_else(|| {
                format!(
                "the chain from {} breaks at {} (parent {:?} not exported in the trace): {path:?}",
                from.name, at.name, at.parent_span_id
            )
            })?;
    }
    Ok(path)
}

/// OBS-05: the invocation metrics with their attributes.
pub static INVOCATION_METRICS: ConformanceTest = ConformanceTest {
    name: "observability::invocation_metrics",
    source: file!(),
    description: "invocations are counted (wasmcloud_host.component.invocations) and timed (handle_rpc_message.duration) per operation, with component.ref, lattice and host attributes",
    area: Area::Observability,
    features: FEATURES,
    covers: &["OBS-05"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).otel(),
    run: invocation_metrics,
};

fn invocation_metrics(cx: Cx) -> TestFuture {
    Box::pin(async move {
        invoke_echo(&cx, "counted", 4).await?;
        let rx = cx.otel()?;
        let host = cx.host_id();
        let counter = await_export(rx, "invocations counter at 4 for echo", |rx| {
            rx.metrics().into_iter().find(|m| {
                m.name == "wasmcloud_host.component.invocations"
                    && m.attributes.get("operation").map(String::as_str) == Some(ECHO_OPERATION)
                    && m.value >= 4.0
            })
        })
        .await?;
        ensure!(
            counter.kind == "sum" && counter.value == 4.0,
            "counter: {counter:?}"
        );
        let a = &counter.attributes;
        ensure!(
            a.get("lattice").map(String::as_str) == Some(cx.lattice().name())
                && a.get("host") == Some(&host)
                && a.get("component.ref")
                    .is_some_and(|r| r.ends_with("probe-rust.wasm")),
            "counter attributes: {a:?}"
        );
        let duration = rx
            .metrics()
            .into_iter()
            .find(|m| {
                m.name == "wasmcloud_host.handle_rpc_message.duration"
                    && m.attributes.get("operation").map(String::as_str) == Some(ECHO_OPERATION)
            })
            .context("no handle_rpc_message.duration histogram for echo")?;
        ensure!(
            duration.kind == "histogram" && duration.value >= 4.0,
            "duration histogram: {duration:?}"
        );
        let max = rx
            .metrics()
            .into_iter()
            .find(|m| {
                m.name == "wasmcloud_host.component.max_instances"
                    && m.attributes.get("component.id").map(String::as_str) == Some("counted")
            })
            .context("no component.max_instances gauge")?;
        ensure!(max.value == 1.0, "max_instances gauge: {max:?}");
        Ok(())
    })
}

/// OBS-03 / OBS-05: process metrics and the meter scope's host attributes.
pub static HOST_METRICS: ConformanceTest = ConformanceTest {
    name: "observability::host_metrics_and_scope",
    source: file!(),
    description: "the host exports process memory and CPU gauges under meter scope wasmcloud-host whose attributes name the host (id, version, os, arch)",
    area: Area::Observability,
    features: &[Feature::ControlInterface],
    covers: &["OBS-03", "OBS-05"],
    fixtures: &[],
    setup: Setup::hosts(1).otel(),
    run: host_metrics,
};

fn host_metrics(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let rx = cx.otel()?;
        let wanted = [
            "wasmcloud_host.process.memory.total.bytes",
            "wasmcloud_host.process.memory.used.bytes",
            "wasmcloud_host.process.cpu.usage",
        ];
        let points = await_export(rx, "the three process gauges", |rx| {
            let m = rx.metrics();
            wanted
                .iter()
                .all(|w| m.iter().any(|p| p.name == *w))
                .then_some(m)
        })
        .await?;
        let host = cx.host_id();
        let version = cx
            .ctl()
            .get_hosts()
            .await?
            .first()
            .and_then(|h| h.version().map(str::to_string))
            .unwrap_or_default();
        for p in points.iter().filter(|p| wanted.contains(&p.name.as_str())) {
            ensure!(
                p.scope == "wasmcloud-host" && p.service == "wasmcloud-host",
                "{} scope {:?} service {:?}",
                p.name,
                p.scope,
                p.service
            );
            let s = &p.scope_attributes;
            ensure!(
                s.get("host.id") == Some(&host) && s.get("host.version") == Some(&version),
                "{} scope attributes {s:?}",
                p.name
            );
            for key in [
                "host.arch",
                "host.os",
                "host.osfamily",
                "host.friendly_name",
            ] {
                ensure!(
                    s.contains_key(key),
                    "{} scope attributes lack {key}: {s:?}",
                    p.name
                );
            }
        }
        let total = points
            .iter()
            .find(|p| p.name == wanted[0])
            .map(|p| p.value)
            .unwrap_or_default();
        ensure!(total > 0.0, "memory total is {total}");
        Ok(())
    })
}

/// OBS-06 / VAC-06: a component's wasi:logging line is exported as an OTLP log record.
pub static COMPONENT_LOGS: ConformanceTest = ConformanceTest {
    name: "observability::component_logs_exported",
    source: file!(),
    description:
        "a wasi:logging call at warn is exported as an OTLP log record with that body, severity WARN and the component id and context",
    area: Area::Observability,
    features: FEATURES,
    covers: &["OBS-06", "VAC-06"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).otel(),
    run: component_logs,
};

fn component_logs(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let client = invoke_echo(&cx, "chatty", 0).await?;
        let token = format!("otlp-log-{}", cx.lattice().name());
        harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
            logger::log(&client, None, "warn", &token)
        })
        .await
        .context("logger.log")?;
        let rx = cx.otel()?;
        let record = await_export(rx, "the component's log record", |rx| {
            rx.logs().into_iter().find(|l| l.body == token)
        })
        .await?;
        ensure!(
            record.severity.eq_ignore_ascii_case("warn"),
            "severity {:?}",
            record.severity
        );
        ensure!(
            record.service == "wasmcloud-host",
            "service {:?}",
            record.service
        );
        let id = record
            .attributes
            .get("component_id")
            .map(|v| v.trim_matches('"').to_string());
        ensure!(
            id.as_deref() == Some("chatty"),
            "component_id attribute: {:?}",
            record.attributes
        );
        ensure!(
            record.attributes.get("context").map(String::as_str) == Some("fixture"),
            "context attribute: {:?}",
            record.attributes
        );
        Ok(())
    })
}

/// OBS-01: nothing is exported unless observability is enabled.
pub static OFF_BY_DEFAULT: ConformanceTest = ConformanceTest {
    name: "observability::off_unless_enabled",
    source: file!(),
    description:
        "of two hosts pointed at the same OTLP endpoint, each running a component called three times, only the one with WASMCLOUD_OBSERVABILITY_ENABLED exports spans and metrics; the other sends nothing",
    area: Area::Observability,
    features: FEATURES,
    covers: &["OBS-01", "CFG-08"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(2).otel_enabled_on(1),
    run: off_by_default,
};

fn off_by_default(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let ids = cx.lattice().host_ids();
        let (enabled, disabled) = (&ids[0], &ids[1]);
        // The same work on both hosts: a component each, called three times. The disabled
        // host's calls come first, so its spans would be the older ones.
        for (host, id) in [(disabled, "unexported"), (enabled, "exported")] {
            invoke_echo_on(&cx, host, id, 3).await?;
        }
        let rx = cx.otel()?;
        let spans_of = |rx: &OtlpReceiver, id: &str| {
            rx.spans()
                .iter()
                .filter(|s| s.attributes.get("id").map(String::as_str) == Some(id))
                .count()
        };
        // The disabled host's spans: its component's, or any naming the host.
        let leaked_spans = |rx: &OtlpReceiver| {
            spans_of(rx, "unexported")
                + rx.spans()
                    .iter()
                    .filter(|s| s.attributes.values().any(|v| v.contains(disabled.as_str())))
                    .count()
        };
        let from = |rx: &OtlpReceiver, host: &String| {
            rx.metrics()
                .iter()
                .filter(|m| m.scope_attributes.get("host.id") == Some(host))
                .count()
        };
        // Positive control: the enabled host's spans for its calls and its periodic metrics
        // (1 s export interval) arrive...
        await_export(
            rx,
            "the enabled host's spans and two metric exports",
            |rx| (spans_of(rx, "exported") >= 3 && from(rx, enabled) >= 2 * 5).then_some(()),
        )
        .await?;
        // ... and the disabled host, configured identically but for the flag, sends nothing,
        // not in that time and not in a quiet window after it.
        let quiet = Wait::new(
            "an export from the host without WASMCLOUD_OBSERVABILITY_ENABLED (there must be none)",
            T.quiet,
        )
        .interval(Duration::from_millis(200))
        .until(|_| async move {
            let (spans, points) = (leaked_spans(rx), from(rx, disabled));
            if spans == 0 && points == 0 {
                Probe::NotYet("nothing from it".into())
            } else {
                Probe::Ready(format!("{points} metric points and {spans} spans"))
            }
        })
        .await;
        if let Ok(leaked) = quiet {
            anyhow::bail!(
                "the host without WASMCLOUD_OBSERVABILITY_ENABLED exported {leaked}: {}",
                rx.summary()
            );
        }
        Ok(())
    })
}

/// OBS-01 / CFG-08: one signal can be enabled on its own.
pub static SINGLE_SIGNAL: ConformanceTest = ConformanceTest {
    name: "observability::traces_enabled_alone",
    source: file!(),
    description:
        "with only WASMCLOUD_TRACES_ENABLED=true the host exports spans but no metrics and no logs",
    area: Area::Observability,
    features: FEATURES,
    covers: &["OBS-01", "CFG-08"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1)
        .otel_enabled_on(0)
        .env_per_host(&[&[("WASMCLOUD_TRACES_ENABLED", "true")]]),
    run: single_signal,
};

fn single_signal(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let client = invoke_echo(&cx, "traces-only", 2).await?;
        harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
            logger::log(&client, None, "warn", "traces-only-log")
        })
        .await
        .context("logger.log")?;
        let rx = cx.otel()?;
        await_export(rx, "the invocation spans", |rx| {
            (rx.spans()
                .iter()
                .filter(|s| s.name == "component_invocation")
                .count()
                >= 3)
                .then_some(())
        })
        .await?;
        // Metrics export every second when on; three intervals without any is the observation.
        let quiet = Wait::new("a metric or log export (there must be none)", T.quiet)
            .interval(Duration::from_millis(200))
            .until(|_| async move {
                if rx.metrics().is_empty() && rx.logs().is_empty() {
                    Probe::NotYet("nothing but traces".into())
                } else {
                    Probe::Ready(rx.summary())
                }
            })
            .await;
        ensure!(
            quiet.is_err(),
            "metrics or logs were exported with only traces enabled: {}",
            rx.summary()
        );
        Ok(())
    })
}

/// CFG-08 / Q-12 (verify): the all-signals flag conflicts with the per-signal flags.
pub static FLAG_CONFLICT: ConformanceTest = ConformanceTest {
    name: "observability::enable_flags_conflict",
    source: file!(),
    description: "a host given both WASMCLOUD_OBSERVABILITY_ENABLED and WASMCLOUD_METRICS_ENABLED refuses to start with a usage error instead of guessing",
    area: Area::Observability,
    features: &[Feature::ControlInterface],
    covers: &["CFG-08", "Q-12"],
    fixtures: &[],
    setup: Setup::hosts(1).needs_suite_lattice("starts hosts of its own"),
    run: flag_conflict,
};

fn flag_conflict(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let spec = harness::lattice::HostSpec {
            env: vec![
                ("WASMCLOUD_OBSERVABILITY_ENABLED".into(), "true".into()),
                ("WASMCLOUD_METRICS_ENABLED".into(), "true".into()),
            ],
            ..Default::default()
        };
        let binaries = cx
            .lattice()
            .binaries()
            .context("a lattice the harness started has binaries")?;
        let attempt = harness::Lattice::builder()
            .backend(cx.lattice().backend())
            .hosts(0)
            .host(spec)
            .binaries(binaries.clone())
            .start_timeout(T.service)
            .start()
            .await;
        let err = match attempt {
            Ok(_) => anyhow::bail!("a host with conflicting observability flags started"),
            Err(e) => e.to_string(),
        };
        ensure!(
            err.contains("exited early") && err.contains("cannot be used with"),
            "expected a usage error from the host, got: {err}"
        );
        Ok(())
    })
}

/// OBS-03 / Q-13: the service name is fixed; OTEL_SERVICE_NAME does not rename the host.
pub static SERVICE_NAME_FIXED: ConformanceTest = ConformanceTest {
    name: "observability::service_name_is_fixed",
    source: file!(),
    description: "with OTEL_SERVICE_NAME=renamed in its environment the host still exports as service wasmcloud-host",
    area: Area::Observability,
    features: FEATURES,
    covers: &["OBS-03", "Q-13"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).otel().env_per_host(&[&[("OTEL_SERVICE_NAME", "renamed")]]),
    run: service_name_fixed,
};

fn service_name_fixed(cx: Cx) -> TestFuture {
    Box::pin(async move {
        invoke_echo(&cx, "named", 1).await?;
        let rx = cx.otel()?;
        let span = await_export(rx, "an invocation span", |rx| {
            rx.spans()
                .into_iter()
                .find(|s| s.name == "component_invocation")
        })
        .await?;
        ensure!(
            span.service == "wasmcloud-host",
            "service.name is {:?}",
            span.service
        );
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![
        &TRACES,
        &TRACEPARENT,
        &ACROSS_A_LINK,
        &INVOCATION_METRICS,
        &HOST_METRICS,
        &COMPONENT_LOGS,
        &OFF_BY_DEFAULT,
        &SINGLE_SIGNAL,
        &FLAG_CONFLICT,
        &SERVICE_NAME_FIXED,
        &PROVIDER_SETTINGS,
        &WADM_TRACES,
        &WADM_SILENT,
    ]
}

/// OBS-07: a provider is given the host's telemetry settings, so that it can export by itself.
pub static PROVIDER_SETTINGS: ConformanceTest = ConformanceTest {
    name: "observability::provider_given_otel_settings",
    source: file!(),
    description: "a provider started by a host with observability on, structured logging and log level debug gets otel_config (enabled, the host's OTLP endpoint), structured_logging and log_level in its host data and the host's OTEL_* variables in its environment",
    area: Area::Observability,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc],
    covers: &["OBS-07", "VAC-12"],
    fixtures: &[crate::fixtures::INSPECT],
    setup: Setup::hosts(1).otel_enabled_on(1).env_per_host(&[&[
        ("WASMCLOUD_STRUCTURED_LOGGING_ENABLED", "true"),
        ("WASMCLOUD_LOG_LEVEL", "debug"),
    ]]),
    run: provider_settings,
};

fn provider_settings(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let rx = cx.otel()?;
        let given = crate::steps::inspect_provider(&cx, &cx.host_id(), "otel-inspector").await?;
        let data = &given.host_data;
        let otel = &data["otel_config"];
        ensure!(
            otel["enable_observability"] == true,
            "host data otel_config does not say observability is on: {otel}"
        );
        ensure!(
            otel["observability_endpoint"] == rx.host_endpoint().as_str(),
            "host data otel_config names endpoint {}, the host exports to {}",
            otel["observability_endpoint"],
            rx.host_endpoint()
        );
        ensure!(
            data["structured_logging"] == true,
            "host data structured_logging is {}, the host logs structured",
            data["structured_logging"]
        );
        ensure!(
            data["log_level"]
                .as_str()
                .is_some_and(|l| l.eq_ignore_ascii_case("debug")),
            "host data log_level is {}, the host's is debug",
            data["log_level"]
        );
        for (k, v) in rx.endpoint_env() {
            ensure!(
                given.environment.get(&k) == Some(&v),
                "the provider's environment lacks the host's {k}={v}: {:?}",
                given.environment
            );
        }
        Ok(())
    })
}

/// wadm's handler spans (`put_model`, `deploy_model`, ...) are at debug level; wadm's `RUST_LOG`
/// filter decides which spans it exports as well as which it logs.
const WADM_DEBUG: &[(&str, &str)] = &[("RUST_LOG", "info,wadm=debug")];

/// A span attribute as recorded from a `&str` argument, with the quotes of a `Debug` rendering
/// taken off.
fn attribute<'a>(span: &'a harness::otel::SpanView, key: &str) -> Option<&'a str> {
    span.attributes.get(key).map(|v| v.trim_matches('"'))
}

/// OBS-08: wadm given a tracing endpoint exports its spans, and only spans.
pub static WADM_TRACES: ConformanceTest = ConformanceTest {
    name: "observability::wadm_exports_traces",
    source: file!(),
    description: "wadm given WADM_TRACING_ENDPOINT alone (and RUST_LOG=info,wadm=debug) exports the spans of its handling of a deploy, put_model and deploy_model naming the lattice and the application, over OTLP/HTTP as service wadm, and no metrics or logs",
    area: Area::Observability,
    features: &[Feature::Wadm, Feature::FileLoad],
    covers: &["OBS-08"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).wadm_traced().wadm_env(WADM_DEBUG),
    run: wadm_traces,
};

fn wadm_traces(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let app = "wadm-traced";
        let manifest = AppBuilder::new(app, "v1")
            .component("worker", &cx.image(PROBE_RUST)?, 1)
            .build();
        cx.wadm().deploy_app(&manifest, T.deploy).await?;
        let lattice = cx.lattice().name();
        let rx = cx.otel()?;
        let in_lattice = |s: &&harness::otel::SpanView| attribute(s, "lattice_id") == Some(lattice);
        let of_deploy = |rx: &OtlpReceiver| {
            let spans = rx.spans();
            let put = spans
                .iter()
                .filter(in_lattice)
                .find(|s| s.name == "put_model")?;
            let deploy = spans
                .iter()
                .filter(in_lattice)
                .find(|s| s.name == "deploy_model" && attribute(s, "name") == Some(app))?;
            Some((put.clone(), deploy.clone()))
        };
        let (put, deploy) = Wait::new(
            "wadm's put_model and deploy_model spans of the deploy",
            T.telemetry,
        )
        .kind("telemetry")
        .interval(Duration::from_millis(100))
        .until(|_| async move {
            match of_deploy(rx) {
                Some(found) => Probe::Ready(found),
                None => {
                    let names: std::collections::BTreeSet<String> =
                        rx.spans().into_iter().map(|s| s.name).collect();
                    Probe::NotYet(format!("span names {names:?}; {}", rx.summary()))
                }
            }
        })
        .await?;
        for span in [&put, &deploy] {
            ensure!(
                span.service == "wadm",
                "wadm's {} span has service.name {:?} (OBS-08: wadm exports as service wadm); resource {:?}",
                span.name,
                span.service,
                span.resource
            );
            ensure!(
                span.trace_id.len() == 32 && span.span_id.len() == 16,
                "wadm's {} span ids: trace {:?} span {:?}",
                span.name,
                span.trace_id,
                span.span_id
            );
        }
        // Traces only: nothing else has come by the time its spans are in. The hosts here are
        // pointed at the receiver but not enabled (they export nothing, OBS-01), so whatever
        // else arrived is wadm's.
        let (metrics, logs) = (rx.metrics(), rx.logs());
        ensure!(
            metrics.is_empty() && logs.is_empty(),
            "{} metric points and {} log records (services {:?}) reached the receiver besides wadm's spans (OBS-08: traces only): {}",
            metrics.len(),
            logs.len(),
            metrics
                .iter()
                .map(|m| &m.service)
                .chain(logs.iter().map(|l| &l.service))
                .collect::<std::collections::BTreeSet<_>>(),
            rx.summary()
        );
        Ok(())
    })
}

/// OBS-08: without the tracing switch or endpoint, wadm exports nothing, even when the standard
/// OTLP variables name a receiver.
pub static WADM_SILENT: ConformanceTest = ConformanceTest {
    name: "observability::wadm_silent_unless_enabled",
    source: file!(),
    description: "wadm without WADM_TRACING_ENABLED or WADM_TRACING_ENDPOINT, though given OTEL_EXPORTER_OTLP_ENDPOINT and RUST_LOG=info,wadm=debug, exports nothing while it deploys an application whose host exports its invocation spans to the same receiver",
    area: Area::Observability,
    features: &[Feature::Wadm, Feature::FileLoad, Feature::Wrpc],
    covers: &["OBS-08"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).otel().with_wadm().wadm_env(WADM_DEBUG),
    run: wadm_silent,
};

fn wadm_silent(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let manifest = AppBuilder::new("wadmquiet", "v1")
            .component("worker", &cx.image(PROBE_RUST)?, 1)
            .build();
        cx.wadm().deploy_app(&manifest, T.deploy).await?;
        // wadm names a component `<application>-<component>`.
        let id = "wadmquiet-worker";
        let client = cx.lattice().wrpc_client(id).await?;
        for i in 0..3 {
            let msg = format!("beside a silent wadm #{i}");
            harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
                echo::echo(&client, None, &msg)
            })
            .await
            .context("wRPC echo")?;
        }
        let rx = cx.otel()?;
        // Anything not from the host is wadm's: spans, metric points or log records.
        let from_others = |rx: &OtlpReceiver| {
            let spans = rx
                .spans()
                .into_iter()
                .map(|s| (s.service, format!("span {}", s.name)));
            let metrics = rx
                .metrics()
                .into_iter()
                .map(|m| (m.service, format!("metric {}", m.name)));
            let logs = rx
                .logs()
                .into_iter()
                .map(|l| (l.service, "log record".to_string()));
            spans
                .chain(metrics)
                .chain(logs)
                .filter(|(service, _)| service != "wasmcloud-host")
                .map(|(service, what)| format!("{what} of service {service:?}"))
                .collect::<std::collections::BTreeSet<_>>()
        };
        // Positive control: the host's spans of the calls reach the same receiver after wadm
        // handled the deploy...
        await_export(
            rx,
            "the host's invocation spans of the deployed component",
            |rx| {
                (rx.spans()
                    .iter()
                    .filter(|s| {
                        s.name == "component_invocation"
                            && s.attributes.get("id").map(String::as_str) == Some(id)
                    })
                    .count()
                    >= 3)
                    .then_some(())
            },
        )
        .await?;
        // ... and wadm, which had spans to export (its handling of the deploy, its status
        // answers, the hosts' heartbeats), sends nothing, not by then and not in a window after.
        let quiet = Wait::new(
            "an export from wadm without its tracing switch or endpoint (there must be none)",
            T.quiet,
        )
        .interval(Duration::from_millis(200))
        .until(|_| async move {
            let leaked = from_others(rx);
            if leaked.is_empty() {
                Probe::NotYet("nothing but the host's exports".into())
            } else {
                Probe::Ready(leaked)
            }
        })
        .await;
        if let Ok(leaked) = quiet {
            anyhow::bail!(
                "wadm exported with neither WADM_TRACING_ENABLED nor WADM_TRACING_ENDPOINT set: {}; {}",
                leaked.into_iter().collect::<Vec<_>>().join(", "),
                rx.summary()
            );
        }
        Ok(())
    })
}
