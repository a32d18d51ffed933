//! The nemesis against a real nats-server: one client behind it, one connected directly, and
//! each fault seen from the other side.
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;
use crate::nats::NatsServer;

const T: Duration = Duration::from_secs(10);

struct Rig {
    nemesis: Nemesis,
    /// Behind the nemesis.
    behind: async_nats::Client,
    /// Straight to NATS.
    direct: async_nats::Client,
    _nats: NatsServer,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let binaries = crate::binaries::Binaries::from_env().expect("nats-server (run ci/setup)");
    let dir = tempfile::tempdir().unwrap();
    let (nats, direct) = NatsServer::start(&binaries.nats_server, dir.path(), T, None, None)
        .await
        .unwrap();
    let nemesis = Nemesis::start(
        "127.0.0.1:0".parse().unwrap(),
        &format!("127.0.0.1:{}", nats.port),
    )
    .await
    .unwrap();
    let behind = async_nats::ConnectOptions::new()
        .reconnect_delay_callback(|_| Duration::from_millis(50))
        .connect(format!("nats://{}", nemesis.address()))
        .await
        .unwrap();
    Rig {
        nemesis,
        behind,
        direct,
        _nats: nats,
        _dir: dir,
    }
}

/// The next message of `sub`, bounded.
async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(T, sub.next())
        .await
        .expect("a message within 10 s")
        .expect("the subscription is open")
}

/// Subscribes `client` and returns once the server has the interest: the client's own marker
/// message, published after the subscription on a subject it matches, has come back (the server
/// handles one connection's commands in order; a flush only empties the client's buffer).
async fn subscribe(client: &async_nats::Client, pattern: &str) -> async_nats::Subscriber {
    let mut sub = client.subscribe(pattern.to_string()).await.unwrap();
    let probe = pattern.replace(['*', '>'], "marker");
    client
        .publish(probe, Bytes::from_static(MARKER))
        .await
        .unwrap();
    let m = tokio::time::timeout(T, sub.next())
        .await
        .expect("the marker within 10 s")
        .unwrap();
    assert_eq!(&m.payload[..], MARKER);
    sub
}

const MARKER: &[u8] = b"subscribed";

async fn publish(client: &async_nats::Client, subject: &str, payload: &'static str) {
    client
        .publish(subject.to_string(), Bytes::from_static(payload.as_bytes()))
        .await
        .unwrap();
    client.flush().await.unwrap();
}

#[tokio::test]
async fn passes_everything_unchanged_without_rules() {
    let r = rig().await;
    let mut sub = subscribe(&r.direct, "pass.>").await;
    publish(&r.behind, "pass.a", "one").await;
    assert_eq!(&next(&mut sub).await.payload[..], b"one");
    // And the other way, with headers.
    let mut back = subscribe(&r.behind, "back").await;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("k", "v");
    r.direct
        .publish_with_headers("back", headers, Bytes::from_static(b"two"))
        .await
        .unwrap();
    let m = next(&mut back).await;
    assert_eq!(&m.payload[..], b"two");
    assert_eq!(m.headers.unwrap().get("k").unwrap().as_str(), "v");
    let t = r.nemesis.traffic();
    assert_eq!(t.connections, 1);
    assert!(t.to_server >= 3 && t.to_client >= 3, "{t:?}");
}

#[tokio::test]
async fn drop_loses_only_what_it_matches_and_counts() {
    let r = rig().await;
    let id = r
        .nemesis
        .rule(Rule::to_server("lossy.*", Fault::Drop).times(1));
    let mut sub = subscribe(&r.direct, "lossy.*").await;
    publish(&r.behind, "lossy.a", "first").await;
    publish(&r.behind, "lossy.a", "second").await;
    // Order is kept, so had the first arrived it would come first.
    assert_eq!(&next(&mut sub).await.payload[..], b"second");
    assert_eq!(
        r.nemesis.counts(id),
        Counts {
            matched: 1,
            applied: 1
        }
    );
}

