//! The standalone provider crates as released on crates.io (catalogue VAC-14), packed as fixture
//! providers: the upstream HTTP server provider (`wasmcloud-provider-http-server` 0.27.1), NATS
//! messaging provider (`wasmcloud-provider-messaging-nats` 0.27.0) and blobstore-fs provider
//! (`wasmcloud-provider-blobstore-fs` 0.11.1, built with the reference launchers, whose SDK it
//! shares). Unlike the builtin ones they call components, and are called, over wRPC, so a
//! component may run on any host of the lattice.
//!
//! The contract, from the crates' README and sources: the HTTP server's provider config picks the
//! routing: `routing_mode` `address` (the default: a listener per link, at the link's `address`,
//! every path to its component), `path` (one listener at `default_address`, each link's `path`
//! matched whole) or `host`; settings such as `timeout_ms` come from the link's source config in
//! address mode, from the provider config otherwise. A path no link registered is 404 ("path not
//! found"), a call that fails 500 (the wRPC error as body), one that takes longer than
//! `timeout_ms` 408. The messaging provider subscribes to the comma-separated `subscriptions` of
//! a link (`subject|queue` for a queue group) on `cluster_uris` and hands each message to the
//! linked component, which publishes through its own link to the provider. The blobstore-fs
//! provider serves a component's `wasi:blobstore` imports (link `wasi:blobstore`, interface
//! `blobstore`) from the directory its link's target config names as `ROOT` (the key matched
//! without regard to case; default `/tmp/<component id>`): a container is a directory under
//! `ROOT`, an object a file in it, each linked component with its own root.
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use harness::wait::{Probe, Wait};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::fixtures::{
    BLOBSTORE_FS_PROVIDER, BLOBSTORE_RUST, HTTP_RUST, HTTP_SERVER_PROVIDER,
    MESSAGING_NATS_PROVIDER, MESSENGER_RUST,
};
use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use crate::steps::{link, listener, put_config, put_link, scale, start_provider, wait_http_body};

/// Every test of this file.
pub(crate) fn all() -> [&'static ConformanceTest; 5] {
    [
        &HTTP_ANY_HOST,
        &HTTP_FAILURES,
        &MESSAGING_BOTH_WAYS,
        &BLOBSTORE_FILES,
        &BLOBSTORE_ROOTS_APART,
    ]
}

const HELLO: &str = "hello from rust";

/// VAC-14 / NET-10: the standalone HTTP server routes by path to a component on another host.
pub static HTTP_ANY_HOST: ConformanceTest = ConformanceTest {
    name: "vendorless::standalone_http_server_routes_to_any_host",
    source: file!(),
    description: "the upstream HTTP server provider (crates.io 0.27.1) in routing_mode path on host 0, linked with path /hello to a component running only on host 1, serves it there (GET greeting, POST echoed) over wRPC, and answers 404 for /hello/more and /elsewhere",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Links],
    covers: &["VAC-14", "NET-10", "NET-03"],
    fixtures: &[HTTP_SERVER_PROVIDER, HTTP_RUST],
    setup: Setup::hosts(2),
    run: http_any_host,
};

fn http_any_host(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let ids = cx.lattice().host_ids();
        let image = cx.image(HTTP_RUST)?;
        scale(&cx, &ids[1], &image, "far-http", 1).await?;
        let (address, base) = listener(&cx, 0)?;
        put_config(
            &cx,
            "http-paths",
            &[("routing_mode", "path"), ("default_address", &address)],
        )
        .await?;
        put_config(&cx, "hello-path", &[("path", "/hello")]).await?;
        // Links before the provider: it reads the links present when it starts (a link put right
        // after provider_started can miss it, see CONTRIBUTING "Known divergences").
        put_link(&cx, http_link("hello", "far-http", "hello-path")?).await?;
        let par = cx.image(HTTP_SERVER_PROVIDER)?;
        start_provider(&cx, &ids[0], &par, "http-srv", vec!["http-paths".into()]).await?;

        wait_http_body(&cx, &format!("{base}/hello"), HELLO).await?;
        let inv = crate::steps::inventory(&cx, &ids[0]).await?;
        ensure!(
            inv.components().is_empty(),
            "host 0 (the provider's) runs components, so the call need not have crossed hosts: {:?}",
            inv.components().iter().map(|c| c.id()).collect::<Vec<_>>()
        );
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let (status, body) = post(&cx, &format!("{base}/hello"), payload.clone()).await?;
        ensure!(
            status == 200 && body == payload,
            "POST /hello of {} bytes answered {status} with {} bytes (expected 200 and the body echoed)",
            payload.len(),
            body.len()
        );
        // Path mode matches the whole path: neither a longer one nor another is routed.
        for path in ["/hello/more", "/elsewhere"] {
            let (status, text) = get(&cx, &format!("{base}{path}")).await?;
            ensure!(
                status == 404,
                "GET {path}, which no link registered, answered {status} {text:?} (expected 404)"
            );
        }
        Ok(())
    })
}

