//! The per-proxy istio-agent secret cache (`security/pkg/nodeagent/cache/secretcache.go`): what
//! SDS `default` and `ROOTCA` hold, when the next CSR goes out (rotation or retry), its log.

use crate::vocab::SpiffeId;
use std::sync::Arc;
use std::time::Duration;

use super::istiod::{stamp, CsrFailure};
use super::keep_recent;
use crate::pki::{go_duration, Reservation, TrustBundle, WorkloadCert};
use crate::tls_params::TlsParamsOverride;
use crate::SimTime;

/// `SECRET_GRACE_PERIOD_RATIO`: rotate once less than half the lifetime remains.
pub const GRACE_PERIOD_RATIO: f64 = 0.5;
/// `SECRET_GRACE_PERIOD_RATIO_JITTER`: ±1% of the lifetime, drawn from the seeded RNG.
pub const GRACE_PERIOD_RATIO_JITTER: f64 = 0.01;
/// First retry after a failed CSR.
pub const RETRY_INITIAL: Duration = Duration::from_secs(1);
/// Retries back off exponentially (1s, 2s, 4s, ...) up to this interval.
pub const RETRY_MAX: Duration = Duration::from_secs(300);

/// The delay before retry number `failures` (1-based): 1s doubling, capped at `RETRY_MAX`.
pub fn retry_delay(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    (RETRY_INITIAL * 2u32.pow(exp)).min(RETRY_MAX)
}

/// When a certificate received at `received` is due for rotation: `secretcache.go` `rotateTime`
/// renews once the remaining life drops below (ratio + jitter) of the lifetime, the lifetime
/// counted from when the agent got it. `jitter` is in [-1, 1].
pub fn rotate_at(received: SimTime, not_after: SimTime, jitter: f64) -> SimTime {
    let lifetime = not_after.0.saturating_sub(received.0) as f64;
    let ratio = GRACE_PERIOD_RATIO + jitter.clamp(-1.0, 1.0) * GRACE_PERIOD_RATIO_JITTER;
    let grace = (lifetime * ratio).round() as u64;
    // A certificate with (almost) no life left is renewed on the next second, never "now" again.
    SimTime(not_after.0.saturating_sub(grace).max(received.0 + 1))
}

/// One sidecar's agent.
#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub(crate) spiffe: SpiffeId,
    /// The pod address istiod sees the CSR come from.
    pub(crate) peer: String,
    /// Shared with every request's `SidecarTls` (a request clones the `Arc`, not the DER).
    pub(crate) cert: Option<Arc<WorkloadCert>>,
    pub(crate) bundle: Arc<TrustBundle>,
    pub(crate) generation: u64,
    /// When the next CSR goes out (initial, rotation, or retry).
    pub(crate) next_csr: Option<SimTime>,
    pub(crate) failures: u32,
    /// Certificates received so far; names the key of the next CSR.
    pub(crate) issued: u64,
    /// The agent no longer sends CSRs (fault `missing-cert` / `expired-cert`) until a restart.
    pub(crate) stalled: bool,
    pub(crate) clock_offset: i64,
    /// Per-proxy TLS parameters (fault `tls-params`); the proxy applies them over the mesh's.
    pub(crate) tls: Option<TlsParamsOverride>,
    pub(crate) log: Vec<String>,
    /// A certificate the CA accepted during the current clock jump but has not signed yet
    /// (`ControlPlane::advance_to` signs it when the jump ends), with the key it certifies.
    pub(crate) pending: Option<(Reservation, String)>,
    /// Why the last CSR failed, until one succeeds.
    pub(crate) last_failure: Option<CsrFailure>,
    /// `num_outgoing_requests{request_type="csr"}` (`security/pkg/nodeagent/cache/monitoring.go`).
    pub(crate) csr_sent: u64,
    /// `num_failed_outgoing_requests{request_type="csr"}`.
    pub(crate) csr_failed: u64,
}

impl Agent {
    pub(crate) fn new(spiffe: SpiffeId, peer: String, bundle: TrustBundle, now: SimTime) -> Agent {
        Agent {
            spiffe,
            peer,
            cert: None,
            bundle: Arc::new(bundle),
            generation: 1,
            next_csr: Some(now),
            failures: 0,
            issued: 0,
            stalled: false,
            clock_offset: 0,
            tls: None,
            log: Vec::new(),
            pending: None,
            last_failure: None,
            csr_sent: 0,
            csr_failed: 0,
        }
    }

    fn push(&mut self, now: SimTime, level: &str, msg: String) {
        keep_recent(
            &mut self.log,
            format!("{}\t{level}\tcache\t{msg}", stamp(now)),
        );
    }

    /// Takes the CA's answer (the certificate it accepted, signed when the clock jump ends; SDS
    /// `default` push) and schedules its rotation.
    pub(crate) fn received(
        &mut self,
        accepted: Reservation,
        key_purpose: String,
        now: SimTime,
        jitter: f64,
    ) {
        let not_after = accepted.not_after;
        let ttl = Duration::from_secs(not_after.0.saturating_sub(now.0));
        self.push(
            now,
            "info",
            format!(
                "generated new workload certificate\tresourceName=default latency=0s ttl={}",
                go_duration(ttl)
            ),
        );
        self.next_csr = Some(rotate_at(now, not_after, jitter));
        self.pending = Some((accepted, key_purpose));
        self.csr_sent += 1;
        self.issued += 1;
        self.failures = 0;
        self.last_failure = None;
        self.generation += 1;
    }

    /// Logs a failed CSR and schedules the retry.
    pub(crate) fn failed(&mut self, failure: &CsrFailure, now: SimTime) {
        self.push(
            now,
            "error",
            format!("resource:default failed to sign: create certificate: {failure}"),
        );
        self.failures += 1;
        self.csr_sent += 1;
        self.csr_failed += 1;
        self.last_failure = Some(failure.clone());
        self.next_csr = Some(now.plus(retry_delay(self.failures)));
    }

    /// Replaces what SDS serves without a CSR (faults, restarts); bumps the generation.
    pub(crate) fn set_credentials(&mut self, cert: Option<WorkloadCert>, bundle: TrustBundle) {
        if self.cert.as_deref() != cert.as_ref() || *self.bundle != bundle {
            self.cert = cert.map(Arc::new);
            self.bundle = Arc::new(bundle);
            self.generation += 1;
        }
    }
}
