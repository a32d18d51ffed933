//! An OTLP/HTTP receiver inside the harness that tests assert on (catalogue OBS-*).
//!
//! It accepts `POST /v1/traces`, `/v1/metrics` and `/v1/logs` with protobuf bodies, decodes them
//! with the official `opentelemetry-proto` types, and keeps flattened views: spans, metric data
//! points and log records, each with its resource's `service.name` and attributes.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as AnyValueKind, AnyValue, KeyValue,
};
use opentelemetry_proto::tonic::metrics::v1::metric::Data as MetricData;
use prost::Message as _;
use serde::Serialize;

use crate::error::HarnessError;

/// One exported span.
#[derive(Clone, Debug, Serialize)]
pub struct SpanView {
    /// Span name.
    pub name: String,
    /// Hex trace id.
    pub trace_id: String,
    /// Hex span id.
    pub span_id: String,
    /// Hex parent span id (empty for a root span).
    pub parent_span_id: String,
    /// The resource's `service.name`.
    pub service: String,
    /// Span attributes, rendered as strings.
    pub attributes: BTreeMap<String, String>,
    /// Resource attributes, rendered as strings.
    pub resource: BTreeMap<String, String>,
}

/// One metric data point (or one histogram), flattened.
#[derive(Clone, Debug, Serialize)]
pub struct MetricPoint {
    /// Instrument name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// `sum`, `gauge`, `histogram`, ...
    pub kind: &'static str,
    /// Value of a sum or gauge point; count for a histogram.
    pub value: f64,
    /// Point attributes.
    pub attributes: BTreeMap<String, String>,
    /// Instrumentation scope name.
    pub scope: String,
    /// Instrumentation scope attributes.
    pub scope_attributes: BTreeMap<String, String>,
    /// The resource's `service.name`.
    pub service: String,
}

/// One log record.
#[derive(Clone, Debug, Serialize)]
pub struct LogView {
    /// The body rendered as a string.
    pub body: String,
    /// Severity text (e.g. `WARN`).
    pub severity: String,
    /// Record attributes.
    pub attributes: BTreeMap<String, String>,
    /// The resource's `service.name`.
    pub service: String,
}

#[derive(Default)]
struct Received {
    spans: Vec<SpanView>,
    metrics: Vec<MetricPoint>,
    logs: Vec<LogView>,
    requests: BTreeMap<&'static str, usize>,
    errors: Vec<String>,
}

/// A running OTLP/HTTP receiver on 127.0.0.1 (and the Docker bridge address for containers).
/// Stops when dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    for_hosts: SocketAddr,
    received: Arc<Mutex<Received>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn render(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(AnyValueKind::StringValue(s)) => s.clone(),
        Some(AnyValueKind::BoolValue(b)) => b.to_string(),
        Some(AnyValueKind::IntValue(i)) => i.to_string(),
        Some(AnyValueKind::DoubleValue(d)) => d.to_string(),
        Some(AnyValueKind::BytesValue(b)) => hex::encode(b),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), render(&kv.value)))
        .collect()
}

fn service_of(resource: &BTreeMap<String, String>) -> String {
    resource.get("service.name").cloned().unwrap_or_default()
}

