//! SPIFFE certificate verifiers for both directions. Each first delegates chain, signature,
//! validity and key-usage checks to webpki **at the mesh's virtual time** (`CheckTime`: a fixed
//! time, or the time rustls passes when the context's `TimeProvider` is the sidecar's clock, never
//! the real clock), then checks the SPIFFE identity the way Envoy's default
//! validator does for Istio (`default_validator.cc`: chain first → `fail_verify_error`, then SAN
//! matchers → `fail_verify_san`). Istio certificates have an empty subject and no DNS SAN, so the
//! server-name check is *replaced* by the SPIFFE check, never skipped.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::SignatureScheme;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, OtherError};
use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};

use crate::pki::verify::{verify_with_anchors, Usage};
use crate::pki::TrustBundle;
use crate::SimTime;

/// The handshake-signature half of a verifier, the same for all three: signatures are checked
/// with the provider's algorithms (rustls `verify_tls12_signature` / `verify_tls13_signature`),
/// whatever was decided about the certificate.
#[rustfmt::skip]
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, Error> {
            verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
        }
        fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, Error> {
            verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider.signature_verification_algorithms.supported_schemes()
        }
    };
}

/// A SPIFFE identity check that failed after the chain verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SpiffeCheckError {
    /// Client side: none of the server's SANs is in the expected list (`subjectAltNames`).
    SanMismatch {
        /// The SANs the client expected (any one suffices).
        expected: Vec<String>,
        /// The URI/DNS SANs the certificate carries.
        presented: Vec<String>,
    },
    /// Server side: no URI SAN is under an allowed trust domain (`spiffe://<td>/` prefix).
    TrustDomainNotAllowed {
        /// Mesh trust domain and aliases.
        allowed: Vec<String>,
        /// The URI SANs the certificate carries.
        presented: Vec<String>,
    },
}

impl fmt::Display for SpiffeCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpiffeCheckError::SanMismatch {
                expected,
                presented,
            } => write!(
                f,
                "verify cert failed: SAN matcher (expected one of [{}], presented [{}])",
                expected.join(", "),
                presented.join(", ")
            ),
            SpiffeCheckError::TrustDomainNotAllowed { allowed, presented } => write!(
                f,
                "verify cert failed: SAN matcher (trust domains [{}], presented [{}])",
                allowed.join(", "),
                presented.join(", ")
            ),
        }
    }
}

impl std::error::Error for SpiffeCheckError {}

impl SpiffeCheckError {
    /// As a rustls error: `CertificateError::Other`, which makes rustls send `certificate_unknown`,
    /// the alert Envoy sends on a SAN-matcher failure.
    fn into_rustls(self) -> Error {
        Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(self))))
    }

    /// Finds a SPIFFE check failure inside a rustls error, if that is what it is.
    pub(crate) fn from_rustls(err: &Error) -> Option<&SpiffeCheckError> {
        match err {
            Error::InvalidCertificate(CertificateError::Other(OtherError(e))) => {
                e.downcast_ref::<SpiffeCheckError>()
            }
            _ => None,
        }
    }
}

/// The virtual time a verifier checks validity at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckTime {
    /// Always this time (a verifier built for one moment).
    At(SimTime),
    /// The time rustls passes to the verifier: its context's `TimeProvider`, which the data path
    /// sets to the sidecar's clock for each connection. Envoy, too, builds a TLS context when its
    /// configuration or secret changes and reads the clock at each handshake.
    Handshake,
}

impl CheckTime {
    fn of(self, handshake: UnixTime) -> SimTime {
        match self {
            CheckTime::At(t) => t,
            CheckTime::Handshake => SimTime(handshake.as_secs()),
        }
    }
}

/// The URI and DNS subject alternative names of a DER certificate, URIs first.
pub(crate) fn subject_alt_names(der: &CertificateDer<'_>) -> Result<Vec<String>, Error> {
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der.as_ref())
        .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let mut uris = Vec::new();
    let mut dns = Vec::new();
    if let Some(ext) = san {
        for name in &ext.value.general_names {
            match name {
                GeneralName::URI(u) => uris.push((*u).to_string()),
                GeneralName::DNSName(d) => dns.push((*d).to_string()),
                _ => {}
            }
        }
    }
    uris.extend(dns);
    Ok(uris)
}

/// The trust anchors of a bundle; an unparsable root is an error naming its position.
pub(crate) fn trust_anchors(bundle: &TrustBundle) -> Result<Vec<TrustAnchor<'static>>, String> {
    bundle
        .roots
        .iter()
        .enumerate()
        .map(|(i, der)| {
            webpki::anchor_from_trusted_cert(der)
                .map(|ta| ta.to_owned())
                .map_err(|e| format!("trust bundle root #{i} is not a usable certificate: {e}"))
        })
        .collect()
}

