//! Components pulled from a real OCI registry (catalogue HL-11, CFG-05): the insecure-registry and
//! allow-latest settings, a missing tag, a digest that does not match, and registry credentials
//! that are really used. The registry is `harness::registry` (Debian's docker-registry).
use anyhow::{ensure, Context as _};
use harness::lattice::HostSpec;
use harness::registry::{Pushed, Registry, RegistryOptions};

use crate::bindings::echo;
use crate::fixtures::PROBE_RUST;
use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use crate::steps::{scale, scale_refused};

/// HL-11 / CFG-05: pulls over `oci://` and the settings that govern them.
pub static PULLS: ConformanceTest = ConformanceTest {
    name: "host::oci_pulls_and_their_settings",
    source: file!(),
    description: "a component pushed to a plain-HTTP OCI registry runs on a host allowed to use it insecurely (WASMCLOUD_OCI_ALLOWED_INSECURE) and answers; a host without that setting fails the scale; `latest` fails unless WASMCLOUD_OCI_ALLOW_LATEST; a missing tag and a digest that names nothing fail as `manifest unknown`; a pull by the pushed digest runs; a layer altered in the registry's storage fails as an invalid digest",
    area: Area::Host,
    features: &[
        Feature::ControlInterface,
        Feature::LatticeEvents,
        Feature::Wrpc,
    ],
    covers: &["HL-11", "CFG-05", "HL-14"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).needs_suite_lattice("starts a registry and hosts configured for it"),
    run: pulls,
};

fn pulls(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let registry = Registry::start(cx.lattice().backend(), RegistryOptions::default()).await?;
        let wasm = std::fs::read(&cx.fixture(PROBE_RUST)?.path).context("read the probe")?;
        let versioned = registry
            .push_component("probe", "0.1.0", wasm.clone())
            .await?;
        let latest = registry.push_component("probe", "latest", wasm).await?;
        let insecure = ("WASMCLOUD_OCI_ALLOWED_INSECURE", registry.address());
        let allowed = host(&cx, &[insecure]).await?;
        let strict = host(&cx, &[]).await?;
        let with_latest = host(&cx, &[insecure, ("WASMCLOUD_OCI_ALLOW_LATEST", "true")]).await?;

        // The pull itself: the component runs and answers.
        scale(&cx, &allowed.id, &oci(&versioned), "pulled", 1).await?;
        answers(&cx, "pulled").await?;

        // Plain HTTP only where the host allows it.
        let error = scale_refused(&cx, &strict.id, &oci(&versioned), "strict", vec![]).await?;
        ensure!(
            error.contains(&format!("https://{}/", registry.address())),
            "a host without WASMCLOUD_OCI_ALLOWED_INSECURE must try HTTPS and fail; it failed for another reason: {error}"
        );

        // `latest` only where allowed.
        let error =
            scale_refused(&cx, &allowed.id, &oci(&latest), "latest-refused", vec![]).await?;
        ensure!(
            error.contains("latest") && error.contains("WASMCLOUD_OCI_ALLOW_LATEST"),
            "a `latest` pull failed for another reason: {error}"
        );
        scale(&cx, &with_latest.id, &oci(&latest), "latest-allowed", 1).await?;
        answers(&cx, "latest-allowed").await?;

        // A tag the registry does not have, and a digest that names nothing stored.
        let missing = format!("oci://{}/probe:9.9.9", registry.address());
        let error = scale_refused(&cx, &allowed.id, &missing, "missing-tag", vec![]).await?;
        ensure!(
            error.contains("manifest unknown"),
            "a missing tag failed for another reason: {error}\n--- registry log ---\n{}",
            registry.log_tail(10)
        );
        let other_digest = format!(
            "oci://{}/probe@sha256:{}",
            registry.address(),
            "0".repeat(64)
        );
        let error = scale_refused(&cx, &allowed.id, &other_digest, "bad-digest", vec![]).await?;
        ensure!(
            error.contains("manifest unknown"),
            "a digest that names nothing stored failed for another reason: {error}"
        );
        // By digest, the pushed manifest runs.
        let by_digest = format!("oci://{}/probe@{}", registry.address(), versioned.digest);
        scale(&cx, &allowed.id, &by_digest, "by-digest", 1).await?;
        answers(&cx, "by-digest").await?;

        // Content that does not match its digest: the stored layer is altered after the push,
        // so the registry serves bytes whose sha256 is not the one the manifest names.
        let tampered = registry
            .push_component(
                "tampered",
                "1.0.0",
                std::fs::read(&cx.fixture(PROBE_RUST)?.path)?,
            )
            .await?;
        let layer = registry.alter_layer("tampered", "1.0.0").await?;
        let error = scale_refused(&cx, &allowed.id, &oci(&tampered), "tampered", vec![]).await?;
        ensure!(
            error.contains("Invalid digest") && error.contains(&layer),
            "content that does not match its digest {layer} failed for another reason: {error}"
        );
        Ok(())
    })
}

