//! wRPC clients for component exports (NET-08): the official NATS transport with prefix
//! `<lattice>.<component_id>`.
//!
//! wrpc-transport-nats 0.31 is used because 0.29 drops about 1% of replies in a client-side race
//! (its reply subscription could be registered after the reply arrived; fixed upstream in
//! bytecodealliance/wrpc#1272). It is built on async-nats 0.49, so wRPC gets its own NATS
//! connection; the control-interface and wadm clients stay on the version their crates use.
use std::time::Duration;

use crate::HarnessError;

/// Headers of a wRPC invocation (e.g. a W3C `traceparent`).
pub use async_nats_wrpc::HeaderMap;

/// A client whose invocations go to `<lattice>.<component_id>.wrpc.0.0.1.<instance>.<function>`,
/// on its own connection to `nats_url` (the address the harness reaches NATS at, which is not
/// what a containerised server reports about itself).
pub async fn client(
    nats_url: &str,
    lattice: &str,
    component_id: &str,
) -> Result<wrpc_transport_nats::Client, HarnessError> {
    client_with(nats_url, None, lattice, component_id).await
}

/// [`client`] with a NATS credentials file (an existing lattice's NATS may need one).
pub(crate) async fn client_with(
    nats_url: &str,
    creds: Option<&std::path::Path>,
    lattice: &str,
    component_id: &str,
) -> Result<wrpc_transport_nats::Client, HarnessError> {
    let url = nats_url.to_string();
    let options = match creds {
        Some(path) => async_nats_wrpc::ConnectOptions::with_credentials_file(path)
            .await
            .map_err(|e| HarnessError::Credentials {
                path: path.to_path_buf(),
                problem: e.to_string(),
            })?,
        None => async_nats_wrpc::ConnectOptions::new(),
    };
    let options = options
        .name("wcc-wrpc")
        .connection_timeout(Duration::from_secs(5));
    let wrpc_nats = match tokio::time::timeout(Duration::from_secs(10), options.connect(&url)).await
    {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            return Err(HarnessError::NatsConnect {
                url,
                message: e.to_string(),
            })
        }
        Err(_) => {
            return Err(HarnessError::NatsConnect {
                url,
                message: "no answer within 10 s".into(),
            })
        }
    };
    wrpc_transport_nats::Client::new(wrpc_nats, format!("{lattice}.{component_id}"), None)
        .await
        .map_err(|e| HarnessError::request(format!("create wRPC client for {component_id}"), e))
}
