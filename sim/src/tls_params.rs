//! TLS parameters of one sidecar — versions and TLS 1.2 cipher suites — and the rules that turn
//! them into what a handshake can negotiate. One home for both paths: the data path builds its
//! rustls provider from [`TlsParams::tls12_suites`], the diagnosis explains a failed handshake
//! with [`negotiate`], so the two cannot disagree on which suites exist.
//!
//! Istio passes `meshMTLS.minProtocolVersion` and `meshMTLS.cipherSuites` to Envoy's
//! `tlsParams` (`pilot/pkg/networking/core/cluster_tls.go`, `buildIstioMutualTLS`;
//! `pilot/pkg/security/model` `SupportedCiphers`); Envoy hands the cipher list to BoringSSL
//! (`SSL_CTX_set_strict_cipher_list`) and never restricts TLS 1.3 suites.

use std::fmt;
use std::str::FromStr;

use crate::model::{MeshConfig, TlsVersion};
use crate::pki::KeyType;

/// A TLS 1.2 cipher suite by its BoringSSL name, as MeshConfig and Envoy's `tlsParams` spell it.
///
/// `Unknown` keeps a name BoringSSL does not know: Envoy accepts the text and rejects it only
/// when it builds the TLS context (`Failed to initialize cipher suites`), and meshsim fails at
/// the same point ([`TlsParams::tls12_suites`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CipherSuite {
    /// `ECDHE-ECDSA-AES256-GCM-SHA384`.
    EcdheEcdsaAes256GcmSha384,
    /// `ECDHE-ECDSA-AES128-GCM-SHA256`.
    EcdheEcdsaAes128GcmSha256,
    /// `ECDHE-ECDSA-CHACHA20-POLY1305`.
    EcdheEcdsaChacha20Poly1305,
    /// `ECDHE-RSA-AES256-GCM-SHA384`.
    EcdheRsaAes256GcmSha384,
    /// `ECDHE-RSA-AES128-GCM-SHA256`.
    EcdheRsaAes128GcmSha256,
    /// `ECDHE-RSA-CHACHA20-POLY1305`.
    EcdheRsaChacha20Poly1305,
    /// `AES256-GCM-SHA384` (static RSA key exchange).
    Aes256GcmSha384,
    /// `AES128-GCM-SHA256` (static RSA key exchange).
    Aes128GcmSha256,
    /// `AES128-SHA` (static RSA, CBC).
    Aes128Sha,
    /// `AES256-SHA` (static RSA, CBC).
    Aes256Sha,
    /// `ECDHE-ECDSA-AES128-SHA` (CBC).
    EcdheEcdsaAes128Sha,
    /// `ECDHE-ECDSA-AES256-SHA` (CBC).
    EcdheEcdsaAes256Sha,
    /// `ECDHE-RSA-AES128-SHA` (CBC).
    EcdheRsaAes128Sha,
    /// `ECDHE-RSA-AES256-SHA` (CBC).
    EcdheRsaAes256Sha,
    /// `DES-CBC3-SHA`.
    DesCbc3Sha,
    /// `ECDHE-PSK-AES128-CBC-SHA`.
    EcdhePskAes128CbcSha,
    /// `ECDHE-PSK-CHACHA20-POLY1305`.
    EcdhePskChacha20Poly1305,
    /// A name BoringSSL does not know.
    Unknown(String),
}