/// HL-11: credentials from registry.put are the ones a pull uses.
pub static CREDENTIALS: ConformanceTest = ConformanceTest {
    name: "host::registry_credentials_put",
    source: file!(),
    description: "against a registry requiring a password, a pull without credentials fails as unauthorized, registry.put with a wrong password still fails, and registry.put with the right one (acknowledged by the host) makes the same pull run; credentials given at start (WASMCLOUD_OCI_REGISTRY, _USER, _PASSWORD) are used the same way, and a user without a password stops the host at start",
    area: Area::Host,
    features: &[
        Feature::ControlInterface,
        Feature::LatticeEvents,
        Feature::Wrpc,
    ],
    covers: &["HL-11", "CFG-05"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).needs_suite_lattice("starts a registry and a host configured for it"),
    run: credentials,
};

fn credentials(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let registry = Registry::start(
            cx.lattice().backend(),
            RegistryOptions {
                credentials: Some(("conformance".into(), "s3cret-pw".into())),
            },
        )
        .await?;
        let wasm = std::fs::read(&cx.fixture(PROBE_RUST)?.path).context("read the probe")?;
        let pushed = registry.push_component("private", "1.0.0", wasm).await?;
        let h = host(
            &cx,
            &[("WASMCLOUD_OCI_ALLOWED_INSECURE", registry.address())],
        )
        .await?;

        let error = scale_refused(&cx, &h.id, &oci(&pushed), "anonymous", vec![]).await?;
        ensure!(
            unauthorized(&error),
            "an anonymous pull from a registry requiring credentials failed for another reason: {error}"
        );
        put_credentials(&cx, registry.address(), "not-the-password").await?;
        let error = scale_refused(&cx, &h.id, &oci(&pushed), "wrong-password", vec![]).await?;
        ensure!(
            unauthorized(&error),
            "a pull with a wrong password failed for another reason: {error}"
        );
        put_credentials(&cx, registry.address(), "s3cret-pw").await?;
        scale(&cx, &h.id, &oci(&pushed), "authorized", 1).await?;
        answers(&cx, "authorized").await?;

        // CFG-05: the same credentials given at start, all three together; hosts started after
        // the registry.put above, so these pulls use only what the host was started with.
        let env_host = |password: &'static str| {
            [
                ("WASMCLOUD_OCI_ALLOWED_INSECURE", registry.address()),
                ("WASMCLOUD_OCI_REGISTRY", registry.address()),
                ("WASMCLOUD_OCI_REGISTRY_USER", "conformance"),
                ("WASMCLOUD_OCI_REGISTRY_PASSWORD", password),
            ]
        };
        let right = host(&cx, &env_host("s3cret-pw")).await?;
        scale(&cx, &right.id, &oci(&pushed), "env-authorized", 1).await?;
        answers(&cx, "env-authorized").await?;
        let wrong = host(&cx, &env_host("not-the-password")).await?;
        let error = scale_refused(&cx, &wrong.id, &oci(&pushed), "env-wrong", vec![]).await?;
        ensure!(
            unauthorized(&error),
            "a pull with a wrong password given at start failed for another reason: {error}"
        );
        // A user without a password is a configuration error at start, not a silent default.
        let partial = [
            ("WASMCLOUD_OCI_REGISTRY", registry.address()),
            ("WASMCLOUD_OCI_REGISTRY_USER", "conformance"),
        ];
        match host(&cx, &partial).await {
            Ok(h) => anyhow::bail!(
                "a host given an OCI registry and user without a password started ({})",
                h.id
            ),
            Err(e) => ensure!(
                e.to_string().contains("exited") && e.to_string().contains("--oci-password"),
                "a host given a registry and user without a password failed otherwise: {e:#}"
            ),
        }
        Ok(())
    })
}

/// registry.put with `conformance:<password>` for `address`; the host's reply must succeed.
async fn put_credentials(cx: &Cx, address: &str, password: &str) -> anyhow::Result<()> {
    let subject = format!("wasmbus.ctl.v1.{}.registry.put", cx.lattice().name());
    let body = serde_json::json!({address: {"username": "conformance", "password": password, "registryType": "oci"}});
    let reply = crate::steps::raw_request(cx, subject, body.to_string().into_bytes()).await?;
    ensure!(reply["success"] == true, "registry.put: {reply}");
    ensure!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.contains("registr")),
        "registry.put message: {reply}"
    );
    Ok(())
}

fn unauthorized(error: &str) -> bool {
    let e = error.to_lowercase();
    e.contains("not authorized") || e.contains("unauthorized")
}

fn oci(pushed: &Pushed) -> String {
    format!("oci://{}", pushed.reference)
}

/// One more host of the lattice with `env`.
async fn host(cx: &Cx, env: &[(&str, &str)]) -> anyhow::Result<harness::lattice::HostHandle> {
    let spec = HostSpec {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..HostSpec::default()
    };
    Ok(cx.lattice().add_host(spec).await?)
}

/// The component answers an echo over wRPC (the pulled code really runs).
async fn answers(cx: &Cx, id: &str) -> anyhow::Result<()> {
    let client = cx.lattice().wrpc_client(id).await?;
    let echoed = harness::wrpc::call(T.call, || echo::echo(&client, None, id))
        .await
        .with_context(|| format!("echo on {id}"))?;
    ensure!(echoed == id, "echo on {id} answered {echoed:?}");
    Ok(())
}
