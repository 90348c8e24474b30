//! The entry point the mesh calls per request hop: who the client is (a sidecar with its TLS
//! context and upstream TLS choice, or a bare pod), who the server is (a sidecar with its
//! effective inbound mode, or a bare app), the request, and the authorization callback. It runs
//! the real connection on the caller's runtime and returns the Envoy-shaped [`Outcome`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::runtime::Runtime;

use super::app::App;
use super::circuit_breaker::{Admission, CircuitBreaker, ClusterLimits};
use super::http::request_bytes;
use super::outbound;
use super::pool::ConnectionPool;
use super::report::overflow_outcome;
use super::tls_config::{SidecarTls, UpstreamTls};
use crate::model::MtlsMode;
use crate::outcome::Outcome;
use crate::pki::WorkloadCert;
use crate::vocab::{sniffs_as_http, Egress, IstioProtocol, OutboundChain, PortProtocol, Status};

/// Upper bound on one exchange in real time; everything is in-process, so hitting it is a bug
/// in a peer's behaviour and is reported as `timeout`, never a hang.
pub(crate) const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the client application sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestProtocol {
    /// One HTTP/1.1 request.
    Http,
    /// Raw bytes, expecting them echoed.
    Tcp,
}

/// One request as the client application makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRequest {
    /// HTTP or raw TCP.
    pub protocol: RequestProtocol,
    /// HTTP method.
    pub method: String,
    /// HTTP path.
    pub path: String,
    /// `Host` / `:authority`, e.g. `httpbin.foo:8000`.
    pub authority: String,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// HTTP body, or the TCP payload.
    pub body: Vec<u8>,
}

impl AppRequest {
    /// `GET <path>` to `authority`, as curl sends it.
    pub fn http_get(authority: &str, path: &str) -> AppRequest {
        AppRequest {
            protocol: RequestProtocol::Http,
            method: "GET".into(),
            path: path.into(),
            authority: authority.into(),
            headers: vec![("user-agent".into(), "curl/8.5.0".into())],
            body: Vec::new(),
        }
    }

    /// A TCP exchange sending `payload`.
    pub fn tcp(authority: &str, payload: &[u8]) -> AppRequest {
        AppRequest {
            protocol: RequestProtocol::Tcp,
            method: String::new(),
            path: String::new(),
            authority: authority.into(),
            headers: Vec::new(),
            body: payload.to_vec(),
        }
    }

    /// The bytes the application writes: the HTTP/1.1 request (`Host` first, as curl sends
    /// it), or the TCP payload.
    pub fn wire_bytes(&self) -> Vec<u8> {
        match self.protocol {
            RequestProtocol::Http => {
                let headers = std::iter::once(("host", self.authority.as_str()))
                    .chain(self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                request_bytes(&self.method, &self.path, headers, &self.body)
            }
            RequestProtocol::Tcp => self.body.clone(),
        }
    }
}

/// HTTP attributes of a request, as the RBAC filter sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAttributes {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// `:authority`.
    pub host: String,
    /// Headers, names lowercased.
    pub headers: BTreeMap<String, String>,
}

/// What the destination sidecar's authorization sees (after the handshake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzInput {
    /// The peer principal `<td>/ns/<ns>/sa/<sa>` from the verified client certificate; `None`
    /// for plaintext.
    pub principal: Option<String>,
    /// Whether the connection is mutual TLS.
    pub mtls: bool,
    /// The target (workload) port.
    pub port: u16,
    /// The client's IP.
    pub source_ip: String,
    /// HTTP attributes, `None` on a TCP filter chain.
    pub http: Option<HttpAttributes>,
    /// The SNI of the client's ClientHello (`connection.sni`, Envoy's `requested_server_name`
    /// from the listener's `tls_inspector`); `None` for plaintext.
    pub sni: Option<String>,
}

/// The authorization decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthzVerdict {
    /// Let it through.
    Allow,
    /// Deny, with Envoy's response-code details, e.g.
    /// `rbac_access_denied_matched_policy[ns[foo]-policy[deny]-rule[0]]`.
    Deny {
        /// Response-code details.
        details: String,
    },
}

/// A client sidecar (the source pod's Envoy, outbound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSidecar {
    /// Proxy name, `<pod>.<ns>`; the pool key.
    pub name: String,
    /// Pod IP.
    pub ip: String,
    /// TLS material and parameters.
    pub tls: SidecarTls,
    /// Upstream TLS for this destination (DR or auto mTLS).
    pub upstream: UpstreamTls,
    /// Upstream cluster name, `outbound|<port>|<subset>|<fqdn>`.
    pub cluster: String,
    /// The destination port's protocol as istiod classifies it: which outbound listener the
    /// sidecar has for it.
    pub port_protocol: IstioProtocol,
    /// The cluster's connection-pool limits (DestinationRule `connectionPool`).
    pub limits: ClusterLimits,
    /// What the sidecar's Sidecar scope gives this destination port: its listener and the
    /// outbound traffic policy.
    pub egress: Egress,
}

impl ClientSidecar {
    /// The outbound filter chain `req` lands on: the listener's `http_inspector` reads the
    /// application's first bytes ([`sniffs_as_http`]) and [`OutboundChain::select_with`] picks
    /// the chain for this port and egress scope.
    pub fn outbound_chain(&self, req: &AppRequest) -> OutboundChain {
        OutboundChain::select_with(
            self.port_protocol,
            sniffs_as_http(&req.wire_bytes()),
            self.egress,
        )
    }
}

/// The source of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientSide {
    /// A pod without a sidecar: its bytes go straight to the destination.
    NoSidecar {
        /// Pod IP.
        ip: String,
    },
    /// A pod with a sidecar (boxed: it carries certificates).
    Sidecar(Box<ClientSidecar>),
}

