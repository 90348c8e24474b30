//! rustls configurations of one sidecar: the inbound (server) context per `BuildInboundTLS` and
//! the outbound (client) context per DestinationRule mode or auto mTLS (`cluster_tls.go`), with
//! MeshConfig `meshMTLS` versions and cipher suites.

use std::fmt;
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::version::{TLS12, TLS13};
use rustls::SupportedProtocolVersion;
use rustls::{CipherSuite, ClientConfig, ServerConfig, SupportedCipherSuite};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use sha2::{Digest, Sha256};

use super::verifier::{SpiffeClientVerifier, SpiffeServerVerifier, UnverifiedServer};
use crate::model::{MeshConfig, TlsVersion};
use crate::pki::{TrustBundle, WorkloadCert};
use crate::SimTime;

/// Istio's default TLS 1.2 cipher suites (`pilot/pkg/security/model` `SupportedCiphers`), in
/// BoringSSL names. TLS 1.3 suites are not configurable in Envoy and are always offered.
pub const ISTIO_DEFAULT_CIPHER_SUITES: &[&str] = &[
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-GCM-SHA256",
];

/// ALPN a sidecar client offers for ISTIO_MUTUAL (`istio-peer-exchange,istio`).
pub const ISTIO_CLIENT_ALPN: &[&str] = &["istio-peer-exchange", "istio"];

/// ALPN of the inbound mTLS chain (`TestInboundMTLSSettings`: `istio-peer-exchange,h2,http/1.1`).
pub const ISTIO_SERVER_ALPN: &[&str] = &["istio-peer-exchange", "h2", "http/1.1"];

/// The TLS material and parameters of one sidecar, as SDS and MeshConfig give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarTls {
    /// SDS `default`; `None` when the sidecar never received a certificate.
    pub cert: Option<WorkloadCert>,
    /// SDS `ROOTCA`.
    pub bundle: TrustBundle,
    /// The mesh trust domain followed by its aliases (server-side SAN prefixes).
    pub trust_domains: Vec<String>,
    /// This sidecar's clock (the mesh clock, plus any skew).
    pub now: SimTime,
    /// `meshMTLS.minProtocolVersion` (default TLS 1.2).
    pub min_version: TlsVersion,
    /// Maximum version (TLS 1.3 in Istio).
    pub max_version: TlsVersion,
    /// `meshMTLS.cipherSuites` in BoringSSL names; empty means Istio's defaults.
    pub cipher_suites: Vec<String>,
}

impl SidecarTls {
    /// Istio's defaults (TLS 1.2–1.3, default suites) for a certificate, bundle and trust domain.
    pub fn new(
        cert: Option<WorkloadCert>,
        bundle: TrustBundle,
        trust_domain: &str,
        now: SimTime,
    ) -> SidecarTls {
        SidecarTls {
            cert,
            bundle,
            trust_domains: vec![trust_domain.to_string()],
            now,
            min_version: TlsVersion::Tls12,
            max_version: TlsVersion::Tls13,
            cipher_suites: Vec::new(),
        }
    }

    /// A sidecar's context under MeshConfig: trust domain and aliases (the server-side SAN
    /// prefixes), `meshMTLS.minProtocolVersion` and `meshMTLS.cipherSuites`.
    pub fn from_mesh(
        cert: Option<WorkloadCert>,
        bundle: TrustBundle,
        mesh: &MeshConfig,
        now: SimTime,
    ) -> SidecarTls {
        let mut tls = SidecarTls::new(cert, bundle, &mesh.trust_domain, now);
        tls.trust_domains
            .extend(mesh.trust_domain_aliases.iter().cloned());
        if let Some(min) = mesh.min_protocol_version {
            tls.min_version = min;
        }
        tls.cipher_suites = mesh.cipher_suites.clone();
        tls
    }

    /// Feeds everything but the clock into a hash: a change forces a new connection, while time
    /// passing does not (Envoy keeps established connections when a certificate expires).
    pub(crate) fn fingerprint(&self, h: &mut Sha256) {
        match &self.cert {
            Some(c) => {
                h.update(b"cert");
                for der in &c.chain {
                    h.update((der.len() as u64).to_be_bytes());
                    h.update(der.as_ref());
                }
                h.update(&c.key_pkcs8);
            }
            None => h.update(b"nocert"),
        }
        hash_bundle(h, &self.bundle);
        for td in &self.trust_domains {
            h.update(td.as_bytes());
            h.update([0]);
        }
        h.update(self.min_version.as_str().as_bytes());
        h.update(self.max_version.as_str().as_bytes());
        for c in &self.cipher_suites {
            h.update(c.as_bytes());
            h.update([0]);
        }
    }
}