impl Received {
    fn traces(&mut self, req: ExportTraceServiceRequest) {
        for rs in req.resource_spans {
            let resource = rs
                .resource
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for span in ss.spans {
                    self.spans.push(SpanView {
                        name: span.name,
                        trace_id: hex::encode(span.trace_id),
                        span_id: hex::encode(span.span_id),
                        parent_span_id: hex::encode(span.parent_span_id),
                        service: service_of(&resource),
                        attributes: attributes(&span.attributes),
                        resource: resource.clone(),
                    });
                }
            }
        }
    }

    fn metrics(&mut self, req: ExportMetricsServiceRequest) {
        for rm in req.resource_metrics {
            let resource = rm
                .resource
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default();
            for sm in rm.scope_metrics {
                let (scope, scope_attributes) = sm
                    .scope
                    .map(|s| (s.name, attributes(&s.attributes)))
                    .unwrap_or_default();
                for metric in sm.metrics {
                    let mut push = |kind, value: f64, attrs: &[KeyValue]| {
                        self.metrics.push(MetricPoint {
                            name: metric.name.clone(),
                            unit: metric.unit.clone(),
                            kind,
                            value,
                            attributes: attributes(attrs),
                            scope: scope.clone(),
                            scope_attributes: scope_attributes.clone(),
                            service: service_of(&resource),
                        });
                    };
                    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Number;
                    let number = |v: &Option<Number>| match v {
                        Some(Number::AsDouble(d)) => *d,
                        Some(Number::AsInt(i)) => *i as f64,
                        None => f64::NAN,
                    };
                    match &metric.data {
                        Some(MetricData::Sum(s)) => s
                            .data_points
                            .iter()
                            .for_each(|p| push("sum", number(&p.value), &p.attributes)),
                        Some(MetricData::Gauge(g)) => g
                            .data_points
                            .iter()
                            .for_each(|p| push("gauge", number(&p.value), &p.attributes)),
                        Some(MetricData::Histogram(h)) => h
                            .data_points
                            .iter()
                            .for_each(|p| push("histogram", p.count as f64, &p.attributes)),
                        Some(MetricData::ExponentialHistogram(h)) => {
                            h.data_points.iter().for_each(|p| {
                                push("exponential-histogram", p.count as f64, &p.attributes)
                            })
                        }
                        Some(MetricData::Summary(s)) => s
                            .data_points
                            .iter()
                            .for_each(|p| push("summary", p.count as f64, &p.attributes)),
                        None => push("none", f64::NAN, &[]),
                    }
                }
            }
        }
    }

    fn logs(&mut self, req: ExportLogsServiceRequest) {
        for rl in req.resource_logs {
            let resource = rl
                .resource
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default();
            for sl in rl.scope_logs {
                for record in sl.log_records {
                    self.logs.push(LogView {
                        body: render(&record.body),
                        severity: record.severity_text,
                        attributes: attributes(&record.attributes),
                        service: service_of(&resource),
                    });
                }
            }
        }
    }
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    received: Arc<Mutex<Received>>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_string();
    let encoding = req
        .headers()
        .get(hyper::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = req.into_body().collect().await?.to_bytes();
    let mut state = received.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(encoding) = encoding.filter(|e| e != "identity") {
        state
            .errors
            .push(format!("{path}: unsupported content-encoding {encoding}"));
        return Ok(Response::builder()
            .status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .body(Full::default())
            .expect("valid response"));
    }
    let decoded = match path.as_str() {
        "/v1/traces" => ExportTraceServiceRequest::decode(body).map(|r| state.traces(r)),
        "/v1/metrics" => ExportMetricsServiceRequest::decode(body).map(|r| state.metrics(r)),
        "/v1/logs" => ExportLogsServiceRequest::decode(body).map(|r| state.logs(r)),
        other => {
            state.errors.push(format!("unexpected path {other}"));
            return Ok(Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Full::default())
                .expect("valid response"));
        }
    };
    let key = match path.as_str() {
        "/v1/traces" => "traces",
        "/v1/metrics" => "metrics",
        _ => "logs",
    };
    *state.requests.entry(key).or_default() += 1;
    let status = match decoded {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            state
                .errors
                .push(format!("{path}: undecodable protobuf: {e}"));
            StatusCode::BAD_REQUEST
        }
    };
    Ok(Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "application/x-protobuf")
        .body(Full::default())
        .expect("valid response"))
}

impl OtlpReceiver {
    /// Binds 127.0.0.1 on a free port and serves until dropped (hosts run as processes on this
    /// machine; see [`OtlpReceiver::start_for`] for containers).
    pub async fn start() -> Result<Self, HarnessError> {
        Self::start_for(crate::backend::Backend::Processes).await
    }

