//! A sidecar's parsed certificate and key, kept per credential rather than rebuilt per
//! connection. Loading a PKCS#8 key into rustls (`CertifiedKey::from_der`: ring parses the key,
//! recomputes its public key — a P-256 scalar multiplication — and checks it against the leaf)
//! was the largest cost of building a connection's TLS context besides the handshake itself
//! (callgrind, `benches/ratios.rs` `MESHSIM_RATIOS_PROFILE=fresh`). Envoy, too, loads an SDS
//! secret once and reuses it for every handshake until the secret changes.
//!
//! The cache is keyed by the key's PKCS#8 bytes and holds the chain it was loaded with, so a
//! rotated certificate (same or new key) is loaded anew; it only saves work and changes no
//! outcome, so determinism does not depend on it. It is bounded: past [`CAPACITY`] entries it
//! starts over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::pki::WorkloadCert;

/// Credentials kept at most (a mesh has one per sidecar, plus user-supplied MUTUAL material).
const CAPACITY: usize = 4096;

type Cache = HashMap<
    Vec<u8>,
    (
        Vec<rustls_pki_types::CertificateDer<'static>>,
        Arc<CertifiedKey>,
    ),
>;

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// `cert`'s chain and key as rustls signs with them: exactly what `with_single_cert` and
/// `with_client_auth_cert` build (`CertifiedKey::from_der` with `provider`'s key loader), loaded
/// once per credential. Only successful loads are kept; an error is returned every time.
pub(crate) fn certified_key(
    cert: &WorkloadCert,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, rustls::Error> {
    // A poisoned lock only means another thread panicked mid-insert; the map is still valid.
    let lookup = |c: &Cache| {
        c.get(&cert.key_pkcs8)
            .filter(|(chain, _)| *chain == cert.chain)
            .map(|(_, key)| key.clone())
    };
    if let Some(hit) = lookup(&cache().lock().unwrap_or_else(|e| e.into_inner())) {
        return Ok(hit);
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pkcs8.clone()));
    let loaded = Arc::new(CertifiedKey::from_der(cert.chain.clone(), key, provider)?);
    let mut c = cache().lock().unwrap_or_else(|e| e.into_inner());
    if c.len() >= CAPACITY {
        c.clear();
    }
    c.insert(cert.key_pkcs8.clone(), (cert.chain.clone(), loaded.clone()));
    Ok(loaded)
}
