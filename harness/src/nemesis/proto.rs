//! The NATS client protocol cut into frames, so that the nemesis can see (and change) one message
//! at a time: an incremental decoder over a byte stream, and the encoder for changed frames.
//!
//! Written here rather than taken from a crate: async-nats keeps its parser private, and the one
//! published protocol crate (`nats-types` 0.1.8, 2019) knows no headers (`HPUB`/`HMSG`), which
//! every wRPC call and lattice event of wasmCloud 1.x uses. Only the framing is decoded; JSON
//! bodies of `INFO`/`CONNECT` and every byte the nemesis leaves alone pass through unchanged.
use bytes::{Buf as _, Bytes, BytesMut};

/// Longest control line accepted (a `CONNECT` with a user JWT is a few KiB; nats-server's own
/// default limit is 4 KiB). Anything longer is a protocol error that ends the connection.
pub(crate) const MAX_CONTROL_LINE: usize = 64 * 1024;
/// Largest message body accepted (nats-server's `max_payload` is at most 64 MiB).
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// What one frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `PUB` (client to server).
    Pub,
    /// `HPUB` (client to server, with headers).
    Hpub,
    /// `MSG` (server to client).
    Msg,
    /// `HMSG` (server to client, with headers).
    Hmsg,
    /// Every other operation (`INFO`, `CONNECT`, `SUB`, `UNSUB`, `PING`, `PONG`, `+OK`, `-ERR`):
    /// passed through as it came.
    Other,
}

/// One protocol frame: a control line and, for messages, the body that follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) op: Op,
    /// The control line without its `\r\n`.
    pub(crate) line: Bytes,
    /// For messages: the subject.
    pub(crate) subject: String,
    /// For `MSG`/`HMSG`: the subscription ID.
    pub(crate) sid: Option<String>,
    /// For messages: the reply subject, if any.
    pub(crate) reply: Option<String>,
    /// For `HPUB`/`HMSG`: the header block's length (part of `body`).
    pub(crate) header_len: usize,
    /// For messages: headers (when any) and payload, without the trailing `\r\n`.
    pub(crate) body: Bytes,
}

impl Frame {
    /// Whether this frame carries a message (and so can match a rule).
    pub(crate) fn is_message(&self) -> bool {
        self.op != Op::Other
    }

    /// The payload: the body after the header block.
    pub(crate) fn payload(&self) -> &[u8] {
        &self.body[self.header_len.min(self.body.len())..]
    }

    /// The same message with another payload (headers kept); the sizes in the control line are
    /// computed again.
    pub(crate) fn with_payload(&self, payload: &[u8]) -> Frame {
        let mut body = BytesMut::with_capacity(self.header_len + payload.len());
        body.extend_from_slice(&self.body[..self.header_len.min(self.body.len())]);
        body.extend_from_slice(payload);
        let mut frame = self.clone();
        frame.body = body.freeze();
        frame.line = frame.control_line();
        frame
    }

    /// A `PUB` of `payload` to `subject` (what the nemesis sends when it answers a request).
    pub(crate) fn publish(subject: &str, payload: &[u8]) -> Frame {
        let mut frame = Frame {
            op: Op::Pub,
            line: Bytes::new(),
            subject: subject.to_string(),
            sid: None,
            reply: None,
            header_len: 0,
            body: Bytes::copy_from_slice(payload),
        };
        frame.line = frame.control_line();
        frame
    }

    fn control_line(&self) -> Bytes {
        let mut parts: Vec<String> = Vec::with_capacity(6);
        let name = match self.op {
            Op::Pub => "PUB",
            Op::Hpub => "HPUB",
            Op::Msg => "MSG",
            Op::Hmsg => "HMSG",
            Op::Other => return self.line.clone(),
        };
        parts.push(name.to_string());
        parts.push(self.subject.clone());
        if let Some(sid) = &self.sid {
            parts.push(sid.clone());
        }
        if let Some(reply) = &self.reply {
            parts.push(reply.clone());
        }
        if matches!(self.op, Op::Hpub | Op::Hmsg) {
            parts.push(self.header_len.to_string());
        }
        parts.push(self.body.len().to_string());
        Bytes::from(parts.join(" "))
    }

