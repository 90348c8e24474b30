//! Envoy's vocabulary for what a hop produced: the 503 bodies, response flags and details of
//! connect failures and resets, the outcome of a response or a TCP echo, and the outbound
//! access-log line.

use super::access_log::AccessLog;
use super::exchange::{AppRequest, ClientSidecar, ServerSide};
use super::http::HttpResponse;
use super::inbound::ServerView;
use super::tls_config::TlsConfigError;
use super::tls_error::TlsFailure;
use crate::outcome::Outcome;
use crate::vocab::details::{
    remote_connection_failure, upstream_reset_before_response_started, CONNECT_REFUSED,
    DIRECT_RESPONSE, HTTP1_CODEC_ERROR, NO_HEALTHY_UPSTREAM, VIA_UPSTREAM,
};
use crate::vocab::{OutboundChain, ResponseFlag, Status, PASSTHROUGH_CLUSTER};
use crate::SimTime;

/// Envoy's 503 body prefix.
const UPSTREAM_ERROR: &str = "upstream connect error or disconnect/reset before headers.";

/// Why a connection attempt failed.
#[derive(Clone)]
pub(super) enum ConnectFailure {
    /// A TLS error, local or an alert received.
    Tls(TlsFailure),
    /// Closed during the handshake without a TLS error.
    Closed,
    /// The TLS context could not be built (e.g. no SDS certificate).
    Config(TlsConfigError),
    /// The TCP connect was refused (`ECONNREFUSED`), e.g. by kube-proxy for a ClusterIP without
    /// endpoints.
    Refused,
}

/// 503 for a reset after connecting (`UC` connection termination, `UPE` protocol error).
pub(super) fn upstream_reset(reason: &str, flag: ResponseFlag) -> Outcome {
    let mut out = Outcome::with_status(Status::Http(503));
    out.response_flags = vec![flag];
    out.body = format!("{UPSTREAM_ERROR} reset reason: {reason}");
    out.details = upstream_reset_before_response_started(reason);
    out
}

/// What a sidecar client reports after every connection attempt failed.
pub(super) fn connect_failure_outcome(f: &ConnectFailure, attempts: usize, http: bool) -> Outcome {
    let transport = transport_reason(f);
    let mut flags = vec![ResponseFlag::UpstreamConnectionFailure];
    if attempts > 1 {
        flags.push(ResponseFlag::UpstreamRetryLimitExceeded);
    }
    let mut out = Outcome::with_status(if http {
        Status::Http(503)
    } else {
        Status::Reset
    });
    out.response_flags = flags;
    if let ConnectFailure::Tls(t) = f {
        out.tls_error = Some(t.reason.to_string());
    }
    let retried = if attempts > 1 {
        "retried and the latest "
    } else {
        ""
    };
    let transport_part = transport
        .as_ref()
        .map(|t| format!(", transport failure reason: {t}"))
        .unwrap_or_default();
    if http {
        out.body = format!(
            "{UPSTREAM_ERROR} {retried}reset reason: remote connection failure{transport_part}"
        );
    }
    out.details = remote_connection_failure(transport.as_deref());
    out
}

/// `%UPSTREAM_TRANSPORT_FAILURE_REASON%` of a failed connect.
pub(super) fn transport_reason(f: &ConnectFailure) -> Option<String> {
    match f {
        ConnectFailure::Tls(t) => Some(t.envoy_string()),
        ConnectFailure::Config(e) => Some(e.to_string()),
        ConnectFailure::Closed => None,
        ConnectFailure::Refused => Some(CONNECT_REFUSED.to_string()),
    }
}

/// The outcome of an HTTP response, with the deciding proxy's details.
pub(super) fn response_outcome(resp: &HttpResponse, view: &ServerView) -> Outcome {
    let mut out = Outcome::with_status(Status::Http(resp.status));
    out.body = String::from_utf8_lossy(&resp.body).into_owned();
    out.details = view
        .local_reply_details
        .clone()
        .unwrap_or_else(|| VIA_UPSTREAM.to_string());
    out
}

/// A TCP exchange: the echo counts as 200; anything else is what came back, or a reset.
pub(super) fn echo_outcome(req: &AppRequest, bytes: &[u8]) -> Outcome {
    if !bytes.is_empty() && bytes == req.body.as_slice() {
        let mut out = Outcome::with_status(Status::Http(200));
        out.body = String::from_utf8_lossy(bytes).into_owned();
        out.details = VIA_UPSTREAM.into();
        return out;
    }
    let status = std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| t.strip_prefix("HTTP/1.1 "))
        .and_then(|t| t.get(..3))
        .and_then(|c| c.parse::<u16>().ok())
        .map(Status::Http)
        .unwrap_or(Status::Reset);
    let mut out = Outcome::with_status(status);
    out.body = String::from_utf8_lossy(bytes).into_owned();
    out
}

