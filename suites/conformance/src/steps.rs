//! The steps a test body is built from: each does one thing through the lattice's official
//! clients, bounded, and returns what it observed (an event, an inventory, an address). A step
//! fails only when its own action is refused (an ack that did not succeed); what the result must
//! be is the test's to assert.
use std::time::Duration;

use crate::framework::Cx;
use crate::framework::T;
use anyhow::{ensure, Context as _};
use harness::journal::LatticeEvent;
use harness::wait::{Probe, Wait};
use wasmcloud_control_interface::HostInventory;

/// A listener for host `index` of the lattice (e.g. the builtin HTTP server): the address it
/// binds and the `http://` base this machine reaches it at — loopback for processes, the
/// container's address on the lattice network for containers.
pub fn listener(cx: &Cx, index: usize) -> anyhow::Result<(String, String)> {
    let port = harness::net::free_port()?;
    let lattice = cx.lattice();
    let host = lattice
        .hosts()
        .get(index)
        .with_context(|| format!("the lattice has no host {index}"))?;
    Ok((
        lattice.backend().bind_address(port),
        format!("http://{}", host.address(port)),
    ))
}

/// Scales `component_id` from `image_ref` to `count` on `host_id` through the control interface,
/// checks the immediate ack, and returns the `component_scaled` event that reports the outcome
/// (HL-14: the ack comes before the work; the event carries the result).
pub async fn scale(
    cx: &Cx,
    host_id: &str,
    image_ref: &str,
    component_id: &str,
    count: u32,
) -> anyhow::Result<LatticeEvent> {
    scale_with(cx, host_id, image_ref, component_id, count, None, vec![]).await
}

/// [`scale`] with annotations and named configs (and secret references) for the component.
pub async fn scale_with(
    cx: &Cx,
    host_id: &str,
    image_ref: &str,
    component_id: &str,
    count: u32,
    annotations: Option<std::collections::BTreeMap<String, String>>,
    config: Vec<String>,
) -> anyhow::Result<LatticeEvent> {
    let mark = cx.journal().mark();
    let ack = cx
        .ctl()
        .scale_component(host_id, image_ref, component_id, count, annotations, config)
        .await?;
    ensure!(
        ack.succeeded(),
        "scale request for {component_id} was not acknowledged: {}",
        ack.message()
    );
    // Python and JavaScript components are 12-18 MB: compiling them takes seconds, and much
    // longer on a loaded 2-core machine. A component_scale_failed for this id ends the wait at
    // once, with the host's reason.
    let journal = cx.journal();
    let outcome = Wait::new(
        format!("event component_scaled ({component_id} at {count} on {host_id})"),
        T.large_component,
    )
    .kind("scale")
    .interval(Duration::from_millis(20))
    .until(|_| {
        let events = journal.since(mark);
        let found = events.into_iter().find_map(|e| {
            let ours = e.field("component_id") == Some(component_id);
            match e.kind.as_str() {
                "component_scaled" if ours && e.data()["max_instances"] == count => Some(Ok(e)),
                "component_scale_failed" if ours => Some(Err(e)),
                _ => None,
            }
        });
        async move {
            match found {
                Some(found) => Probe::Ready(found),
                None => {
                    Probe::NotYet("neither component_scaled nor component_scale_failed yet".into())
                }
            }
        }
    })
    .await?;
    let event = outcome.map_err(|failed| {
        anyhow::anyhow!(
            "scaling {component_id} to {count} on {host_id} failed: {}",
            failed.field("error").unwrap_or_default()
        )
    })?;
    Ok(event)
}

/// The inventory of `host_id`.
pub async fn inventory(cx: &Cx, host_id: &str) -> anyhow::Result<HostInventory> {
    let reply = cx.ctl().get_host_inventory(host_id).await?;
    ensure!(
        reply.succeeded(),
        "inventory request failed: {}",
        reply.message()
    );
    reply
        .into_data()
        .context("inventory reply carried no inventory")
}

