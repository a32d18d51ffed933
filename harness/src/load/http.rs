//! HTTP/1.1 GET over one kept-alive connection per worker (hyper's client connection), the way
//! `wrk` uses its connections; the answer must be 200 (and the expected body, when given).
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::SendRequest;
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

    async fn connect(&self) -> Result<SendRequest<Empty<Bytes>>, String> {
        let stream = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|e| format!("connect to {}: {e}", self.addr))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(send)
    }
}

impl Target for HttpGet {
    type Caller = HttpCaller;

    async fn caller(&self) -> Result<Self::Caller, String> {
        let send = self.connect().await?;
        Ok(HttpCaller {
            target: self.clone(),
            send: Some(send),
        })
    }

    fn describe(&self) -> String {
        format!("GET http://{}{}", self.addr, self.path)
    }
}

/// One worker's connection; reconnects once the server closed it.
pub struct HttpCaller {
    target: HttpGet,
    send: Option<SendRequest<Empty<Bytes>>>,
}

impl Caller for HttpCaller {
    async fn call(&mut self) -> Result<(), String> {
        let mut send = match self.send.take().filter(|s| !s.is_closed()) {
            Some(s) => s,
            None => self.target.connect().await?,
        };
        send.ready()
            .await
            .map_err(|e| format!("connection not ready: {e}"))?;
        let request = hyper::Request::get(&self.target.path)
            .header(hyper::header::HOST, &self.target.addr)
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
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
        self.send = Some(send);
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
