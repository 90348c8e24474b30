//! Chain verification with webpki at a virtual time: the one check both the sidecars' verifiers
//! (inside the handshake) and the diagnosis (on a certificate inventory) run, with one algorithm
//! set, so they cannot judge a chain differently.

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls_pki_types::{CertificateDer, TrustAnchor};

use super::TrustBundle;
use crate::SimTime;

/// The signature algorithms a chain may use: exactly those of the data path's rustls provider
/// (ring), which also verifies the handshake signatures. Envoy's equivalent is BoringSSL's
/// `X509_verify_cert` with its built-in algorithm list (`default_validator.cc`).
pub(crate) fn signature_algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

/// Which end of the handshake the verified certificate authenticates (its required EKU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A server certificate, checked by the client (`serverAuth`).
    Server,
    /// A client certificate, checked by the server (`clientAuth`).
    Client,
}

/// Verifies `end_entity` and `intermediates` against `anchors` at virtual time `now` for
/// `usage`. Like webpki (and unlike BoringSSL) it does not check the roots' own validity dates;
/// callers that care read them with [`super::inspect()`].
pub(crate) fn verify_with_anchors(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    anchors: &[TrustAnchor<'_>],
    now: SimTime,
    usage: Usage,
) -> Result<(), webpki::Error> {
    let usage = match usage {
        Usage::Server => webpki::KeyUsage::server_auth(),
        Usage::Client => webpki::KeyUsage::client_auth(),
    };
    webpki::EndEntityCert::try_from(end_entity)?
        .verify_for_usage(
            signature_algorithms().all,
            anchors,
            intermediates,
            now.to_unix_time(),
            usage,
            None,
            None,
        )
        .map(|_| ())
}

/// Verifies `chain` (leaf first, then intermediates) against `bundle` at `now`, exactly as the
/// verifying sidecar does inside the handshake (`verify_with_anchors`).
pub fn verify_chain(
    chain: &[CertificateDer<'static>],
    bundle: &TrustBundle,
    now: SimTime,
    usage: Usage,
) -> Result<(), webpki::Error> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(webpki::Error::BadDer);
    };
    let anchors: Vec<_> = bundle
        .roots
        .iter()
        .map(|r| webpki::anchor_from_trusted_cert(r).map(|a| a.to_owned()))
        .collect::<Result<_, _>>()?;
    verify_with_anchors(leaf, intermediates, &anchors, now, usage)
}