/// Waits until `host_id`'s inventory satisfies `pred` in `consecutive` polls in a row.
pub async fn wait_inventory(
    cx: &Cx,
    host_id: &str,
    what: &str,
    consecutive: u32,
    pred: impl Fn(&HostInventory) -> bool,
) -> anyhow::Result<HostInventory> {
    let pred = &pred;
    let inv = Wait::new(format!("inventory of {host_id}: {what}"), T.inventory)
        .kind("inventory")
        .interval(Duration::from_millis(200))
        .consecutive(consecutive)
        .until(|_| async move {
            match inventory(cx, host_id).await {
                Ok(inv) if pred(&inv) => Probe::Ready(inv),
                Ok(inv) => Probe::NotYet(format!(
                    "components {:?}, providers {:?}",
                    inv.components()
                        .iter()
                        .map(|c| (c.id(), c.max_instances()))
                        .collect::<Vec<_>>(),
                    inv.providers().iter().map(|p| p.id()).collect::<Vec<_>>()
                )),
                Err(e) => Probe::NotYet(format!("{e:#}")),
            }
        })
        .await?;
    Ok(inv)
}

/// A link from `source` to `target` under link `name` on `namespace:package` with `interfaces`,
/// carrying named configs for either side (NET-03).
pub fn link(
    source: &str,
    target: &str,
    name: &str,
    (namespace, package): (&str, &str),
    interfaces: &[&str],
    source_config: &[&str],
    target_config: &[&str],
) -> anyhow::Result<wasmcloud_control_interface::Link> {
    let names = |list: &[&str]| list.iter().map(ToString::to_string).collect::<Vec<_>>();
    wasmcloud_control_interface::Link::builder()
        .source_id(source)
        .target(target)
        .name(name)
        .wit_namespace(namespace)
        .wit_package(package)
        .interfaces(names(interfaces))
        .source_config(names(source_config))
        .target_config(names(target_config))
        .build()
        .map_err(|e| anyhow::anyhow!("build link {source} -> {target}: {e}"))
}

/// A link from `source` to `target` under link `name` on `test:fixtures/echo` with no config:
/// the fixtures' own interface.
pub fn echo_link(
    source: &str,
    target: &str,
    name: &str,
) -> anyhow::Result<wasmcloud_control_interface::Link> {
    link(
        source,
        target,
        name,
        ("test", "fixtures"),
        &["echo"],
        &[],
        &[],
    )
}

/// Scales `component_id` from `image_ref` expecting the host to refuse it: the request is acked
/// (HL-14), `component_scale_failed` follows and the component does not run. Returns the error.
pub async fn scale_refused(
    cx: &Cx,
    host_id: &str,
    image_ref: &str,
    component_id: &str,
    config: Vec<String>,
) -> anyhow::Result<String> {
    let mark = cx.journal().mark();
    let ack = cx
        .ctl()
        .scale_component(host_id, image_ref, component_id, 1, None, config)
        .await?;
    ensure!(
        ack.succeeded(),
        "the scale request is acked before any work (HL-14), got: {}",
        ack.message()
    );
    let failed = cx
        .journal()
        .wait_for(
            mark,
            "component_scale_failed",
            component_id,
            T.component,
            |e| e.field("component_id") == Some(component_id),
        )
        .await?;
    let inv = inventory(cx, host_id).await?;
    ensure!(
        inv.components().iter().all(|c| c.id() != component_id),
        "the refused component runs anyway: {:?}",
        inv.components()
    );
    Ok(failed.field("error").unwrap_or_default().to_string())
}

/// Waits until `link.get` satisfies `pred` twice in a row (hosts learn links through a KV watch,
/// so a link just put or deleted shows up a moment later).
pub async fn wait_links(
    cx: &Cx,
    what: &str,
    pred: impl Fn(&[wasmcloud_control_interface::Link]) -> bool,
) -> anyhow::Result<Vec<wasmcloud_control_interface::Link>> {
    let pred = &pred;
    Ok(Wait::new(format!("link.get: {what}"), T.converge)
        .kind("link")
        .interval(Duration::from_millis(100))
        .consecutive(2)
        .until(|_| async move {
            match cx.ctl().get_links().await {
                Ok(reply) => {
                    let links = reply.into_data().unwrap_or_default();
                    if pred(&links) {
                        Probe::Ready(links)
                    } else {
                        Probe::NotYet(format!(
                            "links: {:?}",
                            links
                                .iter()
                                .map(|l| format!(
                                    "{} -{}-> {}",
                                    l.source_id(),
                                    l.name(),
                                    l.target()
                                ))
                                .collect::<Vec<_>>()
                        ))
                    }
                }
                Err(e) => Probe::NotYet(e.to_string()),
            }
        })
        .await?)
}

