//! Secrets the host must not hand out (catalogue SEC-06..09): a start fails when the backend
//! refuses, is silent, answers sealed for someone else, when the reference is missing, when the
//! host has no secrets topic or the entity no claims, and for builtin providers; a secret never
//! shows in logs, events, inventory or the config store; secrets-nats-kv gives only to mapped
//! entities. What a granted secret gives is `host::secrets_for_a_component`'s.
use std::collections::{HashMap, HashSet};

use anyhow::{ensure, Context as _};
use harness::secrets::{Answer, Refusal, Value};
use harness::wait::{Probe, Wait};

use crate::bindings::secrets::reader::Revealed;
use crate::fixtures::SECRETS_RUST;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture, T};
use crate::signing::{signed_copy, Signed};
use crate::steps::scale_refused;
use crate::steps::secrets::{self as secret, BACKEND};

const FEATURES: &[Feature] = &[
    Feature::ControlInterface,
    Feature::LatticeEvents,
    Feature::FileLoad,
];

/// The `secrets` fixture, signed (the host fetches secrets only for a signed entity).
fn reader(cx: &Cx) -> anyhow::Result<Signed> {
    signed_copy(cx, SECRETS_RUST, "secrets-reader", None, None)
}

/// Scales the signed reader as `id` with `SECRET_db` expecting a refusal; the error.
async fn refused(cx: &Cx, signed: &Signed, id: &str) -> anyhow::Result<String> {
    scale_refused(
        cx,
        &cx.host_id(),
        &signed.file_ref(),
        id,
        vec!["SECRET_db".into()],
    )
    .await
}

/// SEC-07: a backend's refusal fails the start with the backend's reason.
pub static REFUSED: ConformanceTest = ConformanceTest {
    name: "security::secret_refused_by_backend_fails_scale",
    source: file!(),
    description: "when the secrets backend answers a get with an error (unauthorized; not found), the scale naming that secret fails with component_scale_failed carrying the backend's reason, and the component does not run",
    area: Area::Security,
    features: FEATURES,
    covers: &["SEC-07", "HL-14"],
    fixtures: &[SECRETS_RUST],
    setup: Setup::hosts(1).env_per_host(secret::ENV_1),
    run: refused_by_backend,
};

fn refused_by_backend(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let backend = secret::answering(&cx, |seen| match seen.key.as_str() {
            "app/db" => Answer::Refuse(Refusal::Unauthorized),
            _ => Answer::Refuse(Refusal::SecretNotFound),
        })
        .await?;
        secret::put_reference(&cx, "SECRET_db", "db-password", "app/db", None).await?;
        let signed = reader(&cx)?;
        let error = refused(&cx, &signed, "unauthorized").await?;
        ensure!(
            error.contains("unauthorized"),
            "the failure does not carry the backend's refusal (unauthorized): {error:?}"
        );
        secret::put_reference(&cx, "SECRET_db", "db-password", "app/gone", None).await?;
        let error = refused(&cx, &signed, "not-found").await?;
        ensure!(
            error.contains("Secret not found"),
            "the failure does not carry the backend's refusal (Secret not found): {error:?}"
        );
        let keys: Vec<String> = backend.requests().into_iter().map(|s| s.key).collect();
        ensure!(
            keys.iter().any(|k| k == "app/db") && keys.iter().any(|k| k == "app/gone"),
            "the backend was asked for {keys:?}; the failures did not come from its answers"
        );
        Ok(())
    })
}

/// SEC-07: a backend that never answers fails the start (bounded), it does not hang it.
pub static SILENT: ConformanceTest = ConformanceTest {
    name: "security::silent_secrets_backend_fails_scale",
    source: file!(),
    description: "when the secrets backend takes a get and never answers, the scale fails with component_scale_failed (the host gives up) instead of running the component without its secret or hanging",
    area: Area::Security,
    features: FEATURES,
    covers: &["SEC-07"],
    fixtures: &[SECRETS_RUST],
    setup: Setup::hosts(1).env_per_host(secret::ENV_1),
    run: silent,
};

fn silent(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let backend = secret::answering(&cx, |_| Answer::Silent).await?;
        secret::put_reference(&cx, "SECRET_db", "db-password", "app/db", None).await?;
        let error = refused(&cx, &reader(&cx)?, "silent").await?;
        ensure!(!error.is_empty(), "the failure has no reason");
        ensure!(
            !backend.requests().is_empty(),
            "the backend saw no get; the failure is not about its silence: {error:?}"
        );
        Ok(())
    })
}

