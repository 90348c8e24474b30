//! The mock CA: self-signed or plug-in roots, SPIFFE workload certificates shaped like Istio's,
//! trust bundles, PEM export.

use std::fmt;
use std::str::FromStr;

use rustls_pki_types::CertificateDer;

use crate::SimTime;

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
