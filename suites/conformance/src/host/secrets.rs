//! Secrets reaching the entities they are for (catalogue SEC-06..08, SEC-10): a signed component
//! reads its secrets through `wasmcloud:secrets`, a provider finds its own in its host data and its
//! link's sealed for it, and the backend is asked once per secret with the JWTs the contract names.
//! What must be refused is `security::`'s.
use std::collections::{BTreeMap, HashMap};

use anyhow::{ensure, Context as _};
use harness::secrets::{Seen, Value};
use nkeys::XKey;
use wascap::jwt::{CapabilityProvider, Claims, Component, Host};

use crate::bindings::secrets::reader::Revealed;
use crate::fixtures::{INSPECT, SECRETS_RUST};
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use crate::signing::{now, signed_copy};
use crate::steps::secrets::{self as secret, APP_ANNOTATION};

/// SEC-06 / SEC-07 / SEC-10: a signed component gets its secrets from the backend, once.
pub static COMPONENT: ConformanceTest = ConformanceTest {
    name: "host::secrets_for_a_component",
    source: file!(),
    description: "two hosts with a secrets topic each scale a signed component naming two secret references (text with a version, bytes); the component reveals exactly the backend's values and `not-found` for a name it was not given; the backend saw one sealed get per secret per host, each with the reference's key, version and policy, the application annotation, the component's own JWT and a valid host JWT whose subject is that host, self-issued by an account of its own; reading again asks the backend nothing more",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Wrpc],
    covers: &["SEC-06", "SEC-07", "SEC-10", "CFG-06"],
    fixtures: &[SECRETS_RUST],
    setup: Setup::hosts(2).env_per_host(secret::ENV_2),
    run: component,
};

fn component(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let text = secret::fresh(&cx, "db");
        let bytes: Vec<u8> = ulid::Ulid::new().to_bytes().to_vec();
        let backend = secret::backend(
            &cx,
            HashMap::from([
                ("app/db".to_string(), Value::Text(text.clone())),
                ("app/blob".to_string(), Value::Bytes(bytes.clone())),
            ]),
        )
        .await?;
        secret::put_reference(&cx, "SECRET_db", "db-password", "app/db", Some("7")).await?;
        secret::put_reference(&cx, "SECRET_blob", "blob", "app/blob", None).await?;
        let signed = signed_copy(
            &cx,
            SECRETS_RUST,
            "secrets-reader",
            None,
            Some(now() + 3600),
        )?;
        let hosts = cx.lattice().host_ids();
        let annotations = BTreeMap::from([(APP_ANNOTATION.to_string(), "secret-app".to_string())]);
        for (i, host) in hosts.iter().enumerate() {
            let id = format!("reader-{i}");
            let config = vec!["SECRET_db".to_string(), "SECRET_blob".to_string()];
            crate::steps::scale_with(
                &cx,
                host,
                &signed.file_ref(),
                &id,
                1,
                Some(annotations.clone()),
                config,
            )
            .await?;
        }
        let fetched = backend.requests().len();
        for i in 0..hosts.len() {
            let id = format!("reader-{i}");
            for _ in 0..2 {
                secret::read_text(&cx, &id, "db-password", &text).await?;
            }
            match secret::read(&cx, &id, "blob").await? {
                Ok(Revealed::Bytes(got)) => ensure!(
                    got == bytes,
                    "secret blob read by {id}: {} bytes that are not the backend's {}",
                    got.len(),
                    bytes.len()
                ),
                other => anyhow::bail!(
                    "secret blob read by {id}: {other:?}, expected the backend's bytes"
                ),
            }
            let absent = secret::read(&cx, &id, "SECRET_db").await?;
            ensure!(
                matches!(&absent, Err(e) if e == "not-found"),
                "{id} asked for a secret by its reference's config name instead of its name got {absent:?}; expected not-found (a component reads a secret by the reference's `name`)"
            );
        }

        let seen = backend.requests();
        ensure!(
            fetched == 4 && seen.len() == 4,
            "the backend saw {fetched} gets after scaling and {} after reading; expected 2 secrets x 2 hosts = 4 both times (fetched once when scaling): {:?}",
            seen.len(),
            seen.iter().map(|s| &s.key).collect::<Vec<_>>()
        );
        ensure!(
            backend.xkey_requests() >= 1,
            "no host asked for the backend's xkey"
        );
        for s in &seen {
            check_request(s, &signed.module, &signed.account)?;
        }
        let mut issuers = Vec::new();
        for host in &hosts {
            let mine: Vec<&Seen> = seen
                .iter()
                .filter(|s| Claims::<Host>::decode(&s.host_jwt).is_ok_and(|c| &c.subject == host))
                .collect();
            let mut keys: Vec<&str> = mine.iter().map(|s| s.key.as_str()).collect();
            keys.sort_unstable();
            ensure!(
                keys == ["app/blob", "app/db"],
                "gets whose host JWT names host {host}: {keys:?}; expected one for app/blob and one for app/db"
            );
            ensure!(
                mine.iter().all(|s| s.host_jwt == mine[0].host_jwt),
                "host {host} sent different host JWTs in one run"
            );
            let claims = Claims::<Host>::decode(&mine[0].host_jwt)?;
            let inventory = crate::steps::inventory(&cx, host).await?;
            let named = claims.metadata.as_ref().and_then(|m| m.name.as_deref());
            ensure!(
                named == Some(inventory.friendly_name()),
                "host {host}'s JWT names it {named:?}; its inventory says {:?}",
                inventory.friendly_name()
            );
            issuers.push(claims.issuer);
        }
        ensure!(
            issuers[0] != issuers[1],
            "both hosts' JWTs have issuer {}: each host signs its own",
            issuers[0]
        );
        Ok(())
    })
}