/// A component's memory limit on the host that runs it (16 MiB), which a large POST crosses.
const MEMORY_LIMIT: &[(&str, &str)] = &[("WASMCLOUD_MAX_LINEAR_MEMORY", "16777216")];

/// VAC-14: what the standalone HTTP server answers when a call does not: 408, 500.
pub static HTTP_FAILURES: ConformanceTest = ConformanceTest {
    name: "vendorless::standalone_http_server_timeout_and_invocation_errors",
    source: file!(),
    description: "the upstream HTTP server provider in routing_mode address (one listener per link): with timeout_ms=2000 a POST whose body stalls answers 408 after 2 s; a component that traps (a 24 MiB POST under a 16 MiB memory limit; the host logs the trap) answers 500 and then serves again; a link to a component that does not run answers 500",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Links],
    covers: &["VAC-14", "NET-03"],
    fixtures: &[HTTP_SERVER_PROVIDER, HTTP_RUST],
    setup: Setup::hosts(1)
        .env_per_host(&[MEMORY_LIMIT])
        .needs_suite_lattice("reads the host log for the trap"),
    run: http_failures,
};

/// How long the provider waits for a component's answer on the `slow` listener.
const TIMEOUT_MS: u64 = 2000;

fn http_failures(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.image(HTTP_RUST)?;
        scale(&cx, &host, &image, "web", 1).await?;
        let (slow_addr, slow) = listener(&cx, 0)?;
        let (trap_addr, trap) = listener(&cx, 0)?;
        let (ghost_addr, ghost) = listener(&cx, 0)?;
        let timeout = TIMEOUT_MS.to_string();
        put_config(
            &cx,
            "slow",
            &[("address", &slow_addr), ("timeout_ms", &timeout)],
        )
        .await?;
        put_config(&cx, "trap", &[("address", &trap_addr)]).await?;
        put_config(&cx, "ghost", &[("address", &ghost_addr)]).await?;
        put_link(&cx, http_link("slow", "web", "slow")?).await?;
        put_link(&cx, http_link("trap", "web", "trap")?).await?;
        put_link(&cx, http_link("ghost", "ghost", "ghost")?).await?;
        let par = cx.image(HTTP_SERVER_PROVIDER)?;
        // No provider config: routing_mode defaults to address.
        start_provider(&cx, &host, &par, "http-srv", vec![]).await?;
        wait_http_body(&cx, &format!("{slow}/"), HELLO).await?;
        wait_http_body(&cx, &format!("{trap}/"), HELLO).await?;

        // 408: the component waits for the rest of a body that does not come.
        let (status, took) = stalled_post(&slow, "/").await?;
        ensure!(
            status == 408,
            "a POST whose body stalls, on a link with timeout_ms={TIMEOUT_MS}, answered {status} after {took:.1?} (expected 408)"
        );
        ensure!(
            took >= Duration::from_millis(TIMEOUT_MS),
            "the 408 came after {took:.1?}, before timeout_ms={TIMEOUT_MS}"
        );

        // 500: the component traps reading a body larger than its memory limit allows.
        let big = vec![b'x'; 24 << 20];
        let (status, body) = post(&cx, &format!("{trap}/"), big).await?;
        ensure!(
            status == 500,
            "a 24 MiB POST to a component limited to 16 MiB of memory answered {status} {:?} (expected 500: the invocation traps)",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        );
        let trapped = crate::steps::host_log_line(&cx, 0, "wasm trap").await?;
        wait_http_body(&cx, &format!("{trap}/"), HELLO)
            .await
            .with_context(|| format!("the component to serve again after the trap ({trapped})"))?;

        // 500: nothing serves the linked component id.
        let (status, text) = get(&cx, &format!("{ghost}/")).await?;
        ensure!(
            status == 500,
            "GET on the listener of a link to a component that does not run answered {status} {text:?} (expected 500)"
        );
        Ok(())
    })
}

