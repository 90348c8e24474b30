//! The mock CA: self-signed or plug-in roots, SPIFFE workload certificates shaped like Istio's,
//! trust bundles, PEM export.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rustls_pki_types::CertificateDer;

use crate::SimTime;

pub mod ca;
pub mod inspect;
pub mod issue;
pub mod keys;
pub mod pem;
#[cfg(test)]
mod tests;
pub mod verify;

pub use ca::{CaMode, CertificateAuthority};
pub use inspect::{fingerprint, inspect, key_type, CertInfo};
pub use issue::{
    create_csr, go_duration, Csr, SignedChain, CLOCK_SKEW_GRACE_PERIOD, DEFAULT_WORKLOAD_TTL,
    MAX_WORKLOAD_TTL,
};
pub use keys::KeyType;
pub use pem::write_workload_files;
pub use verify::verify_chain;

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

/// A SPIFFE identity `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpiffeId {
    /// Trust domain, e.g. `cluster.local`.
    pub trust_domain: String,
    /// Namespace.
    pub namespace: String,
    /// Service account.
    pub service_account: String,
}

impl SpiffeId {
    /// The Istio principal form, without the scheme: `<td>/ns/<ns>/sa/<sa>`.
    pub fn principal(&self) -> String {
        format!(
            "{}/ns/{}/sa/{}",
            self.trust_domain, self.namespace, self.service_account
        )
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spiffe://{}", self.principal())
    }
}

impl FromStr for SpiffeId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("spiffe://")
            .ok_or_else(|| format!("{s:?} is not a spiffe:// URI"))?;
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [td, "ns", ns, "sa", sa] if !td.is_empty() && !ns.is_empty() && !sa.is_empty() => {
                Ok(SpiffeId {
                    trust_domain: (*td).to_string(),
                    namespace: (*ns).to_string(),
                    service_account: (*sa).to_string(),
                })
            }
            _ => Err(format!(
                "{s:?} is not of the form spiffe://<trust-domain>/ns/<namespace>/sa/<sa>"
            )),
        }
    }
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
