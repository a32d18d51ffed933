//! HTTP/1.1 GET over one kept-alive connection per worker (hyper's client connection), the way
//! `wrk` uses its connections; the answer must be 200 (and the expected body, when given).
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper_util::rt::TokioIo;

use super::target::{Caller, Target};

/// `GET http://<addr><path>`.
#[derive(Clone, Debug)]
pub struct HttpGet {
    addr: String,
    path: String,
    expect: Option<Bytes>,
}

impl HttpGet {
    /// GET `path` on `addr` (`host:port`); `expect` is the body every answer must carry.
    pub fn new(addr: impl Into<String>, path: impl Into<String>, expect: Option<Vec<u8>>) -> Self {
        Self {
            addr: addr.into(),
            path: path.into(),
            expect: expect.map(Bytes::from),
        }
    }

    async fn connect(&self) -> Result<Conn, String> {
        let stream = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|e| format!("connect to {}: {e}", self.addr))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (send, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        Ok(Conn { send, driver })
    }
}

/// A kept-alive connection: the request handle and the connection's I/O driver. The driver is
/// polled by the worker itself while a request is in flight (not spawned as a task of its own),
/// so a request costs no wake-up of a second task — the client's CPU per request is what caps the
/// throughput of a target sharing this machine's two cores.
struct Conn {
    send: SendRequest<Empty<Bytes>>,
    driver: Connection<TokioIo<tokio::net::TcpStream>, Empty<Bytes>>,
}

impl Target for HttpGet {
    type Caller = HttpCaller;

    async fn caller(&self) -> Result<Self::Caller, String> {
        let conn = self.connect().await?;
        Ok(HttpCaller {
            target: self.clone(),
            conn: Some(conn),
        })
    }

    fn describe(&self) -> String {
        format!("GET http://{}{}", self.addr, self.path)
    }
}

/// One worker's connection; reconnects once the server closed it.
pub struct HttpCaller {
    target: HttpGet,
    conn: Option<Conn>,
}

impl Caller for HttpCaller {
    async fn call(&mut self) -> Result<(), String> {
        let conn = match self.conn.take().filter(|c| !c.send.is_closed()) {
            Some(c) => c,
            None => self.target.connect().await?,
        };
        let request = hyper::Request::get(&self.target.path)
            .header(hyper::header::HOST, &self.target.addr)
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let Conn {
            mut send,
            mut driver,
        } = conn;
        let (answered, driver) = {
            let exchange = async {
                send.ready()
                    .await
                    .map_err(|e| format!("connection not ready: {e}"))?;
                let response = send
                    .send_request(request)
                    .await
                    .map_err(|e| format!("request: {e}"))?;
                let status = response.status();
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| format!("body: {e}"))?
                    .to_bytes();
                Ok::<_, String>((status, body))
            };
            tokio::pin!(exchange);
            tokio::select! {
                biased;
                answered = &mut exchange => (answered, Some(driver)),
                // The connection ended (a server that closes after each answer ends it in the same
                // read that delivers the answer): the answer, if any, is in already; dropping the
                // driver ends the exchange either way, so awaiting it cannot hang.
                ended = &mut driver => {
                    drop(driver);
                    let answered = exchange.await.map_err(|e| match ended {
                        Ok(()) => format!("the server closed the connection ({e})"),
                        Err(c) => format!("connection: {c} ({e})"),
                    });
                    (answered, None)
                }
            }
        };
        let (status, body) = answered?;
        if let Some(driver) = driver {
            self.conn = Some(Conn { send, driver });
        }
        if status != hyper::StatusCode::OK {
            return Err(format!("status {status}"));
        }
        match &self.target.expect {
            Some(expected) if *expected != body => Err(format!(
                "body {:?} is not {:?}",
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(expected)
            )),
            _ => Ok(()),
        }
    }
}
