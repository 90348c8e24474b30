//! rustls configurations of one sidecar: the inbound (server) context per `BuildInboundTLS` and
//! the outbound (client) context per DestinationRule mode or auto mTLS (`cluster_tls.go`), with
//! MeshConfig `meshMTLS` versions and cipher suites.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::sign::SingleCertAndKey;
use rustls::version::{TLS12, TLS13};
use rustls::SupportedProtocolVersion;
use rustls::{CipherSuite, ClientConfig, ServerConfig, SupportedCipherSuite};
use rustls_pki_types::ServerName;
use sha2::{Digest, Sha256};

use super::recent::Recent;
use super::verifier::{CheckTime, SpiffeClientVerifier, SpiffeServerVerifier, UnverifiedServer};
use crate::model::{MeshConfig, TlsVersion};
use crate::pki::{TrustBundle, WorkloadCert};
use crate::tls_params::TlsParams;
use crate::SimTime;

/// ALPN a sidecar client offers for ISTIO_MUTUAL (`istio-peer-exchange,istio`).
pub(crate) const ISTIO_CLIENT_ALPN: &[&str] = &["istio-peer-exchange", "istio"];

/// ALPN of the inbound mTLS chain (`TestInboundMTLSSettings`: `istio-peer-exchange,h2,http/1.1`).
pub(crate) const ISTIO_SERVER_ALPN: &[&str] = &["istio-peer-exchange", "h2", "http/1.1"];

/// The TLS material and parameters of one sidecar, as SDS and MeshConfig give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarTls {
    /// SDS `default`; `None` when the sidecar never received a certificate. Shared with the
    /// agent that holds it, so a request's context clones a pointer, not the DER.
    pub cert: Option<Arc<WorkloadCert>>,
    /// SDS `ROOTCA`.
    pub bundle: Arc<TrustBundle>,
    /// The mesh trust domain followed by its aliases (server-side SAN prefixes).
    pub trust_domains: Vec<String>,
    /// This sidecar's clock (the mesh clock, plus any skew).
    pub now: SimTime,
    /// Versions and cipher suites (`meshMTLS`, then any per-proxy override).
    pub params: TlsParams,
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
            cert: cert.map(Arc::new),
            bundle: Arc::new(bundle),
            trust_domains: vec![trust_domain.to_string()],
            now,
            params: TlsParams::default(),
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
        SidecarTls::from_shared(cert.map(Arc::new), Arc::new(bundle), mesh, now)
    }

    /// [`SidecarTls::from_mesh`] over the certificate and bundle SDS holds, shared.
    pub(crate) fn from_shared(
        cert: Option<Arc<WorkloadCert>>,
        bundle: Arc<TrustBundle>,
        mesh: &MeshConfig,
        now: SimTime,
    ) -> SidecarTls {
        let mut trust_domains = Vec::with_capacity(1 + mesh.trust_domain_aliases.len());
        trust_domains.push(mesh.trust_domain.clone());
        trust_domains.extend(mesh.trust_domain_aliases.iter().cloned());
        SidecarTls {
            cert,
            bundle,
            trust_domains,
            now,
            params: TlsParams::from_mesh(mesh),
        }
    }

    /// SHA-256 of everything but the clock ([`SidecarTls::fingerprint`]): the pool generation
    /// and the TLS context keys read it. The digests of the TLS this thread saw last are kept
    /// ([`Recent`]), so the second and later calls of a request (and consecutive requests, which
    /// present the same material) compare instead of hashing; the certificate and bundle are
    /// shared `Arc`s, so the compare is mostly a pointer compare.
    pub(crate) fn digest(&self) -> TlsDigest {
        thread_local! {
            static SEEN: RefCell<Recent<SidecarTls, TlsDigest>> = const { RefCell::new(Recent::new()) };
        }
        SEEN.with(|seen| {
            seen.borrow_mut().get_or_insert(
                |t| t.same_but_clock(self),
                || self.clone(),
                || {
                    let mut h = Sha256::new();
                    self.fingerprint(&mut h);
                    TlsDigest(h.finalize().into())
                },
            )
        })
    }

    /// Whether two contexts differ at most in their clocks.
    fn same_but_clock(&self, other: &SidecarTls) -> bool {
        let SidecarTls {
            cert,
            bundle,
            trust_domains,
            now: _,
            params,
        } = self;
        *cert == other.cert
            && *bundle == other.bundle
            && *trust_domains == other.trust_domains
            && *params == other.params
    }

    /// Feeds everything but the clock into a hash: a change forces a new connection, while time
    /// passing does not (Envoy keeps established connections when a certificate expires).
    fn fingerprint(&self, h: &mut Sha256) {
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
        h.update(self.params.min_version.as_str().as_bytes());
        h.update(self.params.max_version.as_str().as_bytes());
        for c in &self.params.cipher_suites {
            h.update(c.to_string().as_bytes());
            h.update([0]);
        }
    }
}

/// The digest of a sidecar's TLS material and parameters without its clock: equal digests, equal
/// TLS contexts and connection generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TlsDigest(pub(crate) [u8; 32]);

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

/// The TLS 1.3 suites in the order BoringSSL offers them on a CPU with AES instructions (the
/// x86-64 and arm64 nodes Istio runs on): `ssl_write_client_cipher_list`
/// (`ssl/handshake_client.cc`, `kCiphersAESHardware`). Envoy cannot configure TLS 1.3 suites,
/// so every sidecar offers this order, and a BoringSSL server keeps the client's order between
/// the two AES-GCM suites (`ssl_choose_tls13_cipher` scores them alike), so two sidecars
/// negotiate `TLS_AES_128_GCM_SHA256`. rustls' own default puts `TLS13_AES_256_GCM_SHA384`
/// first; a rustls server also follows the client's order (`ignore_client_order` is false).
const BORINGSSL_TLS13_ORDER: [CipherSuite; 3] = [
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS13_AES_256_GCM_SHA384,
    CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
];

