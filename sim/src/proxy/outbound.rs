//! The client side of a hop: a bare pod writing straight to the destination, or a client sidecar
//! (outbound cluster) that reuses a pooled connection or opens new ones — with Istio's default
//! retry policy making up to three real connection attempts on connect failure — and turns what
//! happened into Envoy's status, flags, details and body.

use std::cell::RefCell;

use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_rustls::TlsConnector;

use super::exchange::{
    AppRequest, AuthzInput, AuthzVerdict, ClientSide, ClientSidecar, RequestProtocol, ServerSide,
};
use super::http::{read_request, read_response, HttpResponse, ReadError};
use super::inbound::{Inbound, ServerConn, ServerView};

use super::pool::{generation, BoxIo, ConnectionPool, Established};
use super::report::{
    black_hole_outcome, block_all_outcome, client_log, codec_error_outcome,
    connect_failure_outcome, echo_outcome, finish_server_view, response_outcome, transport_reason,
    upstream_reset, ConnectFailure,
};
use super::tls_config::{ClientTls, TlsConfigError, UpstreamTls};
use super::tls_context::client_context;
use super::tls_error::{rustls_error, TlsFailure, TlsStat};
use crate::outcome::{Outcome, TlsStats};
use crate::vocab::{OutboundChain, ResponseFlag, Status};
use crate::SimTime;

/// In-process socket buffer size.
const SOCKET_BUFFER: usize = 64 * 1024;

/// Istio's default route retry policy: `connect-failure` retried twice (`retry.go`).
const HTTP_CONNECT_ATTEMPTS: usize = 3;

/// How one connection attempt ended, from the client's side.
enum AttemptResult {
    /// An HTTP response arrived.
    Response(HttpResponse),
    /// TCP: the bytes that came back before the server closed.
    Echo(Vec<u8>),
    /// The connection never became usable (TLS failure or closed during the handshake).
    ConnectFailure(ConnectFailure),
    /// Connected, then closed/reset before a response (`UC`).
    Terminated,
    /// Connected, but the answer was not HTTP (`UPE`).
    ProtocolError,
}

/// The client's half of an attempt; `io` is kept for pooling.
struct ClientAttempt {
    result: AttemptResult,
    io: Option<BoxIo>,
}

/// Runs one request from `client` to `server`.
pub(crate) async fn run(
    client: &ClientSide,
    server: &ServerSide,
    req: &AppRequest,
    authz: &dyn Fn(AuthzInput) -> AuthzVerdict,
    pool: &RefCell<ConnectionPool>,
    now: SimTime,
) -> Outcome {
    match client {
        ClientSide::NoSidecar { ip } => direct(ip, server, req, authz, pool, now).await,
        ClientSide::Sidecar(c) => via_sidecar(c, server, req, authz, pool, now).await,
    }
}

/// A pod without a sidecar: the application's own bytes, one connection per request.
async fn direct(
    ip: &str,
    server: &ServerSide,
    req: &AppRequest,
    authz: &dyn Fn(AuthzInput) -> AuthzVerdict,
    pool: &RefCell<ConnectionPool>,
    now: SimTime,
) -> Outcome {
    let port = pool.borrow_mut().next_port();
    let (cio, sio) = duplex(SOCKET_BUFFER);
    let inbound = Inbound {
        server,
        authz,
        now,
        src_ip: ip.to_string(),
        src_port: port,
    };
    let mut view = ServerView::default();
    let server_fut = async {
        if let Some(mut c) = inbound.accept(Box::new(sio), &mut view).await {
            while inbound.serve(&mut c, &mut view).await {}
        }
    };
    let client_fut = async {
        let mut io: BoxIo = Box::new(cio);
        app_exchange(&mut io, req, false).await
    };
    let (result, ()) = tokio::join!(client_fut, server_fut);
    let mut out = match result {
        AttemptResult::Response(resp) => response_outcome(&resp, &view),
        AttemptResult::Echo(bytes) => echo_outcome(req, &bytes),
        _ => Outcome::with_status(Status::Reset),
    };
    // A reset, or an answer that is not the echo: the server sidecar's own reply says why.
    if out.details.is_empty() {
        if let Some(d) = &view.local_reply_details {
            out.details = d.clone();
        }
    }
    if let ServerSide::NoSidecar { .. } = server {
        // No proxy on either side: there are no response-code details to report.
        out.details.clear();
    }
    finish_server_view(&mut out, server, view);
    out
}

