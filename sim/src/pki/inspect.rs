//! Reading certificates back from DER with x509-parser, the way `openssl x509 -text` or
//! `istioctl proxy-config secret` would: the diagnosis builds certificate inventories from
//! these facts, never from the simulator's own structs.

use crate::vocab::SpiffeId;
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use x509_parser::extensions::GeneralName;

use super::{KeyType, PkiError, TrustBundle};
use crate::SimTime;

/// What one certificate shows when parsed from its DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Serial number as colon-separated hex (openssl's form).
    pub serial: String,
    /// Subject DN in RFC 4514 form; empty for Istio workload certificates.
    pub subject: String,
    /// Issuer DN in RFC 4514 form.
    pub issuer: String,
    /// notBefore.
    pub not_before: SimTime,
    /// notAfter.
    pub not_after: SimTime,
    /// Every URI SAN, in certificate order.
    pub uri_sans: Vec<String>,
    /// The SPIFFE identity, when exactly one URI SAN parses as one.
    pub spiffe: Option<SpiffeId>,
    /// Whether the subjectAltName extension is marked critical.
    pub san_critical: bool,
    /// BasicConstraints CA:TRUE.
    pub is_ca: bool,
    /// KeyUsage bits set, by RFC 5280 name (`digitalSignature`, `keyCertSign`, ...).
    pub key_usage: Vec<&'static str>,
    /// Extended key usages, by name (`serverAuth`, `clientAuth`, ...).
    pub extended_key_usage: Vec<&'static str>,
    /// SHA-256 of the DER, lowercase hex.
    pub fingerprint: String,
}

impl CertInfo {
    /// Whether `now` lies within [notBefore, notAfter].
    pub fn valid_at(&self, now: SimTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

/// SHA-256 of a certificate's DER as lowercase hex (`openssl x509 -fingerprint -sha256`
/// without colons): how roots are compared across proxies.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Parses one DER certificate.
pub fn inspect(der: &[u8]) -> Result<CertInfo, PkiError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| PkiError::Parse(format!("not an X.509 certificate: {e}")))?;
    let bad = |what: &str, e: x509_parser::error::X509Error| {
        PkiError::Parse(format!("certificate {what} extension: {e}"))
    };
    let secs = |t: i64| SimTime(u64::try_from(t).unwrap_or(0));

    let (uri_sans, san_critical) = match cert
        .subject_alternative_name()
        .map_err(|e| bad("subjectAltName", e))?
    {
        Some(ext) => (
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::URI(u) => Some((*u).to_string()),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            ext.critical,
        ),
        None => (Vec::new(), false),
    };
    let spiffe = match uri_sans.as_slice() {
        [one] => one.parse::<SpiffeId>().ok(),
        _ => None,
    };

    let mut key_usage = Vec::new();
    if let Some(ku) = cert.key_usage().map_err(|e| bad("keyUsage", e))? {
        let ku = ku.value;
        for (set, name) in [
            (ku.digital_signature(), "digitalSignature"),
            (ku.key_encipherment(), "keyEncipherment"),
            (ku.key_cert_sign(), "keyCertSign"),
            (ku.crl_sign(), "cRLSign"),
        ] {
            if set {
                key_usage.push(name);
            }
        }
    }
    let mut extended_key_usage = Vec::new();
    if let Some(eku) = cert
        .extended_key_usage()
        .map_err(|e| bad("extendedKeyUsage", e))?
    {
        let eku = eku.value;
        for (set, name) in [
            (eku.server_auth, "serverAuth"),
            (eku.client_auth, "clientAuth"),
            (eku.any, "anyExtendedKeyUsage"),
        ] {
            if set {
                extended_key_usage.push(name);
            }
        }
    }

    Ok(CertInfo {
        serial: cert.raw_serial_as_string(),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: secs(cert.validity().not_before.timestamp()),
        not_after: secs(cert.validity().not_after.timestamp()),
        uri_sans,
        spiffe,
        san_critical,
        is_ca: cert.is_ca(),
        key_usage,
        extended_key_usage,
        fingerprint: fingerprint(der),
    })
}

impl TrustBundle {
    /// A bundle holding exactly these roots.
    pub fn from_roots(roots: Vec<CertificateDer<'static>>) -> TrustBundle {
        TrustBundle { roots }
    }

    /// SHA-256 fingerprints of the roots, in bundle order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.roots.iter().map(|r| fingerprint(r)).collect()
    }

    /// Whether the bundle holds this exact root.
    pub fn contains(&self, root: &CertificateDer<'_>) -> bool {
        self.roots.iter().any(|r| r.as_ref() == root.as_ref())
    }

    /// Whether the bundle holds no root at all.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Adds a root unless it is already present (`AppendRootCerts` keeps one copy of each).
    pub fn add(&mut self, root: CertificateDer<'static>) {
        if !self.contains(&root) {
            self.roots.push(root);
        }
    }
}

/// The key type of a certificate's subject public key (`None` when unparsable or neither ECDSA
/// P-256 nor RSA): what decides which TLS 1.2 suites the certificate can authenticate.
pub fn key_type(der: &[u8]) -> Option<KeyType> {
    use x509_parser::public_key::PublicKey;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    match cert.public_key().parsed().ok()? {
        PublicKey::EC(_) => Some(KeyType::EcdsaP256),
        PublicKey::RSA(_) => Some(KeyType::Rsa2048),
        _ => None,
    }
}
