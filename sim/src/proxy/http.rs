//! A minimal HTTP/1.1 codec (request line / status line, headers, `content-length` bodies) —
//! enough for real plaintext bytes to reach, or fail at, each listener. Like Envoy's codec it
//! rejects a message as soon as its first bytes cannot start one, so TLS bytes sent to a
//! plaintext HTTP port fail at once (`http1.codec_error`) instead of waiting for a blank line.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest header block accepted (Envoy's default `max_request_headers_kb` is 60).
const MAX_HEAD: usize = 60 * 1024;

/// How much one read asks for; reads go straight into the message's buffer (no zeroed chunk
/// on the future's stack).
const READ_CHUNK: usize = 4096;

/// An HTTP/1.1 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method, e.g. `GET`.
    pub method: String,
    /// Request target, e.g. `/headers`.
    pub path: String,
    /// Headers in arrival order (names as sent).
    pub headers: Vec<(String, String)>,
    /// Body (`content-length` bytes).
    pub body: Vec<u8>,
}

/// An HTTP/1.1 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// Why reading a message failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The peer closed before sending a byte.
    #[error("the peer closed before sending a byte")]
    Eof,
    /// The peer closed in the middle of a message.
    #[error("the peer closed in the middle of a message")]
    Truncated,
    /// The bytes are not HTTP/1.1 (Envoy: `http1.codec_error`).
    #[error("not HTTP/1.1: {0}")]
    Malformed(String),
    /// Transport error (for TLS streams this carries the rustls error).
    #[error(transparent)]
    Io(io::Error),
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl HttpRequest {
    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The wire bytes, with `content-length` when there is a body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let headers = self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        request_bytes(&self.method, &self.path, headers, &self.body)
    }
}

impl HttpResponse {
    /// A response with a body and `content-length` / `content-type`.
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("content-length".into(), body.len().to_string()),
            ],
            body,
        }
    }

    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.body.len());
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(reason_phrase(self.status).as_bytes());
        out.extend_from_slice(b"\r\n");
        for (k, v) in &self.headers {
            push_header(&mut out, k, v);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// The bytes of a request: request line, `headers` in order, `content-length` when there is a
/// body and no header gives it, a blank line, the body. Written in place: a request is
/// serialized several times on its way (sniffing, the client's codec, the wire, the access log).
pub(crate) fn request_bytes<'h>(
    method: &str,
    path: &str,
    headers: impl Iterator<Item = (&'h str, &'h str)>,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut has_length = false;
    for (k, v) in headers {
        has_length |= k.eq_ignore_ascii_case("content-length");
        push_header(&mut out, k, v);
    }
    if !body.is_empty() && !has_length {
        push_header(&mut out, "content-length", &body.len().to_string());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The standard reason phrase.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        418 => "I'm a teapot",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Can `prefix` still begin a request line (`METHOD SP`)?
fn plausible_request(prefix: &[u8]) -> bool {
    for (i, b) in prefix.iter().enumerate() {
        match b {
            b'A'..=b'Z' | b'-' | b'_' if i < 20 => {}
            b' ' if i > 0 => return true,
            _ => return false,
        }
    }
    true
}

/// Can `prefix` still begin a status line?
fn plausible_response(prefix: &[u8]) -> bool {
    let n = prefix.len().min(5);
    prefix[..n] == b"HTTP/"[..n]
}

/// Reads the head (up to the blank line) and any bytes after it.
async fn read_head<S: AsyncRead + Unpin>(
    s: &mut S,
    plausible: fn(&[u8]) -> bool,
) -> Result<(String, Vec<u8>), ReadError> {
    let mut buf = Vec::with_capacity(READ_CHUNK);
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end].to_vec())
                .map_err(|_| ReadError::Malformed("header block is not UTF-8".into()))?;
            return Ok((head, buf[end + 4..].to_vec()));
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Malformed("header block too large".into()));
        }
        buf.reserve(READ_CHUNK);
        let n = s.read_buf(&mut buf).await.map_err(ReadError::Io)?;
        if n == 0 {
            return Err(if buf.is_empty() {
                ReadError::Eof
            } else {
                ReadError::Truncated
            });
        }
        if !plausible(&buf) {
            return Err(ReadError::Malformed(
                "first bytes are not an HTTP/1.1 message".into(),
            ));
        }
    }
}

fn parse_headers<'a>(
    lines: impl Iterator<Item = &'a str>,
) -> Result<Vec<(String, String)>, ReadError> {
    lines
        .map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| ReadError::Malformed(format!("bad header line {l:?}")))
        })
        .collect()
}

async fn read_body<S: AsyncRead + Unpin>(
    s: &mut S,
    mut body: Vec<u8>,
    headers: &[(String, String)],
) -> Result<Vec<u8>, ReadError> {
    let len = match header(headers, "content-length") {
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ReadError::Malformed(format!("bad content-length {v:?}")))?,
        None => 0,
    };
    while body.len() < len {
        body.reserve(READ_CHUNK);
        let n = s.read_buf(&mut body).await.map_err(ReadError::Io)?;
        if n == 0 {
            return Err(ReadError::Truncated);
        }
    }
    body.truncate(len);
    Ok(body)
}

/// Reads one request.
pub(crate) async fn read_request<S: AsyncRead + Unpin>(
    s: &mut S,
) -> Result<HttpRequest, ReadError> {
    let (head, rest) = read_head(s, plausible_request).await?;
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, path, version] = parts.as_slice() else {
        return Err(ReadError::Malformed(format!("bad request line {line:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Malformed(format!(
            "unsupported version {version:?}"
        )));
    }
    let headers = parse_headers(lines)?;
    let body = read_body(s, rest, &headers).await?;
    Ok(HttpRequest {
        method: (*method).to_string(),
        path: (*path).to_string(),
        headers,
        body,
    })
}

/// Reads one response.
pub(crate) async fn read_response<S: AsyncRead + Unpin>(
    s: &mut S,
) -> Result<HttpResponse, ReadError> {
    let (head, rest) = read_head(s, plausible_response).await?;
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| ReadError::Malformed(format!("bad status line {line:?}")))?;
    let headers = parse_headers(lines)?;
    let body = read_body(s, rest, &headers).await?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn request_round_trips_through_the_wire_format() {
        let req = HttpRequest {
            method: "POST".into(),
            path: "/post".into(),
            headers: vec![("Host".into(), "httpbin.foo:8000".into())],
            body: b"hi".to_vec(),
        };
        let bytes = req.to_bytes();
        let got = block(read_request(&mut &bytes[..])).unwrap();
        assert_eq!(got.path, "/post");
        assert_eq!(got.body, b"hi");
        assert_eq!(got.header("host"), Some("httpbin.foo:8000"));
    }

    #[test]
    fn tls_client_hello_is_rejected_as_http_immediately() {
        let hello = [0x16u8, 3, 1, 0, 200, 1, 0, 0];
        assert!(matches!(
            block(read_request(&mut &hello[..])),
            Err(ReadError::Malformed(_))
        ));
    }
}
