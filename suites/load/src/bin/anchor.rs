//! Native anchors of the load suite, measured in the same run as the scenarios:
//!
//! - `wcc-load-anchor http ADDR`: an HTTP/1.1 server answering every request 200
//!   `hello from rust` (the HTTP fixture's answer), on hyper with two runtime threads;
//! - `wcc-load-anchor nats-echo URL SUBJECT`: answers every request on SUBJECT with its payload.
//!
//! Each prints `ready` on stdout once it serves.
//!
//! `wcc-load-anchor generate ADDR CONNECTIONS SECONDS` runs the harness's generator
//! (closed loop, as the suite does) against `http://ADDR/` and prints its requests/s: for checking
//! the generator's ceiling by hand, next to `wrk -t2 -cCONNECTIONS -dSECONDS http://ADDR/`.
use std::convert::Infallible;

use bytes::Bytes;
use futures::StreamExt as _;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

const BODY: &[u8] = b"hello from rust";

async fn http(addr: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("ready");
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let service = service_fn(|_req| async {
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(BODY))))
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn nats_echo(url: &str, subject: &str) -> anyhow::Result<()> {
    let client = async_nats::connect(url).await?;
    let mut sub = client.subscribe(subject.to_string()).await?;
    client.flush().await?;
    println!("ready");
    while let Some(msg) = sub.next().await {
        if let Some(reply) = msg.reply {
            client.publish(reply, msg.payload).await?;
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["http", addr] => rt.block_on(http(addr)),
        ["nats-echo", url, subject] => rt.block_on(nats_echo(url, subject)),
        ["generate", addr, connections, seconds] => {
            let spec = load_suite::generator::LoadSpec::closed(std::time::Duration::from_secs(
                seconds.parse()?,
            ))
            .workers(connections.parse()?);
            let target = load_suite::generator::http::HttpGet::new(*addr, "/", None);
            let report = rt.block_on(load_suite::generator::run(&target, &spec));
            println!(
                "{:.0} requests/s, p50 {:.0} us, p99 {:.0} us, errors {}",
                report.throughput_rps, report.latency.p50_us, report.latency.p99_us, report.errors
            );
            Ok(())
        }
        _ => anyhow::bail!(
            "usage: wcc-load-anchor http ADDR | nats-echo URL SUBJECT | generate ADDR CONNECTIONS SECONDS"
        ),
    }
}
