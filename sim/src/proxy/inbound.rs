//! The server sidecar (inbound listener): filter-chain selection from the first bytes per the
//! effective mTLS mode and port protocol (istio-semantics §2, `filterchain_options.go`), the mTLS
//! handshake with a required client certificate, then authorization and the application over
//! the HTTP connection manager or the TCP proxy.

use std::cell::RefCell;
use std::convert::Infallible;

use rustls_pki_types::CertificateDer;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use super::access_log::{field_or_dash, AccessLog};
use super::exchange::{AuthzInput, AuthzVerdict, HttpAttributes, ServerSide, ServerSidecar};
use super::http::{read_request, HttpResponse, ReadError};
use super::inspector::{inspect, FirstBytes, Rewind};
use super::memo::Memo;
use super::pool::BoxIo;
use super::recent::Recent;
use super::tls_config::{TlsConfigError, ISTIO_SERVER_ALPN};
use super::tls_context::{outside_server_context, server_context};
use super::tls_error::{rustls_error, TlsFailure, TlsStat};
use super::verifier::subject_alt_names;
use crate::model::MtlsMode;
use crate::outcome::TlsStats;
use crate::pki::WorkloadCert;
use crate::vocab::details::{FILTER_CHAIN_NOT_FOUND, HTTP1_CODEC_ERROR, VIA_UPSTREAM};
use crate::vocab::spiffe::without_scheme;
use crate::vocab::{inbound_cluster, sniffs_as_http, PortProtocol, ResponseFlag};
use crate::SimTime;

/// Which filter chain a connection landed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chain {
    /// HTTP connection manager (RBAC per request, XFCC, local replies).
    Http,
    /// TCP proxy (network RBAC once per connection, bytes forwarded).
    Tcp,
    /// No sidecar on the destination: bytes go to the application as they are.
    Raw,
}

/// The verified client identity of an mTLS connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peer {
    /// `spiffe://...` URI SAN.
    pub(crate) uri: Option<String>,
    /// SHA-256 of the leaf certificate (XFCC `Hash`).
    pub(crate) cert_hash: String,
}

impl Peer {
    /// The identity of a verified client leaf. Its URI SAN is parsed once per certificate,
    /// memoized by the leaf's SHA-256 (the XFCC `Hash`), as Envoy reads a peer certificate once
    /// per connection rather than per request; the hash of the leaves this thread saw last is
    /// kept too ([`Recent`]), since consecutive connections present the same leaf.
    fn of_leaf(leaf: &CertificateDer<'_>) -> Peer {
        static URIS: Memo<Option<String>> = Memo::new();
        thread_local! {
            static HASHES: RefCell<Recent<Vec<u8>, [u8; 32]>> = const { RefCell::new(Recent::new()) };
        }
        let der = leaf.as_ref();
        let hash = HASHES.with(|h| {
            h.borrow_mut().get_or_insert(
                |seen| seen.as_slice() == der,
                || der.to_vec(),
                || Sha256::digest(der).into(),
            )
        });
        let uri = URIS.get_or_try(hash, || {
            Ok::<_, Infallible>(
                subject_alt_names(leaf)
                    .ok()
                    .and_then(|v| v.into_iter().find(|u| u.starts_with("spiffe://"))),
            )
        });
        Peer {
            uri: uri.unwrap_or_else(|never| match never {}),
            cert_hash: hex::encode(hash),
        }
    }

    /// The principal without the scheme.
    pub(crate) fn principal(&self) -> Option<String> {
        self.uri.as_deref().map(|u| without_scheme(u).to_string())
    }
}

/// An accepted inbound connection, ready for application bytes.
pub(crate) struct ServerConn {
    pub(crate) io: BoxIo,
    pub(crate) chain: Chain,
    pub(crate) peer: Option<Peer>,
    pub(crate) sni: Option<String>,
}

