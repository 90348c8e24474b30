//! Envoy's upstream connection pool: reusable connections per (source proxy, endpoint) — as
//! many as were open at once, since HTTP/1.1 carries one request per connection at a time — keyed
//! also by a *generation* — a hash of both sides' certificates, bundles and TLS settings — so a
//! change on either side forces a new handshake, while the clock moving does not (Envoy keeps
//! established connections when a certificate later expires). What is reused is the real stream:
//! the client's TLS session and the server sidecar's accepted TLS session, both kept open.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};

use super::exchange::{ClientSidecar, ServerSide};
use super::inbound::ServerConn;

/// Any byte stream the proxies use (duplex, TCP, TLS over either).
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A boxed stream.
pub(crate) type BoxIo = Box<dyn Io>;

/// One established, idle connection: both ends of the real stream.
pub(crate) struct Established {
    pub(crate) client: BoxIo,
    pub(crate) server: ServerConn,
    pub(crate) client_port: u16,
    /// Requests this connection has carried, for `max_requests_per_connection`.
    pub(crate) requests: u32,
}

/// Idle connections per (source proxy, endpoint), with their generation, oldest first.
#[derive(Default)]
pub struct ConnectionPool {
    idle: BTreeMap<(String, String), Vec<(String, Established)>>,
    next_port: u16,
    reused: u64,
    opened: u64,
}

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPool")
            .field("idle", &self.idle.keys().collect::<Vec<_>>())
            .field("reused", &self.reused)
            .field("opened", &self.opened)
            .finish()
    }
}

impl ConnectionPool {
    /// An empty pool.
    pub fn new() -> ConnectionPool {
        ConnectionPool::default()
    }

    /// Idle connections held.
    pub fn idle_connections(&self) -> usize {
        self.idle.values().map(Vec::len).sum()
    }

    /// Requests that went over a reused connection (no handshake).
    pub fn reused_requests(&self) -> u64 {
        self.reused
    }

    /// Connections opened (each one a TCP connect and, for TLS, a handshake attempt).
    pub fn opened_connections(&self) -> u64 {
        self.opened
    }

    /// Drops every idle connection (e.g. a proxy restart).
    pub fn clear(&mut self) {
        self.idle.clear();
    }

    /// Drops the idle connections of one source proxy.
    pub fn drain_source(&mut self, source: &str) {
        self.idle.retain(|(s, _), _| s != source);
    }

    /// A deterministic ephemeral port for the next connection.
    pub(crate) fn next_port(&mut self) -> u16 {
        let p = 40_000u16.wrapping_add(self.next_port % 20_000);
        self.next_port = self.next_port.wrapping_add(1);
        self.opened += 1;
        p
    }

    /// Takes the oldest idle connection for (source, endpoint) if its generation still matches;
    /// stale ones are closed.
    pub(crate) fn take(
        &mut self,
        source: &str,
        endpoint: &str,
        generation: &str,
    ) -> Option<Established> {
        let key = (source.to_string(), endpoint.to_string());
        let idle = self.idle.get_mut(&key)?;
        idle.retain(|(g, _)| g == generation);
        let conn = (!idle.is_empty()).then(|| idle.remove(0).1);
        if idle.is_empty() {
            self.idle.remove(&key);
        }
        if conn.is_some() {
            self.reused += 1;
        }
        conn
    }

    /// Returns a connection to the pool after a complete exchange, unless it has carried
    /// `max_requests` requests: Envoy then closes it (`max_requests_per_connection`,
    /// `envoy/source/common/http/conn_pool_base.cc`), so the next request opens a new one.
    pub(crate) fn put(
        &mut self,
        source: &str,
        endpoint: &str,
        generation: String,
        conn: Established,
        max_requests: Option<u32>,
    ) {
        if max_requests.is_some_and(|max| conn.requests >= max) {
            return;
        }
        self.idle
            .entry((source.to_string(), endpoint.to_string()))
            .or_default()
            .push((generation, conn));
    }
}

/// The generation of a (client sidecar, server) pair: a hash of everything that shapes the
/// connection except the clock; each sidecar's TLS enters by its `SidecarTls::digest`.
pub(crate) fn generation(client: &ClientSidecar, server: &ServerSide) -> String {
    let mut h = Sha256::new();
    h.update(client.tls.digest().0);
    client.upstream.fingerprint(&mut h);
    match server {
        ServerSide::NoSidecar {
            app,
            ip,
            port,
            certificate,
        } => {
            h.update(format!("nosidecar {app:?} {ip}:{port}").as_bytes());
            for c in certificate.iter().flat_map(|c| &c.chain) {
                h.update(c.as_ref());
            }
        }
        ServerSide::Sidecar(s) => {
            h.update(
                format!(
                    "sidecar {} {}:{} {:?} {:?} {:?}",
                    s.name, s.ip, s.port, s.mode, s.port_protocol, s.app
                )
                .as_bytes(),
            );
            h.update(s.tls.digest().0);
        }
    }
    hex::encode(&h.finalize()[..12])
}