/// Writes the request and reads the answer over an established stream. `tls` marks a stream
/// whose handshake the client already completed: a TLS error read afterwards (a TLS 1.3 server
/// rejecting the client certificate after the client's Finished) is still a connect failure.
async fn app_exchange(io: &mut BoxIo, req: &AppRequest, tls: bool) -> AttemptResult {
    let tls_failure = |e: &std::io::Error| {
        rustls_error(e)
            .filter(|_| tls)
            .map(|r| AttemptResult::ConnectFailure(ConnectFailure::Tls(TlsFailure::from_rustls(r))))
    };
    match req.protocol {
        RequestProtocol::Http => {
            if let Err(e) = io.write_all(&req.wire_bytes()).await {
                return tls_failure(&e).unwrap_or(AttemptResult::Terminated);
            }
            let _ = io.flush().await;
            match read_response(io).await {
                Ok(resp) => AttemptResult::Response(resp),
                Err(ReadError::Io(e)) => tls_failure(&e).unwrap_or(AttemptResult::Terminated),
                Err(ReadError::Malformed(_)) => AttemptResult::ProtocolError,
                Err(ReadError::Eof | ReadError::Truncated) => AttemptResult::Terminated,
            }
        }
        RequestProtocol::Tcp => {
            if let Err(e) = io.write_all(&req.body).await {
                return tls_failure(&e).unwrap_or(AttemptResult::Terminated);
            }
            let _ = io.shutdown().await;
            let mut back = Vec::new();
            match io.read_to_end(&mut back).await {
                Ok(_) => AttemptResult::Echo(back),
                Err(e) => match tls_failure(&e) {
                    Some(f) if back.is_empty() => f,
                    _ => AttemptResult::Echo(back),
                },
            }
        }
    }
}

/// Connects (TLS or plaintext) and runs the request.
async fn client_attempt(
    tls: &Result<Option<ClientTls>, TlsConfigError>,
    io: DuplexStream,
    req: &AppRequest,
    stats: &mut TlsStats,
) -> ClientAttempt {
    let fail = |f: ConnectFailure| ClientAttempt {
        result: AttemptResult::ConnectFailure(f),
        io: None,
    };
    let (mut io, is_tls): (BoxIo, bool) = match tls {
        Err(e) => return fail(ConnectFailure::Config(e.clone())),
        Ok(None) => (Box::new(io), false),
        Ok(Some(ct)) => {
            let connector = TlsConnector::from(ct.config.clone());
            match connector.connect(ct.server_name.clone(), io).await {
                Ok(s) => {
                    stats.handshake += 1;
                    (Box::new(s), true)
                }
                Err(e) => {
                    return fail(match rustls_error(&e) {
                        Some(r) => ConnectFailure::Tls(TlsFailure::from_rustls(r)),
                        None => ConnectFailure::Closed,
                    })
                }
            }
        }
    };
    let result = app_exchange(&mut io, req, is_tls).await;
    ClientAttempt {
        result,
        io: Some(io),
    }
}

fn count(stats: &mut TlsStats, f: &TlsFailure) {
    match f.stat {
        TlsStat::ConnectionError => stats.connection_error += 1,
        TlsStat::FailVerifyError => stats.fail_verify_error += 1,
        TlsStat::FailVerifySan => stats.fail_verify_san += 1,
        TlsStat::FailVerifyNoCert => stats.fail_verify_no_cert += 1,
    }
}

/// Drives the client and server halves of one connection together. When the client is done
/// the server gets a few more polls to finish its response bookkeeping; if it is still waiting
/// (TCP chain or passthrough, reading until EOF), the client's stream is closed so it can end.
async fn drive<S>(
    client: impl std::future::Future<Output = ClientAttempt>,
    server: S,
) -> (ClientAttempt, Option<Option<ServerConn>>)
where
    S: std::future::Future<Output = Option<ServerConn>>,
{
    tokio::pin!(client);
    tokio::pin!(server);
    let mut server_out = None;
    let mut attempt = loop {
        tokio::select! {
            biased;
            out = &mut server, if server_out.is_none() => server_out = Some(out),
            out = &mut client => break out,
        }
    };
    if server_out.is_none() {
        for _ in 0..16 {
            tokio::select! {
                biased;
                out = &mut server => { server_out = Some(out); break; }
                _ = tokio::task::yield_now() => {}
            }
        }
    }
    if server_out.is_none() {
        attempt.io = None;
        server_out = Some(server.await);
    }
    (attempt, server_out)
}

