//! The control interface, through the official `wasmcloud-control-interface` client, with every
//! exchange recorded in the lattice journal.
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;
use std::collections::HashMap;

use wasmcloud_control_interface::{
    Client, ClientBuilder, ComponentAuctionAck, CtlResponse, Host, HostInventory, Link,
    ProviderAuctionAck,
};

use crate::error::HarnessError;
use crate::journal::Journal;

/// A recorded control-interface client for one lattice.
#[derive(Clone)]
pub struct Ctl {
    client: Client,
    journal: Journal,
}

type CtlResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn summarize<T: Serialize>(value: &T) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|e| format!("<unserializable: {e}>"));
    if text.chars().count() > 400 {
        format!("{}…", text.chars().take(400).collect::<String>())
    } else {
        text
    }
}

impl Ctl {
    pub(crate) fn new(nats: async_nats::Client, lattice: &str, journal: Journal) -> Self {
        let client = ClientBuilder::new(nats)
            .lattice(lattice)
            .timeout(Duration::from_secs(5))
            .auction_timeout(Duration::from_secs(2))
            .build();
        Self { client, journal }
    }

    /// The same client with another request timeout (e.g. short, for requests that must go
    /// unanswered).
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        let client = ClientBuilder::new(self.client.nats_client())
            .lattice(self.client.lattice())
            .timeout(timeout)
            .auction_timeout(Duration::from_secs(2))
            .build();
        Self {
            client,
            journal: self.journal.clone(),
        }
    }

    /// The underlying official client, for calls this wrapper does not cover (not recorded).
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn record<T: Serialize>(
        &self,
        operation: &str,
        request: String,
        call: impl Future<Output = CtlResult<T>>,
    ) -> Result<T, HarnessError> {
        let started = Instant::now();
        let result = call.await;
        let outcome = match &result {
            Ok(v) => summarize(v),
            Err(e) => format!("error: {e}"),
        };
        self.journal.record_exchange(
            &format!("ctl {operation}"),
            request.clone(),
            outcome,
            started.elapsed(),
        );
        result.map_err(|e| HarnessError::request(format!("ctl {operation} {request}"), e))
    }

    /// `host.ping`: every host of the lattice (gathered for the auction window).
    pub async fn get_hosts(&self) -> Result<Vec<Host>, HarnessError> {
        let replies = self
            .record("get_hosts", String::new(), self.client.get_hosts())
            .await?;
        Ok(replies
            .into_iter()
            .filter_map(CtlResponse::into_data)
            .collect())
    }

    /// `host.get.<id>`.
    pub async fn get_host_inventory(
        &self,
        host_id: &str,
    ) -> Result<CtlResponse<HostInventory>, HarnessError> {
        self.record(
            "get_host_inventory",
            host_id.to_string(),
            self.client.get_host_inventory(host_id),
        )
        .await
    }

    /// `component.scale.<host>` with `count` instances (0 stops the component).
    pub async fn scale_component(
        &self,
        host_id: &str,
        component_ref: &str,
        component_id: &str,
        count: u32,
        annotations: Option<BTreeMap<String, String>>,
        config: Vec<String>,
    ) -> Result<CtlResponse<()>, HarnessError> {
        let request = format!(
            "host={host_id} ref={component_ref} id={component_id} count={count} config={config:?}"
        );
        self.record(
            "scale_component",
            request,
            self.client.scale_component(
                host_id,
                component_ref,
                component_id,
                count,
                annotations,
                config,
                false,
            ),
        )
        .await
    }

    /// `link.put`.
    pub async fn put_link(&self, link: Link) -> Result<CtlResponse<()>, HarnessError> {
        let request = summarize(&link);
        self.record("put_link", request, self.client.put_link(link))
            .await
    }

    /// `link.del`.
    pub async fn delete_link(
        &self,
        source_id: &str,
        name: &str,
        namespace: &str,
        package: &str,
    ) -> Result<CtlResponse<()>, HarnessError> {
        let request = format!("source={source_id} name={name} {namespace}:{package}");
        self.record(
            "delete_link",
            request,
            self.client.delete_link(source_id, name, namespace, package),
        )
        .await
    }

    /// `link.get`.
    pub async fn get_links(&self) -> Result<CtlResponse<Vec<Link>>, HarnessError> {
        self.record("get_links", String::new(), self.client.get_links())
            .await
    }

    /// `config.put.<name>`.
    pub async fn put_config(
        &self,
        name: &str,
        values: BTreeMap<String, String>,
    ) -> Result<CtlResponse<()>, HarnessError> {
        let request = format!("{name} {}", summarize(&values));
        let values: std::collections::HashMap<String, String> = values.into_iter().collect();
        self.record("put_config", request, self.client.put_config(name, values))
            .await
    }

    /// `provider.start.<host>`.
    pub async fn start_provider(
        &self,
        host_id: &str,
        provider_ref: &str,
        provider_id: &str,
        config: Vec<String>,
    ) -> Result<CtlResponse<()>, HarnessError> {
        let request =
            format!("host={host_id} ref={provider_ref} id={provider_id} config={config:?}");
        self.record(
            "start_provider",
            request,
            self.client
                .start_provider(host_id, provider_ref, provider_id, None, config),
        )
        .await
    }

    /// `provider.stop.<host>`.
    pub async fn stop_provider(
        &self,
        host_id: &str,
        provider_id: &str,
    ) -> Result<CtlResponse<()>, HarnessError> {
        self.record(
            "stop_provider",
            format!("host={host_id} id={provider_id}"),
            self.client.stop_provider(host_id, provider_id),
        )
        .await
    }

    /// `config.get.<name>`.
    pub async fn get_config(
        &self,
        name: &str,
    ) -> Result<CtlResponse<HashMap<String, String>>, HarnessError> {
        self.record("get_config", name.to_string(), self.client.get_config(name))
            .await
    }

    /// `config.del.<name>`.
    pub async fn delete_config(&self, name: &str) -> Result<CtlResponse<()>, HarnessError> {
        self.record(
            "delete_config",
            name.to_string(),
            self.client.delete_config(name),
        )
        .await
    }

    /// `label.put.<host>`.
    pub async fn put_label(
        &self,
        host_id: &str,
        key: &str,
        value: &str,
    ) -> Result<CtlResponse<()>, HarnessError> {
        self.record(
            "put_label",
            format!("host={host_id} {key}={value}"),
            self.client.put_label(host_id, key, value),
        )
        .await
    }

    /// `label.del.<host>`.
    pub async fn delete_label(
        &self,
        host_id: &str,
        key: &str,
    ) -> Result<CtlResponse<()>, HarnessError> {
        self.record(
            "delete_label",
            format!("host={host_id} {key}"),
            self.client.delete_label(host_id, key),
        )
        .await
    }

    /// `host.stop.<host>` with an optional shutdown timeout in milliseconds.
    pub async fn stop_host(
        &self,
        host_id: &str,
        timeout_ms: Option<u64>,
    ) -> Result<CtlResponse<()>, HarnessError> {
        self.record(
            "stop_host",
            format!("host={host_id} timeout={timeout_ms:?}"),
            self.client.stop_host(host_id, timeout_ms),
        )
        .await
    }

    /// `component.auction`: the acks of every host that could run the component (gathered for the
    /// auction window).
    pub async fn component_auction(
        &self,
        component_ref: &str,
        component_id: &str,
        constraints: BTreeMap<String, String>,
    ) -> Result<Vec<ComponentAuctionAck>, HarnessError> {
        let request = format!("ref={component_ref} id={component_id} constraints={constraints:?}");
        let replies = self
            .record(
                "component_auction",
                request,
                self.client
                    .perform_component_auction(component_ref, component_id, constraints),
            )
            .await?;
        Ok(replies
            .into_iter()
            .filter_map(CtlResponse::into_data)
            .collect())
    }

    /// `provider.auction`: the acks of every host that could run the provider (gathered for the
    /// auction window).
    pub async fn provider_auction(
        &self,
        provider_ref: &str,
        provider_id: &str,
        constraints: BTreeMap<String, String>,
    ) -> Result<Vec<ProviderAuctionAck>, HarnessError> {
        let request = format!("ref={provider_ref} id={provider_id} constraints={constraints:?}");
        let replies = self
            .record(
                "provider_auction",
                request,
                self.client
                    .perform_provider_auction(provider_ref, provider_id, constraints),
            )
            .await?;
        Ok(replies
            .into_iter()
            .filter_map(CtlResponse::into_data)
            .collect())
    }
}
