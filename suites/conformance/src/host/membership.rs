//! Hosts joining and leaving a running lattice (catalogue HL-01/03/08/10/12, CFG-01, Q-01). Each
//! test adds a host of its own with `Lattice::add_host`.
use std::time::Duration;

use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::{ensure, Context as _};
use futures::StreamExt as _;
use harness::lattice::HostSpec;
use harness::wait::{Probe, Wait};

/// HL-01 / HL-03 / Q-01: once host_started is published, the host answers control requests.
pub static READY_ON_STARTED: ConformanceTest = ConformanceTest {
    name: "host::answers_control_once_started",
    source: file!(),
    description: "a host joining a running lattice answers host.get on the first try right after its host_started event",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["HL-01", "HL-03", "Q-01"],
    fixtures: &[],
    setup: Setup::hosts(1).needs_suite_lattice("adds hosts of its own"),
    run: ready_on_started,
};

fn ready_on_started(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let added = cx.lattice().add_host(HostSpec::default()).await?;
        // No retry: the first request after host_started must be answered.
        let reply = cx.ctl().get_host_inventory(&added.id).await?;
        ensure!(
            reply.succeeded(),
            "host.get right after host_started: {}",
            reply.message()
        );
        let hosts = cx.ctl().get_hosts().await?;
        ensure!(
            hosts.len() == 2,
            "ping answered by {} host(s) after one joined",
            hosts.len()
        );
        Ok(())
    })
}

/// HL-10: the host's HTTP admin endpoint.
pub static HTTP_ADMIN: ConformanceTest = ConformanceTest {
    name: "host::http_admin_endpoints",
    source: file!(),
    description:
        "with WASMCLOUD_HTTP_ADMIN set, GET/HEAD /livez and GET /readyz answer 200 {\"status\":\"ok\"}, other methods 405, other paths 404",
    area: Area::Host,
    features: &[Feature::ControlInterface],
    covers: &["HL-10", "CFG-09"],
    fixtures: &[],
    setup: Setup::hosts(1).needs_suite_lattice("adds hosts of its own"),
    run: http_admin,
};

fn http_admin(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let port = harness::net::free_port()?;
        let bind = cx.lattice().backend().bind_address(port);
        let host = cx
            .lattice()
            .add_host(crate::steps::host_env(&[("WASMCLOUD_HTTP_ADMIN", bind)]))
            .await?;
        let base = format!("http://{}", host.address(port));
        // Each request gets the admin server's answer, whatever it is; only a transport failure
        // (no answer at all within 3 s) is tried again, bounded. On the containers backend a
        // request to a container's address has timed out while other tests created and removed
        // their networks, with the same requests passing alone; an answer with the wrong status
        // or body still fails at once.
        let ask = |method: reqwest::Method, path: &'static str| {
            let url = format!("{base}{path}");
            async move {
                let client = reqwest::Client::builder()
                    .timeout(T.attempt)
                    .no_proxy()
                    .pool_max_idle_per_host(0)
                    .build()?;
                let what = format!("{method} {path} to answer");
                Wait::new(what, T.converge)
                    .interval(Duration::from_millis(200))
                    .until(|_| {
                        let request = client.request(method.clone(), &url);
                        async move {
                            match request.send().await {
                                Ok(resp) => Probe::Ready(resp),
                                Err(e) => Probe::NotYet(format!("{e:#}")),
                            }
                        }
                    })
                    .await
                    .map_err(anyhow::Error::from)
            }
        };
        for path in ["/livez", "/readyz"] {
            let resp = ask(reqwest::Method::GET, path).await?;
            ensure!(resp.status() == 200, "GET {path}: {}", resp.status());
            let body: serde_json::Value = resp
                .json()
                .await
                .with_context(|| format!("GET {path} body"))?;
            ensure!(
                body == serde_json::json!({"status": "ok"}),
                "GET {path}: {body}"
            );
        }
        let head = ask(reqwest::Method::HEAD, "/livez").await?;
        ensure!(head.status() == 200, "HEAD /livez: {}", head.status());
        let post = ask(reqwest::Method::POST, "/livez").await?;
        ensure!(post.status() == 405, "POST /livez: {}", post.status());
        let other = ask(reqwest::Method::GET, "/nope").await?;
        ensure!(other.status() == 404, "GET /nope: {}", other.status());
        let text = other.text().await.unwrap_or_default();
        ensure!(
            text.contains("unknown endpoint"),
            "GET /nope body: {text:?}"
        );
        Ok(())
    })
}

