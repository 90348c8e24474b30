//! A sidecar's TLS contexts, built once per configuration and reused for every connection, as
//! Envoy does: it builds a listener's or cluster's TLS context (`ServerContextImpl`,
//! `ClientContextImpl`, `source/common/tls/`) when the configuration or the SDS secret changes,
//! and every handshake reads the clock itself. Building one per connection — the provider, both
//! verifiers with their parsed trust anchors, the certificate resolver — cost meshsim more than
//! any other part of a fresh request besides the handshake (`benches/ratios.rs`).
//!
//! A context is memoized by a SHA-256 of everything it is built from except the clock
//! ([`SidecarTls::digest`] and the ALPN list or the upstream TLS). Each connection gets a
//! copy whose `TimeProvider` is the sidecar's clock, and the verifiers check validity at the time
//! rustls reads from it (`CheckTime::Handshake`), so a context kept across a clock jump still
//! checks expiry at the connection's time.

use std::sync::Arc;

use rustls::time_provider::TimeProvider;
use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::UnixTime;
use sha2::{Digest, Sha256};

use super::memo::Memo;
use super::tls_config::{
    build_client_tls, build_outside_server_config, build_server_config, ClientTls, TlsConfigError,
};
use super::tls_config::{SidecarTls, TlsDigest, UpstreamTls};
use crate::pki::WorkloadCert;
use crate::SimTime;

/// The clock a context reads at each handshake: the sidecar's virtual time.
#[derive(Debug)]
struct SidecarClock(SimTime);

impl TimeProvider for SidecarClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(self.0.to_unix_time())
    }
}

static SERVER: Memo<Arc<ServerConfig>> = Memo::new();
static CLIENT: Memo<Option<Arc<ClientTls>>> = Memo::new();
static OUTSIDE: Memo<Arc<ServerConfig>> = Memo::new();

/// The digest of a context's inputs: the sidecar's TLS (`digest`, without its clock), which
/// side, and what `more` adds.
fn context_key(digest: TlsDigest, side: &[u8], more: impl FnOnce(&mut Sha256)) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(side);
    h.update(digest.0);
    more(&mut h);
    h.finalize().into()
}

/// The inbound mTLS chain's context (see [`build_server_config`]) at the sidecar's clock.
pub(crate) fn server_context(
    tls: &SidecarTls,
    alpn: &[&str],
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let key = context_key(tls.digest(), b"server", |h| {
        for p in alpn {
            h.update(p.as_bytes());
            h.update([0]);
        }
    });
    let built = SERVER.get_or_try(key, || build_server_config(tls, alpn).map(Arc::new))?;
    let mut config = ServerConfig::clone(&built);
    config.time_provider = Arc::new(SidecarClock(tls.now));
    Ok(Arc::new(config))
}

/// The outbound context for `upstream` (see [`build_client_tls`]) at the sidecar's clock;
/// `Ok(None)` for plaintext.
pub(crate) fn client_context(
    tls: &SidecarTls,
    upstream: &UpstreamTls,
) -> Result<Option<ClientTls>, TlsConfigError> {
    let key = context_key(tls.digest(), b"client", |h| upstream.fingerprint(h));
    let built = CLIENT.get_or_try(key, || Ok(build_client_tls(tls, upstream)?.map(Arc::new)))?;
    Ok(built.map(|b| {
        let mut config = ClientConfig::clone(&b.config);
        config.time_provider = Arc::new(SidecarClock(tls.now));
        ClientTls {
            config: Arc::new(config),
            server_name: b.server_name.clone(),
        }
    }))
}

/// The context of a server outside the mesh presenting `cert` (see
/// [`build_outside_server_config`]) at the mesh's time `now`.
pub(crate) fn outside_server_context(
    cert: &WorkloadCert,
    now: SimTime,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let mut h = Sha256::new();
    h.update(b"outside");
    for c in &cert.chain {
        h.update(c.as_ref());
    }
    let built = OUTSIDE.get_or_try(h.finalize().into(), || {
        build_outside_server_config(cert).map(Arc::new)
    })?;
    let mut config = ServerConfig::clone(&built);
    config.time_provider = Arc::new(SidecarClock(now));
    Ok(Arc::new(config))
}