/// VAC-14 / NET-10: the standalone messaging provider, both ways, across hosts.
pub static MESSAGING_BOTH_WAYS: ConformanceTest = ConformanceTest {
    name: "vendorless::standalone_messaging_nats_both_ways",
    source: file!(),
    description: "the upstream NATS messaging provider (crates.io 0.27.0) on host 0, linked with subscriptions `<a>,<b>|workers` to a component running only on host 1, delivers a request on either subject to it and the component's reply through its consumer link reaches the requester; a link whose config spells the key SUBSCRIPTIONS in capitals, as the crate's README does, subscribes to nothing",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Links],
    covers: &["VAC-14", "NET-10"],
    fixtures: &[MESSAGING_NATS_PROVIDER, MESSENGER_RUST],
    setup: Setup::hosts(2),
    run: messaging_both_ways,
};

fn messaging_both_ways(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let ids = cx.lattice().host_ids();
        let nats = cx.lattice().nats_url_for_hosts();
        let lattice = cx.lattice().name().to_string();
        let (plain, queued, upper) = (
            format!("wcc.{lattice}.std.in"),
            format!("wcc.{lattice}.std.work"),
            format!("wcc.{lattice}.std.upper"),
        );
        let subscriptions = format!("{plain},{queued}|workers");
        put_config(
            &cx,
            "std-sub",
            &[("subscriptions", &subscriptions), ("cluster_uris", &nats)],
        )
        .await?;
        put_config(
            &cx,
            "std-upper",
            &[("SUBSCRIPTIONS", &upper), ("cluster_uris", &nats)],
        )
        .await?;
        put_config(&cx, "std-conn", &[("cluster_uris", &nats)]).await?;
        let image = cx.image(MESSENGER_RUST)?;
        // The provider keeps one subscription set per component, so the capitals get their own.
        for id in ["messenger", "messenger-upper"] {
            scale(&cx, &ids[1], &image, id, 1).await?;
        }
        // Links first: a provider reads the links present when it starts.
        for (id, name, config) in [
            ("messenger", "default", "std-sub"),
            ("messenger-upper", "upper", "std-upper"),
        ] {
            let handler = link(
                "std-msg",
                id,
                name,
                ("wasmcloud", "messaging"),
                &["handler"],
                &[config],
                &[],
            )?;
            put_link(&cx, handler).await?;
            let consumer = link(
                id,
                "std-msg",
                "default",
                ("wasmcloud", "messaging"),
                &["consumer"],
                &[],
                &["std-conn"],
            )?;
            put_link(&cx, consumer).await?;
        }
        let par = cx.image(MESSAGING_NATS_PROVIDER)?;
        start_provider(&cx, &ids[0], &par, "std-msg", vec![]).await?;

        let nc = cx.lattice().nats();
        for subject in [&plain, &queued] {
            let reply = crate::steps::answered(nc, subject, "by the component on host 1").await?;
            ensure!(
                reply == "handled:ping",
                "the reply through the component to a request on {subject} is {reply:?}, expected \"handled:ping\""
            );
        }
        // The README documents the key as SUBSCRIPTIONS; the crate reads lowercase keys only
        // (wasmcloud-core's messaging config), so this link subscribes to nothing. Its
        // `cluster_uris` is lowercase, so that the link fails on the one key, not on connecting
        // to the default URL.
        let answered = crate::steps::unanswered(nc, &upper).await;
        if let Some(body) = answered {
            anyhow::bail!(
                "a link configured with SUBSCRIPTIONS (capitals) was subscribed: {upper} answered {body:?}; the crate now reads the key as its README documents it, so this test's observation is stale"
            );
        }
        cx.observe(
            "wasmcloud-provider-messaging-nats 0.27.0: its README documents the link config keys in capitals (SUBSCRIPTIONS, CLUSTER_URIS, ...), but a link with SUBSCRIPTIONS subscribes to nothing (a request on its subject went unanswered); the crate reads lowercase keys only (wasmcloud-core 0.18 messaging.rs)",
        );
        Ok(())
    })
}

