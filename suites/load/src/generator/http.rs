//! HTTP/1.1 GET over one kept-alive connection per worker, the way `wrk` uses its connections:
//! the request's bytes are built once, each call writes them and reads one answer, parsed by
//! `httparse` (bodies by `Content-Length`, chunked, or up to the close). The answer must be 200
//! (and carry the expected body, when given).
//!
//! Not hyper's client: its connection task and request channel cost about 3 us of CPU per
//! request, which on a 2-core machine kept the generator at 0.8-0.9x wrk's throughput.
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::target::{Caller, Target};

/// `GET http://<addr><path>`.
#[derive(Clone, Debug)]
pub struct HttpGet {
    addr: String,
    path: String,
    expect: Option<Vec<u8>>,
    request: Vec<u8>,
}

impl HttpGet {
    /// GET `path` on `addr` (`host:port`); `expect` is the body every answer must carry.
    pub fn new(addr: impl Into<String>, path: impl Into<String>, expect: Option<Vec<u8>>) -> Self {
        let (addr, path) = (addr.into(), path.into());
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
        Self {
            addr,
            path,
            expect,
            request,
        }
    }

    async fn connect(&self) -> Result<TcpStream, String> {
        let stream = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| format!("connect to {}: {e}", self.addr))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(stream)
    }
}

impl Target for HttpGet {
    type Caller = HttpCaller;

    async fn caller(&self) -> Result<Self::Caller, String> {
        let stream = self.connect().await?;
        Ok(HttpCaller {
            target: self.clone(),
            stream: Some(stream),
            buf: Vec::with_capacity(4096),
        })
    }

    fn describe(&self) -> String {
        format!("GET http://{}{}", self.addr, self.path)
    }
}

/// One worker's connection; reconnects once the server closed it (or after any error).
pub struct HttpCaller {
    target: HttpGet,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

/// One parsed answer.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    body: Vec<u8>,
    /// The server keeps the connection open for the next request.
    keep_alive: bool,
}

/// Why no answer was read.
#[derive(Debug)]
enum ReadError {
    /// The connection closed before the first byte of the answer (an idle keep-alive connection
    /// the server had closed: the request may be sent again on a new one).
    ClosedBeforeAnswer,
    Other(String),
}

impl HttpCaller {
    async fn exchange(&mut self, stream: &mut TcpStream) -> Result<Answer, ReadError> {
        stream
            .write_all(&self.target.request)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset => {
                    ReadError::ClosedBeforeAnswer
                }
                _ => ReadError::Other(format!("write: {e}")),
            })?;
        self.buf.clear();
        read_answer(stream, &mut self.buf).await
    }
}

impl Caller for HttpCaller {
    async fn call(&mut self) -> Result<(), String> {
        let reused = self.stream.is_some();
        let mut stream = match self.stream.take() {
            Some(s) => s,
            None => self.target.connect().await?,
        };
        let answer = match self.exchange(&mut stream).await {
            Ok(a) => a,
            Err(ReadError::ClosedBeforeAnswer) if reused => {
                // The server closed the idle connection: once more on a new one.
                stream = self.target.connect().await?;
                self.exchange(&mut stream).await.map_err(|e| match e {
                    ReadError::ClosedBeforeAnswer => {
                        "the server closed a new connection without answering".to_string()
                    }
                    ReadError::Other(e) => e,
                })?
            }
            Err(ReadError::ClosedBeforeAnswer) => {
                return Err("the server closed the connection without answering".into())
            }
            Err(ReadError::Other(e)) => return Err(e),
        };
        if answer.keep_alive {
            self.stream = Some(stream);
        }
        if answer.status != 200 {
            return Err(format!("status {}", answer.status));
        }
        match &self.target.expect {
            Some(expected) if *expected != answer.body => Err(format!(
                "body {:?} is not {:?}",
                String::from_utf8_lossy(&answer.body),
                String::from_utf8_lossy(expected)
            )),
            _ => Ok(()),
        }
    }
}

/// Reads more of the answer into `buf`; `Ok(0)` at the end of the stream.
async fn fill<R: tokio::io::AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> Result<usize, String> {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(4096);
    }
    r.read_buf(buf).await.map_err(|e| format!("read: {e}"))
}