/// The contract's shape of one `get` for the component signed by `account` as `module`.
fn check_request(s: &Seen, module: &str, account: &str) -> anyhow::Result<()> {
    let (version, name) = match s.key.as_str() {
        "app/db" => (Some("7"), "db-password"),
        "app/blob" => (None, "blob"),
        other => anyhow::bail!("the backend was asked for key {other}, which no reference names"),
    };
    ensure!(
        s.version.as_deref() == version && s.field.is_none(),
        "get {} ({name}): version {:?} field {:?}; the reference says version {version:?} and no field",
        s.key,
        s.version,
        s.field
    );
    ensure!(
        s.application.as_deref() == Some("secret-app"),
        "get {}: application {:?}; the component was scaled with {APP_ANNOTATION}=secret-app",
        s.key,
        s.application
    );
    let policy: serde_json::Value = serde_json::from_str(&s.policy)
        .with_context(|| format!("get {}: policy {:?}", s.key, s.policy))?;
    ensure!(
        policy["type"] == "properties.secret.wasmcloud.dev/v1alpha1"
            && policy["properties"]["suite"] == "conformance",
        "get {}: policy {policy}; expected the reference's properties",
        s.key
    );
    let entity = wascap::jwt::validate_token::<Component>(&s.entity_jwt)
        .with_context(|| format!("get {}: the entity JWT does not parse", s.key))?;
    let claims = Claims::<Component>::decode(&s.entity_jwt)?;
    ensure!(
        entity.signature_valid && !entity.expired && claims.subject == module && claims.issuer == account,
        "get {}: entity JWT subject {} issuer {} (valid signature {}, expired {}); expected the component's module {module} by {account}",
        s.key,
        claims.subject,
        claims.issuer,
        entity.signature_valid,
        entity.expired
    );
    let host = wascap::jwt::validate_token::<Host>(&s.host_jwt)
        .with_context(|| format!("get {}: the host JWT does not parse", s.key))?;
    let claims = Claims::<Host>::decode(&s.host_jwt)?;
    ensure!(
        host.signature_valid
            && !host.expired
            && !host.cannot_use_yet
            && claims.subject.starts_with('N')
            && nkeys::KeyPair::from_public_key(&claims.issuer)
                .is_ok_and(|k| k.key_pair_type() == nkeys::KeyPairType::Account),
        "get {}: host JWT subject {} issuer {} (valid signature {}, expired {}); expected a server key signed by an account key",
        s.key,
        claims.subject,
        claims.issuer,
        host.signature_valid,
        host.expired
    );
    ensure!(
        XKey::from_public_key(&s.host_xkey).is_ok(),
        "get {}: the request's host xkey {:?} is not an xkey",
        s.key,
        s.host_xkey
    );
    Ok(())
}

