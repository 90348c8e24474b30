//! Workload issuance: the istio-agent's CSR and the CA's `Sign`, shaped like Istio's
//! `security/pkg/pki/util/generate_cert.go` (`genCertTemplateFromCSR`) and
//! `security/pkg/pki/ca/ca.go` (TTL limits, signing-cert expiry).

use crate::vocab::SpiffeId;
use std::time::Duration;

use rcgen::{
    CertificateParams, DistinguishedName, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
    PublicKeyData, SanType, SerialNumber, SignatureAlgorithm,
};
use rustls_pki_types::CertificateDer;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use super::ca::{to_datetime, CertificateAuthority};
use super::keys::{generate_pkcs8, load_key_pair, KeyType};
use super::{PkiError, WorkloadCert};
use crate::SimTime;

/// `ClockSkewGracePeriod`: workload certificates are backdated by 2 minutes.
pub const CLOCK_SKEW_GRACE_PERIOD: Duration = Duration::from_secs(120);
/// `SECRET_TTL` / `DEFAULT_WORKLOAD_CERT_TTL`: 24 hours.
pub const DEFAULT_WORKLOAD_TTL: Duration = Duration::from_secs(24 * 3600);
/// `MAX_WORKLOAD_CERT_TTL`: 90 days.
pub const MAX_WORKLOAD_TTL: Duration = Duration::from_secs(90 * 86400);

/// A CSR as the istio-agent sends it, with the private key it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csr {
    /// PKCS#10 DER, signed with the workload key (proof of possession).
    pub der: Vec<u8>,
    /// The workload's PKCS#8 private key; never leaves the agent.
    pub key_pkcs8: Vec<u8>,
}

/// Formats a duration the way Go's `time.Duration.String()` does (`24h0m0s`, `1m30s`, `45s`),
/// so messages match Istio's.
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{m}m{sec}s")
    } else {
        format!("{sec}s")
    }
}

/// Builds the agent's CSR for `spiffe` with a key derived from `(seed, key_purpose)`.
pub fn create_csr(
    spiffe: &SpiffeId,
    key_type: KeyType,
    seed: u64,
    key_purpose: &str,
) -> Result<Csr, PkiError> {
    let key_pkcs8 = generate_pkcs8(key_type, seed, key_purpose)?;
    let key = load_key_pair(key_type, &key_pkcs8)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.subject_alt_names = vec![uri_san(spiffe)?];
    let csr = params
        .serialize_request(&key)
        .map_err(|e| PkiError::Certificate(format!("building CSR: {e}")))?;
    Ok(Csr {
        der: csr.der().to_vec(),
        key_pkcs8,
    })
}

/// The shape of an Istio workload certificate, whoever signs it: empty subject, one URI SAN, not
/// a CA, digital signature + key encipherment, server and client auth, an authority key id
/// (`security/pkg/pki/util/generate_cert.go` `genCertTemplateFromCSR`, Istio 1.22–1.28).
/// Validity and serial are the signer's.
pub(crate) fn workload_leaf_params(san: SanType) -> CertificateParams {
    let mut params = CertificateParams::default();
    // Istio leaves the subject empty; rcgen then marks the SAN critical (RFC 5280 §4.2.1.6).
    params.distinguished_name = DistinguishedName::new();
    params.subject_alt_names = vec![san];
    set_workload_leaf_usages(&mut params);
    params
}

/// The usages of an Istio workload leaf (same source as [`workload_leaf_params`]): not a CA,
/// digital signature + key encipherment, server and client auth, an authority key id. Also for
/// leaves that keep another subject (the replay's twins of real certificates).
pub(crate) fn set_workload_leaf_usages(params: &mut CertificateParams) {
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
}

fn uri_san(spiffe: &SpiffeId) -> Result<SanType, PkiError> {
    let uri = spiffe.to_string();
    Ok(SanType::URI(uri.clone().try_into().map_err(|e| {
        PkiError::Certificate(format!("URI SAN {uri:?}: {e}"))
    })?))
}

