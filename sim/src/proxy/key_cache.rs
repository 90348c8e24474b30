//! A sidecar's parsed certificate and key, kept per credential rather than rebuilt per
//! connection. Loading a PKCS#8 key into rustls (`CertifiedKey::from_der`: ring parses the key,
//! recomputes its public key — a P-256 scalar multiplication — and checks it against the leaf)
//! was the largest cost of building a connection's TLS context besides the handshake itself
//! (callgrind, `benches/ratios.rs` `MESHSIM_RATIOS_PROFILE=fresh`). Envoy, too, loads an SDS
//! secret once and reuses it for every handshake until the secret changes.
//!
//! The memo is keyed by the key and the chain it was loaded with, so a rotated certificate
//! (same or new key) is loaded anew.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use super::memo::Memo;
use crate::pki::WorkloadCert;

static LOADED: Memo<Arc<CertifiedKey>> = Memo::new();

/// `cert`'s chain and key as rustls signs with them: exactly what `with_single_cert` and
/// `with_client_auth_cert` build (`CertifiedKey::from_der` with `provider`'s key loader), loaded
/// once per credential. Only successful loads are kept; an error is returned every time.
pub(crate) fn certified_key(
    cert: &WorkloadCert,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, rustls::Error> {
    let mut h = Sha256::new();
    h.update((cert.key_pkcs8.len() as u64).to_be_bytes());
    h.update(&cert.key_pkcs8);
    for der in &cert.chain {
        h.update((der.len() as u64).to_be_bytes());
        h.update(der.as_ref());
    }
    LOADED.get_or_try(h.finalize().into(), || {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pkcs8.clone()));
        Ok(Arc::new(CertifiedKey::from_der(
            cert.chain.clone(),
            key,
            provider,
        )?))
    })
}