/// Every named suite with its BoringSSL spelling (the one table both parse and print read).
const NAMES: &[(CipherSuite, &str)] = &[
    (
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        CipherSuite::EcdheEcdsaChacha20Poly1305,
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
    (
        CipherSuite::EcdheRsaAes256GcmSha384,
        "ECDHE-RSA-AES256-GCM-SHA384",
    ),
    (
        CipherSuite::EcdheRsaAes128GcmSha256,
        "ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        CipherSuite::EcdheRsaChacha20Poly1305,
        "ECDHE-RSA-CHACHA20-POLY1305",
    ),
    (CipherSuite::Aes256GcmSha384, "AES256-GCM-SHA384"),
    (CipherSuite::Aes128GcmSha256, "AES128-GCM-SHA256"),
    (CipherSuite::Aes128Sha, "AES128-SHA"),
    (CipherSuite::Aes256Sha, "AES256-SHA"),
    (CipherSuite::EcdheEcdsaAes128Sha, "ECDHE-ECDSA-AES128-SHA"),
    (CipherSuite::EcdheEcdsaAes256Sha, "ECDHE-ECDSA-AES256-SHA"),
    (CipherSuite::EcdheRsaAes128Sha, "ECDHE-RSA-AES128-SHA"),
    (CipherSuite::EcdheRsaAes256Sha, "ECDHE-RSA-AES256-SHA"),
    (CipherSuite::DesCbc3Sha, "DES-CBC3-SHA"),
    (
        CipherSuite::EcdhePskAes128CbcSha,
        "ECDHE-PSK-AES128-CBC-SHA",
    ),
    (
        CipherSuite::EcdhePskChacha20Poly1305,
        "ECDHE-PSK-CHACHA20-POLY1305",
    ),
];

/// Istio's default TLS 1.2 cipher suites (`pilot/pkg/security/model` `SupportedCiphers`), in
/// preference order.
pub const ISTIO_DEFAULT_CIPHER_SUITES: &[CipherSuite] = &[
    CipherSuite::EcdheEcdsaAes256GcmSha384,
    CipherSuite::EcdheRsaAes256GcmSha384,
    CipherSuite::EcdheEcdsaAes128GcmSha256,
    CipherSuite::EcdheRsaAes128GcmSha256,
    CipherSuite::Aes256GcmSha384,
    CipherSuite::Aes128GcmSha256,
];

/// A cipher name BoringSSL does not know (the strict parse, for input meshsim can reject early).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown cipher suite {0:?} (expected BoringSSL names such as ECDHE-ECDSA-AES128-GCM-SHA256)"
)]
pub struct UnknownCipherSuite(pub String);

/// Why a sidecar's TLS parameters cannot make a TLS context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsParamsError {
    /// A configured suite BoringSSL does not know.
    #[error(transparent)]
    UnknownCipher(#[from] UnknownCipherSuite),
    /// `minProtocolVersion` above the maximum.
    #[error("TLS min version {} is above max version {}", .min.as_str(), .max.as_str())]
    VersionRange {
        /// Configured minimum.
        min: TlsVersion,
        /// Configured maximum.
        max: TlsVersion,
    },
}

impl CipherSuite {
    /// Reads one configured entry leniently: a BoringSSL `[A|B]` equal-preference group yields
    /// its members, an unknown name is kept as [`CipherSuite::Unknown`].
    pub fn parse_entry(entry: &str) -> Vec<CipherSuite> {
        entry
            .trim()
            .trim_matches(|c| c == '[' || c == ']')
            .split('|')
            .map(|name| {
                name.parse()
                    .unwrap_or_else(|_| CipherSuite::Unknown(name.trim().to_string()))
            })
            .collect()
    }

    /// Reads a configured list (MeshConfig `cipherSuites`) leniently, groups flattened.
    pub fn parse_list<S: AsRef<str>>(entries: &[S]) -> Vec<CipherSuite> {
        entries
            .iter()
            .flat_map(|e| CipherSuite::parse_entry(e.as_ref()))
            .collect()
    }

    /// The rustls suite of the same number, or `None` for a suite rustls does not implement
    /// (static-RSA key exchange, CBC, PSK): meshsim's data path cannot negotiate those.
    pub fn rustls(&self) -> Option<rustls::CipherSuite> {
        use rustls::CipherSuite as C;
        Some(match self {
            CipherSuite::EcdheEcdsaAes256GcmSha384 => C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            CipherSuite::EcdheEcdsaAes128GcmSha256 => C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::EcdheEcdsaChacha20Poly1305 => {
                C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
            }
            CipherSuite::EcdheRsaAes256GcmSha384 => C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            CipherSuite::EcdheRsaAes128GcmSha256 => C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::EcdheRsaChacha20Poly1305 => C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            _ => return None,
        })
    }