/// Waits until `GET url` answers 200 with exactly `body`, three times in a row.
pub async fn wait_http_body(cx: &Cx, url: &str, body: &str) -> anyhow::Result<()> {
    Ok(harness::wait::http_body(cx.http(), url, body).await?)
}

/// Puts config `name` with `values`; the ack must succeed.
pub async fn put_config(cx: &Cx, name: &str, values: &[(&str, &str)]) -> anyhow::Result<()> {
    let values = values
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    let put = cx.ctl().put_config(name, values).await?;
    ensure!(put.succeeded(), "config.put {name}: {}", put.message());
    Ok(())
}

/// Sends `body` as it is to a control or wadm API subject, for bodies the typed clients cannot
/// express, and returns the JSON reply; no reply within `T.attempt` is an error.
pub async fn raw_request(
    cx: &Cx,
    subject: String,
    body: Vec<u8>,
) -> anyhow::Result<serde_json::Value> {
    let reply = tokio::time::timeout(T.attempt, cx.lattice().nats().request(subject, body.into()))
        .await
        .map_err(|_| anyhow::anyhow!("no reply within {:?}", T.attempt))?
        .context("the request failed")?;
    serde_json::from_slice(&reply.payload).with_context(|| {
        format!(
            "the reply is not JSON: {}",
            String::from_utf8_lossy(&reply.payload)
        )
    })
}

/// Puts `link`; the ack must succeed.
pub async fn put_link(cx: &Cx, link: wasmcloud_control_interface::Link) -> anyhow::Result<()> {
    let what = format!(
        "{} -> {} ({})",
        link.source_id(),
        link.target(),
        link.name()
    );
    let put = cx.ctl().put_link(link).await?;
    ensure!(put.succeeded(), "link.put {what}: {}", put.message());
    Ok(())
}

/// Starts provider `id` from `image_ref` on `host_id`, checks the ack, and returns the
/// `provider_started` event that reports it running.
pub async fn start_provider(
    cx: &Cx,
    host_id: &str,
    image_ref: &str,
    id: &str,
    config: Vec<String>,
) -> anyhow::Result<LatticeEvent> {
    let mark = cx.journal().mark();
    let ack = cx
        .ctl()
        .start_provider(host_id, image_ref, id, config)
        .await?;
    ensure!(ack.succeeded(), "provider.start {id}: {}", ack.message());
    // A provider_start_failed for this id ends the wait at once, with the host's reason.
    let journal = cx.journal();
    let outcome = Wait::new(
        format!("event provider_started ({id} on {host_id})"),
        T.service,
    )
    .kind("provider")
    .interval(Duration::from_millis(20))
    .until(|_| {
        let found = journal.since(mark).into_iter().find_map(|e| {
            let ours = e.field("provider_id") == Some(id);
            match e.kind.as_str() {
                "provider_started" if ours => Some(Ok(e)),
                "provider_start_failed" if ours => Some(Err(e)),
                _ => None,
            }
        });
        async move {
            match found {
                Some(found) => Probe::Ready(found),
                None => {
                    Probe::NotYet("neither provider_started nor provider_start_failed yet".into())
                }
            }
        }
    })
    .await?;
    outcome.map_err(|failed| {
        anyhow::anyhow!(
            "starting provider {id} on {host_id} failed: {}",
            failed.field("error").unwrap_or_default()
        )
    })
}

/// The host's builtin HTTP server serving `component_id` (on host `index`'s listener, through
/// config `listen` and a `wasi:http/incoming-handler` link): starts the provider on `host_id` and
/// returns the `http://` base this machine reaches the server at.
pub async fn serve_http(
    cx: &Cx,
    index: usize,
    host_id: &str,
    component_id: &str,
) -> anyhow::Result<String> {
    let (address, base) = listener(cx, index)?;
    put_config(cx, "listen", &[("address", &address)]).await?;
    start_provider(
        cx,
        host_id,
        "wasmcloud+builtin://http-server",
        "http-server",
        vec![],
    )
    .await?;
    let link = link(
        "http-server",
        component_id,
        "default",
        ("wasi", "http"),
        &["incoming-handler"],
        &["listen"],
        &[],
    )?;
    put_link(cx, link).await?;
    Ok(base)
}