/// Copies the server's logs, stats and identity view into the outcome.
pub(super) fn finish_server_view(out: &mut Outcome, server: &ServerSide, view: ServerView) {
    out.mtls = view.mtls;
    out.peer_principal = view.principal.clone();
    if let ServerSide::Sidecar(_) = server {
        if !view.log_lines.is_empty() {
            out.server_log = Some(view.log_lines.join("\n"));
        }
        out.stats.insert("server".into(), view.stats);
    }
    out.server_tls_error = view
        .tls_failure
        .map(|f| f.reason.to_string())
        .or(view.proxy_error);
}

/// The client sidecar's outbound access-log line for a request on `chain`: the HCM logs the
/// request line, `tcp_proxy` does not.
#[allow(clippy::too_many_arguments)]
pub(super) fn client_log(
    c: &ClientSidecar,
    chain: OutboundChain,
    server: &ServerSide,
    req: &AppRequest,
    out: &Outcome,
    now: SimTime,
    port: u16,
    upstream_failure: Option<&str>,
) -> String {
    let mut l = AccessLog::new(now);
    // DPE on the client's outcome is its own codec's: nothing was parsed or routed.
    let parsed = !out
        .response_flags
        .contains(&ResponseFlag::DownstreamProtocolError);
    if chain.is_http() && parsed {
        request_fields(&mut l, req, chain);
    }
    // `tcp_proxy` sets no response code, so `%RESPONSE_CODE%` prints 0 whatever bytes came back
    // (Envoy `source/common/formatter/stream_info_formatter.cc`, `RESPONSE_CODE`).
    l.code = match (chain, out.status) {
        (chain, Status::Http(c)) if chain.is_http() => c,
        _ => 0,
    };
    l.flags = out.response_flags.clone();
    // A response the upstream sent (even the destination's own 403 or 400) is proxied as it
    // came: the router records `via_upstream` (Envoy `source/common/router/upstream_request.cc`,
    // `UpstreamRequest::decodeHeaders`), and the deciding proxy's reason is in the destination's
    // line only. Local replies (UF, UO, UH, NR, DPE...) carry a flag.
    let proxied = matches!(chain, OutboundChain::Http | OutboundChain::HttpPassthrough)
        && parsed
        && out.response_flags.is_empty()
        && matches!(out.status, Status::Http(_));
    l.details = if proxied {
        VIA_UPSTREAM.into()
    } else if out.details.is_empty() {
        "-".into()
    } else {
        out.details.clone().into()
    };
    if let Some(t) = upstream_failure {
        l.upstream_failure = t.to_string().into();
    }
    l.bytes_received = match chain {
        OutboundChain::Http | OutboundChain::HttpPassthrough | OutboundChain::HttpBlackHole => {
            req.body.len()
        }
        OutboundChain::Tcp | OutboundChain::Passthrough | OutboundChain::BlackHole => {
            req.wire_bytes().len()
        }
    };
    l.bytes_sent = out.body.len();
    l.downstream_local = server.endpoint().into();
    l.downstream_remote = format!("{}:{}", c.ip, port.wrapping_add(20_000)).into();
    if !parsed {
        // The codec answered before any route or upstream was chosen.
        return l.render();
    }
    match chain {
        // A direct response has no route entry, so no upstream cluster or host.
        OutboundChain::HttpBlackHole => {}
        // `BlackHoleCluster` has no host to connect to.
        OutboundChain::BlackHole => {
            l.upstream_cluster = chain.cluster(&c.cluster).to_string().into();
        }
        _ => {
            l.upstream_host = server.endpoint().into();
            l.upstream_cluster = chain.cluster(&c.cluster).to_string().into();
            l.upstream_local = format!("{}:{port}", c.ip).into();
        }
    }
    l.render()
}