    /// The frame as bytes on the wire.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.extend_from_slice(&self.line);
        out.extend_from_slice(b"\r\n");
        if self.is_message() {
            out.extend_from_slice(&self.body);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// A stream that is not the NATS protocol (or exceeds the bounds above).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a NATS protocol frame: {0}")]
pub(crate) struct ProtocolError(pub(crate) String);

/// Takes the next whole frame off the front of `buf`, or `Ok(None)` when more bytes are needed.
pub(crate) fn decode(buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        if buf.len() > MAX_CONTROL_LINE {
            return Err(ProtocolError(format!(
                "a control line longer than {MAX_CONTROL_LINE} bytes"
            )));
        }
        return Ok(None);
    };
    let line = &buf[..end];
    let text = std::str::from_utf8(line)
        .map_err(|_| ProtocolError("a control line that is not UTF-8".into()))?;
    let mut words = text.split_ascii_whitespace();
    let op = match words.next().map(|w| w.to_ascii_uppercase()).as_deref() {
        Some("PUB") => Op::Pub,
        Some("HPUB") => Op::Hpub,
        Some("MSG") => Op::Msg,
        Some("HMSG") => Op::Hmsg,
        _ => {
            let line = buf.split_to(end).freeze();
            buf.advance(2);
            return Ok(Some(Frame {
                op: Op::Other,
                line,
                subject: String::new(),
                sid: None,
                reply: None,
                header_len: 0,
                body: Bytes::new(),
            }));
        }
    };
    let args: Vec<&str> = words.collect();
    let (subject, sid, reply, header_len, total) = parse_args(op, &args)
        .ok_or_else(|| ProtocolError(format!("malformed control line {text:?}")))?;
    if total > MAX_BODY || header_len > total {
        return Err(ProtocolError(format!(
            "sizes out of bounds in {text:?} (limit {MAX_BODY})"
        )));
    }
    if buf.len() < end + 2 + total + 2 {
        return Ok(None);
    }
    if &buf[end + 2 + total..end + 2 + total + 2] != b"\r\n" {
        return Err(ProtocolError(format!(
            "the body after {text:?} does not end with CRLF"
        )));
    }
    let (subject, sid, reply) = (
        subject.to_string(),
        sid.map(str::to_string),
        reply.map(str::to_string),
    );
    let line = buf.split_to(end).freeze();
    buf.advance(2);
    let body = buf.split_to(total).freeze();
    buf.advance(2);
    Ok(Some(Frame {
        op,
        line,
        subject,
        sid,
        reply,
        header_len,
        body,
    }))
}

type Args<'a> = (&'a str, Option<&'a str>, Option<&'a str>, usize, usize);

/// `subject [sid] [reply] [header size] size`, as each operation spells it.
fn parse_args<'a>(op: Op, args: &[&'a str]) -> Option<Args<'a>> {
    let num = |s: &str| s.parse::<usize>().ok();
    match (op, args) {
        (Op::Pub, [subject, size]) => Some((subject, None, None, 0, num(size)?)),
        (Op::Pub, [subject, reply, size]) => Some((subject, None, Some(reply), 0, num(size)?)),
        (Op::Hpub, [subject, hdr, total]) => Some((subject, None, None, num(hdr)?, num(total)?)),
        (Op::Hpub, [subject, reply, hdr, total]) => {
            Some((subject, None, Some(reply), num(hdr)?, num(total)?))
        }
        (Op::Msg, [subject, sid, size]) => Some((subject, Some(sid), None, 0, num(size)?)),
        (Op::Msg, [subject, sid, reply, size]) => {
            Some((subject, Some(sid), Some(reply), 0, num(size)?))
        }
        (Op::Hmsg, [subject, sid, hdr, total]) => {
            Some((subject, Some(sid), None, num(hdr)?, num(total)?))
        }
        (Op::Hmsg, [subject, sid, reply, hdr, total]) => {
            Some((subject, Some(sid), Some(reply), num(hdr)?, num(total)?))
        }
        _ => None,
    }
}

