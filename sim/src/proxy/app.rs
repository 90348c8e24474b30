//! The application behind a sidecar: an httpbin-like HTTP server or a TCP echo server, both
//! speaking real bytes on the stream they are given.

use std::collections::BTreeMap;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::http::{read_request, HttpRequest, HttpResponse, ReadError};

/// What listens on the workload port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum App {
    /// httpbin: `/status/<code>` answers that code, anything else 200 with the request headers
    /// as JSON (`{"headers": {...}}`, like httpbin's `/headers`).
    Httpbin,
    /// Echoes every byte until the peer half-closes.
    TcpEcho,
}

impl App {
    /// The HTTP answer to one request (the TCP echo app echoes the body).
    pub fn answer(self, req: &HttpRequest) -> HttpResponse {
        match self {
            App::TcpEcho => HttpResponse::new(200, "application/octet-stream", req.body.clone()),
            App::Httpbin => {
                if let Some(code) = req
                    .path
                    .strip_prefix("/status/")
                    .and_then(|c| c.parse::<u16>().ok())
                    .filter(|c| (200..=599).contains(c))
                {
                    return HttpResponse::new(code, "text/plain", Vec::new());
                }
                // Serialized straight from the map (serde_json's own `Map` is sorted too, so
                // the bytes are those of `json!({"headers": ..})` without building a `Value`).
                #[derive(serde::Serialize)]
                struct Echo<'a> {
                    headers: BTreeMap<String, &'a str>,
                }
                let headers = req
                    .headers
                    .iter()
                    .map(|(k, v)| (title_case(k), v.as_str()))
                    .collect();
                let body = serde_json::to_vec(&Echo { headers }).unwrap_or_default();
                HttpResponse::new(200, "application/json", body)
            }
        }
    }

    /// Serves a raw connection (TCP chain, passthrough, or no sidecar) until the peer closes;
    /// returns (bytes received, bytes sent).
    pub async fn serve_raw<S: AsyncRead + AsyncWrite + Unpin>(self, io: &mut S) -> (usize, usize) {
        let (mut rx, mut tx) = (0, 0);
        match self {
            App::TcpEcho => {
                let mut buf = [0u8; 4096];
                loop {
                    match io.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            rx += n;
                            if io.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                            tx += n;
                        }
                    }
                }
            }
            App::Httpbin => loop {
                match read_request(io).await {
                    Ok(req) => {
                        rx += req.body.len();
                        let resp = self.answer(&req);
                        tx += resp.body.len();
                        if io.write_all(&resp.to_bytes()).await.is_err() {
                            break;
                        }
                    }
                    Err(ReadError::Malformed(_)) => {
                        let resp = HttpResponse::new(400, "text/plain", b"Bad Request".to_vec());
                        let _ = io.write_all(&resp.to_bytes()).await;
                        break;
                    }
                    Err(_) => break,
                }
            },
        }
        let _ = io.flush().await;
        let _ = io.shutdown().await;
        (rx, tx)
    }
}

/// httpbin prints header names in canonical Title-Case.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut start = true;
    for c in name.chars() {
        out.push(if start {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        start = c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn httpbin_echoes_headers_title_cased_and_sorted_as_json() {
        let req = HttpRequest {
            method: "GET".into(),
            path: "/headers".into(),
            headers: vec![
                ("x-forwarded-client-cert".into(), "By=a;Hash=b".into()),
                ("host".into(), "httpbin.foo:8000".into()),
                ("USER-agent".into(), "curl/8.5.0".into()),
                ("x-b3--sampled".into(), "1".into()),
            ],
            body: Vec::new(),
        };
        let resp = App::Httpbin.answer(&req);
        assert_eq!(resp.status, 200);
        assert_eq!(
            String::from_utf8(resp.body).unwrap(),
            r#"{"headers":{"Host":"httpbin.foo:8000","User-Agent":"curl/8.5.0","X-B3--Sampled":"1","X-Forwarded-Client-Cert":"By=a;Hash=b"}}"#
        );
    }

    #[test]
    fn httpbin_status_path_answers_that_code_with_no_body() {
        let req = HttpRequest {
            method: "GET".into(),
            path: "/status/418".into(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let resp = App::Httpbin.answer(&req);
        assert_eq!((resp.status, resp.body.len()), (418, 0));
    }
}