/// What the destination proxy saw over one exchange.
#[derive(Debug, Default)]
pub(crate) struct ServerView {
    pub(crate) log_lines: Vec<String>,
    pub(crate) stats: TlsStats,
    pub(crate) tls_failure: Option<TlsFailure>,
    /// A listener failure that is not a TLS error (e.g. `Secret is not supplied by SDS`).
    pub(crate) proxy_error: Option<String>,
    /// Set when the server sidecar answered itself (RBAC 403, codec 400): its details.
    pub(crate) local_reply_details: Option<String>,
    pub(crate) principal: Option<String>,
    pub(crate) mtls: bool,
}

/// The destination and the request's surroundings.
pub(crate) struct Inbound<'a> {
    pub(crate) server: &'a ServerSide,
    pub(crate) authz: &'a dyn Fn(AuthzInput) -> AuthzVerdict,
    pub(crate) now: SimTime,
    pub(crate) src_ip: String,
    pub(crate) src_port: u16,
}

impl Inbound<'_> {
    fn log(&self, s: &ServerSidecar) -> AccessLog {
        let mut l = AccessLog::new(self.now);
        l.downstream_local = format!("{}:{}", s.ip, s.port).into();
        l.downstream_remote = format!("{}:{}", self.src_ip, self.src_port).into();
        l
    }

    /// Runs the listener on a new connection: inspect, pick a chain, terminate TLS if the chain
    /// does. `None` when the connection was closed by the listener (reason recorded in `view`).
    pub(crate) async fn accept(&self, io: BoxIo, view: &mut ServerView) -> Option<ServerConn> {
        let s = match self.server {
            ServerSide::NoSidecar {
                certificate: Some(cert),
                ..
            } => return self.terminate_outside_tls(cert, io).await,
            ServerSide::NoSidecar { .. } => {
                return Some(ServerConn {
                    io,
                    chain: Chain::Raw,
                    peer: None,
                    sni: None,
                })
            }
            ServerSide::Sidecar(s) => s,
        };
        let (first, rewind) = inspect(io).await.ok()?;
        let plain_chain = |peeked: &[u8]| chain_for(s.port_protocol, peeked);
        let sni = match &first {
            FirstBytes::Tls { sni, .. } => sni.clone(),
            _ => None,
        };
        let mode = match s.mode {
            MtlsMode::Unset => MtlsMode::Permissive,
            m => m,
        };
        let is_tls = matches!(first, FirstBytes::Tls { .. });
        match (mode, &first) {
            (_, FirstBytes::Empty) => None,
            (MtlsMode::Strict, FirstBytes::Plaintext) => {
                self.no_filter_chain(s, view);
                None
            }
            (MtlsMode::Strict, FirstBytes::Tls { .. }) => {
                self.terminate_mtls(s, &first, rewind, view).await
            }
            (MtlsMode::Permissive, FirstBytes::Tls { .. }) if first.has_istio_alpn() => {
                self.terminate_mtls(s, &first, rewind, view).await
            }
            // Non-Istio TLS in PERMISSIVE: no chain on HTTP ports; TCP/auto ports have a TCP
            // proxy chain that passes it through without terminating it (RBAC still applies,
            // with no peer identity).
            (MtlsMode::Permissive, FirstBytes::Tls { .. }) => match s.port_protocol {
                PortProtocol::Http => {
                    self.no_filter_chain(s, view);
                    None
                }
                _ => Some(conn(rewind, Chain::Tcp, None, sni)),
            },
            // DISABLE has only raw_buffer chains: TLS bytes hit the HTTP codec on HTTP ports
            // and go to the TCP chain on TCP/auto ports (TestInbound "tls → auto: ok").
            (_, _) if is_tls => match s.port_protocol {
                PortProtocol::Http => Some(conn(rewind, Chain::Http, None, sni)),
                _ => Some(conn(rewind, Chain::Tcp, None, sni)),
            },
            (_, _) => {
                let chain = plain_chain(rewind.peeked());
                Some(conn(rewind, chain, None, None))
            }
        }
    }

    /// A server outside the mesh that speaks TLS ([`crate::policy::OutsideTls::Terminates`]):
    /// it terminates TLS that arrives (one-way, its own certificate). Plaintext HTTP gets the
    /// `400` nginx, Apache httpd and Go's `net/http` answer on an HTTPS port (Go's text), other
    /// plaintext a closed connection. A failed handshake closes the connection and the client
    /// reports why (the server is no proxy: it keeps no stats and writes no access log).
    async fn terminate_outside_tls(&self, cert: &WorkloadCert, io: BoxIo) -> Option<ServerConn> {
        let (first, mut rewind) = inspect(io).await.ok()?;
        let FirstBytes::Tls { sni, .. } = first else {
            if sniffs_as_http(rewind.peeked()) {
                let answer = HttpResponse::new(
                    400,
                    "text/plain; charset=utf-8",
                    b"Client sent an HTTP request to an HTTPS server.\n".to_vec(),
                );
                // The server closes after its answer; a write error means the client left.
                let _ = rewind.write_all(&answer.to_bytes()).await;
                let _ = rewind.shutdown().await;
            }
            return None;
        };
        let config = outside_server_context(cert, self.now).ok()?;
        let tls = TlsAcceptor::from(config).accept(rewind).await.ok()?;
        Some(ServerConn {
            io: Box::new(tls),
            chain: Chain::Raw,
            peer: None,
            sni,
        })
    }

    fn no_filter_chain(&self, s: &ServerSidecar, view: &mut ServerView) {
        view.stats.no_filter_chain_match += 1;
        let mut l = self.log(s);
        l.flags = vec![ResponseFlag::NoRouteFound];
        l.details = FILTER_CHAIN_NOT_FOUND.into();
        view.log_lines.push(l.render());
    }

    async fn terminate_mtls(
        &self,
        s: &ServerSidecar,
        first: &FirstBytes,
        rewind: Rewind<BoxIo>,
        view: &mut ServerView,
    ) -> Option<ServerConn> {
        let (offered, sni) = match first {
            FirstBytes::Tls { alpn, sni } => (alpn.clone(), sni.clone()),
            _ => (Vec::new(), None),
        };
        // Envoy never fails a handshake over ALPN; negotiate only when there is an overlap.
        let alpn: &[&str] = if offered
            .iter()
            .any(|p| ISTIO_SERVER_ALPN.contains(&p.as_str()))
        {
            ISTIO_SERVER_ALPN
        } else {
            &[]
        };
        // A failed downstream handshake writes no access-log line: Istio's listener-level access
        // log is filtered to `NR`, and the HTTP/TCP filters never see the connection. The
        // server's view is its SSL stats and its own (debug) log reason.
        let config = match server_context(&s.tls, alpn) {
            Ok(c) => c,
            Err(e) => {
                // No SDS certificate (or an unusable one): the chain cannot serve TLS, the
                // connection is closed before any handshake message is sent.
                if e != TlsConfigError::NoCertificate {
                    view.stats.connection_error += 1;
                }
                view.proxy_error = Some(e.to_string());
                return None;
            }
        };
        match TlsAcceptor::from(config).accept(rewind).await {
            Ok(tls) => {
                view.stats.handshake += 1;
                view.mtls = true;
                let peer = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(Peer::of_leaf);
                view.principal = peer.as_ref().and_then(Peer::principal);
                let io: BoxIo = Box::new(tls);
                let (chain, io) = match s.port_protocol {
                    PortProtocol::Auto => sniff_http(io).await,
                    declared => (chain_for(declared, &[]), io),
                };
                Some(ServerConn {
                    io,
                    chain,
                    peer,
                    sni,
                })
            }
            Err(e) => {
                if let Some(f) = rustls_error(&e).map(TlsFailure::from_rustls) {
                    match f.stat {
                        TlsStat::ConnectionError => view.stats.connection_error += 1,
                        TlsStat::FailVerifyError => view.stats.fail_verify_error += 1,
                        TlsStat::FailVerifySan => view.stats.fail_verify_san += 1,
                        TlsStat::FailVerifyNoCert => view.stats.fail_verify_no_cert += 1,
                    }
                    view.tls_failure = Some(f);
                }
                None
            }
        }
    }

    /// Serves application traffic on an accepted connection: one request on the HTTP chain
    /// (returns whether the connection stays open), or the whole connection otherwise.
    pub(crate) async fn serve(&self, c: &mut ServerConn, view: &mut ServerView) -> bool {
        if let Some(peer) = &c.peer {
            view.mtls = true;
            view.principal = peer.principal();
        }
        match self.server {
            ServerSide::NoSidecar { app, .. } => {
                app.serve_raw(&mut c.io).await;
                false
            }
            ServerSide::Sidecar(s) => match c.chain {
                Chain::Raw => {
                    s.app.serve_raw(&mut c.io).await;
                    false
                }
                Chain::Tcp => self.serve_tcp(s, c, view).await,
                Chain::Http => self.serve_http(s, c, view).await,
            },
        }
    }

    fn authz_input(&self, s: &ServerSidecar, c: &ServerConn) -> AuthzInput {
        AuthzInput {
            principal: c.peer.as_ref().and_then(Peer::principal),
            mtls: c.peer.is_some(),
            port: s.port,
            source_ip: self.src_ip.clone(),
            http: None,
            sni: c.sni.clone(),
        }
    }

    async fn serve_tcp(
        &self,
        s: &ServerSidecar,
        c: &mut ServerConn,
        view: &mut ServerView,
    ) -> bool {
        let mut line = self.log(s);
        line.sni = field_or_dash(c.sni.as_deref());
        line.upstream_cluster = inbound_cluster(s.port).into();
        if let AuthzVerdict::Deny { details } = (self.authz)(self.authz_input(s, c)) {
            // The network RBAC filter closes the connection without flushing.
            line.termination = details.clone().into();
            view.local_reply_details = Some(details);
            view.log_lines.push(line.render());
            return false;
        }
        let (rx, tx) = s.app.serve_raw(&mut c.io).await;
        line.bytes_received = rx;
        line.bytes_sent = tx;
        line.upstream_host = format!("{}:{}", s.ip, s.port).into();
        line.upstream_local = "127.0.0.6:0".into();
        view.log_lines.push(line.render());
        false
    }

    async fn serve_http(
        &self,
        s: &ServerSidecar,
        c: &mut ServerConn,
        view: &mut ServerView,
    ) -> bool {
        let mut line = self.log(s);
        line.sni = field_or_dash(c.sni.as_deref());
        line.upstream_cluster = inbound_cluster(s.port).into();
        let req = match read_request(&mut c.io).await {
            Ok(r) => r,
            Err(ReadError::Malformed(_)) => {
                // Envoy's codec rejects the bytes with a local 400 and closes.
                let resp = HttpResponse::new(400, "text/plain", b"Bad Request".to_vec());
                let _ = c.io.write_all(&resp.to_bytes()).await;
                let _ = c.io.shutdown().await;
                line.code = 400;
                line.flags = vec![ResponseFlag::DownstreamProtocolError];
                line.details = HTTP1_CODEC_ERROR.into();
                line.bytes_sent = resp.body.len();
                view.local_reply_details = Some(HTTP1_CODEC_ERROR.into());
                view.log_lines.push(line.render());
                return false;
            }
            Err(_) => return false,
        };
        line.request = Some((req.method.clone(), req.path.clone(), "HTTP/1.1".into()));
        line.authority = field_or_dash(req.header("host"));
        line.user_agent = field_or_dash(req.header("user-agent"));
        line.request_id = field_or_dash(req.header("x-request-id"));
        line.bytes_received = req.body.len();
        line.route = "default".into();
        let mut input = self.authz_input(s, c);
        input.http = Some(HttpAttributes {
            method: req.method.clone(),
            path: req.path.clone(),
            host: line.authority.to_string(),
            headers: req
                .headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
        });
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let resp = match (self.authz)(input) {
            AuthzVerdict::Deny { details } => {
                line.details = details.clone().into();
                view.local_reply_details = Some(details);
                HttpResponse::new(403, "text/plain", b"RBAC: access denied".to_vec())
            }
            AuthzVerdict::Allow => {
                // The request goes on to the application as the sidecar forwards it.
                let mut forwarded = req;
                forwarded
                    .headers
                    .retain(|(k, _)| !k.eq_ignore_ascii_case("x-forwarded-client-cert"));
                forwarded
                    .headers
                    .push(("x-forwarded-proto".into(), "http".into()));
                if let Some(xfcc) = self.xfcc(s, c) {
                    forwarded
                        .headers
                        .push(("x-forwarded-client-cert".into(), xfcc));
                }
                let mut resp = s.app.answer(&forwarded);
                resp.headers
                    .push(("x-envoy-upstream-service-time".into(), "0".into()));
                line.details = VIA_UPSTREAM.into();
                line.upstream_host = format!("{}:{}", s.ip, s.port).into();
                line.upstream_local = "127.0.0.6:0".into();
                line.upstream_service_time = "0".into();
                resp
            }
        };
        line.code = resp.status;
        line.bytes_sent = resp.body.len();
        view.log_lines.push(line.render());
        let mut resp = resp;
        if close {
            resp.headers.push(("connection".into(), "close".into()));
        }
        let written = c.io.write_all(&resp.to_bytes()).await.is_ok() && c.io.flush().await.is_ok();
        if close {
            let _ = c.io.shutdown().await;
        }
        written && !close
    }

    /// `X-Forwarded-Client-Cert` as Istio configures it (`APPEND_FORWARD`, hash + subject +
    /// URI): `By=<own URI>;Hash=<peer leaf sha256>;Subject="";URI=<peer URI>`.
    fn xfcc(&self, s: &ServerSidecar, c: &ServerConn) -> Option<String> {
        let peer = c.peer.as_ref()?;
        let by = s
            .tls
            .cert
            .as_ref()
            .and_then(|w| w.spiffe.as_ref())
            .map(|id| id.to_string())
            .unwrap_or_default();
        Some(format!(
            "By={by};Hash={};Subject=\"\";URI={}",
            peer.cert_hash,
            peer.uri.clone().unwrap_or_default()
        ))
    }
}