/// Chain, signature, validity and EKU verification at virtual time `now`: the one check the
/// diagnosis also runs ([`crate::pki::verify::verify_with_anchors`]), as a rustls error.
fn verify_chain(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    anchors: &[TrustAnchor<'_>],
    now: SimTime,
    usage: Usage,
) -> Result<(), Error> {
    verify_with_anchors(end_entity, intermediates, anchors, now, usage).map_err(webpki_error)
}

/// webpki → rustls error, choosing the `CertificateError` whose alert BoringSSL would send
/// (expired / not yet valid → `certificate_expired`, unknown issuer → `unknown_ca`).
fn webpki_error(e: webpki::Error) -> Error {
    use webpki::Error as W;
    let ce = match e {
        W::BadDer | W::BadDerTime | W::TrailingData(_) => CertificateError::BadEncoding,
        W::CertExpired { time, not_after } => CertificateError::ExpiredContext { time, not_after },
        W::CertNotValidYet { time, not_before } => {
            CertificateError::NotValidYetContext { time, not_before }
        }
        W::InvalidCertValidity => CertificateError::Expired,
        W::UnknownIssuer => CertificateError::UnknownIssuer,
        W::CertRevoked => CertificateError::Revoked,
        W::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        W::RequiredEkuNotFoundContext(_) => CertificateError::InvalidPurpose,
        other => CertificateError::Other(OtherError(Arc::new(other))),
    };
    Error::InvalidCertificate(ce)
}

/// Client-side verifier (the upstream cluster's `validation_context`): chain to the bundle, then
/// exact SAN match against the expected list (Istio's `MatchSubjectAltNames`). An empty expected
/// list means "no SAN matcher configured" (DR `SIMPLE` without `subjectAltNames`).
#[derive(Debug)]
pub struct SpiffeServerVerifier {
    anchors: Vec<TrustAnchor<'static>>,
    expected_sans: Vec<String>,
    now: CheckTime,
    provider: Arc<CryptoProvider>,
}

impl SpiffeServerVerifier {
    /// A verifier trusting `bundle`, expecting one of `expected_sans`, at virtual time `now`.
    pub fn new(
        bundle: &TrustBundle,
        expected_sans: Vec<String>,
        now: SimTime,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, String> {
        Self::checking_at(bundle, expected_sans, CheckTime::At(now), provider)
    }

    /// A verifier trusting `bundle`, expecting one of `expected_sans`, checking validity at `now`.
    pub(crate) fn checking_at(
        bundle: &TrustBundle,
        expected_sans: Vec<String>,
        now: CheckTime,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, String> {
        Ok(SpiffeServerVerifier {
            anchors: trust_anchors(bundle)?,
            expected_sans,
            now,
            provider,
        })
    }
}

impl ServerCertVerifier for SpiffeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        handshake_now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        verify_chain(
            end_entity,
            intermediates,
            &self.anchors,
            self.now.of(handshake_now),
            Usage::Server,
        )?;
        if !self.expected_sans.is_empty() {
            let presented = subject_alt_names(end_entity)?;
            if !presented.iter().any(|s| self.expected_sans.contains(s)) {
                return Err(SpiffeCheckError::SanMismatch {
                    expected: self.expected_sans.clone(),
                    presented,
                }
                .into_rustls());
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures!();
}

/// Envoy's behaviour for DR `SIMPLE`/`MUTUAL` without `caCertificates` or with
/// `insecureSkipVerify: true`: the server certificate is not validated at all (istioctl warns
/// IST0128). Handshake signatures are still checked, so the peer must hold the key it presents.
/// This is the only verifier that does not run webpki, and only because the user asked for it.
#[derive(Debug)]
pub(crate) struct UnverifiedServer {
    provider: Arc<CryptoProvider>,
}

impl UnverifiedServer {
    /// A verifier that accepts any server certificate whose handshake signature is valid.
    pub(crate) fn new(provider: Arc<CryptoProvider>) -> Self {
        UnverifiedServer { provider }
    }
}

impl ServerCertVerifier for UnverifiedServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures!();
}

/// Server-side verifier (the inbound mTLS chain's `validation_context`): a client certificate is
/// required, must chain to the bundle, and must carry a URI SAN under one of the mesh's trust
/// domains (`TrustDomainsForValidation` → prefix matchers `spiffe://<td>/`). An empty
/// trust-domain list means `PILOT_SKIP_VALIDATE_TRUST_DOMAIN`.
#[derive(Debug)]
pub struct SpiffeClientVerifier {
    anchors: Vec<TrustAnchor<'static>>,
    trust_domains: Vec<String>,
    now: CheckTime,
    provider: Arc<CryptoProvider>,
}

impl SpiffeClientVerifier {
    /// A verifier trusting `bundle`, accepting `trust_domains`, at virtual time `now`.
    pub fn new(
        bundle: &TrustBundle,
        trust_domains: Vec<String>,
        now: SimTime,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, String> {
        Self::checking_at(bundle, trust_domains, CheckTime::At(now), provider)
    }

    /// A verifier trusting `bundle`, accepting `trust_domains`, checking validity at `now`.
    pub(crate) fn checking_at(
        bundle: &TrustBundle,
        trust_domains: Vec<String>,
        now: CheckTime,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, String> {
        Ok(SpiffeClientVerifier {
            anchors: trust_anchors(bundle)?,
            trust_domains,
            now,
            provider,
        })
    }
}

impl ClientCertVerifier for SpiffeClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // Envoy does not send a CA list in CertificateRequest unless configured to.
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        handshake_now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        verify_chain(
            end_entity,
            intermediates,
            &self.anchors,
            self.now.of(handshake_now),
            Usage::Client,
        )?;
        if !self.trust_domains.is_empty() {
            let presented: Vec<String> = subject_alt_names(end_entity)?
                .into_iter()
                .filter(|s| s.starts_with("spiffe://"))
                .collect();
            let allowed = presented.iter().any(|uri| {
                self.trust_domains
                    .iter()
                    .any(|td| uri.starts_with(&format!("spiffe://{td}/")))
            });
            if !allowed {
                return Err(SpiffeCheckError::TrustDomainNotAllowed {
                    allowed: self.trust_domains.clone(),
                    presented,
                }
                .into_rustls());
            }
        }
        Ok(ClientCertVerified::assertion())
    }

    handshake_signatures!();
}