/// wRPC client bindings for the fixture component `blobstore` (`wcc:blobstore@0.1.0`).
mod bindings {
    wit_bindgen_wrpc::generate!({
        inline: "
            package wcc:suite-blobstore;
            world client {
                import wcc:blobstore/store@0.1.0;
            }
        ",
        path: "../../fixtures/components/rust/blobstore/wit",
        world: "wcc:suite-blobstore/client",
        generate_all,
    });

    pub use wcc::blobstore::store;
}

/// The blobstore-fs provider's id in these tests.
const BLOB_FS: &str = "blob-fs";

/// One host; the tests read the files the provider writes, so only on a lattice the suite starts.
const BLOBSTORE_SETUP: Setup = Setup::hosts(1).needs_suite_lattice(
    "reads the files the provider writes under ROOT, in the lattice's shared folder",
);

/// VAC-14: the standalone blobstore-fs provider keeps a component's objects as files under ROOT.
pub static BLOBSTORE_FILES: ConformanceTest = ConformanceTest {
    name: "vendorless::standalone_blobstore_fs_objects_are_files_under_root",
    source: file!(),
    description: "the upstream blobstore-fs provider (crates.io 0.11.1) linked to a component with ROOT in the shared folder: through wasi:blobstore a created container exists and is the directory ROOT/<container>; objects written (text, every byte value (not UTF-8), empty, 200 000 bytes) read back byte-exact with their sizes, are listed exactly, and are files of those bytes at ROOT/<container>/<name>; a missing object is an error; a deleted object is gone (file too) and deleting it again is no error; a deleted container no longer exists; get-data's end offset is exclusive and an object name with a slash is a file in a subdirectory, listed by the subdirectory's name (observations)",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Links, Feature::Wrpc],
    covers: &["VAC-14", "NET-03"],
    fixtures: &[BLOBSTORE_FS_PROVIDER, BLOBSTORE_RUST],
    setup: BLOBSTORE_SETUP,
    run: blobstore_files,
};

/// The objects [`BLOBSTORE_FILES`] writes: a text, every byte value (not UTF-8), nothing, and
/// more than one 64 KiB chunk of the host's body streams.
fn objects() -> Vec<(&'static str, Vec<u8>)> {
    let mut bytes: Vec<u8> = (0..=255u8).rev().collect();
    bytes.extend_from_slice(&[0xc3, 0x28, 0x00, 0xff]);
    let large = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        ("greeting.txt", b"hello from the blobstore\n".to_vec()),
        ("bytes.bin", bytes),
        ("empty", Vec::new()),
        ("large.bin", large),
    ]
}