/// A server sidecar (the destination pod's Envoy, inbound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSidecar {
    /// Proxy name, `<pod>.<ns>`.
    pub name: String,
    /// Pod IP.
    pub ip: String,
    /// Target (workload) port.
    pub port: u16,
    /// TLS material and parameters.
    pub tls: SidecarTls,
    /// Effective PeerAuthentication mode on the target port (UNSET counts as PERMISSIVE).
    pub mode: MtlsMode,
    /// Declared protocol of the port.
    pub port_protocol: PortProtocol,
    /// The application behind the sidecar.
    pub app: App,
}

/// The destination of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSide {
    /// A pod without a sidecar.
    NoSidecar {
        /// Pod IP (or the address of a server outside the mesh).
        ip: String,
        /// Target port.
        port: u16,
        /// The application.
        app: App,
        /// A server outside the mesh that terminates TLS itself on this port: its certificate.
        /// TLS that arrives is terminated (one-way: no client certificate is requested, as a
        /// public HTTPS server); plaintext HTTP gets an HTTPS server's `400`, other plaintext a
        /// closed connection. `None`: the application takes the bytes as they arrive.
        certificate: Option<Box<WorkloadCert>>,
    },
    /// A pod with a sidecar (boxed: it carries certificates).
    Sidecar(Box<ServerSidecar>),
}

impl ServerSide {
    /// `ip:port` of the endpoint (the pool key).
    pub fn endpoint(&self) -> String {
        match self {
            ServerSide::NoSidecar { ip, port, .. } => format!("{ip}:{port}"),
            ServerSide::Sidecar(s) => format!("{}:{}", s.ip, s.port),
        }
    }
}

/// A current-thread runtime for the data path (timers and I/O enabled).
pub fn data_path_runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Sends one request from `client` to `server` over a real in-process connection (reused from
/// `pool` when possible) and reports what every party saw. Synchronous: it runs the async
/// handshake and exchange on `rt`, which must have timers enabled (use [`data_path_runtime`]).
/// `now` is the mesh time stamped on access-log lines; each sidecar verifies at its own
/// `SidecarTls::now`. Several attempts (retries) append one server log line each.
pub fn exchange(
    rt: &Runtime,
    client: &ClientSide,
    server: &ServerSide,
    req: &AppRequest,
    authz: &dyn Fn(AuthzInput) -> AuthzVerdict,
    pool: &mut ConnectionPool,
    now: crate::SimTime,
) -> Outcome {
    let shared = RefCell::new(std::mem::take(pool));
    let outcome = rt.block_on(exchange_in(client, server, req, authz, &shared, now));
    *pool = shared.into_inner();
    outcome
}

/// One request of a wave: its client, the endpoint it was balanced to, and that endpoint's
/// authorization.
pub(crate) struct Hop<'a> {
    /// The source (the same for every hop of a wave).
    pub(crate) client: ClientSide,
    /// The endpoint.
    pub(crate) server: ServerSide,
    /// The endpoint sidecar's RBAC decision.
    pub(crate) authz: Box<dyn Fn(AuthzInput) -> AuthzVerdict + 'a>,
}

/// Sends a wave of requests that the application issues at the same instant and runs them
/// concurrently on `rt`: the client sidecar's [`CircuitBreaker`] admits them in order (the rest
/// are `503 UO`), admitted requests share the cluster's connection slots (one request per
/// HTTP/1.1 connection at a time; the others wait as pending), and each runs its real exchange.
/// One outcome per hop, in order.
pub(crate) fn exchange_wave(
    rt: &Runtime,
    hops: &[Hop<'_>],
    req: &AppRequest,
    pool: &mut ConnectionPool,
    now: crate::SimTime,
) -> Vec<Outcome> {
    let sidecar = hops.iter().find_map(|h| match &h.client {
        ClientSide::Sidecar(c) => Some((c.limits, c.outbound_chain(req))),
        ClientSide::NoSidecar { .. } => None,
    });
    let mut breaker = sidecar.map(|(limits, chain)| (CircuitBreaker::new(&limits, chain), chain));
    let admitted: Vec<bool> = hops
        .iter()
        .map(|_| match &mut breaker {
            Some((b, _)) => matches!(b.arrive(), Admission::Admitted),
            None => true,
        })
        .collect();
    let shared = RefCell::new(std::mem::take(pool));
    let breaker = breaker.as_ref();
    let runs = hops.iter().zip(admitted).map(|(hop, admitted)| {
        let shared = &shared;
        async move {
            if !admitted {
                return overflow_outcome(breaker.map_or(OutboundChain::Http, |(_, c)| *c));
            }
            let _slot = match breaker {
                Some((b, _)) => b.connection().await,
                None => None,
            };
            exchange_in(&hop.client, &hop.server, req, &*hop.authz, shared, now).await
        }
    });
    let outcomes = rt.block_on(join_all(runs));
    *pool = shared.into_inner();
    outcomes
}

/// One exchange, bounded by [`EXCHANGE_TIMEOUT`].
async fn exchange_in(
    client: &ClientSide,
    server: &ServerSide,
    req: &AppRequest,
    authz: &dyn Fn(AuthzInput) -> AuthzVerdict,
    pool: &RefCell<ConnectionPool>,
    now: crate::SimTime,
) -> Outcome {
    match tokio::time::timeout(
        EXCHANGE_TIMEOUT,
        // Boxed, so a wave's futures are small to collect and move.
        Box::pin(outbound::run(client, server, req, authz, pool, now)),
    )
    .await
    {
        Ok(outcome) => outcome,
        Err(_) => Outcome::with_status(Status::Timeout),
    }
}