/// Whether `subject` matches the NATS subject `pattern` (`*` one token, `>` one or more tokens
/// at the end).
pub(crate) fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    let mut pattern_tokens = pattern.split('.').peekable();
    while let Some(p) = pattern_tokens.next() {
        if p == ">" && pattern_tokens.peek().is_none() {
            return subject_tokens.next().is_some();
        }
        match subject_tokens.next() {
            Some(s) if p == "*" || p == s => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(input: &[u8]) -> Result<Vec<Frame>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        let mut frames = Vec::new();
        while let Some(f) = decode(&mut buf)? {
            frames.push(f);
        }
        assert!(buf.is_empty(), "left over: {buf:?}");
        Ok(frames)
    }

    #[test]
    fn decodes_each_operation() {
        let frames = all(b"INFO {\"max_payload\":1048576}\r\nPUB a.b 5\r\nhello\r\nPUB a.b _INBOX.1 0\r\n\r\nHPUB ev 12 14\r\nNATS/1.0\r\n\r\nhi\r\nMSG x.y 7 _INBOX.2 3\r\nabc\r\nHMSG x.y 7 12 12\r\nNATS/1.0\r\n\r\n\r\nPING\r\n+OK\r\n").unwrap();
        let ops: Vec<Op> = frames.iter().map(|f| f.op).collect();
        assert_eq!(
            ops,
            [
                Op::Other,
                Op::Pub,
                Op::Pub,
                Op::Hpub,
                Op::Msg,
                Op::Hmsg,
                Op::Other,
                Op::Other
            ]
        );
        assert_eq!(frames[1].subject, "a.b");
        assert_eq!(frames[1].payload(), b"hello");
        assert_eq!(frames[2].reply.as_deref(), Some("_INBOX.1"));
        assert_eq!(frames[3].header_len, 12);
        assert_eq!(frames[3].payload(), b"hi");
        assert_eq!(frames[4].sid.as_deref(), Some("7"));
        assert_eq!(frames[4].reply.as_deref(), Some("_INBOX.2"));
        assert_eq!(frames[5].payload(), b"");
        assert_eq!(&frames[6].line[..], b"PING");
    }

    #[test]
    fn waits_for_the_whole_body() {
        let mut buf = BytesMut::from(&b"PUB a 10\r\n12345"[..]);
        assert_eq!(decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"67890\r");
        assert_eq!(decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"\n");
        let f = decode(&mut buf).unwrap().unwrap();
        assert_eq!(f.payload(), b"1234567890");
        assert!(buf.is_empty());
    }

    #[test]
    fn refuses_what_is_not_the_protocol() {
        assert!(all(b"PUB a\r\n").is_err());
        assert!(all(b"PUB a 3\r\nabcd\r\n").is_err());
        assert!(all(b"HPUB a 9 3\r\nabc\r\n").is_err());
        let mut buf = BytesMut::from(&vec![b'x'; MAX_CONTROL_LINE + 1][..]);
        assert!(decode(&mut buf).is_err());
        let mut huge = BytesMut::from(format!("PUB a {}\r\n", MAX_BODY + 1).as_bytes());
        assert!(decode(&mut huge).is_err());
    }

    #[test]
    fn a_changed_payload_gets_new_sizes() {
        let f = all(b"HMSG s 1 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")
            .unwrap()
            .remove(0);
        let g = f.with_payload(b"hello!");
        let mut out = BytesMut::new();
        g.encode(&mut out);
        assert_eq!(&out[..], b"HMSG s 1 r 12 18\r\nNATS/1.0\r\n\r\nhello!\r\n");
        let p = Frame::publish("_INBOX.9", b"{}");
        let mut out = BytesMut::new();
        p.encode(&mut out);
        assert_eq!(&out[..], b"PUB _INBOX.9 2\r\n{}\r\n");
    }

    #[test]
    fn subjects_match_like_nats() {
        assert!(subject_matches("a.b", "a.b"));
        assert!(!subject_matches("a.b", "a.b.c"));
        assert!(subject_matches("a.*", "a.b"));
        assert!(!subject_matches("a.*", "a.b.c"));
        assert!(subject_matches("a.>", "a.b.c"));
        assert!(!subject_matches("a.>", "a"));
        assert!(subject_matches(">", "x"));
        assert!(subject_matches(
            "wasmbus.evt.*.host_heartbeat",
            "wasmbus.evt.l1.host_heartbeat"
        ));
        assert!(!subject_matches("a.b", "a"));
    }

    proptest! {
        /// Any sequence of frames, cut into any pieces, decodes to the same frames and
        /// re-encodes to the same bytes.
        #[test]
        fn decoding_in_pieces_is_lossless(
            msgs in proptest::collection::vec(("[a-z]{1,8}(\\.[a-z]{1,8}){0,3}", proptest::collection::vec(any::<u8>(), 0..300), any::<bool>()), 1..20),
            cut in 1usize..64,
        ) {
            let mut wire = BytesMut::new();
            for (subject, payload, headers) in &msgs {
                if *headers {
                    let h = b"NATS/1.0\r\nk: v\r\n\r\n";
                    wire.extend_from_slice(format!("HMSG {subject} 3 {} {}\r\n", h.len(), h.len() + payload.len()).as_bytes());
                    wire.extend_from_slice(h);
                } else {
                    wire.extend_from_slice(format!("PUB {subject} {}\r\n", payload.len()).as_bytes());
                }
                wire.extend_from_slice(payload);
                wire.extend_from_slice(b"\r\n");
            }
            let mut buf = BytesMut::new();
            let mut frames = Vec::new();
            for chunk in wire.chunks(cut) {
                buf.extend_from_slice(chunk);
                while let Some(f) = decode(&mut buf).unwrap() {
                    frames.push(f);
                }
            }
            prop_assert!(buf.is_empty());
            prop_assert_eq!(frames.len(), msgs.len());
            let mut again = BytesMut::new();
            for (f, (subject, payload, _)) in frames.iter().zip(&msgs) {
                prop_assert_eq!(&f.subject, subject);
                prop_assert_eq!(f.payload(), &payload[..]);
                f.encode(&mut again);
            }
            prop_assert_eq!(&again[..], &wire[..]);
        }
    }
}
