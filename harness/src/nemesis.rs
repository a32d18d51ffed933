//! The nemesis: a NATS-protocol proxy between one client (a host, wadm) and NATS that injects
//! faults into chosen messages and counts what it did, on both backends and without Docker.
//!
//! A [`Nemesis`] listens on an address of its own and opens one upstream connection to NATS for
//! every client connection it accepts. It cuts both byte streams into protocol frames and checks every message (`PUB`/`HPUB` towards the server, `MSG`/`HMSG` towards
//! the client) against its [`Rule`]s. The first rule whose direction and subject pattern match,
//! and whose limit is not used up, applies its [`Fault`]; every other frame passes unchanged and
//! in order. [`Nemesis::partition`] cuts every connection and refuses new ones until
//! [`Nemesis::heal`].
//!
//! Each rule counts what it matched and what it did ([`Nemesis::counts`]), so that a test can
//! assert that the fault really happened. Bounds: a frame is at most 64 MiB,
//! each direction of a connection queues at most [`QUEUE`] batches to its writer and holds at
//! most [`HELD`] delayed frames; a full queue slows the reader (back-pressure), it never drops.
//!
//! ```no_run
//! # async fn demo() -> Result<(), harness::HarnessError> {
//! use std::time::Duration;
//! use harness::nemesis::{Fault, Rule};
//! use harness::Lattice;
//!
//! let lattice = Lattice::builder().host_through_nemesis(Default::default()).start().await?;
//! let nemesis = lattice.nemesis(0).expect("host 0 goes through the nemesis");
//! // Heartbeats of host 0 arrive 1 s late; count how many were.
//! let late = nemesis.rule(Rule::to_server("wasmbus.evt.*.host_heartbeat", Fault::Delay(Duration::from_secs(1))));
//! // ... later
//! assert!(nemesis.counts(late).applied > 0);
//! nemesis.partition(); // host 0 loses NATS
//! nemesis.heal();
//! # Ok(()) }
//! ```
pub(crate) mod proto;

use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::HarnessError;
use proto::Frame;

/// Batches each direction of a connection may queue for its writer before its reader waits.
pub const QUEUE: usize = 1024;
/// Delayed frames each direction of a connection may hold before its reader waits.
pub const HELD: usize = 4096;
/// How long [`Fault::Reorder`] holds a message for the next matching one before it lets it go
/// unchanged.
pub const REORDER_WINDOW: Duration = Duration::from_secs(5);

/// Which way a message travels through the nemesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to NATS: what the client publishes (`PUB`, `HPUB`).
    ToServer,
    /// From NATS to the client: what the client receives (`MSG`, `HMSG`).
    ToClient,
}

/// What a rule does to a message it matches.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The message is lost.
    Drop,
    /// The message arrives this much later (others overtake it; equally delayed ones keep their
    /// order).
    Delay(Duration),
    /// The message arrives twice in a row.
    Duplicate,
    /// The message is held until the next message the same rule matches, which is passed first
    /// (within [`REORDER_WINDOW`]; otherwise it goes on unchanged and counts as matched only).
    Reorder,
    /// Every payload byte is inverted (headers kept): the length stays, the content is garbage.
    Corrupt,
    /// Only the first `n` payload bytes are passed (a message cut short).
    Truncate(usize),
    /// The JSON payload's value at `pointer` (RFC 6901) is replaced. A payload that is not JSON,
    /// or has nothing at `pointer`, passes unchanged (matched, not applied), so one rule can
    /// target one kind of message among others on the same subjects.
    RewriteJson {
        /// Where, e.g. `/data/host_id`.
        pointer: String,
        /// The new value.
        value: serde_json::Value,
    },
    /// Only for [`Direction::ToClient`] requests: the client never sees the request, and the
    /// nemesis answers its reply subject with this payload in the client's name (a request
    /// acknowledged but not performed). A message without a reply subject is dropped.
    Answer(Bytes),
}

/// One fault, for messages of one direction whose subject matches a NATS pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Which way.
    pub direction: Direction,
    /// A NATS subject pattern (`*` one token, `>` the rest).
    pub subject: String,
    /// What happens to a matching message.
    pub fault: Fault,
    /// At most this many times (then matching messages pass); `None`: always.
    pub limit: Option<u64>,
}

