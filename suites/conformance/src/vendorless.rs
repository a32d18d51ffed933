//! Vendorless application components (catalogue VAC): the same behaviour from a component
//! whatever language it is written in. Every behaviour is one test definition, stamped out once
//! per fixture language (`vendorless::<behavior>_<language>`; reports build their language ×
//! behaviour matrix from these names).
use std::collections::BTreeMap;
use std::time::Duration;

use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup};
use anyhow::{ensure, Context as _};
use harness::fixtures::{FixtureRef, Lang};
use harness::wait::{Probe, Wait};
use wasmcloud_control_interface::Link;

use crate::bindings::test::fixtures::{config_reader, logger};
use crate::bindings::{about, counter, echo, runner};
use crate::framework::T;
use crate::steps::{link, put_config, scale, scale_with, wait_inventory};

mod standalone;
mod values;

/// The language whose echo a runner in `lang` calls: the next one in report order, so that every
/// language is once caller and once callee.
pub const fn callee_of(lang: Lang) -> Lang {
    match lang {
        Lang::Rust => Lang::Python,
        Lang::Python => Lang::JavaScript,
        Lang::JavaScript => Lang::C,
        Lang::C => Lang::Go,
        Lang::Go => Lang::Rust,
    }
}

/// Stamps out one behaviour for every fixture language. `$body` is `async fn(Cx, Lang)`.
macro_rules! per_language {
    (
        $module:ident, $body:ident,
        behavior: $behavior:literal,
        description: $description:literal,
        features: $features:expr,
        covers: $covers:expr,
        setup: $setup:expr,
        fixtures: |$lang:ident| $fixtures:expr $(,)?
    ) => {
        pub mod $module {
            use super::*;
            per_language!(@one RUST, "rust", Rust, $body, $behavior, $description, $features, $covers, $setup, |$lang| $fixtures);
            per_language!(@one PYTHON, "python", Python, $body, $behavior, $description, $features, $covers, $setup, |$lang| $fixtures);
            per_language!(@one JAVASCRIPT, "javascript", JavaScript, $body, $behavior, $description, $features, $covers, $setup, |$lang| $fixtures);
            per_language!(@one C, "c", C, $body, $behavior, $description, $features, $covers, $setup, |$lang| $fixtures);
            per_language!(@one GO, "go", Go, $body, $behavior, $description, $features, $covers, $setup, |$lang| $fixtures);
            /// This behaviour in every language, in report order.
            pub static ALL: [&ConformanceTest; 5] = [&RUST, &PYTHON, &JAVASCRIPT, &C, &GO];
        }
    };
    (@one $static:ident, $id:literal, $variant:ident, $body:ident, $behavior:literal, $description:literal, $features:expr, $covers:expr, $setup:expr, |$lang:ident| $fixtures:expr) => {
        pub static $static: ConformanceTest = ConformanceTest {
            name: concat!("vendorless::", $behavior, "_", $id),
            source: file!(),
            description: $description,
            area: Area::Vendorless,
            features: $features,
            covers: $covers,
            fixtures: {
                const $lang: Lang = Lang::$variant;
                $fixtures
            },
            setup: $setup,
            run: |cx| Box::pin(super::$body(cx, Lang::$variant)),
        };
    };
}

/// The share group of the tests that only read from the probe fixtures: echo, config and logging
/// in every language, and the values round trip (see [`shared_probe`]). Inside the runner they
/// run on one lattice, where each language's probe is compiled once.
const PROBE_READERS: &str = "probe-readers";

