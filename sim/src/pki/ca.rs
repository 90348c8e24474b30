//! istiod's CA: a self-signed root like `istio-ca-secret`, or a plug-in CA (`cacerts`) whose
//! intermediate signs; root rotation and the CA's own expiry. All CA keys are RSA 2048 like
//! istiod's (`CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE`), which also makes every CA signature
//! deterministic (RSA PKCS#1 v1.5 has no per-signature randomness; ring's ECDSA does).

use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use rand_chacha::ChaCha20Rng;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::CertificateDer;

use super::keys::{generate_pkcs8, load_key_pair, seeded_rng, KeyType};
use super::{PkiError, TrustBundle};
use crate::SimTime;

/// `CITADEL_SELF_SIGNED_CA_CERT_TTL`: the self-signed root lives 10 years.
pub(crate) const SELF_SIGNED_ROOT_TTL: Duration = Duration::from_secs(3650 * 86400);
/// Lifetime of the plug-in intermediate, as Istio's `tools/certs` Makefile makes it (730 days).
pub(crate) const PLUGIN_INTERMEDIATE_TTL: Duration = Duration::from_secs(730 * 86400);

/// Where istiod's signing certificate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaMode {
    /// istiod generated `istio-ca-secret`: the root signs workloads directly.
    SelfSigned,
    /// An operator-provided `cacerts`: root → intermediate (the signer) → workloads.
    Plugin,
}

/// One CA certificate with the parameters and key needed to sign with it again.
#[derive(Debug, Clone)]
pub(crate) struct CaCert {
    pub(crate) der: CertificateDer<'static>,
    params: CertificateParams,
    key_pkcs8: Vec<u8>,
    /// `key_pkcs8` loaded once: loading an RSA key into ring checks its components, which cost
    /// every workload signature a tenth of its time when it was done per signature.
    key: Arc<KeyPair>,
    pub(crate) not_after: SimTime,
}

impl CaCert {
    /// An rcgen issuer for this certificate (subject, key identifier and key).
    pub(crate) fn issuer(&self) -> Result<Issuer<'_, &KeyPair>, PkiError> {
        Ok(Issuer::from_params(&self.params, self.key.as_ref()))
    }
}

/// The mesh CA: its root(s), its signer, and a seeded serial-number stream.
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    seed: u64,
    trust_domain: String,
    mode: CaMode,
    root: CaCert,
    intermediate: Option<CaCert>,
    retired_roots: Vec<CertificateDer<'static>>,
    rotations: u32,
    serials: ChaCha20Rng,
}

/// rcgen wants `time` values; the simulator speaks `SimTime`.
pub(crate) fn to_datetime(t: SimTime) -> Result<time::OffsetDateTime, PkiError> {
    let secs = i64::try_from(t.0).map_err(|_| PkiError::Certificate(format!("time {t:?}")))?;
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| PkiError::Certificate(format!("time {t}: {e}")))
}

fn ca_params(
    dn: DistinguishedName,
    not_before: SimTime,
    not_after: SimTime,
    serial: SerialNumber,
) -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = to_datetime(not_before)?;
    p.not_after = to_datetime(not_after)?;
    p.serial_number = Some(serial);
    Ok(p)
}

fn dn(entries: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (ty, value) in entries {
        dn.push(ty.clone(), *value);
    }
    dn
}

impl CertificateAuthority {
    /// istiod's self-signed CA, created at `now`: subject `O=<trust domain>` like
    /// `pilot/pkg/bootstrap/istio_ca.go`, 10 years, CA:TRUE, keyCertSign+cRLSign.
    pub fn self_signed(seed: u64, trust_domain: &str, now: SimTime) -> Result<Self, PkiError> {
        let mut serials = seeded_rng(seed, "serials");
        let key_pkcs8 = generate_pkcs8(KeyType::Rsa2048, seed, "root-0")?;
        let root = self_sign(
            key_pkcs8,
            dn(&[(DnType::OrganizationName, trust_domain)]),
            now,
            now.plus(SELF_SIGNED_ROOT_TTL),
            serial_from(&mut serials),
        )?;
        Ok(CertificateAuthority {
            seed,
            trust_domain: trust_domain.to_string(),
            mode: CaMode::SelfSigned,
            root,
            intermediate: None,
            retired_roots: Vec::new(),
            rotations: 0,
            serials,
        })
    }