/// The ring provider a sidecar with `tls` handshakes with: every TLS 1.3 suite (Envoy does not
/// restrict them) in BoringSSL's order, then the TLS 1.2 suites [`TlsParams::tls12_suites`]
/// allows, in configured order.
pub fn crypto_provider(tls: &SidecarTls) -> Result<Arc<CryptoProvider>, TlsConfigError> {
    let base = rustls::crypto::ring::default_provider();
    let mut suites: Vec<SupportedCipherSuite> = BORINGSSL_TLS13_ORDER
        .iter()
        .filter_map(|wanted| base.cipher_suites.iter().find(|s| s.suite() == *wanted))
        .copied()
        .collect();
    for cs in tls.params.tls12_suites().map_err(invalid)? {
        let wanted = cs.rustls();
        if let Some(s) = base
            .cipher_suites
            .iter()
            .find(|s| Some(s.suite()) == wanted)
        {
            suites.push(*s);
        }
    }
    Ok(Arc::new(CryptoProvider {
        cipher_suites: suites,
        ..base
    }))
}

/// The enabled protocol versions, newest first ([`TlsParams::versions`]).
pub(crate) fn protocol_versions(
    tls: &SidecarTls,
) -> Result<Vec<&'static SupportedProtocolVersion>, TlsConfigError> {
    Ok(tls
        .params
        .versions()
        .map_err(invalid)?
        .into_iter()
        .map(|v| match v {
            TlsVersion::Tls13 => &TLS13,
            TlsVersion::Tls12 => &TLS12,
        })
        .collect())
}

fn invalid(e: impl fmt::Display) -> TlsConfigError {
    TlsConfigError::Invalid(e.to_string())
}

/// `cert` as a rustls certificate resolver: what `with_single_cert` / `with_client_auth_cert`
/// build, with the key loaded once per credential ([`super::key_cache`]).
fn resolver_of(
    cert: &WorkloadCert,
    provider: &CryptoProvider,
) -> Result<Arc<SingleCertAndKey>, TlsConfigError> {
    let key = super::key_cache::certified_key(cert, provider).map_err(invalid)?;
    Ok(Arc::new(SingleCertAndKey::from(key)))
}

/// The inbound mTLS chain's context: present SDS `default`, require and verify a client
/// certificate against `ROOTCA` and the trust domains, at the time of each handshake (the
/// context's `TimeProvider`, which [`super::tls_context`] sets to the sidecar's clock).
/// `alpn` is the list to negotiate (empty: none).
pub(crate) fn build_server_config(
    tls: &SidecarTls,
    alpn: &[&str],
) -> Result<ServerConfig, TlsConfigError> {
    let cert = tls.cert.as_ref().ok_or(TlsConfigError::NoCertificate)?;
    let provider = crypto_provider(tls)?;
    let verifier = SpiffeClientVerifier::checking_at(
        &tls.bundle,
        tls.trust_domains.clone(),
        CheckTime::Handshake,
        provider.clone(),
    )
    .map_err(TlsConfigError::Invalid)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&protocol_versions(tls)?)
        .map_err(invalid)?
        .with_client_cert_verifier(Arc::new(verifier));
    let mut config = builder.with_cert_resolver(resolver_of(cert, &provider)?);
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config.send_tls13_tickets = 0;
    Ok(config)
}

/// The context of a server outside the mesh that terminates TLS itself (a public HTTPS server):
/// its certificate, TLS 1.2 and 1.3 with rustls' ring defaults, no client certificate requested
/// (a MUTUAL client then sends none, as TLS 1.3 and 1.2 let it).
pub(crate) fn build_outside_server_config(
    cert: &WorkloadCert,
) -> Result<ServerConfig, TlsConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let resolver = resolver_of(cert, &provider)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(invalid)?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.send_tls13_tickets = 0;
    Ok(config)
}

/// A client context and the server name (SNI) to connect with.
pub(crate) struct ClientTls {
    /// The rustls configuration.
    pub config: Arc<ClientConfig>,
    /// SNI sent in the ClientHello.
    pub server_name: ServerName<'static>,
}

/// The outbound context for `upstream`, verifying at the time of each handshake (as
/// [`build_server_config`]); `Ok(None)` for plaintext.
pub(crate) fn build_client_tls(
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
            let verifier = SpiffeServerVerifier::checking_at(
                &tls.bundle,
                expected_sans.clone(),
                CheckTime::Handshake,
                provider.clone(),
            )
            .map_err(TlsConfigError::Invalid)?;
            let mut config = builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_client_cert_resolver(resolver_of(cert, &provider)?);
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
                server_verifier(ca, subject_alt_names, *insecure_skip_verify, &provider)?;
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
                server_verifier(ca, subject_alt_names, *insecure_skip_verify, &provider)?;
            let config = builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_client_cert_resolver(resolver_of(&client.cert, &provider)?);
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
        config: Arc::new(config),
        server_name,
    }))
}

fn server_verifier(
    ca: &Option<TrustBundle>,
    sans: &[String],
    skip: bool,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>, TlsConfigError> {
    match ca {
        Some(bundle) if !skip => Ok(Arc::new(
            SpiffeServerVerifier::checking_at(
                bundle,
                sans.to_vec(),
                CheckTime::Handshake,
                provider.clone(),
            )
            .map_err(TlsConfigError::Invalid)?,
        )),
        _ => Ok(Arc::new(UnverifiedServer::new(provider.clone()))),
    }
}