/// The probe of `lang` on the first host, scaled once per lattice with two named configs of its
/// language (`fixture-base-<lang>` and `fixture-override-<lang>`, put first; named configs are
/// the lattice's, so each language has its own): the step every test of [`PROBE_READERS`]
/// starts with, done once for all of them when they share a lattice. Checks that each config
/// put, the scale request and the `component_scaled` event succeed; returns the component's id.
async fn shared_probe(cx: &Cx, lang: Lang) -> anyhow::Result<String> {
    cx.once(&format!("probe {lang} scaled with config"), || async {
        let (base, over) = (
            format!("fixture-base-{lang}"),
            format!("fixture-override-{lang}"),
        );
        let greeting = format!("hello {lang}");
        put_config(cx, &base, &[("greeting", &greeting), ("shared", "base")]).await?;
        put_config(cx, &over, &[("shared", "override")]).await?;
        let image = cx.image(FixtureRef::new("probe", lang))?;
        let id = format!("probe-{lang}");
        scale_with(cx, &cx.host_id(), &image, &id, 1, None, vec![base, over]).await?;
        Ok(id)
    })
    .await
}

per_language!(
    echo_export, echo_body,
    behavior: "echo",
    description: "a component's custom export answers over wRPC with its argument unchanged (empty, unicode, 100 kB) and names its language",
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc],
    covers: &["VAC-02", "NET-08", "HL-14"],
    setup: Setup::hosts(1).shared(PROBE_READERS),
    fixtures: |L| &[FixtureRef::new("probe", L)],
);

async fn echo_body(cx: Cx, lang: Lang) -> anyhow::Result<()> {
    let id = shared_probe(&cx, lang).await?;
    let client = cx.lattice().wrpc_client(&id).await?;
    let big = "é".repeat(50_000);
    for msg in ["hello", "", "ünïcødé ✓ 🚀", big.as_str()] {
        let got = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
            echo::echo(&client, None, msg)
        })
        .await
        .with_context(|| format!("wRPC echo of {} bytes", msg.len()))?;
        ensure!(
            got == msg,
            "echo returned {} bytes for a {}-byte message",
            got.len(),
            msg.len()
        );
    }
    let named = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
        about::language(&client, None)
    })
    .await
    .context("about.language")?;
    ensure!(
        named == lang.id(),
        "the {lang} fixture says it is written in {named:?}"
    );
    Ok(())
}

per_language!(
    config, config_body,
    behavior: "config",
    description: "wasi:config/store returns the named configuration the component was scaled with (later names override earlier ones) and nothing for unset keys",
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc],
    covers: &["VAC-05", "NET-06", "VAC-03"],
    setup: Setup::hosts(1).shared(PROBE_READERS),
    fixtures: |L| &[FixtureRef::new("probe", L)],
);

async fn config_body(cx: Cx, lang: Lang) -> anyhow::Result<()> {
    let id = shared_probe(&cx, lang).await?;
    let client = cx.lattice().wrpc_client(&id).await?;
    let get = |key: &'static str| {
        let client = client.clone();
        async move {
            harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
                config_reader::get(&client, None, key)
            })
            .await
            .with_context(|| format!("config-reader.get({key})"))
        }
    };
    ensure!(
        get("greeting").await?.as_deref() == Some(format!("hello {lang}").as_str()),
        "greeting"
    );
    let shared = get("shared").await?;
    ensure!(
        shared.as_deref() == Some("override"),
        "later config names override earlier keys (NET-06), got {shared:?}"
    );
    let absent = get("absent").await?;
    ensure!(absent.is_none(), "an unset key reads as {absent:?}");
    Ok(())
}

per_language!(
    logging, logging_body,
    behavior: "logging",
    description: "a wasi:logging call from the component appears in the host's log at its level with the component's id",
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc],
    covers: &["VAC-06", "VAC-03", "OBS-06"],
    setup: Setup::hosts(1).needs_suite_lattice("reads the host log").shared(PROBE_READERS),
    fixtures: |L| &[FixtureRef::new("probe", L)],
);

async fn logging_body(cx: Cx, lang: Lang) -> anyhow::Result<()> {
    let id = shared_probe(&cx, lang).await?;
    let client = cx.lattice().wrpc_client(&id).await?;
    let token = format!("wcc-log-{}", ulid_like(&id));
    harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
        logger::log(&client, None, "warn", &token)
    })
    .await
    .context("logger.log")?;
    let id_ref = &id;
    let line = crate::steps::host_log_line(&cx, 0, &token).await?;
    ensure!(
        line.contains("WARN"),
        "logged at warn, the host line is: {line}"
    );
    ensure!(
        line.contains(id_ref.as_str()),
        "the host line does not name component {id}: {line}"
    );
    Ok(())
}

