//! Deterministic key material: every key is derived from the mesh seed and a purpose string, so
//! the same seed gives byte-identical keys (ring's own key generation reads the system RNG).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rcgen::{KeyPair, SignatureAlgorithm};
use rustls_pki_types::PrivatePkcs8KeyDer;
use sha2::{Digest, Sha256};

use super::PkiError;

/// The algorithm of a generated key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum KeyType {
    /// ECDSA on P-256 (`ECC_SIGNATURE_ALGORITHM=ECDSA`); meshsim's default because it is fast.
    #[default]
    EcdsaP256,
    /// RSA 2048 (`WORKLOAD_RSA_KEY_SIZE`), the istio-agent's default and istiod's CA key type.
    Rsa2048,
}

impl KeyType {
    /// The rcgen signature algorithm a key of this type signs with.
    pub fn signature_algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        }
    }

    /// Parses `ecdsa` / `p256` or `rsa` / `rsa2048`.
    pub fn parse(text: &str) -> Option<KeyType> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ecdsa" | "p256" | "ecdsa-p256" => Some(KeyType::EcdsaP256),
            "rsa" | "rsa2048" | "rsa-2048" => Some(KeyType::Rsa2048),
            _ => None,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::EcdsaP256 => "ECDSA P-256",
            KeyType::Rsa2048 => "RSA 2048",
        })
    }
}

/// A ChaCha20 RNG keyed by SHA-256(seed ‖ purpose): independent streams per purpose, so adding
/// a workload never changes another workload's keys.
pub(crate) fn seeded_rng(seed: u64, purpose: &str) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(b"meshsim-v1");
    h.update(seed.to_be_bytes());
    h.update(purpose.as_bytes());
    ChaCha20Rng::from_seed(h.finalize().into())
}

/// One slot per (seed, purpose); a slot is filled once even when threads race for it.
type KeyCache = Mutex<BTreeMap<(u64, String), Arc<OnceLock<Result<Vec<u8>, PkiError>>>>>;

/// RSA key generation costs about half a second; keys are pure functions of (seed, purpose),
/// so one process computes each at most once. The map lock is held only to find the slot, so
/// different keys still generate in parallel.
fn rsa_slot(seed: u64, purpose: &str) -> Arc<OnceLock<Result<Vec<u8>, PkiError>>> {
    static CACHE: OnceLock<KeyCache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(BTreeMap::new()));
    let mut map = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry((seed, purpose.to_string())).or_default().clone()
}

fn generate_rsa(seed: u64, purpose: &str) -> Result<Vec<u8>, PkiError> {
    let private = rsa::RsaPrivateKey::new(&mut seeded_rng(seed, purpose), 2048)
        .map_err(|e| PkiError::Key(format!("RSA-2048 generation: {e}")))?;
    Ok(rsa::pkcs8::EncodePrivateKey::to_pkcs8_der(&private)
        .map_err(|e| PkiError::Key(format!("RSA PKCS#8 encoding: {e}")))?
        .as_bytes()
        .to_vec())
}

/// The PKCS#8 DER of the key for `(seed, purpose)`.
pub(crate) fn generate_pkcs8(
    key_type: KeyType,
    seed: u64,
    purpose: &str,
) -> Result<Vec<u8>, PkiError> {
    match key_type {
        KeyType::EcdsaP256 => p256_pkcs8(&p256::SecretKey::random(&mut seeded_rng(seed, purpose))),
        KeyType::Rsa2048 => rsa_slot(seed, purpose)
            .get_or_init(|| generate_rsa(seed, purpose))
            .clone(),
    }
}

/// The PKCS#8 DER of a P-256 key whose scalar is `secret`'s. The seeded stream only picks the
/// scalar (RustCrypto's rejection sampling to [1, n)); the public point, the costly part, is
/// computed by ring's assembly rather than `p256`'s generic field arithmetic (a fifth of an
/// issuance before, `benches/ratios.rs` `MESHSIM_RATIOS_PROFILE=issue`). ring generates keys
/// only from a `SecureRandom`, so it is handed the scalar as its one draw: ring accepts a draw
/// in [1, n) as the key unchanged, the same range `p256` sampled. The bytes equal
/// `p256::SecretKey::to_pkcs8_der`'s (`keys::tests`), so every seed keeps its keys.
fn p256_pkcs8(secret: &p256::SecretKey) -> Result<Vec<u8>, PkiError> {
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    let scalar = secret.to_bytes();
    // ring's fixed-output `SecureRandom` (its own known-answer-test helper, the only way to
    // give ring a chosen scalar); it fills ring's single 32-byte draw with `scalar`.
    #[allow(deprecated)]
    let draw = ring::test::rand::FixedSliceRandom {
        bytes: scalar.as_slice(),
    };
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &draw)
        .map_err(|e| PkiError::Key(format!("P-256 key from the seeded scalar: {e}")))?;
    Ok(doc.as_ref().to_vec())
}

/// Loads PKCS#8 DER into an rcgen key pair (ring backend).
pub(crate) fn load_key_pair(key_type: KeyType, pkcs8: &[u8]) -> Result<KeyPair, PkiError> {
    KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(pkcs8),
        key_type.signature_algorithm(),
    )
    .map_err(|e| PkiError::Key(format!("loading {key_type} key: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::EncodePrivateKey as _;

    #[test]
    fn same_seed_and_purpose_give_the_same_key() {
        for kt in [KeyType::EcdsaP256, KeyType::Rsa2048] {
            let a = generate_pkcs8(kt, 1, "root-0").unwrap();
            // Bypass the RSA cache: the generation itself must be a function of the seed.
            let b = match kt {
                KeyType::EcdsaP256 => generate_pkcs8(kt, 1, "root-0").unwrap(),
                KeyType::Rsa2048 => generate_rsa(1, "root-0").unwrap(),
            };
            let c = generate_pkcs8(kt, 2, "root-0").unwrap();
            let d = generate_pkcs8(kt, 1, "plugin-root-0").unwrap();
            assert_eq!(a, b, "{kt}");
            assert_ne!(a, c, "{kt}");
            assert_ne!(a, d, "{kt}");
            load_key_pair(kt, &a).unwrap();
        }
    }

    #[test]
    fn p256_keys_are_the_bytes_rustcrypto_encodes() {
        for (seed, purpose) in [(1, "root-0"), (7, "ns/foo/sa/sleep"), (42, "bench/3")] {
            let secret = p256::SecretKey::random(&mut seeded_rng(seed, purpose));
            let rustcrypto = secret.to_pkcs8_der().unwrap().as_bytes().to_vec();
            assert_eq!(
                generate_pkcs8(KeyType::EcdsaP256, seed, purpose).unwrap(),
                rustcrypto,
                "seed {seed}, {purpose}"
            );
        }
    }
}
