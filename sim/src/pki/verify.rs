//! Chain verification with webpki at a virtual time: what a sidecar's validation context
//! (`ROOTCA`) would conclude about a peer's chain, usable on any certificate inventory.

use rustls_pki_types::CertificateDer;

use super::TrustBundle;
use crate::SimTime;

/// Verifies `chain` (leaf first, then intermediates) against `bundle` at `now` for TLS client
/// or server use, exactly as webpki does inside the handshake. Like webpki (and unlike
/// BoringSSL) it does not check the roots' own validity dates; callers that care read them with
/// [`super::inspect()`].
pub fn verify_chain(
    chain: &[CertificateDer<'static>],
    bundle: &TrustBundle,
    now: SimTime,
    client_auth: bool,
) -> Result<(), webpki::Error> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(webpki::Error::BadDer);
    };
    let anchors: Vec<_> = bundle
        .roots
        .iter()
        .map(|r| webpki::anchor_from_trusted_cert(r).map(|a| a.to_owned()))
        .collect::<Result<_, _>>()?;
    let ee = webpki::EndEntityCert::try_from(leaf)?;
    let usage = if client_auth {
        webpki::KeyUsage::client_auth()
    } else {
        webpki::KeyUsage::server_auth()
    };
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        intermediates,
        now.to_unix_time(),
        usage,
        None,
        None,
    )
    .map(|_| ())
}