/// A token unique enough to find one line in a log.
fn ulid_like(seed: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{seed}-{nanos:x}")
}

per_language!(
    http, http_body,
    behavior: "http",
    description: "an HTTP component behind the builtin HTTP server answers GET with its greeting and echoes a 300 kB POST body byte for byte",
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Links, Feature::BuiltinHttpServer],
    covers: &["VAC-08", "VAC-03", "NET-03", "HL-16"],
    setup: Setup::hosts(1).features(&["builtin-http-server"]),
    fixtures: |L| &[FixtureRef::new("http", L)],
);

async fn http_body(cx: Cx, lang: Lang) -> anyhow::Result<()> {
    let host = cx.host_id();
    let image = cx.image(FixtureRef::new("http", lang))?;
    let id = format!("http-{lang}");
    scale(&cx, &host, &image, &id, 4).await?;
    let base = crate::steps::serve_http(&cx, 0, &host, &id).await?;

    let http = cx.http();
    let url = format!("{base}/some/path");
    crate::steps::wait_http_body(&cx, &url, &format!("hello from {lang}")).await?;
    let payload: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(31) % 256) as u8)
        .collect();
    let resp = http
        .post(&url)
        .body(payload.clone())
        .send()
        .await
        .context("POST")?;
    ensure!(resp.status() == 200, "POST answered {}", resp.status());
    let body = resp.bytes().await.context("POST body")?;
    ensure!(
        body.as_ref() == payload.as_slice(),
        "POST echoed {} bytes of {}",
        body.len(),
        payload.len()
    );
    Ok(())
}

per_language!(
    link_call, link_call_body,
    behavior: "link_call",
    description: "a runner component calls the echo export of a component written in another language through a link (Rust→Python→JavaScript→C→Go→Rust)",
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc, Feature::Links],
    covers: &["NET-09", "VAC-02", "VAC-03", "NET-03"],
    setup: Setup::hosts(1),
    fixtures: |L| &[FixtureRef::new("runner", L), FixtureRef::new("probe", callee_of(L))],
);

async fn link_call_body(cx: Cx, lang: Lang) -> anyhow::Result<()> {
    let host = cx.host_id();
    let callee = callee_of(lang);
    let runner_image = cx.image(FixtureRef::new("runner", lang))?;
    let echo_image = cx.image(FixtureRef::new("probe", callee))?;
    let (runner_id, echo_id) = (format!("runner-{lang}"), format!("echo-{callee}"));
    scale(&cx, &host, &echo_image, &echo_id, 1).await?;
    scale(&cx, &host, &runner_image, &runner_id, 1).await?;
    wait_inventory(&cx, &host, "runner and echo listed", 1, |inv| {
        inv.components().len() == 2
    })
    .await?;
    crate::steps::put_link(
        &cx,
        crate::steps::echo_link(&runner_id, &echo_id, "default")?,
    )
    .await?;
    let client = cx.lattice().wrpc_client(&runner_id).await?;
    let client_ref = &client;
    Wait::new(
        format!("runner ({lang}) to reach echo ({callee}) through the link"),
        // Python and JavaScript instances are large; on a busy 2-core machine one call through
        // both can take many seconds, so a call gets 30 s and the whole wait 120 s.
        T.large_component,
    )
    .consecutive(3)
    .interval(Duration::from_millis(200))
    .until(|n| async move {
        let msg = format!("{lang} → {callee} #{n} ✓");
        let started = std::time::Instant::now();
        match tokio::time::timeout(T.call, runner::run(client_ref, None, &msg)).await {
            Ok(Ok(answer)) if answer == msg => Probe::Ready(()),
            Ok(Ok(answer)) => Probe::NotYet(format!("answered {answer:?} for {msg:?}")),
            Ok(Err(e)) => Probe::NotYet(format!(
                "call failed after {:.1}s: {e:#}",
                started.elapsed().as_secs_f64()
            )),
            Err(_) => Probe::NotYet("no answer within 30 s".into()),
        }
    })
    .await?;
    let named = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
        about::language(&client, None)
    })
    .await
    .context("about.language of the runner")?;
    ensure!(
        named == lang.id(),
        "the runner says it is written in {named:?}"
    );
    Ok(())
}