fn blobstore_files(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let root = cx.lattice().shared_dir().join("blobstore-root");
        put_config(&cx, "blob-root", &[("ROOT", &root.display().to_string())]).await?;
        scale(&cx, &host, &cx.image(BLOBSTORE_RUST)?, "blobs", 1).await?;
        // The link before the provider: it reads the links present when it starts.
        put_link(&cx, blobstore_link("blobs", "blob-root")?).await?;
        start_provider(
            &cx,
            &host,
            &cx.image(BLOBSTORE_FS_PROVIDER)?,
            BLOB_FS,
            vec![],
        )
        .await?;
        let blobs = Blobs::linked(&cx, "blobs").await?;

        let container = "box";
        blobs
            .create_container(container)
            .await?
            .map_err(failed("create-container box"))?;
        let dir = root.join(container);
        let exists = blobs.container_exists(container).await?;
        ensure!(
            exists == Ok(true) && dir.is_dir(),
            "container {container} just created: container-exists answered {exists:?}, {} is a directory: {}",
            dir.display(),
            dir.is_dir()
        );

        let objects = objects();
        ensure!(
            std::str::from_utf8(&objects[1].1).is_err(),
            "bytes.bin must not be UTF-8"
        );
        for (name, data) in &objects {
            blobs
                .write(container, name, data)
                .await?
                .map_err(failed(&format!("write {name}")))?;
        }
        for (name, data) in &objects {
            let read = blobs
                .read(container, name)
                .await?
                .map_err(failed(&format!("read {name}")))?;
            ensure!(
                &read == data,
                "object {name} read back {} bytes {}, written {} bytes {}",
                read.len(),
                preview(&read),
                data.len(),
                preview(data)
            );
            let size = blobs
                .size(container, name)
                .await?
                .map_err(failed(&format!("object-info {name}")))?;
            ensure!(
                size == data.len() as u64,
                "object-info of {name} gives size {size}, written {} bytes",
                data.len()
            );
            let file = dir.join(name);
            let stored = std::fs::read(&file)
                .with_context(|| format!("object {name} is not the file {}", file.display()))?;
            ensure!(
                &stored == data,
                "the file {} holds {} bytes {}, the object written {} bytes {}",
                file.display(),
                stored.len(),
                preview(&stored),
                data.len(),
                preview(data)
            );
        }
        let mut written: Vec<String> = objects.iter().map(|(n, _)| (*n).to_string()).collect();
        written.sort();
        let listed = blobs
            .list(container)
            .await?
            .map_err(failed("list-objects"))?;
        ensure!(
            sorted(&listed) == written,
            "list-objects of {container} gives {listed:?}, written {written:?}"
        );

        let absent = blobs.read(container, "absent").await?;
        ensure!(
            absent.is_err(),
            "reading object absent, never written, answered {} bytes (expected an error)",
            absent.as_ref().map_or(0, Vec::len)
        );
        let has = blobs.has(container, "absent").await?;
        ensure!(
            has == Ok(false),
            "has-object of absent, never written, answered {has:?}"
        );

        let gone = "greeting.txt";
        blobs
            .delete(container, gone)
            .await?
            .map_err(failed(&format!("delete-object {gone}")))?;
        let after = blobs.read(container, gone).await?;
        ensure!(
            after.is_err(),
            "object {gone} read {after:?} after its delete-object (expected an error)"
        );
        let listed = blobs
            .list(container)
            .await?
            .map_err(failed("list-objects"))?;
        let mut left: Vec<String> = written.iter().filter(|n| *n != gone).cloned().collect();
        left.sort();
        ensure!(
            sorted(&listed) == left,
            "after delete-object {gone}, list-objects gives {listed:?} (expected {left:?})"
        );
        ensure!(
            !dir.join(gone).exists(),
            "the file {} is still there after delete-object {gone}",
            dir.join(gone).display()
        );
        blobs.delete(container, gone).await?.map_err(failed(&format!(
            "delete-object {gone} a second time (wasi:blobstore: no error when the object does not exist)"
        )))?;

        // wasi:blobstore's container.wit: "Start and end offsets are inclusive"; the provider
        // reads end - start bytes from start.
        let range = blobs
            .read_range(container, "bytes.bin", 1, 4)
            .await?
            .map_err(failed("get-data 1..4"))?;
        let bytes = &objects[1].1;
        if range == bytes[1..=4] {
            anyhow::bail!(
                "get-data(bytes.bin, 1, 4) gave bytes 1 to 4 inclusive, as wasi:blobstore documents: the provider no longer stops before the end offset, so this test's observation is stale"
            );
        }
        ensure!(
            range == bytes[1..4],
            "get-data(bytes.bin, 1, 4) gave {range:?}; expected bytes 1 to 4 ({:?}, as wasi:blobstore documents) or 1 to 3 ({:?}, as the provider reads)",
            &bytes[1..=4],
            &bytes[1..4]
        );
        cx.observe(
            "wasmcloud-provider-blobstore-fs 0.11.1: get-data(name, start, end) returns end - start bytes (get-data(1, 4) gave bytes 1..3), while wasi:blobstore@0.2.0-draft's container.wit says \"Start and end offsets are inclusive\"",
        );

        // A name with a slash: a file in a subdirectory, listed as the subdirectory.
        let nested = "nested/deep.txt";
        blobs
            .write(container, nested, b"deep")
            .await?
            .map_err(failed(&format!("write {nested}")))?;
        let read = blobs
            .read(container, nested)
            .await?
            .map_err(failed(&format!("read {nested}")))?;
        ensure!(
            read == b"deep",
            "object {nested} read back {}",
            preview(&read)
        );
        let file = dir.join(nested);
        ensure!(
            std::fs::read(&file).ok().as_deref() == Some(&b"deep"[..]),
            "object {nested} is not the file {}",
            file.display()
        );
        let listed = sorted(
            &blobs
                .list(container)
                .await?
                .map_err(failed("list-objects"))?,
        );
        if listed.iter().any(|n| n == nested) {
            anyhow::bail!(
                "list-objects now names {nested} itself ({listed:?}): the provider lists objects in subdirectories, so this test's observation is stale"
            );
        }
        ensure!(
            listed.iter().any(|n| n == "nested"),
            "after writing {nested}, list-objects gives {listed:?}: neither {nested} nor its directory nested"
        );
        cx.observe(
            "wasmcloud-provider-blobstore-fs 0.11.1: an object whose name has a slash (nested/deep.txt) is stored as a file in a subdirectory of the container's directory, and list-objects names the subdirectory (nested), not the object",
        );

        blobs
            .delete_container(container)
            .await?
            .map_err(failed("delete-container box"))?;
        let exists = blobs.container_exists(container).await?;
        ensure!(
            exists == Ok(false) && !dir.exists(),
            "after delete-container {container}: container-exists answered {exists:?}, {} exists: {}",
            dir.display(),
            dir.exists()
        );
        Ok(())
    })
}

