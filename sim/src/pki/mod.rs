//! The mock CA: self-signed or plug-in roots, SPIFFE workload certificates shaped like Istio's,
//! trust bundles, PEM export.

use std::time::Duration;

use rustls_pki_types::CertificateDer;

use crate::vocab::SpiffeId;
use crate::SimTime;

pub(crate) mod ca;
pub(crate) mod inspect;
pub(crate) mod issue;
pub(crate) mod keys;
pub(crate) mod pem;
#[cfg(test)]
mod tests;
pub(crate) mod twin;
pub(crate) mod verify;

pub use ca::{CaMode, CertificateAuthority};
pub use inspect::{fingerprint, inspect, key_type, CertInfo};
pub(crate) use issue::Reservation;
pub use issue::{
    create_csr, go_duration, Csr, SignedChain, CLOCK_SKEW_GRACE_PERIOD, DEFAULT_WORKLOAD_TTL,
    MAX_WORKLOAD_TTL,
};
pub use keys::KeyType;
pub use pem::write_workload_files;
pub use twin::TwinPki;
pub use verify::{verify_chain, Usage};

/// A CA or key operation that failed; the messages follow Istio's where Istio has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkiError {
    /// Key generation or loading failed.
    #[error("key: {0}")]
    Key(String),
    /// Building or signing a certificate failed.
    #[error("certificate: {0}")]
    Certificate(String),
    /// The CSR could not be parsed or its signature does not verify.
    #[error("{0}")]
    Csr(String),
    /// `ca.go`: a TTL above `MAX_WORKLOAD_CERT_TTL` is refused.
    #[error("requested TTL {} is greater than the max allowed TTL {}", go_duration(*.requested), go_duration(*.max))]
    TtlTooLong {
        /// What the CSR asked for.
        requested: Duration,
        /// The CA's maximum.
        max: Duration,
    },
    /// The CA's signing certificate is past notAfter: no CSR can be signed.
    #[error(
        "failed to sign the CSR: the CA signing certificate expired at {not_after} (now {now})"
    )]
    SigningCertExpired {
        /// Signing cert notAfter.
        not_after: SimTime,
        /// When the CSR arrived.
        now: SimTime,
    },
    /// A certificate could not be parsed.
    #[error("{0}")]
    Parse(String),
}

/// A workload's certificate chain (leaf first) and private key, as SDS `default` delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadCert {
    /// Leaf first, then intermediates (never the root).
    pub chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 DER private key.
    pub key_pkcs8: Vec<u8>,
    /// Leaf notBefore.
    pub not_before: SimTime,
    /// Leaf notAfter.
    pub not_after: SimTime,
    /// The URI SAN, if the leaf carries a SPIFFE one.
    pub spiffe: Option<SpiffeId>,
}

/// The roots a proxy trusts (SDS `ROOTCA`); may hold several during a root rotation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustBundle {
    /// DER roots.
    pub roots: Vec<CertificateDer<'static>>,
}