/// Every vendorless test, behaviour by behaviour.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    [
        &echo_export::ALL,
        &config::ALL,
        &logging::ALL,
        &http::ALL,
        &link_call::ALL,
        &counter_row::ALL,
    ]
    .into_iter()
    .flatten()
    .copied()
    .chain([
        &BUILTIN_SAME_HOST_ONLY,
        &PROVIDER_SWAP,
        &PROVIDER_HEALTH,
        &DOTTED_ID,
    ])
    .chain(values::all())
    .chain(standalone::all())
    .collect()
}

/// NET-10 / Q-17: the builtin HTTP server only serves components on its own host.
pub static BUILTIN_SAME_HOST_ONLY: ConformanceTest = ConformanceTest {
    name: "vendorless::builtin_http_serves_local_components_only",
    source: file!(),
    description: "the builtin HTTP server does not reach a linked component that runs only on another host, and serves it once it also runs on the server's host",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Links, Feature::BuiltinHttpServer],
    covers: &["Q-17", "NET-10", "VAC-08"],
    fixtures: &[FixtureRef::new("http", Lang::Rust)],
    setup: Setup::hosts(2).features(&["builtin-http-server"]),
    run: |cx| Box::pin(builtin_same_host_only(cx)),
};

async fn builtin_same_host_only(cx: Cx) -> anyhow::Result<()> {
    let ids = cx.lattice().host_ids();
    let image = cx.image(FixtureRef::new("http", Lang::Rust))?;
    scale(&cx, &ids[1], &image, "remote-http", 1).await?;
    let base = crate::steps::serve_http(&cx, 0, &ids[0], "remote-http").await?;
    let http = cx.http();
    let url = format!("{base}/");
    let answer = |url: String| async move {
        match http.get(&url).send().await {
            Ok(r) => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                (status.as_u16(), body)
            }
            Err(e) => (0, e.to_string()),
        }
    };
    // Observed for a bounded window: no request may get the component's answer (the reference
    // host does not even open the listener while the linked component is remote).
    let url_ref = &url;
    let reached = Wait::new(
        format!("{url} to answer from a remote component (it must not)"),
        T.quiet,
    )
    .kind("link")
    .interval(Duration::from_millis(200))
    .until(|_| async move {
        let (status, body) = answer(url_ref.clone()).await;
        if status == 200 && body == "hello from rust" {
            Probe::Ready(())
        } else {
            Probe::NotYet(format!("{status} {body:?}"))
        }
    })
    .await;
    ensure!(
        reached.is_err(),
        "the builtin server reached a component running only on another host"
    );
    // Positive control: with the component on the server's host too, the same URL answers.
    scale(&cx, &ids[0], &image, "remote-http", 1).await?;
    Wait::new(
        format!("{url} to answer once the component is local"),
        T.converge,
    )
    .consecutive(2)
    .interval(Duration::from_millis(200))
    .until(|_| async move {
        let (status, body) = answer(url_ref.clone()).await;
        if status == 200 && body == "hello from rust" {
            Probe::Ready(())
        } else {
            Probe::NotYet(format!("{status} {body:?}"))
        }
    })
    .await?;
    Ok(())
}

/// The keyvalue fixture providers (native, packaged as provider archives).
pub const KV_MEMORY: FixtureRef = FixtureRef::new("kv-memory", Lang::Rust);
/// The file-backed one.
pub const KV_FILE: FixtureRef = FixtureRef::new("kv-file", Lang::Rust);