/// VAC-14: each link's ROOT is its component's own store.
pub static BLOBSTORE_ROOTS_APART: ConformanceTest = ConformanceTest {
    name: "vendorless::standalone_blobstore_fs_roots_keep_components_apart",
    source: file!(),
    description: "one upstream blobstore-fs provider linked to two components, one link with ROOT and one with root (lowercase, which the crate reads too) naming different folders: the same container and object name written by both read back each component's own bytes and land in each ROOT; an object only one of them wrote is missing for the other, and each lists only its own",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Links, Feature::Wrpc],
    covers: &["VAC-14", "NET-03"],
    fixtures: &[BLOBSTORE_FS_PROVIDER, BLOBSTORE_RUST],
    setup: BLOBSTORE_SETUP,
    run: blobstore_roots_apart,
};

fn blobstore_roots_apart(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let shared = cx.lattice().shared_dir();
        let image = cx.image(BLOBSTORE_RUST)?;
        // (component, config, root key, root)
        let sides = [
            ("blobs-a", "root-a", "ROOT", shared.join("blobstore-a")),
            ("blobs-b", "root-b", "root", shared.join("blobstore-b")),
        ];
        for (id, config, key, root) in &sides {
            put_config(&cx, config, &[(key, &root.display().to_string())]).await?;
            scale(&cx, &host, &image, id, 1).await?;
            put_link(&cx, blobstore_link(id, config)?).await?;
        }
        start_provider(
            &cx,
            &host,
            &cx.image(BLOBSTORE_FS_PROVIDER)?,
            BLOB_FS,
            vec![],
        )
        .await?;

        let (container, same, only_a) = ("shared", "same.txt", "only-a.txt");
        let mut clients = Vec::new();
        for (id, _, _, root) in &sides {
            let blobs = Blobs::linked(&cx, id).await?;
            blobs
                .create_container(container)
                .await?
                .map_err(failed(&format!("{id}: create-container")))?;
            blobs
                .write(container, same, id.as_bytes())
                .await?
                .map_err(failed(&format!("{id}: write {same}")))?;
            clients.push((blobs, *id, root));
        }
        let (a, _, root_a) = &clients[0];
        a.write(container, only_a, b"a alone")
            .await?
            .map_err(failed(&format!("blobs-a: write {only_a}")))?;

        for (blobs, id, root) in &clients {
            let read = blobs
                .read(container, same)
                .await?
                .map_err(failed(&format!("{id}: read {same}")))?;
            ensure!(
                read == id.as_bytes(),
                "{id} reads {same} as {}, its own write was {id:?}: the components share a store",
                preview(&read)
            );
            let file = root.join(container).join(same);
            let stored = std::fs::read(&file)
                .with_context(|| format!("{id}'s {same} is not the file {}", file.display()))?;
            ensure!(
                stored == id.as_bytes(),
                "{} (under {id}'s ROOT) holds {}, {id} wrote {id:?}",
                file.display(),
                preview(&stored)
            );
        }
        let (b, _, root_b) = &clients[1];
        let foreign = b.read(container, only_a).await?;
        ensure!(
            foreign.is_err(),
            "blobs-b reads {only_a}, which only blobs-a wrote: {:?} (expected an error)",
            foreign.map(|v| preview(&v))
        );
        ensure!(
            root_a.join(container).join(only_a).is_file()
                && !root_b.join(container).join(only_a).exists(),
            "{only_a}, written by blobs-a only, should be a file under {} and not under {}",
            root_a.display(),
            root_b.display()
        );
        let listed_a = sorted(
            &a.list(container)
                .await?
                .map_err(failed("blobs-a: list-objects"))?,
        );
        let listed_b = sorted(
            &b.list(container)
                .await?
                .map_err(failed("blobs-b: list-objects"))?,
        );
        ensure!(
            listed_a == [only_a, same] && listed_b == [same],
            "list-objects gives {listed_a:?} to blobs-a (expected [{only_a:?}, {same:?}]) and {listed_b:?} to blobs-b (expected [{same:?}])"
        );
        Ok(())
    })
}