/// Waits until `GET url` stops answering 200, twice in a row (the route is gone: any other status
/// or no connection); returns what the last request saw.
pub async fn route_stops_answering(cx: &Cx, url: &str) -> anyhow::Result<String> {
    let http = cx.http();
    Ok(Wait::new(format!("{url} to stop answering"), T.converge)
        .kind("http")
        .consecutive(2)
        .until(|_| async move {
            match http.get(url).send().await {
                Ok(resp) if resp.status() == 200 => {
                    Probe::NotYet(format!("still answered {}", resp.status()))
                }
                Ok(resp) => Probe::Ready(format!("answered {}", resp.status())),
                Err(e) => Probe::Ready(format!("no answer ({e})")),
            }
        })
        .await?)
}

/// What a provider process was given, as the `inspect` fixture provider reports it.
pub struct Given {
    /// Its environment variables at start.
    pub environment: std::collections::BTreeMap<String, String>,
    /// The host data it read on stdin.
    pub host_data: serde_json::Value,
}

/// Starts the `inspect` fixture provider as `id` on `host_id`, waits until it answers, and returns
/// what the host gave it.
pub async fn inspect_provider(cx: &Cx, host_id: &str, id: &str) -> anyhow::Result<Given> {
    inspect_provider_with(cx, host_id, id, vec![]).await
}

/// [`inspect_provider`] started with named configs (and secret references).
pub async fn inspect_provider_with(
    cx: &Cx,
    host_id: &str,
    id: &str,
    config: Vec<String>,
) -> anyhow::Result<Given> {
    let par = cx.image(crate::fixtures::INSPECT)?;
    start_provider(cx, host_id, &par, id, config).await?;
    cx.lattice().provider_ready(id).await?;
    let client = cx.lattice().wrpc_client(id).await?;
    let environment = harness::wrpc::call(T.call, || {
        crate::bindings::inspect::environment(&client, None)
    })
    .await
    .context("inspect.environment")?
    .into_iter()
    .collect();
    let text = harness::wrpc::call(T.call, || {
        crate::bindings::inspect::host_data(&client, None)
    })
    .await
    .context("inspect.host-data")?;
    let host_data = serde_json::from_str(&text).context("the host data is not JSON")?;
    Ok(Given {
        environment,
        host_data,
    })
}

/// The first line among the last 400 of host `index`'s log (a host the suite started) that
/// contains `token`, if any.
pub fn host_log_find(cx: &Cx, index: usize, token: &str) -> anyhow::Result<Option<String>> {
    let host = cx
        .lattice()
        .hosts()
        .get(index)
        .with_context(|| format!("the lattice has no host {index}"))?;
    Ok(host
        .log_tail(400)
        .lines()
        .find(|l| l.contains(token))
        .map(str::to_string))
}

/// Waits until the log of host `index` (a host the suite started) shows a line containing
/// `token`, and returns that line.
pub async fn host_log_line(cx: &Cx, index: usize, token: &str) -> anyhow::Result<String> {
    Ok(
        Wait::new(format!("the host log to show {token}"), T.converge)
            .interval(Duration::from_millis(50))
            .until(|_| async move {
                match host_log_find(cx, index, token) {
                    Ok(Some(line)) => Probe::Ready(line),
                    Ok(None) => Probe::NotYet("not among the last 400 lines".into()),
                    Err(e) => Probe::NotYet(format!("{e:#}")),
                }
            })
            .await?,
    )
}
/// Calls `runner.run(msg)` through `client`, bounded: the answer, or why there was none.
pub async fn run_outcome(
    client: &wrpc_transport_nats::Client,
    msg: &str,
) -> Result<String, String> {
    match tokio::time::timeout(T.attempt, crate::bindings::runner::run(client, None, msg)).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err(format!("no answer within {:?}", T.attempt)),
    }
}