#[tokio::test]
async fn delay_lets_others_overtake() {
    let r = rig().await;
    let by = Duration::from_millis(300);
    r.nemesis.rule(Rule::to_server("slow", Fault::Delay(by)));
    let mut sub = subscribe(&r.direct, "slow").await;
    let mut fast = subscribe(&r.direct, "fast").await;
    let sent = std::time::Instant::now();
    publish(&r.behind, "slow", "late").await;
    publish(&r.behind, "fast", "early").await;
    assert_eq!(&next(&mut fast).await.payload[..], b"early");
    assert_eq!(&next(&mut sub).await.payload[..], b"late");
    assert!(sent.elapsed() >= by, "arrived after {:?}", sent.elapsed());
}

#[tokio::test]
async fn duplicate_and_reorder() {
    let r = rig().await;
    let mut twice = subscribe(&r.behind, "twice").await;
    let mut sub = subscribe(&r.direct, "swap").await;
    let dup = r.nemesis.rule(Rule::to_client("twice", Fault::Duplicate));
    let swap = r.nemesis.rule(Rule::to_server("swap", Fault::Reorder));
    publish(&r.direct, "twice", "x").await;
    assert_eq!(&next(&mut twice).await.payload[..], b"x");
    assert_eq!(&next(&mut twice).await.payload[..], b"x");
    assert_eq!(r.nemesis.counts(dup).applied, 1);

    publish(&r.behind, "swap", "1").await;
    publish(&r.behind, "swap", "2").await;
    assert_eq!(&next(&mut sub).await.payload[..], b"2");
    assert_eq!(&next(&mut sub).await.payload[..], b"1");
    assert_eq!(
        r.nemesis.counts(swap),
        Counts {
            matched: 2,
            applied: 1
        }
    );
    // A lone message is let go after the window, unchanged.
    publish(&r.behind, "swap", "3").await;
    assert_eq!(&next(&mut sub).await.payload[..], b"3");
}

