//! Envoy's `tls_inspector` listener filter: peek at a connection's first bytes to tell a TLS
//! ClientHello (with its SNI and ALPN) from plaintext, then hand the *same* bytes on to whichever
//! filter chain matched, via [`Rewind`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// TLS record content type `handshake`.
const HANDSHAKE: u8 = 0x16;
/// Largest plaintext record plus its header.
const MAX_RECORD: usize = 16_384 + 5;

/// What the first bytes of a connection are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FirstBytes {
    /// The peer closed before sending anything.
    Empty,
    /// Not a TLS handshake record (`raw_buffer`).
    Plaintext,
    /// A TLS ClientHello.
    Tls {
        /// Server name indication, if sent.
        sni: Option<String>,
        /// ALPN protocols offered, in order.
        alpn: Vec<String>,
    },
}

impl FirstBytes {
    /// True when the ClientHello offers one of Istio's ALPN values (`istio`,
    /// `istio-peer-exchange`, `istio-http/*`, `istio-h2`), which selects the mTLS chain in
    /// PERMISSIVE mode (`filterchain_options.go`).
    pub(crate) fn has_istio_alpn(&self) -> bool {
        match self {
            FirstBytes::Tls { alpn, .. } => alpn.iter().any(|p| p.starts_with("istio")),
            _ => false,
        }
    }
}

/// A stream that first replays bytes already read from it.
#[derive(Debug)]
pub(crate) struct Rewind<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Rewind<S> {
    /// Replays `prefix`, then reads from `inner`.
    pub(crate) fn new(prefix: Vec<u8>, inner: S) -> Self {
        Rewind {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<S> Rewind<S> {
    /// The bytes read ahead (and still to be replayed from the start).
    pub(crate) fn peeked(&self) -> &[u8] {
        &self.prefix
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pos < self.prefix.len() {
            let n = (self.prefix.len() - self.pos).min(buf.remaining());
            let start = self.pos;
            buf.put_slice(&self.prefix[start..start + n]);
            self.pos += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Reads just enough of the connection to classify it, and returns a stream that replays it.
pub(crate) async fn inspect<S: AsyncRead + Unpin>(
    mut stream: S,
) -> io::Result<(FirstBytes, Rewind<S>)> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Ok((FirstBytes::Empty, Rewind::new(buf, stream)));
    }
    buf.extend_from_slice(&chunk[..n]);
    if buf[0] != HANDSHAKE {
        return Ok((FirstBytes::Plaintext, Rewind::new(buf, stream)));
    }
    // Read the whole first record: a ClientHello fits in one.
    loop {
        let want = if buf.len() >= 5 {
            5 + usize::from(u16::from_be_bytes([buf[3], buf[4]]))
        } else {
            5
        };
        if buf.len() >= want.min(MAX_RECORD) {
            break;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let first = match parse_client_hello(&buf) {
        Some((sni, alpn)) => FirstBytes::Tls { sni, alpn },
        None => FirstBytes::Plaintext,
    };
    Ok((first, Rewind::new(buf, stream)))
}

/// A bounds-checked reader over a byte slice.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }
}

/// SNI and ALPN of a ClientHello record; `None` if it is not one.
fn parse_client_hello(record: &[u8]) -> Option<(Option<String>, Vec<String>)> {
    let mut rec = Cursor(record);
    if rec.u8()? != usize::from(HANDSHAKE) {
        return None;
    }
    rec.take(2)?; // legacy record version
    let body = rec.vec16()?;
    let mut hs = Cursor(body);
    if hs.u8()? != 1 {
        return None; // not client_hello
    }
    let len = hs.take(3)?;
    let len = (usize::from(len[0]) << 16) | (usize::from(len[1]) << 8) | usize::from(len[2]);
    let mut ch = Cursor(hs.take(len.min(hs.0.len()))?);
    ch.take(2 + 32)?; // client_version, random
    ch.vec8()?; // session id
    ch.vec16()?; // cipher suites
    ch.vec8()?; // compression methods
    let mut sni = None;
    let mut alpn = Vec::new();
    let Some(exts) = ch.vec16() else {
        return Some((sni, alpn));
    };
    let mut exts = Cursor(exts);
    while let (Some(ty), Some(data)) = (exts.u16(), exts.vec16()) {
        let mut d = Cursor(data);
        match ty {
            0 => {
                let mut list = Cursor(d.vec16()?);
                while let (Some(kind), Some(name)) = (list.u8(), list.vec16()) {
                    if kind == 0 {
                        sni = Some(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
            16 => {
                let mut list = Cursor(d.vec16()?);
                while let Some(p) = list.vec8() {
                    alpn.push(String::from_utf8_lossy(p).into_owned());
                }
            }
            _ => {}
        }
    }
    Some((sni, alpn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_http_is_not_tls() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (first, mut rest) = rt
            .block_on(inspect(&b"GET / HTTP/1.1\r\n\r\n"[..]))
            .unwrap();
        assert_eq!(first, FirstBytes::Plaintext);
        let mut replay = Vec::new();
        rt.block_on(rest.read_to_end(&mut replay)).unwrap();
        assert_eq!(replay, b"GET / HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn garbage_after_handshake_byte_is_not_a_client_hello() {
        assert_eq!(parse_client_hello(&[0x16, 3, 1, 0, 2, 9, 9]), None);
    }
}
