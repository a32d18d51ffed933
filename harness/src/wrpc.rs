//! wRPC clients for component exports (NET-08): the official NATS transport with prefix
//! `<lattice>.<component_id>`.
use crate::HarnessError;

/// A client whose invocations go to `<lattice>.<component_id>.wrpc.0.0.1.<instance>.<function>`.
pub async fn client(
    nats: &async_nats::Client,
    lattice: &str,
    component_id: &str,
) -> Result<wrpc_transport_nats::Client, HarnessError> {
    wrpc_transport_nats::Client::new(nats.clone(), format!("{lattice}.{component_id}"), None)
        .await
        .map_err(|e| HarnessError::request(format!("create wRPC client for {component_id}"), e))
}
