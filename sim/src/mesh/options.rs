//! The knobs a mesh is built with, and the error a mesh reports for bad input.

use std::fmt;
use std::time::Duration;

use crate::clock::SimTime;

/// Knobs for building a mesh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshOptions {
    /// Seed for every random choice (keys, serials, jitter).
    pub seed: u64,
    /// Workload certificate TTL (`SECRET_TTL`), 24h by default.
    pub cert_ttl: Duration,
    /// Use RSA-2048 workload keys (Istio's default) instead of ECDSA P-256 (faster).
    pub rsa_keys: bool,
    /// Where the virtual clock starts. [`SimTime::EPOCH`] by default so reports are
    /// reproducible; `meshsim certs` passes the wall-clock time in (the library never reads it)
    /// so the files it writes are valid when they are used.
    pub start: SimTime,
}

impl Default for MeshOptions {
    fn default() -> Self {
        MeshOptions {
            seed: 0,
            cert_ttl: Duration::from_secs(24 * 3600),
            rsa_keys: false,
            start: SimTime::EPOCH,
        }
    }
}

/// A failure of the harness itself (bad input), never a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshError(pub String);

impl fmt::Display for MeshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MeshError {}