/// SEC-07: an answer the host cannot open fails the start.
pub static SEALED_FOR_ANOTHER: ConformanceTest = ConformanceTest {
    name: "security::secret_sealed_for_another_fails_scale",
    source: file!(),
    description: "when the backend answers with the secret sealed for a key that is not the asking host's, the host cannot open it and the scale fails with component_scale_failed",
    area: Area::Security,
    features: FEATURES,
    covers: &["SEC-07"],
    fixtures: &[SECRETS_RUST],
    setup: Setup::hosts(1).env_per_host(secret::ENV_1),
    run: sealed_for_another,
};

fn sealed_for_another(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let value = secret::fresh(&cx, "db");
        let backend = secret::answering(&cx, move |_| {
            Answer::SealedForAnother(Value::Text(value.clone()))
        })
        .await?;
        secret::put_reference(&cx, "SECRET_db", "db-password", "app/db", None).await?;
        let error = refused(&cx, &reader(&cx)?, "misdirected").await?;
        ensure!(
            error.contains("open") || error.contains("decrypt"),
            "the failure does not say the answer could not be opened: {error:?}"
        );
        ensure!(!backend.requests().is_empty(), "the backend saw no get");
        Ok(())
    })
}

/// SEC-06: a missing reference fails the start, and the backend is never asked.
pub static MISSING_REFERENCE: ConformanceTest = ConformanceTest {
    name: "security::missing_secret_reference_fails_scale",
    source: file!(),
    description: "a scale naming a SECRET_ config that was never put fails with component_scale_failed naming it, and the backend is asked for nothing",
    area: Area::Security,
    features: FEATURES,
    covers: &["SEC-06"],
    fixtures: &[SECRETS_RUST],
    setup: Setup::hosts(1).env_per_host(secret::ENV_1),
    run: missing_reference,
};

fn missing_reference(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let backend = secret::backend(&cx, HashMap::new()).await?;
        let signed = reader(&cx)?;
        let error = scale_refused(
            &cx,
            &cx.host_id(),
            &signed.file_ref(),
            "unreferenced",
            vec!["SECRET_absent".into()],
        )
        .await?;
        ensure!(
            error.contains("SECRET_absent"),
            "the failure does not name the missing reference: {error:?}"
        );
        let seen = backend.requests();
        ensure!(
            seen.is_empty(),
            "the backend was asked for {:?}",
            seen.iter().map(|s| &s.key).collect::<Vec<_>>()
        );
        Ok(())
    })
}

/// SEC-06: a link naming a missing secret reference is refused when it is put.
pub static LINK_MISSING_REFERENCE: ConformanceTest = ConformanceTest {
    name: "security::link_naming_missing_secret_refused",
    source: file!(),
    description: "link.put whose target config names a SECRET_ reference that does not exist is refused with a message naming it, and link.get does not list the link; the same link naming an existing reference is accepted",
    area: Area::Security,
    features: &[Feature::ControlInterface],
    covers: &["SEC-06", "NET-03"],
    fixtures: &[],
    setup: Setup::hosts(1),
    run: link_missing_reference,
};

fn link_missing_reference(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let link = |config: &str| {
            crate::steps::link(
                "a-source",
                "a-target",
                "default",
                ("wcc", "secrets"),
                &["reader"],
                &[],
                &[config],
            )
        };
        let put = cx.ctl().put_link(link("SECRET_absent")?).await?;
        ensure!(
            !put.succeeded() && put.message().contains("SECRET_absent"),
            "link.put naming a missing secret reference: succeeded {}, message {:?}; expected a refusal naming SECRET_absent",
            put.succeeded(),
            put.message()
        );
        // The same link with an existing reference goes through: the refusal was the reference.
        secret::put_reference(&cx, "SECRET_present", "present", "app/present", None).await?;
        crate::steps::put_link(&cx, link("SECRET_present")?).await?;
        let links = crate::steps::wait_links(&cx, "the link with SECRET_present", |links| {
            links.iter().any(|l| l.source_id() == "a-source")
        })
        .await?;
        let listed: Vec<&Vec<String>> = links
            .iter()
            .filter(|l| l.source_id() == "a-source")
            .map(|l| l.target_config())
            .collect();
        ensure!(
            listed == [&vec!["SECRET_present".to_string()]],
            "link.get lists the a-source link with target configs {listed:?}; the refused one must not be there"
        );
        Ok(())
    })
}