/// Starts a provider archive from `file://` ([`crate::steps::start_provider`]) and waits for it to
/// answer a health check, so that a link put next reaches it (see
/// [`harness::Lattice::provider_ready`]); returns the `provider_started` event.
async fn start_provider(
    cx: &Cx,
    host: &str,
    fixture: FixtureRef,
    id: &str,
    config: Vec<String>,
) -> anyhow::Result<harness::journal::LatticeEvent> {
    let par = cx.image(fixture)?;
    let started = crate::steps::start_provider(cx, host, &par, id, config).await?;
    cx.lattice().provider_ready(id).await?;
    Ok(started)
}

fn kv_link(source: &str, target: &str, target_config: &[&str]) -> anyhow::Result<Link> {
    link(
        source,
        target,
        "default",
        ("wasi", "keyvalue"),
        &["store", "atomics"],
        &[],
        target_config,
    )
}

/// Waits until `counter.increment(key)` answers `Ok(want)` (the first call after a link may race
/// the link's propagation, Q-19).
async fn increments_to(
    client: &wrpc_transport_nats::Client,
    key: &str,
    want: u64,
) -> anyhow::Result<()> {
    let got = Wait::new(
        format!("counter.increment({key}) to answer {want}"),
        T.converge,
    )
    .kind("http")
    .interval(Duration::from_millis(200))
    .until(|_| async move {
        match tokio::time::timeout(T.attempt, counter::increment(client, None, key)).await {
            Ok(Ok(Ok(n))) => Probe::Ready(n),
            Ok(Ok(Err(e))) => Probe::NotYet(format!("the component reported {e:?}")),
            Ok(Err(e)) => Probe::NotYet(format!("{e:#}")),
            Err(_) => Probe::NotYet("no answer within 10 s".into()),
        }
    })
    .await?;
    ensure!(
        got == want,
        "counter.increment({key}) answered {got}, expected {want}"
    );
    Ok(())
}

per_language!(
    counter_row, counter_body,
    behavior: "counter",
    description: "wasi:keyvalue atomics through a link to a keyvalue provider: three increments answer 1, 2, 3",
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc, Feature::Links],
    covers: &["VAC-03", "VAC-11", "HL-16", "NET-03"],
    setup: Setup::hosts(1),
    fixtures: |L| &[FixtureRef::new("probe", L), KV_MEMORY],
);

async fn counter_body(cx: Cx, lang: Lang) -> anyhow::Result<()> {
    let host = cx.host_id();
    let id = format!("counter-{lang}");
    scale(
        &cx,
        &host,
        &cx.image(FixtureRef::new("probe", lang))?,
        &id,
        1,
    )
    .await?;
    start_provider(&cx, &host, KV_MEMORY, "kv", vec![]).await?;
    ensure!(
        cx.ctl()
            .put_link(kv_link(&id, "kv", &[])?)
            .await?
            .succeeded(),
        "link.put refused"
    );
    let client = cx.lattice().wrpc_client(&id).await?;
    increments_to(&client, "hits", 1).await?;
    for want in [2, 3] {
        let got = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
            counter::increment(&client, None, "hits")
        })
        .await
        .context("counter.increment")?;
        ensure!(
            got == Ok(want),
            "increment answered {got:?}, expected Ok({want})"
        );
    }
    Ok(())
}

/// VAC-07: the provider behind an interface is swapped by relinking, without touching the
/// component.
pub static PROVIDER_SWAP: ConformanceTest = ConformanceTest {
    name: "vendorless::provider_swap_by_relink",
    source: file!(),
    description: "a counter component linked to an in-memory keyvalue provider, relinked to a file-backed one, counts in the new store (files appear) with no restart of the component",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Wrpc, Feature::Links],
    covers: &["VAC-07", "NET-03", "NET-04", "VAC-11", "VAC-12", "Q-19"],
    fixtures: &[FixtureRef::new("probe", Lang::Rust), KV_MEMORY, KV_FILE],
    setup: Setup::hosts(1),
    run: |cx| Box::pin(provider_swap(cx)),
};