/// A client sidecar: pooled connection if one is idle and current, else up to three attempts.
async fn via_sidecar(
    c: &ClientSidecar,
    server: &ServerSide,
    req: &AppRequest,
    authz: &dyn Fn(AuthzInput) -> AuthzVerdict,
    pool: &RefCell<ConnectionPool>,
    now: SimTime,
) -> Outcome {
    let endpoint = server.endpoint();
    let gen = generation(c, server);
    let chain = c.outbound_chain(req);
    let http = chain.is_http();
    let mut client_stats = TlsStats::default();
    // Answered inside the pod: the HCM's own codec error, `block_all`'s direct response,
    // `BlackHoleCluster`'s closed connection.
    let local = |out: Outcome| {
        let mut out = out;
        out.client_log = Some(client_log(c, chain, server, req, &out, now, 0, None));
        out.stats.insert("client".into(), TlsStats::default());
        out
    };

    if http {
        // The client HCM's own HTTP/1 codec reads the application's bytes first; what it
        // cannot parse never leaves the pod.
        let wire = req.wire_bytes();
        if let Err(ReadError::Malformed(_)) = read_request(&mut wire.as_slice()).await {
            return local(codec_error_outcome());
        }
    }
    match chain {
        OutboundChain::HttpBlackHole => return local(block_all_outcome()),
        OutboundChain::BlackHole => return local(black_hole_outcome()),
        OutboundChain::Http => {
            if let Some(out) = reuse_pooled(c, server, req, authz, pool, now, &gen).await {
                return out;
            }
        }
        _ => {}
    }

    let mut view = ServerView::default();
    // `PassthroughCluster` has no transport socket: the bytes leave in plaintext, whatever
    // the service's DestinationRule or auto mTLS would have chosen.
    let upstream = if chain.is_passthrough() {
        &UpstreamTls::Plaintext
    } else {
        &c.upstream
    };
    let tls = client_context(&c.tls, upstream);
    // The catch-all `allow_any` route carries no retry policy (`buildCatchAllVirtualHost`).
    let attempts = if chain == OutboundChain::Http {
        HTTP_CONNECT_ATTEMPTS
    } else {
        1
    };
    let mut last_failure = None;
    let mut last_port = 0;
    for _ in 0..attempts {
        let port = pool.borrow_mut().next_port();
        last_port = port;
        let (cio, sio) = duplex(SOCKET_BUFFER);
        let inbound = Inbound {
            server,
            authz,
            now,
            src_ip: c.ip.clone(),
            src_port: port,
        };
        let view_ref = &mut view;
        let inbound_ref = &inbound;
        let server_fut = async move {
            let mut conn = inbound_ref.accept(Box::new(sio), view_ref).await?;
            if http {
                if inbound_ref.serve(&mut conn, view_ref).await {
                    return Some(conn);
                }
            } else {
                while inbound_ref.serve(&mut conn, view_ref).await {}
            }
            None
        };
        // Boxed: both hold a TLS handshake's state, which would otherwise be copied into
        // every future that awaits them (`memmove` was a visible share of a fresh request).
        let client_fut = Box::pin(client_attempt(&tls, cio, req, &mut client_stats));
        let (attempt, server_out) = drive(client_fut, Box::pin(server_fut)).await;
        match attempt.result {
            AttemptResult::ConnectFailure(f) => {
                let f = match f {
                    ConnectFailure::Tls(t) => {
                        count(&mut client_stats, &t);
                        ConnectFailure::Tls(t.seen_from_boringssl(negotiates_tls12(c, server)))
                    }
                    other => other,
                };
                last_failure = Some(f);
                continue;
            }
            result => {
                let mut out = connected_outcome(&result, req, &view, http);
                if let (Some(io), Some(Some(server_conn))) = (attempt.io, server_out) {
                    if chain == OutboundChain::Http && matches!(result, AttemptResult::Response(_))
                    {
                        pool.borrow_mut().put(
                            &c.name,
                            &endpoint,
                            gen.clone(),
                            Established {
                                client: io,
                                server: server_conn,
                                client_port: port,
                                requests: 1,
                            },
                            c.limits.max_requests_per_connection,
                        );
                    }
                }
                out.client_log = Some(client_log(c, chain, server, req, &out, now, port, None));
                out.stats.insert("client".into(), client_stats);
                finish_server_view(&mut out, server, view);
                return out;
            }
        }
    }

    let failure = last_failure.unwrap_or(ConnectFailure::Closed);
    let mut out = connect_failure_outcome(&failure, attempts, http);
    let transport = transport_reason(&failure);
    out.client_log = Some(client_log(
        c,
        chain,
        server,
        req,
        &out,
        now,
        last_port,
        transport.as_deref(),
    ));
    out.stats.insert("client".into(), client_stats);
    finish_server_view(&mut out, server, view);
    out
}