#[tokio::test]
async fn payloads_corrupted_truncated_or_rewritten() {
    let r = rig().await;
    r.nemesis
        .rule(Rule::to_server("bad.corrupt", Fault::Corrupt));
    r.nemesis
        .rule(Rule::to_server("bad.cut", Fault::Truncate(2)));
    let json = r.nemesis.rule(Rule::to_server(
        "bad.json",
        Fault::RewriteJson {
            pointer: "/data/host_id".into(),
            value: serde_json::json!("NFAKE"),
        },
    ));
    let mut sub = subscribe(&r.direct, "bad.*").await;
    publish(&r.behind, "bad.corrupt", "ab").await;
    publish(&r.behind, "bad.cut", "abcdef").await;
    publish(&r.behind, "bad.json", r#"{"data":{"host_id":"NREAL"}}"#).await;
    publish(&r.behind, "bad.json", "not json").await;
    assert_eq!(&next(&mut sub).await.payload[..], &[!b'a', !b'b']);
    assert_eq!(&next(&mut sub).await.payload[..], b"ab");
    let rewritten: serde_json::Value =
        serde_json::from_slice(&next(&mut sub).await.payload).unwrap();
    assert_eq!(rewritten["data"]["host_id"], "NFAKE");
    assert_eq!(&next(&mut sub).await.payload[..], b"not json");
    assert_eq!(
        r.nemesis.counts(json),
        Counts {
            matched: 2,
            applied: 1
        }
    );
}

#[tokio::test]
async fn answer_replies_in_the_clients_name() {
    let r = rig().await;
    let mut requests = subscribe(&r.behind, "svc").await;
    let id = r.nemesis.rule(Rule::to_client(
        "svc",
        Fault::Answer(Bytes::from_static(b"done")),
    ));
    let reply = tokio::time::timeout(T, r.direct.request("svc", Bytes::from_static(b"do it")))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    assert_eq!(&reply.payload[..], b"done");
    assert_eq!(r.nemesis.counts(id).applied, 1);
    // The client behind never saw the request: the next thing it gets is this.
    r.nemesis.remove(id);
    publish(&r.direct, "svc", "after").await;
    assert_eq!(&next(&mut requests).await.payload[..], b"after");
}

#[tokio::test]
async fn partition_cuts_and_heal_lets_the_client_back() {
    let r = rig().await;
    let mut sub = subscribe(&r.direct, "part").await;
    publish(&r.behind, "part", "before").await;
    assert_eq!(&next(&mut sub).await.payload[..], b"before");
    assert_eq!(r.nemesis.partition(), 1);
    let lost = crate::wait::Wait::new("the client behind to see its connection lost", T)
        .interval(Duration::from_millis(20))
        .until(|_| {
            let state = r.behind.connection_state();
            async move {
                match state {
                    async_nats::connection::State::Connected => {
                        crate::wait::Probe::NotYet("still connected".into())
                    }
                    _ => crate::wait::Probe::Ready(()),
                }
            }
        })
        .await;
    assert!(lost.is_ok(), "{lost:?}");
    r.nemesis.heal();
    crate::wait::Wait::new("the client behind to reconnect", T)
        .interval(Duration::from_millis(20))
        .until(|_| {
            let state = r.behind.connection_state();
            async move {
                match state {
                    async_nats::connection::State::Connected => crate::wait::Probe::Ready(()),
                    s => crate::wait::Probe::NotYet(format!("{s:?}")),
                }
            }
        })
        .await
        .unwrap();
    publish(&r.behind, "part", "after").await;
    assert_eq!(&next(&mut sub).await.payload[..], b"after");
    assert!(r.nemesis.traffic().connections >= 2);
}

#[tokio::test]
async fn garbage_ends_only_that_connection() {
    let r = rig().await;
    let mut raw = tokio::net::TcpStream::connect(r.nemesis.address())
        .await
        .unwrap();
    // INFO first, then our garbage.
    let mut buf = vec![0u8; 4096];
    let _ = tokio::time::timeout(T, raw.read(&mut buf)).await.unwrap();
    raw.write_all(b"PUB a notanumber\r\n").await.unwrap();
    let closed = tokio::time::timeout(T, async {
        loop {
            match raw.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the nemesis kept a connection with a broken stream"
    );
    // The other client still works.
    let mut sub = subscribe(&r.direct, "still").await;
    publish(&r.behind, "still", "ok").await;
    assert_eq!(&next(&mut sub).await.payload[..], b"ok");
}

#[test]
fn json_is_rewritten_only_where_the_pointer_is() {
    let doc = br#"{"data":{"host_id":"N1","n":1}}"#;
    let v = serde_json::json!("N2");
    let out = rewrite_json(doc, "/data/host_id", &v).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
        serde_json::json!({"data": {"host_id": "N2", "n": 1}})
    );
    assert!(rewrite_json(doc, "/data/extra", &v).is_none());
    assert!(rewrite_json(doc, "/nothing/here", &v).is_none());
    assert!(rewrite_json(b"not json", "/a", &v).is_none());
}

#[tokio::test]
async fn a_rule_that_cannot_act_lets_the_next_try_and_tests_go_before_the_background() {
    let r = rig().await;
    let mut sub = subscribe(&r.direct, "layered").await;
    // Background: corrupt everything; a test's rule added later still comes first.
    let standing = r
        .nemesis
        .background_rule(Rule::to_server("layered", Fault::Corrupt));
    let rewrite = r.nemesis.rule(Rule::to_server(
        "layered",
        Fault::RewriteJson {
            pointer: "/a".into(),
            value: serde_json::json!(2),
        },
    ));
    publish(&r.behind, "layered", r#"{"a":1}"#).await;
    // No /a here: the rewrite matches, cannot act, and the background rule does.
    publish(&r.behind, "layered", "xy").await;
    let first: serde_json::Value = serde_json::from_slice(&next(&mut sub).await.payload).unwrap();
    assert_eq!(first["a"], 2);
    assert_eq!(&next(&mut sub).await.payload[..], &[!b'x', !b'y']);
    assert_eq!(
        r.nemesis.counts(rewrite),
        Counts {
            matched: 2,
            applied: 1
        }
    );
    assert_eq!(
        r.nemesis.counts(standing),
        Counts {
            matched: 1,
            applied: 1
        }
    );
}