async fn provider_swap(cx: Cx) -> anyhow::Result<()> {
    let host = cx.host_id();
    scale(
        &cx,
        &host,
        &cx.image(FixtureRef::new("probe", Lang::Rust))?,
        "counter",
        1,
    )
    .await?;
    start_provider(&cx, &host, KV_MEMORY, "kv-a", vec![]).await?;
    start_provider(&cx, &host, KV_FILE, "kv-b", vec![]).await?;
    let root = tempfile::Builder::new()
        .prefix("wcc-kv-file-")
        .tempdir_in(cx.lattice().shared_dir())?;
    let put = cx
        .ctl()
        .put_config(
            "kv-b-root",
            BTreeMap::from([("root".to_string(), root.path().display().to_string())]),
        )
        .await?;
    ensure!(put.succeeded(), "config.put: {}", put.message());

    ensure!(
        cx.ctl()
            .put_link(kv_link("counter", "kv-a", &[])?)
            .await?
            .succeeded(),
        "link to kv-a refused"
    );
    let client = cx.lattice().wrpc_client("counter").await?;
    increments_to(&client, "visits", 1).await?;
    for want in [2, 3] {
        let got = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
            counter::increment(&client, None, "visits")
        })
        .await?;
        ensure!(
            got == Ok(want),
            "provider A answered {got:?}, expected Ok({want})"
        );
    }
    let scaled_before = cx
        .journal()
        .since(0)
        .iter()
        .filter(|e| e.kind == "component_scaled")
        .count();

    ensure!(
        cx.ctl()
            .delete_link("counter", "default", "wasi", "keyvalue")
            .await?
            .succeeded(),
        "link.del refused"
    );
    ensure!(
        cx.ctl()
            .put_link(kv_link("counter", "kv-b", &["kv-b-root"])?)
            .await?
            .succeeded(),
        "link to kv-b refused"
    );
    // Provider B has its own store: the count starts again.
    increments_to(&client, "visits", 1).await?;
    let got = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
        counter::increment(&client, None, "visits")
    })
    .await?;
    ensure!(got == Ok(2), "provider B answered {got:?}, expected Ok(2)");
    let file = root.path().join("visits");
    let stored = std::fs::read_to_string(&file)
        .with_context(|| format!("provider B did not write {}", file.display()))?;
    ensure!(stored.trim() == "2", "{} holds {stored:?}", file.display());
    let scaled_after = cx
        .journal()
        .since(0)
        .iter()
        .filter(|e| e.kind == "component_scaled")
        .count();
    ensure!(
        scaled_after == scaled_before,
        "the component was rescaled during the swap ({scaled_before} -> {scaled_after} component_scaled events)"
    );
    Ok(())
}

/// VAC-11..13 / Q-04: a provider archive starts from file://, reports its claims and health.
pub static PROVIDER_HEALTH: ConformanceTest = ConformanceTest {
    name: "vendorless::provider_archive_start_and_health",
    source: file!(),
    description: "a provider archive started from file:// is reported by provider_started (with its claims and public key), answers the host's health check (health_check_passed within ~5 s of start), and stops with provider_stopped",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad],
    covers: &["VAC-11", "VAC-12", "VAC-13", "Q-04", "HL-16", "HL-17"],
    fixtures: &[KV_MEMORY],
    setup: Setup::hosts(1),
    run: |cx| Box::pin(provider_health(cx)),
};