impl Rule {
    /// A rule for what the client publishes.
    pub fn to_server(subject: &str, fault: Fault) -> Self {
        Self {
            direction: Direction::ToServer,
            subject: subject.to_string(),
            fault,
            limit: None,
        }
    }

    /// A rule for what the client receives.
    pub fn to_client(subject: &str, fault: Fault) -> Self {
        Self {
            direction: Direction::ToClient,
            subject: subject.to_string(),
            fault,
            limit: None,
        }
    }

    /// Applies the fault at most `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }
}

/// Names a rule of one nemesis ([`Nemesis::rule`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleId(u64);

/// What a rule has seen and done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Messages whose direction and subject matched while the rule was in place.
    pub matched: u64,
    /// Messages the fault was applied to.
    pub applied: u64,
}

/// Traffic through a nemesis since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Client connections accepted (and passed on).
    pub connections: u64,
    /// Connections cut by [`Nemesis::partition`] or refused while partitioned.
    pub cut: u64,
    /// Frames from clients to NATS.
    pub to_server: u64,
    /// Frames from NATS to clients.
    pub to_client: u64,
}

struct RuleState {
    id: RuleId,
    rule: Rule,
    counts: Counts,
    /// Evaluated after every other rule ([`Nemesis::background_rule`]).
    background: bool,
}

#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    cut: AtomicU64,
    to_server: AtomicU64,
    to_client: AtomicU64,
}

struct Shared {
    upstream: String,
    rules: Mutex<Vec<RuleState>>,
    next_rule: AtomicU64,
    partitioned: AtomicBool,
    connections: Mutex<Vec<JoinHandle<()>>>,
    stats: Stats,
}