    /// The seed every key and serial derives from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The current mode.
    pub fn mode(&self) -> CaMode {
        self.mode
    }

    /// The trust domain the CA issues identities in.
    pub fn trust_domain(&self) -> &str {
        &self.trust_domain
    }

    /// The current root (what `istio-ca-root-cert` distributes).
    pub fn root(&self) -> &CertificateDer<'static> {
        &self.root.der
    }

    /// Roots replaced by rotations, oldest first.
    pub fn retired_roots(&self) -> &[CertificateDer<'static>] {
        &self.retired_roots
    }

    /// A bundle holding only the current root.
    pub fn root_bundle(&self) -> TrustBundle {
        TrustBundle::from_roots(vec![self.root.der.clone()])
    }

    /// The certificate that signs workloads: the root (self-signed) or the intermediate.
    pub fn signing_cert(&self) -> &CertificateDer<'static> {
        &self.signer().der
    }

    /// notAfter of the signing certificate.
    pub fn signing_not_after(&self) -> SimTime {
        self.signer().not_after
    }

    /// Certificates served after the leaf (`cert-chain.pem` minus the leaf): the intermediate
    /// in plug-in mode, nothing for the self-signed root.
    pub fn chain_tail(&self) -> Vec<CertificateDer<'static>> {
        self.intermediate.iter().map(|c| c.der.clone()).collect()
    }

    pub(crate) fn signer(&self) -> &CaCert {
        self.intermediate.as_ref().unwrap_or(&self.root)
    }

    pub(crate) fn next_serial(&mut self) -> SerialNumber {
        serial_from(&mut self.serials)
    }

    fn key_for(&self, purpose: &str) -> Result<Vec<u8>, PkiError> {
        generate_pkcs8(KeyType::Rsa2048, self.seed, purpose)
    }

    fn make_self_signed_root(&mut self, now: SimTime) -> Result<CaCert, PkiError> {
        let key_pkcs8 = self.key_for(&format!("root-{}", self.rotations))?;
        let td = self.trust_domain.clone();
        self.sign_root(
            key_pkcs8,
            dn(&[(DnType::OrganizationName, &td)]),
            now,
            now.plus(SELF_SIGNED_ROOT_TTL),
        )
    }

    fn sign_root(
        &mut self,
        key_pkcs8: Vec<u8>,
        dn: DistinguishedName,
        not_before: SimTime,
        not_after: SimTime,
    ) -> Result<CaCert, PkiError> {
        let serial = self.next_serial();
        self_sign(key_pkcs8, dn, not_before, not_after, serial)
    }

    fn sign_intermediate(
        &mut self,
        key_pkcs8: Vec<u8>,
        dn: DistinguishedName,
        not_before: SimTime,
        not_after: SimTime,
    ) -> Result<CaCert, PkiError> {
        let params = ca_params(dn, not_before, not_after, self.next_serial())?;
        let key = load_key_pair(KeyType::Rsa2048, &key_pkcs8)?;
        let der = {
            let issuer = self.root.issuer()?;
            params
                .signed_by(&key, &issuer)
                .map_err(|e| PkiError::Certificate(format!("signing intermediate: {e}")))?
                .der()
                .clone()
        };
        Ok(CaCert {
            der,
            params,
            key_pkcs8,
            key: Arc::new(key),
            not_after,
        })
    }

    fn make_plugin(&mut self, now: SimTime) -> Result<(), PkiError> {
        // Shaped like Istio's `tools/certs` (`make -f Makefile.selfsigned.mk`): a 10-year
        // "Root CA" and a 2-year "Intermediate CA" per cluster, both O=Istio.
        let n = self.rotations;
        let root_key = self.key_for(&format!("plugin-root-{n}"))?;
        let root = self.sign_root(
            root_key,
            dn(&[
                (DnType::OrganizationName, "Istio"),
                (DnType::CommonName, "Root CA"),
            ]),
            now,
            now.plus(SELF_SIGNED_ROOT_TTL),
        )?;
        self.root = root;
        let int_key = self.key_for(&format!("plugin-intermediate-{n}"))?;
        let intermediate = self.sign_intermediate(
            int_key,
            dn(&[
                (DnType::OrganizationName, "Istio"),
                (DnType::CommonName, "Intermediate CA"),
                (DnType::LocalityName, "cluster1"),
            ]),
            now,
            now.plus(PLUGIN_INTERMEDIATE_TTL),
        )?;
        self.intermediate = Some(intermediate);
        Ok(())
    }

    /// Switches istiod to a plug-in CA (`cacerts`); the old root is retired.
    pub fn use_plugin_ca(&mut self, now: SimTime) -> Result<(), PkiError> {
        self.retired_roots.push(self.root.der.clone());
        self.mode = CaMode::Plugin;
        self.make_plugin(now)
    }

    /// Replaces the root with one on a fresh key; istiod signs with it from now on. In plug-in
    /// mode the operator provides a new root and intermediate.
    pub fn rotate_root(&mut self, now: SimTime) -> Result<(), PkiError> {
        self.retired_roots.push(self.root.der.clone());
        self.rotations += 1;
        match self.mode {
            CaMode::SelfSigned => self.root = self.make_self_signed_root(now)?,
            CaMode::Plugin => self.make_plugin(now)?,
        }
        Ok(())
    }

    /// Re-issues the signing certificate (same key, same subject) already expired at `now`,
    /// as a `ca-cert.pem` that nobody renewed. The distributed root is left as it was.
    pub fn expire_signing_cert(&mut self, now: SimTime) -> Result<(), PkiError> {
        self.reissue_signer(
            now.offset(-(SELF_SIGNED_ROOT_TTL.as_secs() as i64)),
            now.offset(-1),
        )
    }

    /// Renews the signing certificate (same key) for its normal lifetime from `now`.
    pub fn renew_signing_cert(&mut self, now: SimTime) -> Result<(), PkiError> {
        let ttl = match self.mode {
            CaMode::SelfSigned => SELF_SIGNED_ROOT_TTL,
            CaMode::Plugin => PLUGIN_INTERMEDIATE_TTL,
        };
        self.reissue_signer(now, now.plus(ttl))
    }

    fn reissue_signer(&mut self, not_before: SimTime, not_after: SimTime) -> Result<(), PkiError> {
        let signer = self.signer().clone();
        let dn = signer.params.distinguished_name.clone();
        let reissued = match self.mode {
            CaMode::SelfSigned => self.sign_root(signer.key_pkcs8, dn, not_before, not_after)?,
            CaMode::Plugin => {
                self.sign_intermediate(signer.key_pkcs8, dn, not_before, not_after)?
            }
        };
        match self.mode {
            CaMode::SelfSigned => self.root = reissued,
            CaMode::Plugin => self.intermediate = Some(reissued),
        }
        Ok(())
    }

    /// Re-issues the root (same key, same subject) so that it is past notAfter at `now`; the
    /// signer (the root itself, or the intermediate) expires with it. Returns the expired root.
    pub fn expire_root(&mut self, now: SimTime) -> Result<CertificateDer<'static>, PkiError> {
        let root = self.root.clone();
        let dn = root.params.distinguished_name.clone();
        let not_before = now.offset(-(SELF_SIGNED_ROOT_TTL.as_secs() as i64));
        self.root = self.sign_root(root.key_pkcs8, dn, not_before, now.offset(-1))?;
        if self.mode == CaMode::Plugin {
            // The intermediate cannot outlive its root in any real `cacerts`.
            self.reissue_signer(not_before, now.offset(-1))?;
        }
        Ok(self.root.der.clone())
    }
}

/// Istio draws 128-bit serials (`genSerialNum`); the top bit is cleared to keep them positive
/// and the low bit of the first byte set so the DER length is always 16 bytes.
fn serial_from(rng: &mut ChaCha20Rng) -> SerialNumber {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    SerialNumber::from_slice(&bytes)
}

/// A self-signed CA certificate.
fn self_sign(
    key_pkcs8: Vec<u8>,
    dn: DistinguishedName,
    not_before: SimTime,
    not_after: SimTime,
    serial: SerialNumber,
) -> Result<CaCert, PkiError> {
    let params = ca_params(dn, not_before, not_after, serial)?;
    let key = load_key_pair(KeyType::Rsa2048, &key_pkcs8)?;
    let der = params
        .self_signed(&key)
        .map_err(|e| PkiError::Certificate(format!("signing root: {e}")))?
        .der()
        .clone();
    Ok(CaCert {
        der,
        params,
        key_pkcs8,
        key: Arc::new(key),
        not_after,
    })
}
