//! The hello app's component: `GET /hello/<name>` greets, `POST /echo` echoes the body, and the
//! same greeting is exported as `hello:app/greeter.greet` for wRPC callers.

wit_bindgen::generate!({
    world: "hello",
    path: "wit",
    generate_all,
});

use exports::hello::app::greeter;
use exports::wasi::http::incoming_handler::Guest as HttpGuest;
use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasi::io::streams::StreamError;

/// `blocking-write-and-flush` accepts at most 4096 bytes per call.
const CHUNK: usize = 4096;

struct Hello;

fn greeting(name: &str) -> String {
    let name = name.trim();
    format!("Hello, {}!", if name.is_empty() { "world" } else { name })
}

impl greeter::Guest for Hello {
    fn greet(name: String) -> String {
        greeting(&name)
    }
}

impl HttpGuest for Hello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let path = path.split('?').next().unwrap_or_default().to_string();
        match (request.method(), path.as_str()) {
            (Method::Get, p) if p.starts_with("/hello/") => {
                let name = percent_decode(&p["/hello/".len()..]);
                respond(response_out, 200, greeting(&name).as_bytes())
            }
            (Method::Post, "/echo") => match read_body(&request) {
                Ok(body) => respond(response_out, 200, &body),
                Err(e) => respond(response_out, 500, e.as_bytes()),
            },
            _ => respond(response_out, 404, format!("no route for {path}").as_bytes()),
        }
    }
}

/// Decodes `%XX` escapes (names with spaces or non-ASCII letters arrive escaped).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_body(request: &IncomingRequest) -> Result<Vec<u8>, String> {
    let body = request
        .consume()
        .map_err(|()| "request body already consumed".to_string())?;
    let stream = body
        .stream()
        .map_err(|()| "request body stream unavailable".to_string())?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(format!("reading request body: {}", e.to_debug_string()))
            }
        }
    }
    drop(stream);
    let _trailers = IncomingBody::finish(body);
    Ok(out)
}

fn respond(response_out: ResponseOutparam, status: u16, body: &[u8]) {
    let response = OutgoingResponse::new(Fields::new());
    let _ = response.set_status_code(status);
    let out = response.body().expect("response body is taken once");
    ResponseOutparam::set(response_out, Ok(response));
    let stream = out.write().expect("response stream is taken once");
    for chunk in body.chunks(CHUNK) {
        if stream.blocking_write_and_flush(chunk).is_err() {
            break;
        }
    }
    drop(stream);
    let _ = OutgoingBody::finish(out, None);
}

export!(Hello);