/// SEC-07: without a secrets topic the host fetches nothing and the start fails.
pub static NO_TOPIC: ConformanceTest = ConformanceTest {
    name: "security::secrets_need_a_topic",
    source: file!(),
    description: "a host started without a secrets topic fails a scale that names a secret reference (component_scale_failed saying no secret store is configured), although a backend answers on the usual topic",
    area: Area::Security,
    features: FEATURES,
    covers: &["SEC-07", "CFG-06"],
    fixtures: &[SECRETS_RUST],
    setup: Setup::hosts(1)
        .needs_suite_lattice("writes signed copies of fixtures into the lattice's shared folder"),
    run: no_topic,
};

fn no_topic(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let value = secret::fresh(&cx, "db");
        let backend = secret::backend(
            &cx,
            HashMap::from([("app/db".to_string(), Value::Text(value))]),
        )
        .await?;
        secret::put_reference(&cx, "SECRET_db", "db-password", "app/db", None).await?;
        let error = refused(&cx, &reader(&cx)?, "topicless").await?;
        ensure!(
            error.contains("secret store not configured"),
            "the failure does not say that no secret store is configured: {error:?}"
        );
        ensure!(
            backend.requests().is_empty() && backend.xkey_requests() == 0,
            "a host without a secrets topic asked the backend"
        );
        Ok(())
    })
}

/// SEC-07: an entity without claims gets no secret.
pub static UNSIGNED: ConformanceTest = ConformanceTest {
    name: "security::secrets_need_a_signed_entity",
    source: file!(),
    description: "an unsigned component scaled with a secret reference fails with component_scale_failed saying the entity has no embedded JWT, and the backend is asked for nothing",
    area: Area::Security,
    features: FEATURES,
    covers: &["SEC-07", "SEC-01"],
    fixtures: &[SECRETS_RUST],
    setup: Setup::hosts(1).env_per_host(secret::ENV_1),
    run: unsigned,
};

fn unsigned(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let value = secret::fresh(&cx, "db");
        let backend = secret::backend(
            &cx,
            HashMap::from([("app/db".to_string(), Value::Text(value))]),
        )
        .await?;
        secret::put_reference(&cx, "SECRET_db", "db-password", "app/db", None).await?;
        let image = cx.image(SECRETS_RUST)?;
        let error = scale_refused(
            &cx,
            &cx.host_id(),
            &image,
            "unsigned",
            vec!["SECRET_db".into()],
        )
        .await?;
        ensure!(
            error.contains("JWT"),
            "the failure does not say the entity has no JWT: {error:?}"
        );
        ensure!(
            backend.requests().is_empty(),
            "the backend was asked for a secret for an unsigned entity"
        );
        Ok(())
    })
}

/// SEC-08: builtin providers have no claims and get no secrets.
pub static BUILTIN_PROVIDER: ConformanceTest = ConformanceTest {
    name: "security::builtin_provider_gets_no_secrets",
    source: file!(),
    description: "the builtin HTTP server started with a secret reference fails to start (provider_start_failed: it has no claims to fetch secrets with) and the backend is asked for nothing",
    area: Area::Security,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::BuiltinHttpServer],
    covers: &["SEC-08"],
    fixtures: &[],
    setup: Setup::hosts(1)
        .features(&["builtin-http-server"])
        .env_per_host(secret::ENV_1),
    run: builtin_provider,
};

fn builtin_provider(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let value = secret::fresh(&cx, "db");
        let backend = secret::backend(
            &cx,
            HashMap::from([("app/db".to_string(), Value::Text(value))]),
        )
        .await?;
        secret::put_reference(&cx, "SECRET_db", "db-password", "app/db", None).await?;
        let host = cx.host_id();
        let mark = cx.journal().mark();
        let ack = cx
            .ctl()
            .start_provider(
                &host,
                "wasmcloud+builtin://http-server",
                "http-server",
                vec!["SECRET_db".into()],
            )
            .await?;
        ensure!(
            ack.succeeded(),
            "provider.start is acked before any work (HL-14): {}",
            ack.message()
        );
        let failed = cx
            .journal()
            .wait_for(
                mark,
                "provider_start_failed",
                "http-server",
                T.service,
                |e| e.field("provider_id") == Some("http-server"),
            )
            .await?;
        let error = failed.field("error").unwrap_or_default();
        ensure!(
            error.contains("JWT"),
            "provider_start_failed does not say the provider has no JWT: {error:?}"
        );
        let inv = crate::steps::inventory(&cx, &host).await?;
        ensure!(
            inv.providers().iter().all(|p| p.id() != "http-server"),
            "the builtin provider runs anyway"
        );
        ensure!(
            backend.requests().is_empty(),
            "the backend was asked for a secret for a builtin provider"
        );
        Ok(())
    })
}

