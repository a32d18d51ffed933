//! The standalone provider crates as released on crates.io (catalogue VAC-14), packed as fixture
//! providers: the upstream HTTP server provider (`wasmcloud-provider-http-server` 0.27.1) and NATS
//! messaging provider (`wasmcloud-provider-messaging-nats` 0.27.0). Unlike the builtin ones
//! they call components over wRPC, so a component may run on any host of the lattice.
//!
//! The contract, from the crates' README and sources: the HTTP server's provider config picks the
//! routing: `routing_mode` `address` (the default: a listener per link, at the link's `address`,
//! every path to its component), `path` (one listener at `default_address`, each link's `path`
//! matched whole) or `host`; settings such as `timeout_ms` come from the link's source config in
//! address mode, from the provider config otherwise. A path no link registered is 404 ("path not
//! found"), a call that fails 500 (the wRPC error as body), one that takes longer than
//! `timeout_ms` 408. The messaging provider subscribes to the comma-separated `subscriptions` of
//! a link (`subject|queue` for a queue group) on `cluster_uris` and hands each message to the
//! linked component, which publishes through its own link to the provider.
//!
//! `wasmcloud-provider-blobstore-fs`, the third crate of VAC-14, is not packaged (see
//! `fixtures/providers/README.md`): its release is built on another SDK, and no fixture component
//! imports `wasi:blobstore`.
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::fixtures::{HTTP_RUST, HTTP_SERVER_PROVIDER, MESSAGING_NATS_PROVIDER, MESSENGER_RUST};
use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use crate::steps::{link, listener, put_config, put_link, scale, start_provider, wait_http_body};

/// Every test of this file.
pub(crate) fn all() -> [&'static ConformanceTest; 3] {
    [&HTTP_ANY_HOST, &HTTP_FAILURES, &MESSAGING_BOTH_WAYS]
}

const HELLO: &str = "hello from rust";

/// VAC-14 / NET-10: the standalone HTTP server routes by path to a component on another host.
pub static HTTP_ANY_HOST: ConformanceTest = ConformanceTest {
    name: "vendorless::standalone_http_server_routes_to_any_host",
    source: file!(),
    description: "the upstream HTTP server provider (crates.io 0.27.1) in routing_mode path on host 0, linked with path /hello to a component running only on host 1, serves it there (GET greeting, POST echoed) over wRPC, and answers 404 for /hello/more and /elsewhere",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Links],
    covers: &["VAC-14", "NET-10", "NET-03"],
    fixtures: &[HTTP_SERVER_PROVIDER, HTTP_RUST],
    setup: Setup::hosts(2),
    run: http_any_host,
};

fn http_any_host(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let ids = cx.lattice().host_ids();
        let image = cx.image(HTTP_RUST)?;
        scale(&cx, &ids[1], &image, "far-http", 1).await?;
        let (address, base) = listener(&cx, 0)?;
        put_config(
            &cx,
            "http-paths",
            &[("routing_mode", "path"), ("default_address", &address)],
        )
        .await?;
        put_config(&cx, "hello-path", &[("path", "/hello")]).await?;
        // Links before the provider: it reads the links present when it starts (a link put right
        // after provider_started can miss it, see CONTRIBUTING "Known divergences").
        put_link(&cx, http_link("hello", "far-http", "hello-path")?).await?;
        let par = cx.image(HTTP_SERVER_PROVIDER)?;
        start_provider(&cx, &ids[0], &par, "http-srv", vec!["http-paths".into()]).await?;

        wait_http_body(&cx, &format!("{base}/hello"), HELLO).await?;
        let inv = crate::steps::inventory(&cx, &ids[0]).await?;
        ensure!(
            inv.components().is_empty(),
            "host 0 (the provider's) runs components, so the call need not have crossed hosts: {:?}",
            inv.components().iter().map(|c| c.id()).collect::<Vec<_>>()
        );
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let (status, body) = post(&cx, &format!("{base}/hello"), payload.clone()).await?;
        ensure!(
            status == 200 && body == payload,
            "POST /hello of {} bytes answered {status} with {} bytes (expected 200 and the body echoed)",
            payload.len(),
            body.len()
        );
        // Path mode matches the whole path: neither a longer one nor another is routed.
        for path in ["/hello/more", "/elsewhere"] {
            let (status, text) = get(&cx, &format!("{base}{path}")).await?;
            ensure!(
                status == 404,
                "GET {path}, which no link registered, answered {status} {text:?} (expected 404)"
            );
        }
        Ok(())
    })
}

/// A component's memory limit on the host that runs it (16 MiB), which a large POST crosses.
const MEMORY_LIMIT: &[(&str, &str)] = &[("WASMCLOUD_MAX_LINEAR_MEMORY", "16777216")];