fn hash_bundle(h: &mut Sha256, bundle: &TrustBundle) {
    h.update(b"bundle");
    for der in &bundle.roots {
        h.update((der.len() as u64).to_be_bytes());
        h.update(der.as_ref());
    }
}

/// User-supplied client material of DR `MUTUAL` (the files or `credentialName`, already read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMaterial {
    /// Client certificate chain (leaf first) and PKCS#8 key.
    pub cert: WorkloadCert,
}

/// The upstream TLS the client sidecar uses for this endpoint (DR `tls.mode` or auto mTLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamTls {
    /// DISABLE, or auto mTLS chose plaintext.
    Plaintext,
    /// ISTIO_MUTUAL: own SDS certificate, mesh bundle, SPIFFE SAN check, Istio ALPN.
    IstioMutual {
        /// `spiffe://...` identities the server may present (any one).
        expected_sans: Vec<String>,
        /// SNI, by default `outbound_.<port>_.<subset>_.<fqdn>`.
        sni: String,
    },
    /// SIMPLE: one-way TLS.
    Simple {
        /// `caCertificates`; `None` means the server certificate is not verified.
        ca: Option<TrustBundle>,
        /// `subjectAltNames`.
        subject_alt_names: Vec<String>,
        /// `sni`.
        sni: Option<String>,
        /// `insecureSkipVerify`.
        insecure_skip_verify: bool,
    },
    /// MUTUAL: user-supplied client certificate.
    Mutual {
        /// Client certificate and key.
        client: ClientMaterial,
        /// `caCertificates`; `None` means the server certificate is not verified.
        ca: Option<TrustBundle>,
        /// `subjectAltNames`.
        subject_alt_names: Vec<String>,
        /// `sni`.
        sni: Option<String>,
        /// `insecureSkipVerify`.
        insecure_skip_verify: bool,
    },
}

impl UpstreamTls {
    /// Istio's mode name.
    pub fn mode_name(&self) -> &'static str {
        match self {
            UpstreamTls::Plaintext => "DISABLE",
            UpstreamTls::IstioMutual { .. } => "ISTIO_MUTUAL",
            UpstreamTls::Simple { .. } => "SIMPLE",
            UpstreamTls::Mutual { .. } => "MUTUAL",
        }
    }

    pub(crate) fn fingerprint(&self, h: &mut Sha256) {
        h.update(self.mode_name().as_bytes());
        match self {
            UpstreamTls::Plaintext => {}
            UpstreamTls::IstioMutual { expected_sans, sni } => {
                for s in expected_sans {
                    h.update(s.as_bytes());
                    h.update([0]);
                }
                h.update(sni.as_bytes());
            }
            UpstreamTls::Simple {
                ca,
                subject_alt_names,
                sni,
                insecure_skip_verify,
            } => {
                hash_simple(h, ca, subject_alt_names, sni, *insecure_skip_verify);
            }
            UpstreamTls::Mutual {
                client,
                ca,
                subject_alt_names,
                sni,
                insecure_skip_verify,
            } => {
                for der in &client.cert.chain {
                    h.update(der.as_ref());
                }
                h.update(&client.cert.key_pkcs8);
                hash_simple(h, ca, subject_alt_names, sni, *insecure_skip_verify);
            }
        }
    }
}

fn hash_simple(
    h: &mut Sha256,
    ca: &Option<TrustBundle>,
    sans: &[String],
    sni: &Option<String>,
    skip: bool,
) {
    if let Some(b) = ca {
        hash_bundle(h, b);
    }
    for s in sans {
        h.update(s.as_bytes());
        h.update([0]);
    }
    h.update(sni.as_deref().unwrap_or("-").as_bytes());
    h.update([u8::from(skip)]);
}