fn conn(io: Rewind<BoxIo>, chain: Chain, peer: Option<Peer>, sni: Option<String>) -> ServerConn {
    ServerConn {
        io: Box::new(io),
        chain,
        peer,
        sni,
    }
}

/// The chain a port's connection lands on given its first plaintext (or decrypted) bytes:
/// [`PortProtocol::serves_http`] over the `http_inspector`'s verdict.
fn chain_for(port: PortProtocol, first: &[u8]) -> Chain {
    if port.serves_http(sniffs_as_http(first)) {
        Chain::Http
    } else {
        Chain::Tcp
    }
}

/// Envoy's `http_inspector` on an auto-detected port after TLS termination: the HTTP chain if
/// the first decrypted bytes sniff as HTTP, else the TCP chain.
async fn sniff_http(mut io: BoxIo) -> (Chain, BoxIo) {
    let mut buf = vec![0u8; 4096];
    let n = io.read(&mut buf).await.unwrap_or(0);
    buf.truncate(n);
    let chain = chain_for(PortProtocol::Auto, &buf);
    (chain, Box::new(Rewind::new(buf, io)))
}

/// Serves one accepted TCP stream as the given server would, until it closes (used by real
/// listeners such as the openssl interop test). Returns the server's view.
pub async fn serve_stream<S>(
    server: &ServerSide,
    authz: &dyn Fn(AuthzInput) -> AuthzVerdict,
    now: SimTime,
    peer_addr: std::net::SocketAddr,
    stream: S,
) -> (Vec<String>, TlsStats, Option<String>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let inbound = Inbound {
        server,
        authz,
        now,
        src_ip: peer_addr.ip().to_string(),
        src_port: peer_addr.port(),
    };
    let mut view = ServerView::default();
    if let Some(mut c) = inbound.accept(Box::new(stream), &mut view).await {
        while inbound.serve(&mut c, &mut view).await {}
    }
    (
        view.log_lines,
        view.stats,
        view.tls_failure.map(|f| f.reason.to_string()),
    )
}