/// A link from component `source` to the blobstore-fs provider on `wasi:blobstore` (interface
/// `blobstore`, through which the host sends every wasi:blobstore call), with the named target
/// config `root` holding its ROOT.
fn blobstore_link(source: &str, root: &str) -> anyhow::Result<wasmcloud_control_interface::Link> {
    link(
        source,
        BLOB_FS,
        "default",
        ("wasi", "blobstore"),
        &["blobstore"],
        &[],
        &[root],
    )
}

/// The `blobstore` fixture component, called over wRPC: each call's answer is the component's
/// (`Err` with the host's or provider's text), the outer `Err` a call that got no answer.
struct Blobs {
    id: String,
    client: wrpc_transport_nats::Client,
    /// Calls are attempts of a wait (bounded by `T.attempt`).
    waiting: bool,
}

/// What a call answers: the component's result, or why there was none.
type Answer<T> = anyhow::Result<Result<T, String>>;

impl Blobs {
    /// The client of component `id`, once a call through its link reaches the provider (the host
    /// learns links through a watch, the provider starts serving a moment after it starts).
    async fn linked(cx: &Cx, id: &str) -> anyhow::Result<Blobs> {
        let mut blobs = Blobs {
            id: id.to_string(),
            client: cx.lattice().wrpc_client(id).await?,
            waiting: true,
        };
        let exists = Wait::new(
            format!("{id} to reach the blobstore-fs provider through its link"),
            T.converge,
        )
        .kind("link")
        .interval(Duration::from_millis(200))
        .until(|_| {
            let blobs = &blobs;
            async move {
                match blobs.container_exists("never-created").await {
                    Ok(Ok(exists)) => Probe::Ready(exists),
                    Ok(Err(e)) => Probe::NotYet(e),
                    Err(e) => Probe::NotYet(format!("{e:#}")),
                }
            }
        })
        .await?;
        ensure!(
            !exists,
            "{id}: container-exists of a container never created answered true"
        );
        blobs.waiting = false;
        Ok(blobs)
    }

    /// One call (bounded by `T.call`, or `T.attempt` inside a wait).
    async fn call<T, F, Fut>(&self, what: &str, call: F) -> Answer<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Result<T, String>>>,
    {
        let within = if self.waiting { T.attempt } else { T.call };
        harness::wrpc::call(within, call)
            .await
            .with_context(|| format!("{}: {what}", self.id))
    }

    async fn create_container(&self, name: &str) -> Answer<()> {
        let c = &self.client;
        self.call("create-container", || {
            bindings::store::create_container(c, None, name)
        })
        .await
    }

    async fn container_exists(&self, name: &str) -> Answer<bool> {
        let c = &self.client;
        self.call("container-exists", || {
            bindings::store::container_exists(c, None, name)
        })
        .await
    }

    async fn delete_container(&self, name: &str) -> Answer<()> {
        let c = &self.client;
        self.call("delete-container", || {
            bindings::store::delete_container(c, None, name)
        })
        .await
    }

