//! Steps for secrets (catalogue SEC-06..10): the harness's secrets backend on the lattice, secret
//! references in the config store, and reading a secret through the `secrets` fixture.
use std::collections::{BTreeMap, HashMap};

use anyhow::{ensure, Context as _};
use harness::secrets::{Answer, Refusal, SecretsBackend, Seen, Value};

use crate::bindings::secrets::reader::{self, Revealed};
use crate::framework::{Cx, T};

/// The topic prefix the hosts of a secrets test are given (`WASMCLOUD_SECRETS_TOPIC`).
pub const TOPIC: &str = "wcc.secrets";
/// The name of the harness's backend, as secret references name it.
pub const BACKEND: &str = "wcc";
/// Host environment for a lattice whose hosts fetch secrets from [`TOPIC`] (one entry per host).
pub const ENV_1: &[&[(&str, &str)]] = &[&[("WASMCLOUD_SECRETS_TOPIC", TOPIC)]];
/// [`ENV_1`] for two hosts.
pub const ENV_2: &[&[(&str, &str)]] = &[
    &[("WASMCLOUD_SECRETS_TOPIC", TOPIC)],
    &[("WASMCLOUD_SECRETS_TOPIC", TOPIC)],
];
/// The annotation the host takes an entity's application name from.
pub const APP_ANNOTATION: &str = "wasmcloud.dev/appspec";

/// A value nobody else has, made a secret of the test (redacted from its report from now on).
pub fn fresh(cx: &Cx, what: &str) -> String {
    let value = format!(
        "wcc-{what}-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    cx.secret(&value);
    value
}

/// Starts the harness's backend [`BACKEND`] under [`TOPIC`], giving out `store` by key and
/// refusing other keys as not found.
pub async fn backend(cx: &Cx, store: HashMap<String, Value>) -> anyhow::Result<SecretsBackend> {
    answering(cx, move |seen| match store.get(&seen.key) {
        Some(v) => Answer::Give(v.clone()),
        None => Answer::Refuse(Refusal::SecretNotFound),
    })
    .await
}

/// Starts the harness's backend [`BACKEND`] under [`TOPIC`] answering with `answer`.
pub async fn answering(
    cx: &Cx,
    answer: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
) -> anyhow::Result<SecretsBackend> {
    Ok(SecretsBackend::start(cx.lattice().nats(), TOPIC, BACKEND, answer).await?)
}

/// Puts the secret reference `config` (a name starting with `SECRET_`) naming secret `name` at
/// `key` in [`BACKEND`], with `version` and one policy property.
pub async fn put_reference(
    cx: &Cx,
    config: &str,
    name: &str,
    key: &str,
    version: Option<&str>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let policy = HashMap::from([("suite".to_string(), serde_json::json!("conformance"))]);
    let reference: BTreeMap<String, String> =
        harness::secrets::reference(name, BACKEND, key, None, version, policy)?
            .into_iter()
            .collect();
    let put = cx.ctl().put_config(config, reference.clone()).await?;
    ensure!(put.succeeded(), "config.put {config}: {}", put.message());
    Ok(reference)
}

/// Asks component `id` (the `secrets` fixture) for secret `name`: its value, or the store's error
/// as the component names it.
pub async fn read(cx: &Cx, id: &str, name: &str) -> anyhow::Result<Result<Revealed, String>> {
    let client = cx.lattice().wrpc_client(id).await?;
    harness::wrpc::call(T.call, || reader::read(&client, None, name))
        .await
        .with_context(|| format!("secrets.read {name} on {id}"))
}

/// Reads `name` through component `id` and checks it is the text `want` (never shown).
pub async fn read_text(cx: &Cx, id: &str, name: &str, want: &str) -> anyhow::Result<()> {
    match read(cx, id, name).await? {
        Ok(Revealed::Text(got)) => ensure!(
            got == want,
            "secret {name} read by {id} is not the value the backend gave ({} chars, expected {})",
            got.chars().count(),
            want.chars().count()
        ),
        Ok(Revealed::Bytes(b)) => anyhow::bail!(
            "secret {name} read by {id} came back as {} bytes, not as the text the backend gave",
            b.len()
        ),
        Err(e) => anyhow::bail!("secret {name} could not be read by {id}: {e}"),
    }
    Ok(())
}
