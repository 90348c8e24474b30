//! Loaders for what a real cluster exports, beyond the resources dump: `istioctl proxy-config
//! secret -o json` (the Envoy `SecretsConfigDump`), `kubectl logs POD -c istio-proxy` (access-log
//! lines in Istio's default text or JSON format, mixed with Envoy's and istio-agent's own lines)
//! and `kubectl logs deploy/istiod`. Each loader reads text and returns typed facts or an
//! [`ArtifactError`] naming the file, the line and what was expected; fields a loader does not
//! model are ignored, never an error.

mod access_log;
mod bundle;
pub mod flows;
mod istiod_log;
mod replay;
mod secrets;
mod timestamp;

pub use access_log::{parse_proxy_log, AccessLogFormat, ParsedAccessLog, ProxyLog, ProxyRole};
pub use bundle::{pod_workload, BundleError, ClusterArtifacts, PlacedLog, PodSecrets};
pub use istiod_log::{parse_istiod_log, IstiodLog};
pub use replay::{replay, same_symptom, RemedyCheck, Replay};
pub use secrets::{parse_secret_dump, render_secret_dump, SecretDump};
pub use timestamp::parse_rfc3339;

pub use crate::proxy::access_log::AccessLog;

/// An artifact that cannot be read as what it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    /// The file could not be read at all.
    #[error("{file}: cannot read: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A line (or a JSON value starting on that line) is not what the format says.
    #[error("{file}:{line}: {problem}; expected {expected}")]
    Malformed {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
        /// What the format expects there.
        expected: &'static str,
    },
    /// The file holds nothing of the kind expected (empty, or another command's output).
    #[error("{file}: {problem}; expected {expected}")]
    WrongShape {
        /// The file.
        file: String,
        /// What is wrong.
        problem: String,
        /// What the file should be.
        expected: &'static str,
    },
}

/// The 1-based line on which byte `offset` of `text` lies.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}