/// A running proxy. Dropping it closes its listener and every connection through it.
pub struct Nemesis {
    address: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Drop for Nemesis {
    fn drop(&mut self) {
        self.accept.abort();
        for c in lock(&self.shared.connections).drain(..) {
            c.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Nemesis {
    /// Listens on `bind` (port 0: any free one) and passes each client on to NATS at `upstream`
    /// (`host:port`).
    pub async fn start(bind: SocketAddr, upstream: &str) -> Result<Self, HarnessError> {
        let listener = TcpListener::bind(bind).await.map_err(|e| {
            HarnessError::Config(format!("the nemesis cannot listen on {bind}: {e}"))
        })?;
        let address = listener.local_addr().map_err(|e| {
            HarnessError::Config(format!("the nemesis's listener has no address: {e}"))
        })?;
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            rules: Mutex::new(Vec::new()),
            next_rule: AtomicU64::new(0),
            partitioned: AtomicBool::new(false),
            connections: Mutex::new(Vec::new()),
            stats: Stats::default(),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Self {
            address,
            shared,
            accept,
        })
    }

    /// Like [`Nemesis::start`], listening where the services of `backend` reach this machine:
    /// loopback for processes, the Docker bridge gateway for containers (never every interface).
    pub async fn start_for(
        backend: crate::backend::Backend,
        upstream: &str,
    ) -> Result<Self, HarnessError> {
        let ip = match backend {
            crate::backend::Backend::Processes => std::net::IpAddr::from([127, 0, 0, 1]),
            #[cfg(feature = "containers")]
            crate::backend::Backend::Containers => crate::containers::harness_address().await?,
            #[cfg(not(feature = "containers"))]
            crate::backend::Backend::Containers => {
                return Err(HarnessError::Config(
                    "the nemesis for containers needs the harness's `containers` feature".into(),
                ))
            }
        };
        Self::start(SocketAddr::new(ip, 0), upstream).await
    }

    /// Where clients connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where the nemesis passes its clients on to.
    pub fn upstream(&self) -> &str {
        &self.shared.upstream
    }

    /// Adds a rule after the ones in place, effective for the next message.
    pub fn rule(&self, rule: Rule) -> RuleId {
        self.add(rule, false)
    }

    /// Adds a background rule: tried after every rule added with [`Nemesis::rule`], whenever
    /// that was added. For a lattice's standing deviation (the rules of
    /// [`crate::LatticeBuilder::host_nemesis_rules`], e.g. a mutant host of a power analysis):
    /// a test's own faults then take precedence over it.
    pub fn background_rule(&self, rule: Rule) -> RuleId {
        self.add(rule, true)
    }

    fn add(&self, rule: Rule, background: bool) -> RuleId {
        let id = RuleId(self.shared.next_rule.fetch_add(1, Ordering::Relaxed));
        lock(&self.shared.rules).push(RuleState {
            id,
            rule,
            counts: Counts::default(),
            background,
        });
        id
    }

    /// Removes a rule and returns what it counted (zero counts for a rule not in place).
    pub fn remove(&self, id: RuleId) -> Counts {
        let mut rules = lock(&self.shared.rules);
        match rules.iter().position(|r| r.id == id) {
            Some(i) => rules.remove(i).counts,
            None => Counts::default(),
        }
    }

    /// Removes every rule.
    pub fn clear(&self) {
        lock(&self.shared.rules).clear();
    }

    /// What a rule counted so far (zero counts for a rule not in place).
    pub fn counts(&self, id: RuleId) -> Counts {
        lock(&self.shared.rules)
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.counts)
            .unwrap_or_default()
    }

    /// The traffic so far.
    pub fn traffic(&self) -> Traffic {
        let s = &self.shared.stats;
        Traffic {
            connections: s.connections.load(Ordering::Relaxed),
            cut: s.cut.load(Ordering::Relaxed),
            to_server: s.to_server.load(Ordering::Relaxed),
            to_client: s.to_client.load(Ordering::Relaxed),
        }
    }

    /// Cuts every connection through the nemesis and refuses new ones until [`Nemesis::heal`]:
    /// the client loses NATS as if the network between them were down. Returns how many
    /// connections were cut.
    pub fn partition(&self) -> usize {
        self.shared.partitioned.store(true, Ordering::SeqCst);
        let cut: Vec<JoinHandle<()>> = lock(&self.shared.connections).drain(..).collect();
        let n = cut.iter().filter(|c| !c.is_finished()).count();
        for c in cut {
            c.abort();
        }
        self.shared.stats.cut.fetch_add(n as u64, Ordering::Relaxed);
        n
    }

    /// Accepts connections again after [`Nemesis::partition`].
    pub fn heal(&self) {
        self.shared.partitioned.store(false, Ordering::SeqCst);
    }

    /// Whether connections are refused.
    pub fn is_partitioned(&self) -> bool {
        self.shared.partitioned.load(Ordering::SeqCst)
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if shared.partitioned.load(Ordering::SeqCst) {
            shared.stats.cut.fetch_add(1, Ordering::Relaxed);
            drop(client);
            continue;
        }
        shared.stats.connections.fetch_add(1, Ordering::Relaxed);
        let task = tokio::spawn(connection(client, shared.clone()));
        let mut connections = lock(&shared.connections);
        connections.retain(|c| !c.is_finished());
        connections.push(task);
    }
}

/// One client connection: an upstream connection and a pump each way, until either side ends.
async fn connection(client: TcpStream, shared: Arc<Shared>) {
    let Ok(server) = TcpStream::connect(&shared.upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (to_server, to_server_rx) = mpsc::channel::<Bytes>(QUEUE);
    let (to_client, to_client_rx) = mpsc::channel::<Bytes>(QUEUE);
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(writer(to_server_rx, server_write));
    tasks.spawn(writer(to_client_rx, client_write));
    tasks.spawn(pump(
        Direction::ToServer,
        client_read,
        to_server.clone(),
        to_client.clone(),
        shared.clone(),
    ));
    tasks.spawn(pump(
        Direction::ToClient,
        server_read,
        to_client,
        to_server,
        shared,
    ));
    // The first task to end (a side closed, a protocol error) ends the connection; the rest are
    // aborted when the set drops.
    let _ = tasks.join_next().await;
}

async fn writer(mut rx: mpsc::Receiver<Bytes>, mut out: tokio::net::tcp::OwnedWriteHalf) {
    while let Some(first) = rx.recv().await {
        if out.write_all(&first).await.is_err() {
            return;
        }
        // Whatever else is queued goes out before the next wait.
        while let Ok(more) = rx.try_recv() {
            if out.write_all(&more).await.is_err() {
                return;
            }
        }
    }
}

/// What the pump does with one message.
enum Verdict {
    Pass(Frame),
    Drop,
    Duplicate(Frame),
    Delay(Frame, Duration),
    Hold(Frame, RuleId),
    ReleaseHeld(Frame),
    Answer(String, Bytes),
}

/// Reads one direction, applies the rules, and hands the result to the writers.
async fn pump(
    direction: Direction,
    mut read: tokio::net::tcp::OwnedReadHalf,
    out: mpsc::Sender<Bytes>,
    back: mpsc::Sender<Bytes>,
    shared: Arc<Shared>,
) {
    let delay_line = DelayLine::spawn(out.clone());
    let mut held: Option<(Frame, RuleId, Instant)> = None;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let frames = match direction {
        Direction::ToServer => &shared.stats.to_server,
        Direction::ToClient => &shared.stats.to_client,
    };
    loop {
        // A held message goes on unchanged when no second one came within the window.
        let deadline = held.as_ref().map(|(_, _, at)| *at + REORDER_WINDOW);
        let read_some = read.read_buf(&mut buf);
        let n = match deadline {
            Some(at) => tokio::select! {
                n = read_some => n,
                _ = tokio::time::sleep_until(at) => {
                    if let Some((frame, _, _)) = held.take() {
                        let mut batch = BytesMut::new();
                        frame.encode(&mut batch);
                        if out.send(batch.freeze()).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
            },
            None => read_some.await,
        };
        match n {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut batch = BytesMut::new();
        loop {
            let frame = match proto::decode(&mut buf) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    report_protocol_error(direction, &e);
                    return;
                }
            };
            frames.fetch_add(1, Ordering::Relaxed);
            let verdict = match frame.is_message() {
                true => judge(&shared, direction, frame, held.as_ref().map(|h| h.1)),
                false => Verdict::Pass(frame),
            };
            match verdict {
                Verdict::Pass(f) => f.encode(&mut batch),
                Verdict::Drop => {}
                Verdict::Duplicate(f) => {
                    f.encode(&mut batch);
                    f.encode(&mut batch);
                }
                Verdict::Delay(f, by) => {
                    let mut bytes = BytesMut::new();
                    f.encode(&mut bytes);
                    if !delay_line.hold(Instant::now() + by, bytes.freeze()).await {
                        return;
                    }
                }
                Verdict::Hold(f, id) => held = Some((f, id, Instant::now())),
                Verdict::ReleaseHeld(f) => {
                    f.encode(&mut batch);
                    if let Some((first, _, _)) = held.take() {
                        first.encode(&mut batch);
                    }
                }
                Verdict::Answer(reply, payload) => {
                    let mut bytes = BytesMut::new();
                    Frame::publish(&reply, &payload).encode(&mut bytes);
                    if back.send(bytes.freeze()).await.is_err() {
                        return;
                    }
                }
            }
        }
        if !batch.is_empty() && out.send(batch.freeze()).await.is_err() {
            return;
        }
    }
}

fn report_protocol_error(direction: Direction, e: &proto::ProtocolError) {
    // The connection ends; the client sees its NATS connection close and reconnects, which is
    // what a test of this fault then observes. Printed for the test's log.
    eprintln!("nemesis: {direction:?} stream ended: {e}");
}

/// Applies the first rule that matches `frame` and can act on it (`holding`: the rule whose
/// message this direction holds for a reorder). Rules a test added come first, in the order added;
/// background rules ([`Nemesis::background_rule`]) after them. A rule that matches but cannot act
/// (a JSON field that is not there, a reorder while another is held) counts the match and lets
/// the next rule try.
fn judge(shared: &Shared, direction: Direction, frame: Frame, holding: Option<RuleId>) -> Verdict {
    let mut rules = lock(&shared.rules);
    let order: Vec<usize> = (0..rules.len())
        .filter(|&i| !rules[i].background)
        .chain((0..rules.len()).filter(|&i| rules[i].background))
        .collect();
    for i in order {
        let state = &mut rules[i];
        let applies = state.rule.direction == direction
            && proto::subject_matches(&state.rule.subject, &frame.subject)
            && state.rule.limit.is_none_or(|n| state.counts.applied < n);
        if !applies {
            continue;
        }
        state.counts.matched += 1;
        let id = state.id;
        let verdict = match &state.rule.fault {
            Fault::Drop => Verdict::Drop,
            Fault::Delay(by) => Verdict::Delay(frame.clone(), *by),
            Fault::Duplicate => Verdict::Duplicate(frame.clone()),
            Fault::Reorder if holding == Some(id) => Verdict::ReleaseHeld(frame.clone()),
            // Another rule's message is held: one reorder at a time.
            Fault::Reorder if holding.is_some() => continue,
            // Counted as applied only once the second message overtakes it.
            Fault::Reorder => return Verdict::Hold(frame, id),
            Fault::Corrupt => {
                let garbage: Vec<u8> = frame.payload().iter().map(|b| !b).collect();
                Verdict::Pass(frame.with_payload(&garbage))
            }
            Fault::Truncate(n) => {
                let keep = (*n).min(frame.payload().len());
                Verdict::Pass(frame.with_payload(&frame.payload()[..keep]))
            }
            Fault::RewriteJson { pointer, value } => {
                match rewrite_json(frame.payload(), pointer, value) {
                    Some(payload) => Verdict::Pass(frame.with_payload(&payload)),
                    None => continue,
                }
            }
            Fault::Answer(payload) => match (direction, &frame.reply) {
                (Direction::ToClient, Some(reply)) => {
                    Verdict::Answer(reply.clone(), payload.clone())
                }
                _ => Verdict::Drop,
            },
        };
        state.counts.applied += 1;
        return verdict;
    }
    Verdict::Pass(frame)
}

/// `payload` with the value at `pointer` replaced, when there is one.
fn rewrite_json(payload: &[u8], pointer: &str, value: &serde_json::Value) -> Option<Vec<u8>> {
    let mut doc: serde_json::Value = serde_json::from_slice(payload).ok()?;
    *doc.pointer_mut(pointer)? = value.clone();
    serde_json::to_vec(&doc).ok()
}

/// Releases delayed frames to a writer at their times, in order of time (and of arrival for
/// equal times). Holds at most [`HELD`] frames.
struct DelayLine {
    tx: mpsc::Sender<(Instant, Bytes)>,
}

impl DelayLine {
    fn spawn(out: mpsc::Sender<Bytes>) -> Self {
        let (tx, mut rx) = mpsc::channel::<(Instant, Bytes)>(HELD);
        tokio::spawn(async move {
            // Min-heap on (time, sequence).
            let mut heap: BinaryHeap<std::cmp::Reverse<(Instant, u64, Bytes)>> = BinaryHeap::new();
            let mut seq = 0u64;
            loop {
                let next = heap.peek().map(|std::cmp::Reverse((at, _, _))| *at);
                tokio::select! {
                    got = rx.recv() => match got {
                        Some((at, bytes)) => {
                            seq += 1;
                            heap.push(std::cmp::Reverse((at, seq, bytes)));
                        }
                        // The reader is gone: the connection is ending.
                        None => return,
                    },
                    _ = async { tokio::time::sleep_until(next.unwrap_or_else(Instant::now)).await }, if next.is_some() => {
                        while let Some(std::cmp::Reverse((at, _, _))) = heap.peek() {
                            if *at > Instant::now() {
                                break;
                            }
                            let Some(std::cmp::Reverse((_, _, bytes))) = heap.pop() else { break };
                            if out.send(bytes).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        Self { tx }
    }

    /// Queues `bytes` for `at`; false when the connection is gone.
    async fn hold(&self, at: Instant, bytes: Bytes) -> bool {
        self.tx.send((at, bytes)).await.is_ok()
    }
}

#[cfg(test)]
mod tests;