/// The cross-host setup: an echo (`far-echo`) on host 1 only, a runner (`near-runner`) on host 0
/// linked to it, and the runner's client once three calls in a row have come back across.
pub async fn runner_linked_across_hosts(cx: &Cx) -> anyhow::Result<wrpc_transport_nats::Client> {
    let ids = cx.lattice().host_ids();
    let probe = cx.image(crate::fixtures::PROBE_RUST)?;
    scale(cx, &ids[1], &probe, "far-echo", 1).await?;
    let runner = cx.image(crate::fixtures::RUNNER_RUST)?;
    scale(cx, &ids[0], &runner, "near-runner", 1).await?;
    crate::steps::put_link(
        cx,
        crate::steps::echo_link("near-runner", "far-echo", "default")?,
    )
    .await?;
    let client = cx.lattice().wrpc_client("near-runner").await?;
    let client_ref = &client;
    Wait::new(
        "near-runner (host 0) to reach far-echo (host 1)",
        T.converge,
    )
    .kind("link")
    .consecutive(3)
    .interval(Duration::from_millis(200))
    .until(|n| async move {
        let msg = format!("across hosts #{n}");
        match run_outcome(client_ref, &msg).await {
            Ok(answer) if answer == msg => Probe::Ready(()),
            Ok(answer) => Probe::NotYet(format!("answered {answer:?}")),
            Err(e) => Probe::NotYet(e),
        }
    })
    .await?;
    Ok(client)
}

/// One NATS request of `ping` on `subject` through `nc`: the reply's body, or why there was none
/// within `within` (a probe for a [`Wait`]).
pub async fn ask(nc: &async_nats::Client, subject: &str, within: Duration) -> Probe<String> {
    match tokio::time::timeout(within, nc.request(subject.to_string(), "ping".into())).await {
        Ok(Ok(m)) => Probe::Ready(String::from_utf8_lossy(&m.payload).into_owned()),
        Ok(Err(e)) => Probe::NotYet(e.to_string()),
        Err(_) => Probe::NotYet(format!("no reply within {within:?}")),
    }
}

/// Waits (bounded) until a request on `subject` through `nc` is answered; the reply's body.
pub async fn answered(
    nc: &async_nats::Client,
    subject: &str,
    what: &str,
) -> anyhow::Result<String> {
    Ok(Wait::new(
        format!("a request on {subject} to be answered {what}"),
        T.converge,
    )
    .kind("messaging")
    .interval(Duration::from_millis(200))
    .until(|_| ask(nc, subject, Duration::from_secs(2)))
    .await?)
}

/// Asks on `subject` through `nc` throughout the quiet window (`T.quiet`): the reply's body if
/// one came (it must not), `None` when none did.
pub async fn unanswered(nc: &async_nats::Client, subject: &str) -> Option<String> {
    Wait::new(
        format!("a request on {subject} to be answered (it must not)"),
        T.quiet,
    )
    .interval(Duration::from_millis(500))
    .until(|_| ask(nc, subject, Duration::from_secs(1)))
    .await
    .ok()
}

/// A host spec with only these environment variables added (for `Lattice::add_host`).
pub fn host_env(pairs: &[(&str, String)]) -> harness::lattice::HostSpec {
    harness::lattice::HostSpec {
        env: pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect(),
        ..Default::default()
    }
}

/// The accounts, users and certificates of the lattice's NATS (a test whose setup asks for
/// `Setup::nats_auth`).
pub fn nats_auth(cx: &Cx) -> anyhow::Result<&harness::nats_auth::NatsAuth> {
    cx.lattice()
        .nats_auth()
        .context("the lattice runs NATS without accounts")
}

pub mod secrets;

/// wadm's record of the lattice's hosts (KV `wadm_state`, key `host_<lattice>`, ORC-02): host
/// id → what it knows of the host.
pub async fn wadm_recorded_hosts(cx: &Cx) -> anyhow::Result<serde_json::Value> {
    let js = async_nats::jetstream::new(cx.lattice().nats().clone());
    let store = js
        .get_key_value("wadm_state")
        .await
        .context("KV wadm_state")?;
    let key = format!("host_{}", cx.lattice().name());
    let bytes = store
        .get(&key)
        .await
        .with_context(|| format!("reading {key}"))?
        .with_context(|| format!("wadm_state has no {key}"))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{key} is not JSON"))
}