/// A signed chain as `CreateCertificate` returns it: leaf first, then the CA chain tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedChain {
    /// Leaf, then intermediates (never the root).
    pub chain: Vec<CertificateDer<'static>>,
    /// Leaf notBefore.
    pub not_before: SimTime,
    /// Leaf notAfter.
    pub not_after: SimTime,
}

/// The CSR's public key as rcgen needs it to build the certificate's SubjectPublicKeyInfo.
struct CsrPublicKey {
    alg: &'static SignatureAlgorithm,
    key: Vec<u8>,
}

impl CsrPublicKey {
    fn from_csr(csr: &X509CertificationRequest<'_>) -> Result<Self, PkiError> {
        const RSA: &str = "1.2.840.113549.1.1.1";
        const EC: &str = "1.2.840.10045.2.1";
        const P256: &str = "1.2.840.10045.3.1.7";
        let spki = &csr.certification_request_info.subject_pki;
        let oid = spki.algorithm.algorithm.to_id_string();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string());
        let alg = match (oid.as_str(), curve.as_deref()) {
            (RSA, _) => &rcgen::PKCS_RSA_SHA256,
            (EC, Some(P256)) => &rcgen::PKCS_ECDSA_P256_SHA256,
            _ => {
                return Err(PkiError::Csr(format!(
                    "unsupported CSR public key algorithm {oid} (expected RSA or ECDSA P-256)"
                )))
            }
        };
        Ok(CsrPublicKey {
            alg,
            key: spki.subject_public_key.data.to_vec(),
        })
    }
}

impl PublicKeyData for CsrPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.key
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

/// What the CA commits to when it accepts a CSR, before it signs: the identity, the validity and
/// the serial (drawn in acceptance order). Signing it later gives the certificate `sign_csr`
/// would have given at acceptance, so the control plane signs only the certificates a proxy
/// still holds at the end of a clock jump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reservation {
    identity: SpiffeId,
    pub(crate) not_before: SimTime,
    pub(crate) not_after: SimTime,
    serial: SerialNumber,
}

/// The CSR's public key, once its signature (proof of possession) is verified.
fn csr_key(csr_der: &[u8]) -> Result<CsrPublicKey, PkiError> {
    let (_, csr) = X509CertificationRequest::from_der(csr_der)
        .map_err(|e| PkiError::Csr(format!("failed to parse CSR: {e}")))?;
    csr.verify_signature()
        .map_err(|e| PkiError::Csr(format!("CSR signature verification failed: {e}")))?;
    CsrPublicKey::from_csr(&csr)
}

impl CertificateAuthority {
    /// Signs a CSR for the authenticated `identity`. Like istiod, the SAN comes from the caller's
    /// authenticated identity, not from the CSR; the CSR only proves possession of the key.
    pub fn sign_csr(
        &mut self,
        csr_der: &[u8],
        identity: &SpiffeId,
        requested_ttl: Duration,
        now: SimTime,
    ) -> Result<SignedChain, PkiError> {
        let spki = csr_key(csr_der)?;
        let reservation = self.reserve(identity, requested_ttl, now)?;
        self.sign_with(&spki, &reservation)
    }

    /// Accepts a CSR for `identity` at `now` without signing it yet: the TTL and signer checks
    /// `sign_csr` makes, the leaf's validity, and its serial.
    pub(crate) fn reserve(
        &mut self,
        identity: &SpiffeId,
        requested_ttl: Duration,
        now: SimTime,
    ) -> Result<Reservation, PkiError> {
        let ttl = if requested_ttl.is_zero() {
            DEFAULT_WORKLOAD_TTL
        } else {
            requested_ttl
        };
        if ttl > MAX_WORKLOAD_TTL {
            return Err(PkiError::TtlTooLong {
                requested: ttl,
                max: MAX_WORKLOAD_TTL,
            });
        }
        let signer_not_after = self.signer().not_after;
        if now > signer_not_after {
            return Err(PkiError::SigningCertExpired {
                not_after: signer_not_after,
                now,
            });
        }
        uri_san(identity)?;
        Ok(Reservation {
            identity: identity.clone(),
            not_before: now.offset(-(CLOCK_SKEW_GRACE_PERIOD.as_secs() as i64)),
            not_after: now.plus(ttl).min(signer_not_after),
            serial: self.next_serial(),
        })
    }