/// How the body's end is known.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// Reads one answer to a GET from `r`; `buf` must be empty.
async fn read_answer<R: tokio::io::AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> Result<Answer, ReadError> {
    let other = ReadError::Other;
    // The head.
    let (head_len, status, framing, mut keep_alive) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => {
                let status = resp.code.unwrap_or(0);
                if (100..200).contains(&status) && status != 101 {
                    // An interim answer (100 Continue): the real one follows.
                    buf.drain(..n);
                    continue;
                }
                let mut keep_alive = resp.version == Some(1);
                let mut framing = Framing::UntilClose;
                for h in resp.headers.iter() {
                    let value = std::str::from_utf8(h.value).unwrap_or("").trim();
                    if h.name.eq_ignore_ascii_case("content-length") {
                        let len = value.parse().map_err(|_| {
                            other(format!("Content-Length {value:?} is not a number"))
                        })?;
                        if !matches!(framing, Framing::Chunked) {
                            framing = Framing::Length(len);
                        }
                    } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                        if value.to_ascii_lowercase().ends_with("chunked") {
                            framing = Framing::Chunked;
                        }
                    } else if h.name.eq_ignore_ascii_case("connection") {
                        let value = value.to_ascii_lowercase();
                        if value.split(',').any(|t| t.trim() == "close") {
                            keep_alive = false;
                        } else if value.split(',').any(|t| t.trim() == "keep-alive") {
                            keep_alive = true;
                        }
                    }
                }
                if status == 204 || status == 304 {
                    framing = Framing::Length(0);
                }
                break (n, status, framing, keep_alive);
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => {
                return Err(other(format!(
                    "bad answer head ({e}): {:?}",
                    String::from_utf8_lossy(&buf[..buf.len().min(200)])
                )))
            }
        }
        if fill(r, buf).await.map_err(other)? == 0 {
            return Err(if buf.is_empty() {
                ReadError::ClosedBeforeAnswer
            } else {
                other(format!(
                    "the connection closed within the answer's head: {:?}",
                    String::from_utf8_lossy(&buf[..buf.len().min(200)])
                ))
            });
        }
    };
    // The body.
    let body = match framing {
        Framing::Length(len) => {
            while buf.len() < head_len + len {
                if fill(r, buf).await.map_err(other)? == 0 {
                    return Err(other(format!(
                        "the connection closed after {} of {len} body bytes",
                        buf.len() - head_len
                    )));
                }
            }
            if buf.len() > head_len + len {
                return Err(other(format!(
                    "{} bytes after the answer's {len}-byte body",
                    buf.len() - head_len - len
                )));
            }
            buf[head_len..].to_vec()
        }
        Framing::UntilClose => {
            while fill(r, buf).await.map_err(other)? > 0 {}
            keep_alive = false;
            buf[head_len..].to_vec()
        }
        Framing::Chunked => read_chunked(r, buf, head_len).await.map_err(other)?,
    };
    Ok(Answer {
        status,
        body,
        keep_alive,
    })
}