/// SEC-06 / SEC-07: a granted secret shows nowhere but in the component.
pub static NEVER_SHOWN: ConformanceTest = ConformanceTest {
    name: "security::secrets_never_shown",
    source: file!(),
    description: "after a component got and read a secret: the host's whole log, every lattice event, every recorded control exchange (config.get of the reference, the inventory, claims, links) and the lattice's diagnostics do not contain its value; the report's redaction replaces it",
    area: Area::Security,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Wrpc],
    covers: &["SEC-06", "SEC-07"],
    fixtures: &[SECRETS_RUST],
    setup: Setup::hosts(1)
        .env_per_host(&[&[("WASMCLOUD_SECRETS_TOPIC", secret::TOPIC), ("WASMCLOUD_LOG_LEVEL", "trace")]])
        .needs_suite_lattice("reads the host's log"),
    run: never_shown,
};

fn never_shown(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let value = secret::fresh(&cx, "db");
        let _backend = secret::backend(
            &cx,
            HashMap::from([("app/db".to_string(), Value::Text(value.clone()))]),
        )
        .await?;
        let reference =
            secret::put_reference(&cx, "SECRET_db", "db-password", "app/db", None).await?;
        let signed = reader(&cx)?;
        let host = cx.host_id();
        crate::steps::scale_with(
            &cx,
            &host,
            &signed.file_ref(),
            "holder",
            1,
            None,
            vec!["SECRET_db".into()],
        )
        .await?;
        secret::read_text(&cx, "holder", "db-password", &value).await?;

        let ctl = cx.ctl();
        let stored = format!("{:?}", ctl.get_config("SECRET_db").await?.data());
        ensure!(
            ["db-password", "app/db", BACKEND].iter().all(|v| stored.contains(v)),
            "config.get SECRET_db does not return the reference that was put ({reference:?}): {stored}"
        );
        let inventory = format!("{:?}", crate::steps::inventory(&cx, &host).await?);
        let claims = ctl
            .client()
            .get_claims()
            .await
            .map_err(|e| anyhow::anyhow!("claims.get: {e}"))?;
        let links = format!("{:?}", ctl.get_links().await?.data());

        let mut places: Vec<(String, String)> = vec![
            ("config.get SECRET_db".into(), stored),
            ("host.get".into(), inventory),
            ("claims.get".into(), format!("{:?}", claims.data())),
            ("link.get".into(), links),
            (
                "the lattice's diagnostics".into(),
                cx.lattice().diagnostics(),
            ),
            (
                "the host's log".into(),
                cx.lattice().hosts()[0].log_tail(1_000_000),
            ),
        ];
        places.extend(
            cx.journal()
                .since(0)
                .into_iter()
                .map(|e| (format!("lattice event {}", e.kind), e.data().to_string())),
        );
        places.extend(cx.journal().last_exchanges(10_000).into_iter().map(|x| {
            (
                format!("recorded exchange {}", x.operation),
                format!("{x:?}"),
            )
        }));
        let shown: Vec<&str> = places
            .iter()
            .filter(|(_, text)| text.contains(&value))
            .map(|(where_, _)| where_.as_str())
            .collect();
        ensure!(shown.is_empty(), "the secret's value shows in: {shown:?}");
        ensure!(
            places
                .iter()
                .any(|(w, _)| w.starts_with("lattice event component_scaled")),
            "no component_scaled event was looked at; the search saw nothing"
        );
        // The report's redaction policy knows the value: what a failure would carry is scrubbed.
        let leaked = format!("a failure quoting {value} and the log line `secret={value}`");
        ensure!(
            !cx.scrub(&leaked).contains(&value)
                && !cx.redactor().redact_str(&leaked).contains(&value),
            "the redaction policy does not know the test's secret"
        );
        Ok(())
    })
}

/// SEC-09: the reference backend gives a secret only to entities mapped to it.
pub static NATS_KV: ConformanceTest = ConformanceTest {
    name: "security::secrets_nats_kv_gives_only_to_mapped",
    source: file!(),
    description: "with the published secrets-nats-kv backend (run in the harness against the lattice's NATS), a secret put into it and mapped to one signed component reaches that component; a second signed component, not mapped, fails to scale as unauthorized; a binary secret's bytes are compared with what was put (upstream returns them still encrypted: recorded as an observation)",
    area: Area::Security,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Wrpc],
    covers: &["SEC-09", "SEC-07"],
    fixtures: &[SECRETS_RUST],
    setup: Setup::hosts(1).env_per_host(secret::ENV_1),
    run: nats_kv,
};

/// The secrets-nats-kv backend running in this process; stops when dropped.
struct NatsKv(tokio::task::JoinHandle<anyhow::Result<()>>);