    /// Signs the CSR accepted as `reservation` (the signer must not have changed since).
    pub(crate) fn sign_reserved(
        &self,
        csr_der: &[u8],
        reservation: &Reservation,
    ) -> Result<SignedChain, PkiError> {
        self.sign_with(&csr_key(csr_der)?, reservation)
    }

    fn sign_with(
        &self,
        spki: &CsrPublicKey,
        reservation: &Reservation,
    ) -> Result<SignedChain, PkiError> {
        let mut params = workload_leaf_params(uri_san(&reservation.identity)?);
        params.not_before = to_datetime(reservation.not_before)?;
        params.not_after = to_datetime(reservation.not_after)?;
        params.serial_number = Some(reservation.serial.clone());
        Ok(SignedChain {
            chain: self.signed_chain(&params, spki, "workload")?,
            not_before: reservation.not_before,
            not_after: reservation.not_after,
        })
    }

    /// `params` signed by the current signer for `key`: the leaf, then the CA chain tail.
    fn signed_chain(
        &self,
        params: &CertificateParams,
        key: &impl PublicKeyData,
        what: &str,
    ) -> Result<Vec<CertificateDer<'static>>, PkiError> {
        let issuer = self.signer().issuer()?;
        let leaf = params
            .signed_by(key, &issuer)
            .map_err(|e| PkiError::Certificate(format!("signing {what} cert: {e}")))?
            .der()
            .clone();
        let mut chain = vec![leaf];
        chain.extend(self.chain_tail());
        Ok(chain)
    }

    /// The whole agent → CA round trip without istiod's authorisation: a fresh key and CSR,
    /// signed for `spiffe`. Used by tests, `meshsim certs` and the control plane.
    pub fn issue_workload(
        &mut self,
        spiffe: &SpiffeId,
        key_type: KeyType,
        ttl: Duration,
        now: SimTime,
        key_purpose: &str,
    ) -> Result<WorkloadCert, PkiError> {
        let csr = create_csr(spiffe, key_type, self.seed(), key_purpose)?;
        let signed = self.sign_csr(&csr.der, spiffe, ttl, now)?;
        Ok(WorkloadCert {
            chain: signed.chain,
            key_pkcs8: csr.key_pkcs8,
            not_before: signed.not_before,
            not_after: signed.not_after,
            spiffe: Some(spiffe.clone()),
        })
    }
}

impl CertificateAuthority {
    /// A web server's certificate as a public CA issues one: subject `CN=<host>`, one DNS SAN,
    /// server authentication only, from `now` for `ttl`. Used for servers outside the mesh that
    /// a DestinationRule `SIMPLE`/`MUTUAL` originates TLS to (RFC 5280 §4.2.1.6: the DNS SAN is
    /// what the client's name check and Envoy's SAN matchers read).
    pub fn issue_server(
        &mut self,
        host: &str,
        key_type: KeyType,
        ttl: Duration,
        now: SimTime,
    ) -> Result<WorkloadCert, PkiError> {
        let key_pkcs8 = generate_pkcs8(key_type, self.seed(), &format!("server/{host}"))?;
        let key = load_key_pair(key_type, &key_pkcs8)?;
        let dns = host
            .to_string()
            .try_into()
            .map_err(|e| PkiError::Certificate(format!("DNS SAN {host:?}: {e}")))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, host);
        params.subject_alt_names = vec![SanType::DnsName(dns)];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        let not_before = now.offset(-(CLOCK_SKEW_GRACE_PERIOD.as_secs() as i64));
        let not_after = now.plus(ttl).min(self.signer().not_after);
        params.not_before = to_datetime(not_before)?;
        params.not_after = to_datetime(not_after)?;
        params.serial_number = Some(self.next_serial());
        Ok(WorkloadCert {
            chain: self.signed_chain(&params, &key, "server")?,
            key_pkcs8,
            not_before,
            not_after,
            spiffe: None,
        })
    }
}