/// HL-08: SIGTERM takes the graceful path (host_stopped) and the process exits.
pub static SIGTERM: ConformanceTest = ConformanceTest {
    name: "host::sigterm_stops_gracefully",
    source: file!(),
    description: "SIGTERM makes a host publish host_stopped and exit",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["HL-08", "HL-07"],
    fixtures: &[],
    setup: Setup::hosts(1).needs_suite_lattice("adds hosts of its own"),
    run: sigterm,
};

fn sigterm(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let added = cx.lattice().add_host(HostSpec::default()).await?;
        let mark = cx.journal().mark();
        added.terminate(T.grace).await?;
        let stopped = cx
            .journal()
            .wait_for(
                mark,
                "host_stopped",
                "the terminated host",
                T.service,
                |e| e.source() == added.id,
            )
            .await?;
        ensure!(
            stopped.data()["labels"].is_object(),
            "host_stopped data: {}",
            stopped.data()
        );
        Ok(())
    })
}

/// HL-12: the supplemental config service is asked at start, with the host's labels.
pub static CONFIG_SERVICE: ConformanceTest = ConformanceTest {
    name: "host::config_service_asked_at_start",
    source: file!(),
    description:
        "with WASMCLOUD_CONFIG_SERVICE=true a starting host requests wasmbus.cfg.<lattice>.req with its labels and starts with the answer",
    area: Area::Host,
    features: &[Feature::ControlInterface],
    covers: &["HL-12", "CFG-05"],
    fixtures: &[],
    setup: Setup::hosts(1).needs_suite_lattice("adds hosts of its own"),
    run: config_service,
};

fn config_service(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let nats = cx.lattice().nats().clone();
        let mut sub = nats
            .subscribe(format!("wasmbus.cfg.{}.req", cx.lattice().name()))
            .await
            .context("subscribe")?;
        nats.flush().await?;
        let responder = tokio::spawn(async move {
            let msg = sub.next().await?;
            let request: serde_json::Value = serde_json::from_slice(&msg.payload).ok()?;
            if let Some(reply) = msg.reply {
                let _ = nats
                    .publish(reply, r#"{"registryCredentials":{}}"#.into())
                    .await;
            }
            Some(request)
        });
        let mut spec = HostSpec::default();
        spec.labels.insert("asked".into(), "yes".into());
        spec.env
            .push(("WASMCLOUD_CONFIG_SERVICE".into(), "true".into()));
        let _host = cx.lattice().add_host(spec).await?;
        let request = tokio::time::timeout(T.event, responder)
            .await
            .context("the config service was not asked within 10 s of the start")??
            .context("the config request was not JSON")?;
        ensure!(
            request["labels"]["asked"] == "yes",
            "config request: {request}"
        );
        Ok(())
    })
}

/// CFG-01: a host that cannot reach NATS fails to start with an error, never hangs.
pub static NATS_UNREACHABLE: ConformanceTest = ConformanceTest {
    name: "host::unreachable_nats_is_a_clear_error",
    source: file!(),
    description: "a host pointed at a port where no NATS listens exits non-zero with `failed to initialize host`",
    area: Area::Host,
    features: &[Feature::ControlInterface],
    covers: &["CFG-01", "HL-01"],
    fixtures: &[],
    setup: Setup::hosts(1).needs_suite_lattice("adds hosts of its own"),
    run: nats_unreachable,
};

fn nats_unreachable(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let closed = harness::net::free_port()?;
        let attempt = cx
            .lattice()
            .add_host(crate::steps::host_env(&[(
                "WASMCLOUD_NATS_PORT",
                closed.to_string(),
            )]))
            .await;
        let err = match attempt {
            Ok(h) => anyhow::bail!("a host with no NATS to reach started ({})", h.id),
            Err(e) => e.to_string(),
        };
        ensure!(
            err.contains("exited early") && err.contains("failed to initialize host"),
            "expected the host to exit with `failed to initialize host`: {err}"
        );
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![
        &READY_ON_STARTED,
        &HTTP_ADMIN,
        &SIGTERM,
        &CONFIG_SERVICE,
        &NATS_UNREACHABLE,
    ]
}