    /// Like [`OtlpReceiver::start`], reachable by the hosts of `backend`: for containers it also
    /// listens, on the same port, on the engine's bridge gateway (never on every interface), and
    /// [`OtlpReceiver::host_env`] points the hosts there.
    pub async fn start_for(backend: crate::backend::Backend) -> Result<Self, HarnessError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(HarnessError::io("bind the OTLP receiver on 127.0.0.1"))?;
        let addr = listener
            .local_addr()
            .map_err(HarnessError::io("read the OTLP receiver's address"))?;
        let mut listeners = vec![listener];
        let mut for_hosts = addr;
        if backend == crate::backend::Backend::Containers {
            let extra = Self::bind_for_containers(addr.port()).await?;
            for_hosts = extra
                .local_addr()
                .map_err(HarnessError::io("read the OTLP receiver's address"))?;
            listeners.push(extra);
        }
        let received = Arc::new(Mutex::new(Received::default()));
        let tasks = listeners
            .into_iter()
            .map(|listener| {
                let state = received.clone();
                tokio::spawn(async move {
                    while let Ok((stream, _)) = listener.accept().await {
                        let state = state.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |req| handle(req, state.clone()));
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                })
            })
            .collect();
        Ok(Self {
            addr,
            for_hosts,
            received,
            tasks,
        })
    }

    #[cfg(feature = "containers")]
    async fn bind_for_containers(port: u16) -> Result<tokio::net::TcpListener, HarnessError> {
        let gateway = crate::containers::harness_address().await?;
        // The loopback port is usually free on the bridge address too; any port will do.
        match tokio::net::TcpListener::bind((gateway, port)).await {
            Ok(l) => Ok(l),
            Err(_) => tokio::net::TcpListener::bind((gateway, 0))
                .await
                .map_err(HarnessError::io(format!(
                    "bind the OTLP receiver on the Docker bridge address {gateway}"
                ))),
        }
    }

    #[cfg(not(feature = "containers"))]
    async fn bind_for_containers(_port: u16) -> Result<tokio::net::TcpListener, HarnessError> {
        Err(HarnessError::Config(
            crate::containers::unavailable().unwrap_or_default(),
        ))
    }

    /// `http://127.0.0.1:<port>` (the exporters append `/v1/<signal>`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The endpoint the hosts export to: [`OtlpReceiver::endpoint`] for processes, the bridge
    /// address for containers.
    pub fn host_endpoint(&self) -> String {
        format!("http://{}", self.for_hosts)
    }

    /// The environment that points a wasmCloud host at this receiver with every signal on and
    /// short export intervals (CFG-08, OBS-02).
    pub fn host_env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "WASMCLOUD_OBSERVABILITY_ENABLED".to_string(),
            "true".to_string(),
        )];
        env.extend(self.endpoint_env());
        env
    }

    /// The endpoint and short export intervals, without enabling anything.
    pub fn endpoint_env(&self) -> Vec<(String, String)> {
        vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), self.host_endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "200".into()),
            ("OTEL_BLRP_SCHEDULE_DELAY".into(), "200".into()),
            ("OTEL_METRIC_EXPORT_INTERVAL".into(), "1000".into()),
        ]
    }

    fn read<T>(&self, f: impl FnOnce(&Received) -> T) -> T {
        f(&self.received.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<SpanView> {
        self.read(|r| r.spans.clone())
    }

    /// Every metric point received so far.
    pub fn metrics(&self) -> Vec<MetricPoint> {
        self.read(|r| r.metrics.clone())
    }

    /// Every log record received so far.
    pub fn logs(&self) -> Vec<LogView> {
        self.read(|r| r.logs.clone())
    }

    /// Requests received per signal, and decoding problems.
    pub fn summary(&self) -> String {
        self.read(|r| {
            format!(
                "requests {:?}, {} spans, {} metric points, {} logs, errors {:?}",
                r.requests,
                r.spans.len(),
                r.metrics.len(),
                r.logs.len(),
                r.errors
            )
        })
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(AnyValueKind::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn decodes_posted_traces_and_rejects_garbage() {
        let rx = OtlpReceiver::start().await.unwrap();
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", "svc")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope::default()),
                    spans: vec![Span {
                        name: "op".into(),
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        attributes: vec![kv("a", "b")],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let http = reqwest::Client::new();
        let ok = http
            .post(format!("{}/v1/traces", rx.endpoint()))
            .body(req.encode_to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let bad = http
            .post(format!("{}/v1/logs", rx.endpoint()))
            .body(vec![0xff, 0xff, 0xff])
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        let spans = rx.spans();
        assert_eq!(spans.len(), 1);
        assert_eq!(
            (spans[0].name.as_str(), spans[0].service.as_str()),
            ("op", "svc")
        );
        assert_eq!(spans[0].trace_id, "01".repeat(16));
        assert_eq!(spans[0].attributes["a"], "b");
        assert!(rx.summary().contains("undecodable"), "{}", rx.summary());
    }
}