    async fn write(&self, container: &str, name: &str, data: &[u8]) -> Answer<()> {
        let (c, data) = (&self.client, bytes::Bytes::copy_from_slice(data));
        self.call("write-object", || {
            bindings::store::write_object(c, None, container, name, &data)
        })
        .await
    }

    async fn read(&self, container: &str, name: &str) -> Answer<Vec<u8>> {
        let c = &self.client;
        self.call("read-object", || {
            bindings::store::read_object(c, None, container, name)
        })
        .await
        .map(|r| r.map(|b| b.to_vec()))
    }

    async fn read_range(
        &self,
        container: &str,
        name: &str,
        start: u64,
        end: u64,
    ) -> Answer<Vec<u8>> {
        let c = &self.client;
        self.call("read-range", || {
            bindings::store::read_range(c, None, container, name, start, end)
        })
        .await
        .map(|r| r.map(|b| b.to_vec()))
    }

    async fn has(&self, container: &str, name: &str) -> Answer<bool> {
        let c = &self.client;
        self.call("has-object", || {
            bindings::store::has_object(c, None, container, name)
        })
        .await
    }

    async fn size(&self, container: &str, name: &str) -> Answer<u64> {
        let c = &self.client;
        self.call("object-size", || {
            bindings::store::object_size(c, None, container, name)
        })
        .await
    }

    async fn list(&self, container: &str) -> Answer<Vec<String>> {
        let c = &self.client;
        self.call("list-objects", || {
            bindings::store::list_objects(c, None, container)
        })
        .await
    }

    async fn delete(&self, container: &str, name: &str) -> Answer<()> {
        let c = &self.client;
        self.call("delete-object", || {
            bindings::store::delete_object(c, None, container, name)
        })
        .await
    }
}

/// Turns the component's error for `what`, which had to succeed, into the test's failure.
fn failed(what: &str) -> impl FnOnce(String) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{what} failed: {e}")
}

/// `names`, sorted (listing order is the directory's).
fn sorted(names: &[String]) -> Vec<String> {
    let mut names = names.to_vec();
    names.sort();
    names
}

/// The first bytes of `data` for a message.
fn preview(data: &[u8]) -> String {
    let head = &data[..data.len().min(16)];
    format!("{head:02x?}{}", if data.len() > 16 { "…" } else { "" })
}

/// A link from the HTTP server provider `http-srv` to `target` (`wasi:http/incoming-handler`)
/// under `name`, with the named source config `config`.
fn http_link(
    name: &str,
    target: &str,
    config: &str,
) -> anyhow::Result<wasmcloud_control_interface::Link> {
    link(
        "http-srv",
        target,
        name,
        ("wasi", "http"),
        &["incoming-handler"],
        &[config],
        &[],
    )
}

/// `GET url`: the status and the body as text.
async fn get(cx: &Cx, url: &str) -> anyhow::Result<(u16, String)> {
    let resp = cx
        .http()
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await.unwrap_or_default()))
}

/// `POST url` with `body`: the status and the body.
async fn post(cx: &Cx, url: &str, body: Vec<u8>) -> anyhow::Result<(u16, Vec<u8>)> {
    let resp = cx
        .http()
        .post(url)
        .body(body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.context("the POST's answer")?;
    Ok((status, body.to_vec()))
}

/// Sends a POST to `base` + `path` announcing 1 KiB of body but sending only 16 bytes of it, and
/// keeps the connection open: returns the status of the answer and how long it took. No answer
/// within `T.attempt` is an error.
async fn stalled_post(base: &str, path: &str) -> anyhow::Result<(u16, Duration)> {
    let authority = base.strip_prefix("http://").unwrap_or(base);
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("connect to {authority}"))?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: text/plain\r\ncontent-length: 1024\r\n\r\n"
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(b"the first 16 B..").await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    let read = async {
        let mut buf = [0u8; 1024];
        while !answer.windows(2).any(|w| w == b"\r\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(T.attempt, read).await.map_err(|_| {
        anyhow::anyhow!(
            "a POST to {base}{path} whose body stalls got no answer within {:?}",
            T.attempt
        )
    })??;
    let took = started.elapsed();
    let line = String::from_utf8_lossy(&answer);
    let line = line.lines().next().unwrap_or_default();
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("the answer has no status line: {line:?}"))?;
    Ok((status, took))
}