/// VAC-14: what the standalone HTTP server answers when a call does not: 408, 500.
pub static HTTP_FAILURES: ConformanceTest = ConformanceTest {
    name: "vendorless::standalone_http_server_timeout_and_invocation_errors",
    source: file!(),
    description: "the upstream HTTP server provider in routing_mode address (one listener per link): with timeout_ms=2000 a POST whose body stalls answers 408 after 2 s; a component that traps (a 24 MiB POST under a 16 MiB memory limit; the host logs the trap) answers 500 and then serves again; a link to a component that does not run answers 500",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Links],
    covers: &["VAC-14", "NET-03"],
    fixtures: &[HTTP_SERVER_PROVIDER, HTTP_RUST],
    setup: Setup::hosts(1)
        .env_per_host(&[MEMORY_LIMIT])
        .needs_suite_lattice("reads the host log for the trap"),
    run: http_failures,
};

/// How long the provider waits for a component's answer on the `slow` listener.
const TIMEOUT_MS: u64 = 2000;

fn http_failures(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.image(HTTP_RUST)?;
        scale(&cx, &host, &image, "web", 1).await?;
        let (slow_addr, slow) = listener(&cx, 0)?;
        let (trap_addr, trap) = listener(&cx, 0)?;
        let (ghost_addr, ghost) = listener(&cx, 0)?;
        let timeout = TIMEOUT_MS.to_string();
        put_config(
            &cx,
            "slow",
            &[("address", &slow_addr), ("timeout_ms", &timeout)],
        )
        .await?;
        put_config(&cx, "trap", &[("address", &trap_addr)]).await?;
        put_config(&cx, "ghost", &[("address", &ghost_addr)]).await?;
        put_link(&cx, http_link("slow", "web", "slow")?).await?;
        put_link(&cx, http_link("trap", "web", "trap")?).await?;
        put_link(&cx, http_link("ghost", "ghost", "ghost")?).await?;
        let par = cx.image(HTTP_SERVER_PROVIDER)?;
        // No provider config: routing_mode defaults to address.
        start_provider(&cx, &host, &par, "http-srv", vec![]).await?;
        wait_http_body(&cx, &format!("{slow}/"), HELLO).await?;
        wait_http_body(&cx, &format!("{trap}/"), HELLO).await?;

        // 408: the component waits for the rest of a body that does not come.
        let (status, took) = stalled_post(&slow, "/").await?;
        ensure!(
            status == 408,
            "a POST whose body stalls, on a link with timeout_ms={TIMEOUT_MS}, answered {status} after {took:.1?} (expected 408)"
        );
        ensure!(
            took >= Duration::from_millis(TIMEOUT_MS),
            "the 408 came after {took:.1?}, before timeout_ms={TIMEOUT_MS}"
        );

        // 500: the component traps reading a body larger than its memory limit allows.
        let big = vec![b'x'; 24 << 20];
        let (status, body) = post(&cx, &format!("{trap}/"), big).await?;
        ensure!(
            status == 500,
            "a 24 MiB POST to a component limited to 16 MiB of memory answered {status} {:?} (expected 500: the invocation traps)",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        );
        let trapped = crate::steps::host_log_line(&cx, 0, "wasm trap").await?;
        wait_http_body(&cx, &format!("{trap}/"), HELLO)
            .await
            .with_context(|| format!("the component to serve again after the trap ({trapped})"))?;

        // 500: nothing serves the linked component id.
        let (status, text) = get(&cx, &format!("{ghost}/")).await?;
        ensure!(
            status == 500,
            "GET on the listener of a link to a component that does not run answered {status} {text:?} (expected 500)"
        );
        Ok(())
    })
}

/// VAC-14 / NET-10: the standalone messaging provider, both ways, across hosts.
pub static MESSAGING_BOTH_WAYS: ConformanceTest = ConformanceTest {
    name: "vendorless::standalone_messaging_nats_both_ways",
    source: file!(),
    description: "the upstream NATS messaging provider (crates.io 0.27.0) on host 0, linked with subscriptions `<a>,<b>|workers` to a component running only on host 1, delivers a request on either subject to it and the component's reply through its consumer link reaches the requester; a link whose config spells the key SUBSCRIPTIONS in capitals, as the crate's README does, subscribes to nothing",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Links],
    covers: &["VAC-14", "NET-10"],
    fixtures: &[MESSAGING_NATS_PROVIDER, MESSENGER_RUST],
    setup: Setup::hosts(2),
    run: messaging_both_ways,
};