    /// The server certificate key type the suite authenticates with (TLS 1.2 binds the suite to
    /// the certificate: ECDHE-ECDSA needs an ECDSA key, ECDHE-RSA and static RSA an RSA key;
    /// BoringSSL `ssl_cipher_uses_certificate_auth`, rustls `usable_for_signature_algorithm`).
    pub fn server_key(&self) -> Option<KeyType> {
        match self {
            CipherSuite::EcdheEcdsaAes256GcmSha384
            | CipherSuite::EcdheEcdsaAes128GcmSha256
            | CipherSuite::EcdheEcdsaChacha20Poly1305
            | CipherSuite::EcdheEcdsaAes128Sha
            | CipherSuite::EcdheEcdsaAes256Sha => Some(KeyType::EcdsaP256),
            CipherSuite::EcdhePskAes128CbcSha
            | CipherSuite::EcdhePskChacha20Poly1305
            | CipherSuite::Unknown(_) => None,
            _ => Some(KeyType::Rsa2048),
        }
    }
}

impl FromStr for CipherSuite {
    type Err = UnknownCipherSuite;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(c, _)| c.clone())
            .ok_or_else(|| UnknownCipherSuite(name.to_string()))
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let CipherSuite::Unknown(name) = self {
            return f.write_str(name);
        }
        let name = NAMES
            .iter()
            .find(|(c, _)| c == self)
            .map_or("", |(_, n)| *n);
        f.write_str(name)
    }
}

/// The TLS parameters a sidecar's listeners and clusters use (`istioctl proxy-config` shows
/// them as the `tlsParams` of its transport sockets). The one shape the data path, the
/// evidence and the diagnosis share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsParams {
    /// Lowest TLS version offered or accepted (`meshMTLS.minProtocolVersion`, default 1.2).
    pub min_version: TlsVersion,
    /// Highest TLS version (1.3 in Istio).
    pub max_version: TlsVersion,
    /// TLS 1.2 cipher suites in preference order; empty means Istio's defaults.
    pub cipher_suites: Vec<CipherSuite>,
}

impl Default for TlsParams {
    fn default() -> Self {
        TlsParams {
            min_version: TlsVersion::Tls12,
            max_version: TlsVersion::Tls13,
            cipher_suites: Vec::new(),
        }
    }
}

/// Per-proxy changes to the mesh's TLS parameters (fault `tls-params`): what is unset keeps the
/// mesh's value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsParamsOverride {
    /// Minimum TLS version.
    pub min_version: Option<TlsVersion>,
    /// Maximum TLS version.
    pub max_version: Option<TlsVersion>,
    /// Cipher suites; empty keeps the mesh's.
    pub cipher_suites: Vec<CipherSuite>,
}

impl TlsParams {
    /// MeshConfig `meshMTLS`: the minimum version and the cipher suites.
    pub fn from_mesh(mesh: &MeshConfig) -> TlsParams {
        TlsParams {
            min_version: mesh.min_protocol_version.unwrap_or(TlsVersion::Tls12),
            cipher_suites: CipherSuite::parse_list(&mesh.cipher_suites),
            ..TlsParams::default()
        }
    }

    /// These parameters with a per-proxy override applied.
    pub fn apply(&mut self, o: &TlsParamsOverride) {
        if let Some(v) = o.min_version {
            self.min_version = v;
        }
        if let Some(v) = o.max_version {
            self.max_version = v;
        }
        if !o.cipher_suites.is_empty() {
            self.cipher_suites = o.cipher_suites.clone();
        }
    }