/// SEC-08: a provider's secrets come in its host data, its link's sealed for its xkey.
pub static PROVIDER: ConformanceTest = ConformanceTest {
    name: "host::secrets_for_a_provider",
    source: file!(),
    description: "a provider started with a secret reference finds the backend's value in its host data's secrets; a link naming a secret reference in its target config reaches the provider with that secret sealed (not in clear) for the provider's xkey, and the provider opens it with the key pair its host data gives it; the backend was asked with the provider's own claims JWT",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Wrpc],
    covers: &["SEC-08", "SEC-06"],
    fixtures: &[INSPECT],
    setup: Setup::hosts(1).env_per_host(secret::ENV_1),
    run: provider,
};

fn provider(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let token = secret::fresh(&cx, "token");
        let linked = secret::fresh(&cx, "link");
        let backend = secret::backend(
            &cx,
            HashMap::from([
                ("prov/token".to_string(), Value::Text(token.clone())),
                ("prov/link".to_string(), Value::Text(linked.clone())),
            ]),
        )
        .await?;
        secret::put_reference(&cx, "SECRET_token", "api-token", "prov/token", None).await?;
        secret::put_reference(&cx, "SECRET_link", "link-token", "prov/link", None).await?;
        let link = crate::steps::link(
            "linked-component",
            "inspect-secrets",
            "default",
            ("wcc", "inspect"),
            &["inspect"],
            &[],
            &["SECRET_link"],
        )?;
        crate::steps::put_link(&cx, link).await?;
        let given = crate::steps::inspect_provider_with(
            &cx,
            &cx.host_id(),
            "inspect-secrets",
            vec!["SECRET_token".to_string()],
        )
        .await?;
        let data = &given.host_data;
        let mine = &data["secrets"]["api-token"];
        ensure!(
            mine["kind"] == "String" && mine["value"] == token.as_str(),
            "the provider's host data has secrets {}; expected api-token as the backend's text",
            cx.scrub(&data["secrets"].to_string())
        );
        let link = data["link_definitions"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["source_id"] == "linked-component"))
            .with_context(|| {
                format!(
                    "the host data has no link from linked-component: {}",
                    data["link_definitions"]
                )
            })?;
        let sealed: Vec<u8> =
            serde_json::from_value(link["target_secrets"].clone()).with_context(|| {
                format!(
                    "the link's target_secrets are not sealed bytes: {}",
                    link["target_secrets"]
                )
            })?;
        ensure!(
            !String::from_utf8_lossy(&sealed).contains(&linked)
                && !link.to_string().contains(&linked),
            "the link's secret reaches the provider in clear"
        );
        let provider_key = XKey::from_seed(
            data["provider_xkey_private_key"]
                .as_str()
                .unwrap_or_default(),
        )
        .context("the host data's provider_xkey_private_key is not an xkey seed")?;
        let host_key =
            XKey::from_public_key(data["host_xkey_public_key"].as_str().unwrap_or_default())
                .context("the host data's host_xkey_public_key is not an xkey")?;
        let opened = provider_key
            .open(&sealed, &host_key)
            .context("the link's secrets do not open with the provider's xkey and the host's")?;
        let opened: serde_json::Value =
            serde_json::from_slice(&opened).context("the opened link secrets are not JSON")?;
        ensure!(
            opened["link-token"]["kind"] == "String"
                && opened["link-token"]["value"] == linked.as_str(),
            "the link's opened secrets: {}; expected link-token as the backend's text",
            cx.scrub(&opened.to_string())
        );
        let seen = backend.requests();
        let keys: Vec<&str> = seen.iter().map(|s| s.key.as_str()).collect();
        ensure!(
            keys.contains(&"prov/token") && keys.contains(&"prov/link"),
            "the backend was asked for {keys:?}; expected prov/token and prov/link"
        );
        for s in &seen {
            let valid = wascap::jwt::validate_token::<CapabilityProvider>(&s.entity_jwt)
                .with_context(|| format!("get {}: the entity JWT is not a provider's", s.key))?;
            let claims = Claims::<CapabilityProvider>::decode(&s.entity_jwt)?;
            ensure!(
                valid.signature_valid && claims.subject.starts_with('V'),
                "get {}: entity JWT subject {} (valid signature {}); expected the provider archive's service key",
                s.key,
                claims.subject,
                valid.signature_valid
            );
        }
        Ok(())
    })
}
