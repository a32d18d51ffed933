//! Provider lifecycle through the control interface, with the builtin providers (catalogue HL-16,
//! HL-17, VAC-08, VAC-10, SEC-03, Q-05), and what a provider process is given (Q-14, VAC-12).
use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::ensure;

use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};

/// HL-16 / Q-05 / SEC-03: builtin providers are off unless their feature flag is set.
pub static BUILTINS_GATED: ConformanceTest = ConformanceTest {
    name: "providers::builtins_off_by_default",
    source: file!(),
    description: "without feature flags, starting the builtin http-server gets no reply, the builtin http-client fails with provider_start_failed, and nothing runs",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["HL-16", "SEC-03", "VAC-10", "Q-05"],
    fixtures: &[],
    setup: Setup::hosts(1),
    run: builtins_gated,
};

fn builtins_gated(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let short = cx.ctl().with_timeout(Duration::from_millis(1500));
        let silent = short
            .start_provider(
                &host,
                "wasmcloud+builtin://http-server",
                "gated-http",
                vec![],
            )
            .await;
        ensure!(
            silent.is_err(),
            "a disabled builtin http-server was answered: {silent:?}"
        );
        let mark = cx.journal().mark();
        let client = cx
            .ctl()
            .start_provider(
                &host,
                "wasmcloud+builtin://http-client",
                "gated-client",
                vec![],
            )
            .await?;
        ensure!(
            client.succeeded(),
            "the http-client start is acked before the check: {}",
            client.message()
        );
        let failed = cx
            .journal()
            .wait_for(
                mark,
                "provider_start_failed",
                "gated-client",
                T.service,
                |e| e.field("provider_id") == Some("gated-client"),
            )
            .await?;
        let error = failed.field("error").unwrap_or_default();
        ensure!(
            error.contains("builtin-http-client") && error.contains("not enabled"),
            "provider_start_failed error: {error:?}"
        );
        let inv = crate::steps::inventory(&cx, &host).await?;
        ensure!(
            inv.providers().is_empty(),
            "providers run: {:?}",
            inv.providers().iter().map(|p| p.id()).collect::<Vec<_>>()
        );
        Ok(())
    })
}

/// HL-16 / HL-17: start, double start, stop, double stop of a (builtin) provider.
pub static START_STOP: ConformanceTest = ConformanceTest {
    name: "providers::start_stop_lifecycle",
    source: file!(),
    description: "provider.start is acked and reported by provider_started, a second start of the same id is refused, provider.stop reports provider_stopped (reason stop), a second stop is refused",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::BuiltinHttpServer],
    covers: &["HL-16", "HL-17", "NET-05", "VAC-08"],
    fixtures: &[],
    setup: Setup::hosts(1).features(&["builtin-http-server"]),
    run: start_stop,
};

fn start_stop(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let journal = cx.journal();
        let started = crate::steps::start_provider(
            &cx,
            &host,
            "wasmcloud+builtin://http-server",
            "web",
            vec![],
        )
        .await?;
        // For a builtin provider the host reports image_ref without its scheme (seen: "http-server").
        ensure!(
            started.field("host_id") == Some(host.as_str())
                && started
                    .field("image_ref")
                    .is_some_and(|r| r.ends_with("http-server")),
            "provider_started data: {}",
            started.data()
        );
        crate::steps::wait_inventory(&cx, &host, "provider web listed", 1, |inv| {
            inv.providers().iter().any(|p| p.id() == "web")
        })
        .await?;

        let again = cx
            .ctl()
            .start_provider(&host, "wasmcloud+builtin://http-server", "web", vec![])
            .await?;
        ensure!(
            !again.succeeded() && again.message().contains("already running"),
            "second start: {} {:?}",
            again.succeeded(),
            again.message()
        );

        let mark = journal.mark();
        let stop = cx.ctl().stop_provider(&host, "web").await?;
        ensure!(stop.succeeded(), "provider.stop: {}", stop.message());
        let stopped = journal
            .wait_for(mark, "provider_stopped", "web", T.service, |e| {
                e.field("provider_id") == Some("web")
            })
            .await?;
        ensure!(
            stopped.field("reason") == Some("stop"),
            "provider_stopped data: {}",
            stopped.data()
        );
        crate::steps::wait_inventory(&cx, &host, "provider web gone", 1, |inv| {
            inv.providers().is_empty()
        })
        .await?;
        let twice = cx.ctl().stop_provider(&host, "web").await?;
        ensure!(
            !twice.succeeded() && twice.message().contains("not running"),
            "second stop: {} {:?}",
            twice.succeeded(),
            twice.message()
        );
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![
        &BUILTINS_GATED,
        &START_STOP,
        &SCRUBBED_ENVIRONMENT,
        &BUILTIN_MESSAGING,
        &HTTP_KEYS_ANY_CASE,
    ]
}

/// the builtin HTTP server reads its config keys in any case.
pub static HTTP_KEYS_ANY_CASE: ConformanceTest = ConformanceTest {
    name: "providers::builtin_http_config_keys_any_case",
    source: file!(),
    description: "the builtin HTTP server linked with config key ADDRESS (capitals) listens there and serves the component",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::BuiltinHttpServer, Feature::Links],
    covers: &["Q-16", "VAC-08"],
    fixtures: &[crate::fixtures::HTTP_RUST],
    setup: Setup::hosts(1).features(&["builtin-http-server"]),
    run: http_keys_any_case,
};