/// Decodes a chunked body starting at `buf[at..]`, reading more as needed, through the last
/// chunk and the trailers.
async fn read_chunked<R: tokio::io::AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    mut at: usize,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let closed = |what: &str| format!("the connection closed within the chunked body ({what})");
    loop {
        let (size_len, size) = loop {
            match httparse::parse_chunk_size(&buf[at..]) {
                Ok(httparse::Status::Complete((n, size))) => break (n, size as usize),
                Ok(httparse::Status::Partial) => {
                    if fill(r, buf).await? == 0 {
                        return Err(closed("chunk size"));
                    }
                }
                Err(_) => {
                    return Err(format!(
                        "bad chunk size line: {:?}",
                        String::from_utf8_lossy(&buf[at..buf.len().min(at + 40)])
                    ))
                }
            }
        };
        at += size_len;
        if size == 0 {
            break;
        }
        while buf.len() < at + size + 2 {
            if fill(r, buf).await? == 0 {
                return Err(closed("chunk data"));
            }
        }
        if &buf[at + size..at + size + 2] != b"\r\n" {
            return Err("a chunk is not followed by CRLF".into());
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
    // Trailers: header lines up to an empty line.
    loop {
        match buf[at..].windows(2).position(|w| w == b"\r\n") {
            Some(0) => {
                at += 2;
                break;
            }
            Some(line) => at += line + 2,
            None => {
                if fill(r, buf).await? == 0 {
                    return Err(closed("trailers"));
                }
            }
        }
    }
    if buf.len() > at {
        return Err(format!("{} bytes after the chunked body", buf.len() - at));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// Reads one answer from `wire`, delivered at most `step` bytes per read; the stream ends
    /// after it.
    async fn parse(wire: &[u8], step: usize) -> Result<Answer, ReadError> {
        let (mut client, mut server) = tokio::io::duplex(step.clamp(1, 64 * 1024));
        let wire = wire.to_vec();
        tokio::spawn(async move {
            let _ = server.write_all(&wire).await;
        });
        read_answer(&mut client, &mut Vec::new()).await
    }

    async fn parse_all_ways(wire: &[u8]) -> Answer {
        let whole = parse(wire, wire.len()).await.unwrap();
        for step in [1, 3, 7] {
            assert_eq!(parse(wire, step).await.unwrap(), whole, "step {step}");
        }
        whole
    }

    #[tokio::test]
    async fn content_length_body() {
        let a =
            parse_all_ways(b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\nhello from rust").await;
        assert_eq!(
            a,
            Answer {
                status: 200,
                body: b"hello from rust".to_vec(),
                keep_alive: true
            }
        );
    }

    #[tokio::test]
    async fn chunked_body_with_extensions_and_trailers() {
        let a = parse_all_ways(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n from rust\r\n0\r\nx-trailer: 1\r\n\r\n",
        )
        .await;
        assert_eq!(a.body, b"hello from rust");
        assert!(a.keep_alive);
        let empty =
            parse_all_ways(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n").await;
        assert_eq!(empty.body, b"");
    }

    #[tokio::test]
    async fn body_until_close_and_connection_close() {
        let a = parse_all_ways(b"HTTP/1.1 200 OK\r\n\r\nhello").await;
        assert_eq!(a.body, b"hello");
        assert!(!a.keep_alive, "a body up to the close ends the connection");
        let a = parse_all_ways(
            b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 4\r\n\r\noops",
        )
        .await;
        assert_eq!(
            (a.status, a.body.as_slice(), a.keep_alive),
            (500, &b"oops"[..], false)
        );
        let a = parse_all_ways(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi").await;
        assert!(!a.keep_alive, "HTTP/1.0 without keep-alive closes");
        let a =
            parse_all_ways(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n").await;
        assert_eq!((a.status, a.body.len()), (204, 0));
    }

    #[tokio::test]
    async fn truncated_or_malformed_answers_are_errors() {
        for (wire, expect) in [
            (
                &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"[..],
                "after 5 of 10",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Len",
                "within the answer's head",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
                "chunk data",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "bad chunk size",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                "not a number",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab",
                "1 bytes after",
            ),
            (b"NOT HTTP\r\n\r\n", "bad answer head"),
        ] {
            match parse(wire, wire.len()).await {
                Err(ReadError::Other(e)) => assert!(e.contains(expect), "{e} lacks {expect}"),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(wire)),
            }
        }
        assert!(matches!(
            parse(b"", 1).await,
            Err(ReadError::ClosedBeforeAnswer)
        ));
    }

    /// A server that answers `answers` requests per connection, then closes it, the last answer
    /// carrying `body`.
    async fn server(per_connection: usize, body: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 1024];
                    for _ in 0..per_connection {
                        let mut got = Vec::new();
                        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                            let n = s.read(&mut buf).await.unwrap();
                            if n == 0 {
                                return;
                            }
                            got.extend_from_slice(&buf[..n]);
                        }
                        assert!(got.starts_with(b"GET /x HTTP/1.1\r\nHost: "), "{got:?}");
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        s.write_all(answer.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn calls_go_on_after_the_server_closes_idle_connections() {
        let addr = server(2, "hi").await;
        let target = HttpGet::new(addr, "/x", Some(b"hi".to_vec()));
        let mut caller = target.caller().await.unwrap();
        for i in 0..7 {
            caller
                .call()
                .await
                .unwrap_or_else(|e| panic!("call {i}: {e}"));
        }
    }

    #[tokio::test]
    async fn a_wrong_body_is_an_error() {
        let addr = server(100, "no").await;
        let target = HttpGet::new(addr, "/x", Some(b"hi".to_vec()));
        let mut caller = target.caller().await.unwrap();
        let e = caller.call().await.unwrap_err();
        assert!(e.contains("\"no\" is not \"hi\""), "{e}");
    }
}