/// Sends an HTTP request over the idle pooled connection, if there is a current one. `None`
/// when there is none or it turned out unusable (Envoy then opens a new connection).
async fn reuse_pooled(
    c: &ClientSidecar,
    server: &ServerSide,
    req: &AppRequest,
    authz: &dyn Fn(AuthzInput) -> AuthzVerdict,
    pool: &RefCell<ConnectionPool>,
    now: SimTime,
    gen: &str,
) -> Option<Outcome> {
    let endpoint = server.endpoint();
    let mut est = pool.borrow_mut().take(&c.name, &endpoint, gen)?;
    est.requests += 1;
    let inbound = Inbound {
        server,
        authz,
        now,
        src_ip: c.ip.clone(),
        src_port: est.client_port,
    };
    let mut view = ServerView::default();
    let (result, keep) = tokio::join!(
        app_exchange(&mut est.client, req, false),
        inbound.serve(&mut est.server, &mut view)
    );
    let AttemptResult::Response(resp) = &result else {
        return None;
    };
    let mut out = response_outcome(resp, &view);
    out.client_log = Some(client_log(
        c,
        OutboundChain::Http,
        server,
        req,
        &out,
        now,
        est.client_port,
        None,
    ));
    if keep {
        pool.borrow_mut().put(
            &c.name,
            &endpoint,
            gen.to_string(),
            est,
            c.limits.max_requests_per_connection,
        );
    }
    // A reused connection performs no handshake.
    out.stats.insert("client".into(), TlsStats::default());
    finish_server_view(&mut out, server, view);
    Some(out)
}

/// The outcome of an attempt whose connection was established.
fn connected_outcome(
    result: &AttemptResult,
    req: &AppRequest,
    view: &ServerView,
    http: bool,
) -> Outcome {
    let reset = || {
        let mut o = Outcome::with_status(Status::Reset);
        if let Some(d) = &view.local_reply_details {
            o.details = d.clone();
        }
        o
    };
    match result {
        AttemptResult::Response(resp) => response_outcome(resp, view),
        AttemptResult::Echo(bytes) => {
            let mut o = echo_outcome(req, bytes);
            match o.status {
                Status::Reset => reset(),
                // An HTTP answer to bytes that were not an echo: the deciding proxy's own reply
                // (a codec 400 behind a TCP chain) carries its details.
                Status::Http(_) if o.details.is_empty() => {
                    o.details = view.local_reply_details.clone().unwrap_or_default();
                    o
                }
                _ => o,
            }
        }
        AttemptResult::Terminated if http => upstream_reset(
            "connection termination",
            ResponseFlag::UpstreamConnectionTermination,
        ),
        AttemptResult::ProtocolError if http => {
            upstream_reset("protocol error", ResponseFlag::UpstreamProtocolError)
        }
        _ => reset(),
    }
}

/// Whether the two sidecars' version ranges meet only at TLS 1.2 (the server picks the highest
/// common version).
fn negotiates_tls12(c: &ClientSidecar, server: &ServerSide) -> bool {
    use crate::model::TlsVersion;
    let ServerSide::Sidecar(s) = server else {
        return false;
    };
    crate::tls_params::common_version(&c.tls.params, &s.tls.params) == Some(TlsVersion::Tls12)
}