fn http_keys_any_case(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.image(crate::fixtures::HTTP_RUST)?;
        crate::steps::scale(&cx, &host, &image, "web-upper", 1).await?;
        let (address, base) = crate::steps::listener(&cx, 0)?;
        crate::steps::put_config(&cx, "listen-upper", &[("ADDRESS", &address)]).await?;
        crate::steps::start_provider(
            &cx,
            &host,
            "wasmcloud+builtin://http-server",
            "http-upper",
            vec![],
        )
        .await?;
        let link = crate::steps::link(
            "http-upper",
            "web-upper",
            "default",
            ("wasi", "http"),
            &["incoming-handler"],
            &["listen-upper"],
            &[],
        )?;
        crate::steps::put_link(&cx, link).await?;
        crate::steps::wait_http_body(&cx, &format!("{base}/"), "hello from rust").await
    })
}

/// VAC-09 / Q-16: the builtin NATS messaging provider, both ways, and its lowercase config keys.
pub static BUILTIN_MESSAGING: ConformanceTest = ConformanceTest {
    name: "providers::builtin_messaging_both_ways",
    source: file!(),
    description: "with builtin-messaging-nats, wasmcloud+builtin://messaging-nats linked to a component delivers the messages of its `subscriptions` to it, and the component's reply through its consumer link reaches the requester; a link whose config spells the key SUBSCRIPTIONS subscribes to nothing",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Links],
    covers: &["VAC-09", "Q-16", "NET-03"],
    fixtures: &[crate::fixtures::MESSENGER_RUST],
    setup: Setup::hosts(1).features(&["builtin-messaging-nats"]),
    run: builtin_messaging,
};

fn builtin_messaging(cx: Cx) -> TestFuture {
    Box::pin(async move {
        use crate::steps::{link, put_config, put_link};
        let host = cx.host_id();
        let nats = cx.lattice().nats_url_for_hosts();
        let subject = format!("wcc.{}.in", cx.lattice().name());
        let upper = format!("wcc.{}.upper", cx.lattice().name());
        put_config(
            &cx,
            "msg-sub",
            &[("subscriptions", &subject), ("cluster_uris", &nats)],
        )
        .await?;
        put_config(
            &cx,
            "msg-upper",
            &[("SUBSCRIPTIONS", &upper), ("cluster_uris", &nats)],
        )
        .await?;
        put_config(&cx, "msg-conn", &[("cluster_uris", &nats)]).await?;
        let image = cx.image(crate::fixtures::MESSENGER_RUST)?;
        crate::steps::scale(&cx, &host, &image, "messenger", 1).await?;
        // Links first: a provider reads the links present when it starts.
        for (name, config) in [("default", "msg-sub"), ("upper", "msg-upper")] {
            put_link(
                &cx,
                link(
                    "messaging",
                    "messenger",
                    name,
                    ("wasmcloud", "messaging"),
                    &["handler"],
                    &[config],
                    &[],
                )?,
            )
            .await?;
        }
        put_link(
            &cx,
            link(
                "messenger",
                "messaging",
                "default",
                ("wasmcloud", "messaging"),
                &["consumer"],
                &[],
                &["msg-conn"],
            )?,
        )
        .await?;
        crate::steps::start_provider(
            &cx,
            &host,
            "wasmcloud+builtin://messaging-nats",
            "messaging",
            vec![],
        )
        .await?;
        let nc = cx.lattice().nats();
        let reply = crate::steps::answered(nc, &subject, "by the component").await?;
        ensure!(
            reply == "handled:ping",
            "the reply through the component is {reply:?}, expected \"handled:ping\""
        );
        // the same link with the key in capitals subscribes to nothing.
        let answered = crate::steps::unanswered(nc, &upper).await;
        if let Some(body) = answered {
            anyhow::bail!("a link configured with SUBSCRIPTIONS (capitals) was subscribed: {upper} answered {body:?}");
        }
        Ok(())
    })
}

/// What the host's own environment holds beyond PATH, HOME and the rest it inherits.
const HOST_ENV: &[(&str, &str)] = &[
    ("RUST_LOG", "info"),
    ("OTEL_WCC_CANARY", "passes"),
    ("WCC_CANARY", "must-not-pass"),
];

/// Q-14 / VAC-12: a provider process starts with a scrubbed environment and its host data.
pub static SCRUBBED_ENVIRONMENT: ConformanceTest = ConformanceTest {
    name: "providers::environment_scrubbed_host_data_given",
    source: file!(),
    description: "a provider started by a host whose environment holds PATH, HOME, RUST_LOG, an OTEL_ variable and another one runs with exactly RUST_LOG and the OTEL_ variable, and reads host data naming its id, its host and the lattice",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Wrpc],
    covers: &["Q-14", "VAC-12", "HL-16"],
    fixtures: &[crate::fixtures::INSPECT],
    setup: Setup::hosts(1)
        .env_per_host(&[HOST_ENV])
        .needs_suite_lattice("sets the host's environment"),
    run: scrubbed_environment,
};

fn scrubbed_environment(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let given = crate::steps::inspect_provider(&cx, &host, "inspector").await?;
        let (env, data) = (given.environment, given.host_data);
        let want: BTreeMap<String, String> = HOST_ENV
            .iter()
            .filter(|(k, _)| *k == "RUST_LOG" || k.starts_with("OTEL_"))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ensure!(
            env == want,
            "the provider's environment is {env:?}; the host, whose own holds PATH, HOME and {HOST_ENV:?}, must pass only RUST_LOG and OTEL_* ({want:?})"
        );
        for (field, want) in [
            ("provider_key", "inspector"),
            ("host_id", host.as_str()),
            ("lattice_rpc_prefix", cx.lattice().name()),
        ] {
            ensure!(
                data[field] == want,
                "host data `{field}` is {}, expected {want:?}",
                data[field]
            );
        }
        Ok(())
    })
}