impl Drop for NatsKv {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn nats_kv(cx: Cx) -> TestFuture {
    Box::pin(async move {
        // Its client's put and mapping subjects name the backend `nats-kv`.
        const NAME: &str = "nats-kv";
        let nats = cx.lattice().nats().clone();
        let transit = nkeys::XKey::new();
        let seed = transit
            .seed()
            .map_err(|e| anyhow::anyhow!("transit xkey seed: {e}"))?;
        let api = secrets_nats_kv::Api::new(
            nkeys::XKey::from_seed(&seed).map_err(|e| anyhow::anyhow!("{e}"))?,
            nkeys::XKey::new(),
            nats.clone(),
            secret::TOPIC.to_string(),
            NAME.to_string(),
            "WCC_SECRETS".to_string(),
            64,
            "wcc_secrets".to_string(),
            "v1alpha1".to_string(),
        );
        let _running = NatsKv(tokio::spawn(async move { api.run().await }));

        let text = secret::fresh(&cx, "kv");
        let binary: Vec<u8> = vec![0xff, 0xfe, 0x00, 0x80, 0x81, 0x9f];
        let put = |key: &'static str, value: Value| {
            let (nats, transit) = (nats.clone(), nkeys::XKey::from_seed(&seed));
            async move {
                let transit = transit.map_err(|e| anyhow::anyhow!("{e}"))?;
                let (string_secret, binary_secret) = match value {
                    Value::Text(s) => (Some(s), None),
                    Value::Bytes(b) => (None, Some(b)),
                };
                let request = secrets_nats_kv::PutSecretRequest {
                    key: key.to_string(),
                    version: String::new(),
                    string_secret,
                    binary_secret,
                };
                secrets_nats_kv::client::put_secret(&nats, secret::TOPIC, &transit, request).await
            }
        };
        // The backend answers once it has made its buckets and subscribed.
        Wait::new("secrets-nats-kv to take a put_secret", T.service)
            .interval(std::time::Duration::from_millis(100))
            .until(|_| {
                let put = put("db", Value::Text(text.clone()));
                async move {
                    match put.await {
                        Ok(()) => Probe::Ready(()),
                        Err(e) => Probe::NotYet(format!("{e:#}")),
                    }
                }
            })
            .await?;
        put("blob", Value::Bytes(binary.clone()))
            .await
            .context("put the binary secret")?;

        let mapped = reader(&cx)?;
        let unmapped = reader(&cx)?;
        secrets_nats_kv::client::add_mapping(
            &nats,
            secret::TOPIC,
            &mapped.module,
            HashSet::from(["db".to_string(), "blob".to_string()]),
        )
        .await
        .context("secrets-nats-kv add_mapping")?;
        for (config, name, key) in [
            ("SECRET_db", "db-password", "db"),
            ("SECRET_blob", "blob", "blob"),
        ] {
            let policy = HashMap::new();
            let reference = harness::secrets::reference(name, NAME, key, None, None, policy)?;
            let put = cx
                .ctl()
                .put_config(config, reference.into_iter().collect())
                .await?;
            ensure!(put.succeeded(), "config.put {config}: {}", put.message());
        }
        let host = cx.host_id();
        let error = scale_refused(
            &cx,
            &host,
            &unmapped.file_ref(),
            "unmapped",
            vec!["SECRET_db".into()],
        )
        .await?;
        ensure!(
            error.contains("unauthorized"),
            "the unmapped component's failure does not say unauthorized: {error:?}"
        );
        let config = vec!["SECRET_db".to_string(), "SECRET_blob".to_string()];
        crate::steps::scale_with(&cx, &host, &mapped.file_ref(), "mapped", 1, None, config).await?;
        secret::read_text(&cx, "mapped", "db-password", &text).await?;
        match secret::read(&cx, "mapped", "blob").await? {
            Ok(Revealed::Bytes(got)) if got == binary => {}
            Ok(Revealed::Bytes(got)) => cx.observe(format!(
                "secrets-nats-kv gave a binary secret of {} bytes back as {} other bytes: still encrypted (catalogue SEC-09)",
                binary.len(),
                got.len()
            )),
            other => anyhow::bail!("the binary secret read by mapped: {other:?}; expected bytes"),
        }
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![
        &REFUSED,
        &SILENT,
        &SEALED_FOR_ANOTHER,
        &MISSING_REFERENCE,
        &LINK_MISSING_REFERENCE,
        &NO_TOPIC,
        &UNSIGNED,
        &BUILTIN_PROVIDER,
        &NEVER_SHOWN,
        &NATS_KV,
    ]
}