    /// The TLS 1.2 suites as configured (Istio's defaults when none), without duplicates: what
    /// `istioctl proxy-config` shows.
    pub fn configured_tls12_suites(&self) -> Vec<CipherSuite> {
        let list = if self.cipher_suites.is_empty() {
            ISTIO_DEFAULT_CIPHER_SUITES
        } else {
            &self.cipher_suites[..]
        };
        let mut out: Vec<CipherSuite> = Vec::with_capacity(list.len());
        for s in list {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }

    /// The TLS 1.2 suites this sidecar can negotiate: the configured ones meshsim's TLS stack
    /// implements. An unknown name makes the whole context invalid, as in Envoy.
    ///
    /// Divergence from a real cluster: BoringSSL also negotiates static-RSA (`AES128-GCM-SHA256`,
    /// `AES256-GCM-SHA384`) and CBC suites, rustls does not. With meshsim's default ECDSA
    /// workload keys a real Envoy cannot use those suites either (they need an RSA certificate),
    /// so the outcome is the same; with `Rsa2048` keys and only such suites in common, a real
    /// cluster would connect where meshsim fails (and diagnoses `NoSharedCipher`).
    pub fn tls12_suites(&self) -> Result<Vec<CipherSuite>, TlsParamsError> {
        let configured = self.configured_tls12_suites();
        if let Some(CipherSuite::Unknown(name)) = configured
            .iter()
            .find(|s| matches!(s, CipherSuite::Unknown(_)))
        {
            return Err(UnknownCipherSuite(name.clone()).into());
        }
        Ok(configured
            .into_iter()
            .filter(|s| s.rustls().is_some())
            .collect())
    }

    /// The enabled versions, newest first; an empty range is an invalid context.
    pub fn versions(&self) -> Result<Vec<TlsVersion>, TlsParamsError> {
        let v: Vec<TlsVersion> = [TlsVersion::Tls13, TlsVersion::Tls12]
            .into_iter()
            .filter(|v| self.min_version <= *v && *v <= self.max_version)
            .collect();
        if v.is_empty() {
            return Err(TlsParamsError::VersionRange {
                min: self.min_version,
                max: self.max_version,
            });
        }
        Ok(v)
    }
}

/// The version a client and a server settle on: the highest both enable (RFC 8446 §4.2.1), or
/// `None` when their ranges do not meet.
pub fn common_version(client: &TlsParams, server: &TlsParams) -> Option<TlsVersion> {
    let low = client.min_version.max(server.min_version);
    let high = client.max_version.min(server.max_version);
    (low <= high).then_some(high)
}

/// What a handshake between two sidecars can agree on, from their parameters and the server
/// certificate's key type (`None`: unknown, do not filter by it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiation {
    /// TLS 1.3: every suite is always offered, so a suite is always shared.
    Tls13,
    /// TLS 1.2 with at least one shared suite the server's certificate can authenticate.
    Tls12,
    /// The version ranges do not meet.
    NoCommonVersion,
    /// TLS 1.2 only, and no suite both ends can use.
    NoSharedCipher {
        /// Suites both list but that cannot be negotiated (not implemented by meshsim's TLS
        /// stack, or not usable with the server's key type): the reason the lists seemed to meet.
        unusable_overlap: Vec<CipherSuite>,
    },
}

/// Decides [`Negotiation`] for a client and server: the rule the diagnosis explains a handshake
/// with, on the same suite lists the data path gives rustls ([`TlsParams::tls12_suites`]).
/// BoringSSL's server picks a suite from the intersection usable with its certificate
/// (`ssl_choose_tls12_cipher`, `ssl_cipher_uses_certificate_auth`); unknown names count as none.
pub fn negotiate(
    client: &TlsParams,
    server: &TlsParams,
    server_key: Option<KeyType>,
) -> Negotiation {
    match common_version(client, server) {
        None => Negotiation::NoCommonVersion,
        Some(TlsVersion::Tls13) => Negotiation::Tls13,
        Some(TlsVersion::Tls12) => {
            let usable = |p: &TlsParams| p.tls12_suites().unwrap_or_default();
            let theirs = usable(server);
            let key_ok = |s: &CipherSuite| server_key.is_none_or(|k| s.server_key() == Some(k));
            if usable(client)
                .iter()
                .any(|s| theirs.contains(s) && key_ok(s))
            {
                return Negotiation::Tls12;
            }
            let server_listed = server.configured_tls12_suites();
            let unusable_overlap = client
                .configured_tls12_suites()
                .into_iter()
                .filter(|s| server_listed.contains(s))
                .collect();
            Negotiation::NoSharedCipher { unusable_overlap }
        }
    }
}

#[cfg(test)]
mod tests;