/// Istio's default ISTIO_MUTUAL SNI, `outbound_.<port>_.<subset>_.<fqdn>`
/// (`model.BuildDNSSrvSubsetKey`).
pub fn istio_sni(service_port: u16, subset: Option<&str>, fqdn: &str) -> String {
    format!("outbound_.{service_port}_.{}_.{fqdn}", subset.unwrap_or(""))
}

/// Why a sidecar's TLS context could not be built (Envoy would reject or not warm the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsConfigError {
    /// SDS has not supplied a certificate (`Secret is not supplied by SDS`).
    NoCertificate,
    /// A parameter is invalid (unknown cipher, min > max, bad key, bad root...).
    Invalid(String),
}

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsConfigError::NoCertificate => f.write_str("Secret is not supplied by SDS"),
            TlsConfigError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for TlsConfigError {}

/// BoringSSL cipher name → rustls suite; `Ok(None)` for a valid BoringSSL suite that rustls does
/// not implement (static-RSA key exchange, CBC), which is then left out.
fn cipher_by_name(name: &str) -> Result<Option<CipherSuite>, TlsConfigError> {
    use CipherSuite as C;
    Ok(Some(match name {
        "ECDHE-ECDSA-AES256-GCM-SHA384" => C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-ECDSA-AES128-GCM-SHA256" => C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-ECDSA-CHACHA20-POLY1305" => C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "ECDHE-RSA-AES256-GCM-SHA384" => C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-RSA-AES128-GCM-SHA256" => C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-RSA-CHACHA20-POLY1305" => C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "AES256-GCM-SHA384"
        | "AES128-GCM-SHA256"
        | "AES128-SHA"
        | "AES256-SHA"
        | "ECDHE-ECDSA-AES128-SHA"
        | "ECDHE-ECDSA-AES256-SHA"
        | "ECDHE-RSA-AES128-SHA"
        | "ECDHE-RSA-AES256-SHA"
        | "DES-CBC3-SHA"
        | "ECDHE-PSK-AES128-CBC-SHA"
        | "ECDHE-PSK-CHACHA20-POLY1305" => return Ok(None),
        other => {
            return Err(TlsConfigError::Invalid(format!(
                "unknown cipher suite {other:?} (expected BoringSSL names such as \
                 ECDHE-ECDSA-AES128-GCM-SHA256)"
            )))
        }
    }))
}

/// The ring provider restricted to this sidecar's suites: every TLS 1.3 suite plus the
/// configured (or default) TLS 1.2 suites, in configured order.
pub fn crypto_provider(tls: &SidecarTls) -> Result<Arc<CryptoProvider>, TlsConfigError> {
    let base = rustls::crypto::ring::default_provider();
    let mut suites: Vec<SupportedCipherSuite> = base
        .cipher_suites
        .iter()
        .copied()
        .filter(|s| s.version() == &TLS13)
        .collect();
    let names: Vec<String> = if tls.cipher_suites.is_empty() {
        ISTIO_DEFAULT_CIPHER_SUITES
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        tls.cipher_suites.clone()
    };
    for entry in &names {
        // `[A|B]` is BoringSSL's equal-preference group.
        for name in entry.trim_matches(|c| c == '[' || c == ']').split('|') {
            if let Some(cs) = cipher_by_name(name.trim())? {
                if let Some(s) = base.cipher_suites.iter().find(|s| s.suite() == cs) {
                    if !suites.iter().any(|x| x.suite() == cs) {
                        suites.push(*s);
                    }
                }
            }
        }
    }
    Ok(Arc::new(CryptoProvider {
        cipher_suites: suites,
        ..base
    }))
}

/// The enabled protocol versions, newest first.
pub fn protocol_versions(
    tls: &SidecarTls,
) -> Result<Vec<&'static SupportedProtocolVersion>, TlsConfigError> {
    let mut v = Vec::new();
    if tls.min_version <= TlsVersion::Tls13 && TlsVersion::Tls13 <= tls.max_version {
        v.push(&TLS13);
    }
    if tls.min_version <= TlsVersion::Tls12 && TlsVersion::Tls12 <= tls.max_version {
        v.push(&TLS12);
    }
    if v.is_empty() {
        return Err(TlsConfigError::Invalid(format!(
            "TLS min version {} is above max version {}",
            tls.min_version.as_str(),
            tls.max_version.as_str()
        )));
    }
    Ok(v)
}