/// What the HCM logs of a request it parsed on `chain`: the request line, `:authority`,
/// `User-Agent`, and the route.
fn request_fields(l: &mut AccessLog, req: &AppRequest, chain: OutboundChain) {
    l.request = Some((req.method.clone(), req.path.clone(), "HTTP/1.1".into()));
    l.authority = req.authority.clone().into();
    l.user_agent = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map_or_else(|| "-".into(), |(_, v)| v.clone().into());
    // The catch-all virtual hosts' routes are named for the policy (`util.Passthrough`,
    // `util.BlackHole`, `pilot/pkg/networking/util/util.go`).
    l.route = match chain {
        OutboundChain::HttpPassthrough => "allow_any",
        OutboundChain::HttpBlackHole => "block_all",
        _ => "default",
    }
    .into();
}

/// Bytes the client sidecar's HTTP/1 codec cannot parse: its own `400 Bad Request`, details
/// `http1.codec_error`, flag `DPE` (`ServerConnectionImpl::sendProtocolError`,
/// `ConnectionManagerImpl::handleCodecError`).
pub(super) fn codec_error_outcome() -> Outcome {
    let mut out = Outcome::with_status(Status::Http(400));
    out.response_flags = vec![ResponseFlag::DownstreamProtocolError];
    out.body = "Bad Request".into();
    out.details = HTTP1_CODEC_ERROR.into();
    out
}

/// A request the client sidecar's circuit breaker rejected (connection-pool limits): `503 UO`
/// from the HCM; on a TCP chain `tcp_proxy` closes the connection (`UO` in its access log).
pub(crate) fn overflow_outcome(chain: OutboundChain) -> Outcome {
    match chain {
        OutboundChain::Tcp | OutboundChain::BlackHole => {
            let mut out = Outcome::with_status(Status::Reset);
            out.response_flags = vec![ResponseFlag::UpstreamOverflow];
            out
        }
        OutboundChain::Http
        | OutboundChain::Passthrough
        | OutboundChain::HttpPassthrough
        | OutboundChain::HttpBlackHole => {
            upstream_reset("overflow", ResponseFlag::UpstreamOverflow)
        }
    }
}

/// `block_all`'s direct response: `502`, no body, details `direct_response`, no flag (Envoy
/// `Router::Filter::decodeHeaders` answers a `direct_response` route itself).
pub(crate) fn block_all_outcome() -> Outcome {
    let mut out = Outcome::with_status(Status::Http(502));
    out.details = DIRECT_RESPONSE.into();
    out
}

/// `tcp_proxy` to `BlackHoleCluster`, a cluster without hosts: the connection is closed with
/// `UH` (Envoy `TcpProxy::Filter::initializeUpstreamConnection`, `NoHealthyUpstream`).
pub(crate) fn black_hole_outcome() -> Outcome {
    let mut out = Outcome::with_status(Status::Reset);
    out.response_flags = vec![ResponseFlag::NoHealthyUpstream];
    out
}

/// `PassthroughCluster` (ORIGINAL_DST) dialling the ClusterIP of a Service without endpoints:
/// kube-proxy rejects the connection (its `REJECT` rule for a Service with no endpoints answers
/// ICMP port unreachable), so the one connect attempt fails with `UF` (the `allow_any` route
/// has no retry policy, `buildCatchAllVirtualHost`): `503` on the HTTP chain, a closed
/// connection on `tcp_proxy`.
///
/// The client sidecar logs the attempt: the `allow_any` route (HTTP) or the passthrough chain's
/// `tcp_proxy`, cluster `PassthroughCluster`, upstream host the ClusterIP it dialled.
pub(crate) fn passthrough_refused_outcome(
    chain: OutboundChain,
    req: &AppRequest,
    cluster_ip: &str,
    port: u16,
    now: SimTime,
) -> Outcome {
    let http = chain.is_http();
    let mut out = connect_failure_outcome(&ConnectFailure::Refused, 1, http);
    let mut l = AccessLog::new(now);
    if http {
        request_fields(&mut l, req, chain);
        l.code = 503;
    }
    l.flags = out.response_flags.clone();
    l.details = out.details.clone().into();
    l.upstream_failure = CONNECT_REFUSED.into();
    l.bytes_sent = out.body.len();
    l.upstream_host = format!("{cluster_ip}:{port}").into();
    l.upstream_cluster = PASSTHROUGH_CLUSTER.into();
    out.client_log = Some(l.render());
    out
}

/// A request to a cluster with no ready endpoints: `503 UH`, body `no healthy upstream`.
pub(crate) fn no_healthy_upstream_outcome() -> Outcome {
    let mut out = Outcome::with_status(Status::Http(503));
    out.response_flags = vec![ResponseFlag::NoHealthyUpstream];
    out.body = "no healthy upstream".into();
    out.details = NO_HEALTHY_UPSTREAM.into();
    out
}
