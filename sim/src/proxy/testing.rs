//! Test-support certificates made with rcgen: a root, SPIFFE workload certificates shaped like
//! Istio's (empty subject, one URI SAN, serverAuth+clientAuth), and the broken variants the
//! failure modes need (expired, not yet valid, foreign root, foreign trust domain). The mock CA in
//! `pki` is the production issuer; this module only exists so the data path can be tested alone.

use crate::vocab::SpiffeId;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls_pki_types::CertificateDer;

use crate::pki::issue::workload_leaf_params;
use crate::pki::keys::{generate_pkcs8, load_key_pair, KeyType};
use crate::pki::{TrustBundle, WorkloadCert};
use crate::SimTime;

/// A test root CA that can issue workload certificates.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    root: CertificateDer<'static>,
    /// Issuing CA first, up to (not including) the root; empty when the root signs directly.
    intermediates: Vec<CertificateDer<'static>>,
}

impl TestCa {
    /// A self-signed root valid from `not_before` to `not_after`, subject `O=<org>`.
    pub fn new(org: &str, not_before: SimTime, not_after: SimTime) -> TestCa {
        let params = ca_params(org, not_before, not_after);
        let key = test_key(&format!("test root {org} {not_before} {not_after}"));
        let cert = params
            .self_signed(&key)
            .expect("a self-signed root from fixed params");
        TestCa {
            issuer: Issuer::new(params, key),
            root: cert.der().clone(),
            intermediates: Vec::new(),
        }
    }

    /// An intermediate CA signed by this one (Istio's plug-in CA, `cacerts`): it issues the
    /// workload certificates, and its chain travels with them.
    pub fn intermediate(&self, org: &str) -> TestCa {
        let params = ca_params(
            org,
            SimTime::EPOCH.offset(-86_400),
            SimTime::EPOCH.offset(3650 * 86_400),
        );
        let key = test_key(&format!("test intermediate {org}"));
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("signing an intermediate from fixed params");
        let mut intermediates = vec![cert.der().clone()];
        intermediates.extend(self.intermediates.iter().cloned());
        TestCa {
            issuer: Issuer::new(params, key),
            root: self.root.clone(),
            intermediates,
        }
    }

    /// A root valid for ten years around the mesh epoch (Istio's self-signed root TTL).
    pub fn mesh_root(org: &str) -> TestCa {
        TestCa::new(
            org,
            SimTime::EPOCH.offset(-86_400),
            SimTime::EPOCH.offset(3650 * 86_400),
        )
    }

    /// The root certificate (DER).
    pub fn root_der(&self) -> &CertificateDer<'static> {
        &self.root
    }

    /// The bundle that trusts only this root.
    pub fn bundle(&self) -> TrustBundle {
        TrustBundle {
            roots: vec![self.root.clone()],
        }
    }

    /// Issues a workload certificate for `spiffe` (a `spiffe://` URI) valid in the given window,
    /// with a fresh P-256 key.
    pub fn issue(&self, spiffe: &str, not_before: SimTime, not_after: SimTime) -> WorkloadCert {
        let key = test_key(&format!("test workload {spiffe} {not_before} {not_after}"));
        self.issue_with_key(spiffe, not_before, not_after, key)
    }

    /// Issues a workload certificate for `spiffe` with the given key (e.g. [`rsa_test_key`]).
    pub fn issue_with_key(
        &self,
        spiffe: &str,
        not_before: SimTime,
        not_after: SimTime,
        key: KeyPair,
    ) -> WorkloadCert {
        let mut params = workload_leaf_params(SanType::URI(
            spiffe.try_into().expect("test SPIFFE URIs are ASCII"),
        ));
        set_validity(&mut params, not_before, not_after);
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("signing a leaf from fixed params");
        let mut chain = vec![cert.der().clone()];
        chain.extend(self.intermediates.iter().cloned());
        WorkloadCert {
            chain,
            key_pkcs8: key.serialize_der(),
            not_before,
            not_after,
            spiffe: spiffe.parse::<SpiffeId>().ok(),
        }
    }

    /// A 24h workload certificate issued at `now` (backdated 2 minutes, as Istio's CA does).
    pub fn workload(&self, spiffe: &str, now: SimTime) -> WorkloadCert {
        self.issue(spiffe, now.offset(-120), now.offset(24 * 3600))
    }

    /// The root as PEM.
    pub fn root_pem(&self) -> String {
        pem_block("CERTIFICATE", self.root.as_ref())
    }
}

fn ca_params(org: &str, not_before: SimTime, not_after: SimTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, org);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, not_before, not_after);
    params
}

/// Sets validity from virtual time; rcgen's date type is reached through `date_time_ymd` so
/// `time` need not become a direct dependency.
fn set_validity(params: &mut CertificateParams, not_before: SimTime, not_after: SimTime) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + Duration::from_secs(not_before.unix_secs());
    params.not_after = epoch + Duration::from_secs(not_after.unix_secs());
}

/// A P-256 key that is a pure function of `purpose` (the mesh's seeded generator with a fixed
/// test seed), so a failing test prints the same keys on every run. ECDSA signatures still
/// take ring's random nonce, so certificate bytes differ between runs; their keys do not.
fn test_key(purpose: &str) -> KeyPair {
    const TEST_SEED: u64 = 0x7e57;
    let pkcs8 = generate_pkcs8(KeyType::EcdsaP256, TEST_SEED, purpose)
        .expect("P-256 keys from a seeded generator");
    load_key_pair(KeyType::EcdsaP256, &pkcs8).expect("loading a generated P-256 key")
}

/// One of two fixed RSA-2048 test keys (`0` or `1`), the key type Istio's agent uses by default
/// (ring cannot generate RSA keys, so these were made once with `openssl genpkey`).
pub fn rsa_test_key(which: usize) -> KeyPair {
    let pem = match which {
        0 => include_str!("testdata/rsa-2048-key.pem"),
        _ => include_str!("testdata/rsa-2048-key-2.pem"),
    };
    KeyPair::from_pkcs8_pem_and_sign_algo(pem, &rcgen::PKCS_RSA_SHA256)
        .expect("the embedded RSA test key parses")
}

/// A PEM block (64-column base64) for exporting test material to openssl.
pub fn pem_block(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let n = match chunk.len() {
            3 => (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]),
            2 => (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8),
            _ => u32::from(chunk[0]) << 16,
        };
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