fn messaging_both_ways(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let ids = cx.lattice().host_ids();
        let nats = cx.lattice().nats_url_for_hosts();
        let lattice = cx.lattice().name().to_string();
        let (plain, queued, upper) = (
            format!("wcc.{lattice}.std.in"),
            format!("wcc.{lattice}.std.work"),
            format!("wcc.{lattice}.std.upper"),
        );
        let subscriptions = format!("{plain},{queued}|workers");
        put_config(
            &cx,
            "std-sub",
            &[("subscriptions", &subscriptions), ("cluster_uris", &nats)],
        )
        .await?;
        put_config(
            &cx,
            "std-upper",
            &[("SUBSCRIPTIONS", &upper), ("cluster_uris", &nats)],
        )
        .await?;
        put_config(&cx, "std-conn", &[("cluster_uris", &nats)]).await?;
        let image = cx.image(MESSENGER_RUST)?;
        // The provider keeps one subscription set per component, so the capitals get their own.
        for id in ["messenger", "messenger-upper"] {
            scale(&cx, &ids[1], &image, id, 1).await?;
        }
        // Links first: a provider reads the links present when it starts.
        for (id, name, config) in [
            ("messenger", "default", "std-sub"),
            ("messenger-upper", "upper", "std-upper"),
        ] {
            let handler = link(
                "std-msg",
                id,
                name,
                ("wasmcloud", "messaging"),
                &["handler"],
                &[config],
                &[],
            )?;
            put_link(&cx, handler).await?;
            let consumer = link(
                id,
                "std-msg",
                "default",
                ("wasmcloud", "messaging"),
                &["consumer"],
                &[],
                &["std-conn"],
            )?;
            put_link(&cx, consumer).await?;
        }
        let par = cx.image(MESSAGING_NATS_PROVIDER)?;
        start_provider(&cx, &ids[0], &par, "std-msg", vec![]).await?;

        let nc = cx.lattice().nats();
        for subject in [&plain, &queued] {
            let reply = crate::steps::answered(nc, subject, "by the component on host 1").await?;
            ensure!(
                reply == "handled:ping",
                "the reply through the component to a request on {subject} is {reply:?}, expected \"handled:ping\""
            );
        }
        // The README documents the key as SUBSCRIPTIONS; the crate reads lowercase keys only
        // (wasmcloud-core's messaging config), so this link subscribes to nothing. Its
        // `cluster_uris` is lowercase, so that the link fails on the one key, not on connecting
        // to the default URL.
        let answered = crate::steps::unanswered(nc, &upper).await;
        if let Some(body) = answered {
            anyhow::bail!(
                "a link configured with SUBSCRIPTIONS (capitals) was subscribed: {upper} answered {body:?}; the crate now reads the key as its README documents it, so this test's observation is stale"
            );
        }
        cx.observe(
            "wasmcloud-provider-messaging-nats 0.27.0: its README documents the link config keys in capitals (SUBSCRIPTIONS, CLUSTER_URIS, ...), but a link with SUBSCRIPTIONS subscribes to nothing (a request on its subject went unanswered); the crate reads lowercase keys only (wasmcloud-core 0.18 messaging.rs)",
        );
        Ok(())
    })
}

/// A link from the HTTP server provider `http-srv` to `target` (`wasi:http/incoming-handler`)
/// under `name`, with the named source config `config`.
fn http_link(
    name: &str,
    target: &str,
    config: &str,
) -> anyhow::Result<wasmcloud_control_interface::Link> {
    link(
        "http-srv",
        target,
        name,
        ("wasi", "http"),
        &["incoming-handler"],
        &[config],
        &[],
    )
}

/// `GET url`: the status and the body as text.
async fn get(cx: &Cx, url: &str) -> anyhow::Result<(u16, String)> {
    let resp = cx
        .http()
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await.unwrap_or_default()))
}

/// `POST url` with `body`: the status and the body.
async fn post(cx: &Cx, url: &str, body: Vec<u8>) -> anyhow::Result<(u16, Vec<u8>)> {
    let resp = cx
        .http()
        .post(url)
        .body(body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.context("the POST's answer")?;
    Ok((status, body.to_vec()))
}

/// Sends a POST to `base` + `path` announcing 1 KiB of body but sending only 16 bytes of it, and
/// keeps the connection open: returns the status of the answer and how long it took. No answer
/// within `T.attempt` is an error.
async fn stalled_post(base: &str, path: &str) -> anyhow::Result<(u16, Duration)> {
    let authority = base.strip_prefix("http://").unwrap_or(base);
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("connect to {authority}"))?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: text/plain\r\ncontent-length: 1024\r\n\r\n"
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(b"the first 16 B..").await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    let read = async {
        let mut buf = [0u8; 1024];
        while !answer.windows(2).any(|w| w == b"\r\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(T.attempt, read).await.map_err(|_| {
        anyhow::anyhow!(
            "a POST to {base}{path} whose body stalls got no answer within {:?}",
            T.attempt
        )
    })??;
    let took = started.elapsed();
    let line = String::from_utf8_lossy(&answer);
    let line = line.lines().next().unwrap_or_default();
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("the answer has no status line: {line:?}"))?;
    Ok((status, took))
}
