//! Waiting for the anchors' HTTP servers to answer, through the load generator's own HTTP client.
//! (The anchor processes themselves are `harness::process::ManagedProcess`es.)
use std::time::Duration;

use crate::generator::{http::HttpGet, Caller as _, Target as _};
use harness::wait::{Probe, Wait};

/// Waits until `GET http://<addr>/` answers 200 with `body` (bounded), through the same HTTP
/// client the load runs use.
pub async fn wait_http(addr: &str, body: &str, timeout: Duration) -> anyhow::Result<()> {
    let target = HttpGet::new(addr, "/", Some(body.as_bytes().to_vec()));
    let target = &target;
    Wait::new(format!("GET http://{addr}/ to answer {body:?}"), timeout)
        .interval(Duration::from_millis(10))
        .until(|_| async move {
            let answer = match target.caller().await {
                Ok(mut caller) => caller.call().await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(()) => Probe::Ready(()),
                Err(e) => Probe::NotYet(e),
            }
        })
        .await?;
    Ok(())
}