fn invalid(e: impl fmt::Display) -> TlsConfigError {
    TlsConfigError::Invalid(e.to_string())
}

fn key_of(cert: &WorkloadCert) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pkcs8.clone()))
}

/// The inbound mTLS chain's context: present SDS `default`, require and verify a client
/// certificate against `ROOTCA` and the trust domains, at the sidecar's virtual time.
/// `alpn` is the list to negotiate (empty: none).
pub fn server_config(tls: &SidecarTls, alpn: &[&str]) -> Result<ServerConfig, TlsConfigError> {
    let cert = tls.cert.as_ref().ok_or(TlsConfigError::NoCertificate)?;
    let provider = crypto_provider(tls)?;
    let verifier = SpiffeClientVerifier::new(
        &tls.bundle,
        tls.trust_domains.clone(),
        tls.now,
        provider.clone(),
    )
    .map_err(TlsConfigError::Invalid)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&protocol_versions(tls)?)
        .map_err(invalid)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(cert.chain.clone(), key_of(cert))
        .map_err(invalid)?;
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config.send_tls13_tickets = 0;
    Ok(config)
}

/// A client context and the server name (SNI) to connect with.
pub struct ClientTls {
    /// The rustls configuration.
    pub config: ClientConfig,
    /// SNI sent in the ClientHello.
    pub server_name: ServerName<'static>,
}

/// The outbound context for `upstream`; `Ok(None)` for plaintext.
pub fn client_config(
    tls: &SidecarTls,
    upstream: &UpstreamTls,
) -> Result<Option<ClientTls>, TlsConfigError> {
    let provider = crypto_provider(tls)?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&protocol_versions(tls)?)
        .map_err(invalid)?;
    let (config, sni) = match upstream {
        UpstreamTls::Plaintext => return Ok(None),
        UpstreamTls::IstioMutual { expected_sans, sni } => {
            let cert = tls.cert.as_ref().ok_or(TlsConfigError::NoCertificate)?;
            let verifier = SpiffeServerVerifier::new(
                &tls.bundle,
                expected_sans.clone(),
                tls.now,
                provider.clone(),
            )
            .map_err(TlsConfigError::Invalid)?;
            let mut config = builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_client_auth_cert(cert.chain.clone(), key_of(cert))
                .map_err(invalid)?;
            config.alpn_protocols = ISTIO_CLIENT_ALPN
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect();
            (config, Some(sni.clone()))
        }
        UpstreamTls::Simple {
            ca,
            subject_alt_names,
            sni,
            insecure_skip_verify,
        } => {
            let verifier =
                server_verifier(ca, subject_alt_names, *insecure_skip_verify, tls, &provider)?;
            let config = builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth();
            (config, sni.clone())
        }
        UpstreamTls::Mutual {
            client,
            ca,
            subject_alt_names,
            sni,
            insecure_skip_verify,
        } => {
            let verifier =
                server_verifier(ca, subject_alt_names, *insecure_skip_verify, tls, &provider)?;
            let config = builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_client_auth_cert(client.cert.chain.clone(), key_of(&client.cert))
                .map_err(invalid)?;
            (config, sni.clone())
        }
    };
    let mut config = config;
    config.resumption = Resumption::disabled();
    config.enable_sni = sni.is_some();
    // Without an SNI rustls still needs a name; it is not sent (enable_sni = false) and the
    // verifiers never check it (SPIFFE replaces the name check).
    let name = sni.unwrap_or_else(|| "unused.invalid".to_string());
    let server_name = ServerName::try_from(name.clone())
        .map_err(|_| TlsConfigError::Invalid(format!("SNI {name:?} is not a valid DNS name")))?;
    Ok(Some(ClientTls {
        config,
        server_name,
    }))
}

fn server_verifier(
    ca: &Option<TrustBundle>,
    sans: &[String],
    skip: bool,
    tls: &SidecarTls,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>, TlsConfigError> {
    match ca {
        Some(bundle) if !skip => Ok(Arc::new(
            SpiffeServerVerifier::new(bundle, sans.to_vec(), tls.now, provider.clone())
                .map_err(TlsConfigError::Invalid)?,
        )),
        _ => Ok(Arc::new(UnverifiedServer::new(provider.clone()))),
    }
}
