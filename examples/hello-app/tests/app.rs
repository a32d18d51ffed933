//! The hello app on a real lattice: deployed from its own `wadm.yaml` through wadm, then called
//! the way its users call it (HTTP through the builtin HTTP server) and the way other components
//! call it (wRPC).
mod support;

use std::time::Duration;

use anyhow::{ensure, Context as _};
use harness::redact::Redactor;
use harness::wadm::StatusType;
use harness::HarnessError;
use support::bindings::greeter;

/// How long the app may take to reach Deployed (compiling the component included).
const DEPLOY_TIMEOUT: Duration = Duration::from_secs(90);
/// One wRPC call's bound.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread")]
async fn greets_over_http_and_wrpc() -> anyhow::Result<()> {
    let component = support::component()?;
    let lattice = support::lattice().await?;
    let address = format!("127.0.0.1:{}", support::free_port()?);
    let manifest = support::manifest(&component, &address)?;

    let status = lattice.wadm().deploy_app(&manifest, DEPLOY_TIMEOUT).await?;
    ensure!(
        status.info.status_type == StatusType::Deployed,
        "deploy_app returned {:?}",
        status.info
    );

    // HTTP, as the app's users reach it.
    let http = support::http();
    let base = format!("http://{address}");
    support::wait_http_body(&http, &format!("{base}/hello/Ada"), "Hello, Ada!").await?;
    let spaced = http
        .get(format!("{base}/hello/Grace%20Hopper"))
        .send()
        .await
        .context("GET a name with a space")?;
    let spaced = (spaced.status().as_u16(), spaced.text().await?);
    ensure!(
        spaced == (200, "Hello, Grace Hopper!".to_string()),
        "GET /hello/Grace%20Hopper answered {spaced:?}"
    );
    let payload: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let echo = http
        .post(format!("{base}/echo"))
        .body(payload.clone())
        .send()
        .await
        .context("POST /echo")?;
    ensure!(
        echo.status() == 200,
        "POST /echo answered {}",
        echo.status()
    );
    let echoed = echo.bytes().await.context("POST /echo body")?;
    ensure!(
        echoed.as_ref() == payload.as_slice(),
        "POST /echo answered {} bytes, sent {}",
        echoed.len(),
        payload.len()
    );
    let missing = http
        .get(format!("{base}/nowhere"))
        .send()
        .await
        .context("GET /nowhere")?;
    let missing = (missing.status().as_u16(), missing.text().await?);
    ensure!(
        missing == (404, "no route for /nowhere".to_string()),
        "GET /nowhere answered {missing:?}"
    );

    // wRPC, as another component (or a service) calls the export.
    let image = format!("file://{}", component.display());
    let id = support::component_id(&lattice, &image).await?;
    let wrpc = lattice.wrpc_client(&id).await?;
    let mut answers = Vec::new();
    for name in ["Linus", ""] {
        let answer = tokio::time::timeout(CALL_TIMEOUT, greeter::greet(&wrpc, None, name))
            .await
            .with_context(|| {
                format!("greet({name:?}) over wRPC: no answer within {CALL_TIMEOUT:?}")
            })?
            .with_context(|| format!("greet({name:?}) over wRPC"))?;
        answers.push((name, answer));
    }
    ensure!(
        answers
            == [
                ("Linus", "Hello, Linus!".to_string()),
                ("", "Hello, world!".to_string())
            ],
        "greet over wRPC answered {answers:?}"
    );

    // What wadm and the host report about the app, through the one redaction policy.
    // Scalers in a stable order; their ids are digests of each scaler's configuration (image
    // path and port included), so they become placeholders.
    let mut status = status;
    status
        .scalers
        .sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    let redactor = status.scalers.iter().enumerate().fold(
        Redactor::for_lattice(&lattice).literal(&address, "[http-address]"),
        |r, (i, s)| r.literal(&s.id, &format!("[scaler-{i}]")),
    );
    let inventory = lattice
        .ctl()
        .get_host_inventory(&lattice.host_ids()[0])
        .await?
        .into_data()
        .context("no inventory")?;
    let mut components = serde_json::to_value(inventory.components())?;
    components
        .as_array_mut()
        .context("components is a list")?
        .sort_by_key(|c| c["id"].to_string());
    harness::snapshot!(
        redactor,
        "deployed_app",
        "wadm.yaml deployed, then GET /hello/Ada and greet(\"Linus\"), greet(\"\") over wRPC",
        serde_json::json!({
            "status": status,
            "components": components,
            "wrpc_answers": answers,
        })
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manifest_wadm_rejects_says_how_to_fix_it() -> anyhow::Result<()> {
    let component = support::component()?;
    let lattice = support::lattice().await?;
    let mut manifest = support::manifest(&component, "127.0.0.1:8000")?;
    // The HTTP server's link now points at a component the manifest does not have.
    manifest.spec.components.retain(|c| c.name != "greeter");

    let err = lattice
        .wadm()
        .deploy_app(&manifest, DEPLOY_TIMEOUT)
        .await
        .expect_err("wadm must reject a link to a missing component");
    let HarnessError::ManifestRejected {
        ref app,
        ref reason,
        ref fix,
    } = err
    else {
        anyhow::bail!("expected ManifestRejected, got: {err}");
    };
    ensure!(app == "hello-app", "the error names the app {app:?}");
    ensure!(
        fix.contains("target.name"),
        "the fix does not point at the link target: {err}"
    );
    let apps = lattice.wadm().list().await.context("model.list")?;
    ensure!(
        apps.is_empty(),
        "wadm stored the rejected manifest anyway: {apps:?}"
    );
    harness::snapshot!(
        Redactor::for_lattice(&lattice),
        "rejected_manifest",
        "wadm.yaml without its greeter component",
        serde_json::json!({
            "reason": reason,
            "fix": fix,
        })
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_that_cannot_start_is_explained() -> anyhow::Result<()> {
    let lattice = support::lattice().await?;
    // Not a component: the app's manifest itself.
    let not_wasm = support::app_dir().join("wadm.yaml");
    let address = format!("127.0.0.1:{}", support::free_port()?);
    let manifest = support::manifest(&not_wasm, &address)?;

    let err = lattice
        .wadm()
        .deploy_app(&manifest, Duration::from_secs(20))
        .await
        .expect_err("an app whose component is not WebAssembly must not deploy");
    let HarnessError::AppNotDeployed {
        ref status,
        ref fix,
        ..
    } = err
    else {
        anyhow::bail!("expected AppNotDeployed, got: {err}");
    };
    ensure!(
        status.contains("Failed"),
        "the status names the failure: {err}"
    );
    ensure!(
        fix.contains("file://") && fix.contains("wasm32-wasip2"),
        "the fix does not point at the image: {err}"
    );
    Ok(())
}