async fn provider_health(cx: Cx) -> anyhow::Result<()> {
    let host = cx.host_id();
    let mark = cx.journal().mark();
    let started = start_provider(&cx, &host, KV_MEMORY, "kv-health", vec![]).await?;
    let data = started.data();
    // Seen on the reference host: `public_key` and `instance_id` carry the provider id, not the
    // archive's service key; both must be present (NET-05).
    ensure!(
        data["public_key"].as_str().is_some_and(|k| !k.is_empty())
            && data["instance_id"].as_str().is_some_and(|k| !k.is_empty()),
        "provider_started lacks public_key/instance_id: {data}"
    );
    ensure!(
        data["claims"]["issuer"]
            .as_str()
            .is_some_and(|k| k.starts_with('A')),
        "provider_started lacks claims: {data}"
    );
    let health = cx
        .journal()
        .wait_for(mark, "health_check_passed", "kv-health", T.service, |e| {
            e.field("provider_id") == Some("kv-health")
        })
        .await?;
    let after = Duration::from_millis(u64::try_from(health.at_ms.saturating_sub(started.at_ms))?);
    ensure!(
        after >= Duration::from_secs(2),
        "the first health check came {after:?} after the start (Q-04: about 5 s)"
    );
    let inv = crate::steps::wait_inventory(&cx, &host, "kv-health listed", 1, |inv| {
        inv.providers().iter().any(|p| p.id() == "kv-health")
    })
    .await?;
    let p = inv
        .providers()
        .iter()
        .find(|p| p.id() == "kv-health")
        .context("listed provider")?;
    ensure!(
        p.name().is_some_and(|n| !n.is_empty()),
        "inventory lacks the provider's claims name: {:?}",
        p.name()
    );
    let mark = cx.journal().mark();
    ensure!(
        cx.ctl()
            .stop_provider(&host, "kv-health")
            .await?
            .succeeded(),
        "provider.stop refused"
    );
    cx.journal()
        .wait_for(mark, "provider_stopped", "kv-health", T.service, |e| {
            e.field("provider_id") == Some("kv-health")
        })
        .await?;
    Ok(())
}

/// HL-14 / Q-09 (verify): ids are used verbatim as NATS tokens; one with a dot is not refused.
pub static DOTTED_ID: ConformanceTest = ConformanceTest {
    name: "vendorless::component_id_with_a_dot",
    source: file!(),
    description: "a component id containing a dot (`dotted.id`, Rust) is accepted and listed, and wRPC calls to it reach it and not the component whose id is its first token (`dotted`, C) on the same host, and the other way round",
    area: Area::Vendorless,
    features: &[
        Feature::ControlInterface,
        Feature::LatticeEvents,
        Feature::FileLoad,
        Feature::Wrpc,
    ],
    covers: &["Q-09", "HL-14", "NET-08"],
    fixtures: &[
        FixtureRef::new("probe", Lang::Rust),
        FixtureRef::new("probe", Lang::C),
    ],
    setup: Setup::hosts(1),
    run: |cx| Box::pin(dotted_id(cx)),
};

async fn dotted_id(cx: Cx) -> anyhow::Result<()> {
    // The catalogue expected a dot to break wRPC routing (the id becomes two subject tokens).
    // Experiment (host 0.27.1): it does not; both sides build the same longer subject. What can
    // go wrong is a call landing on the component named by the first token, so one runs there.
    let host = cx.host_id();
    for (id, lang) in [("dotted.id", Lang::Rust), ("dotted", Lang::C)] {
        let image = cx.image(FixtureRef::new("probe", lang))?;
        scale(&cx, &host, &image, id, 1).await?;
    }
    let inv = crate::steps::inventory(&cx, &host).await?;
    ensure!(
        inv.components().iter().any(|c| c.id() == "dotted.id"),
        "the host does not list dotted.id: {:?}",
        inv.components()
    );
    for (id, want) in [("dotted.id", "rust"), ("dotted", "c")] {
        let client = cx.lattice().wrpc_client(id).await?;
        let lang = harness::wrpc::call(T.call, || about::language(&client, None))
            .await
            .with_context(|| format!("about.language on {id}"))?;
        ensure!(
            lang == want,
            "a call to {id} was answered by the {lang} probe, expected the {want} one"
        );
        let echoed = harness::wrpc::call(T.call, || echo::echo(&client, None, id))
            .await
            .with_context(|| format!("echo on {id}"))?;
        ensure!(echoed == id, "echo on {id} answered {echoed:?}");
    }
    Ok(())
}
