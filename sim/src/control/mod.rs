//! istiod: the certificate signing flow (CSR authorisation, rate limits, outages) and its logs,
//! plus each sidecar's istio-agent, all on the virtual clock.
//!
//! `register` schedules a proxy's first CSR; `advance_to` runs every due CSR (initial, rotation,
//! retry) in time order, ties broken by proxy id, so the same calls give the same certificates
//! and logs byte for byte.

use crate::vocab::SpiffeId;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use crate::pki::keys::seeded_rng;
use crate::pki::{create_csr, CertificateAuthority, KeyType, PkiError, TrustBundle, WorkloadCert};
use crate::tls_params::TlsParamsOverride;
use crate::SimTime;

mod agent;
mod export;
mod faults;
mod istiod;
#[cfg(test)]
mod tests;

pub use agent::{
    retry_delay, rotate_at, GRACE_PERIOD_RATIO, GRACE_PERIOD_RATIO_JITTER, RETRY_INITIAL, RETRY_MAX,
};
pub use export::Exported;
pub use istiod::{CaCounts, CsrFailure, Istiod, ISTIOD_ADDRESS};

use agent::Agent;

/// A control-plane operation that could not be carried out (bad input or CA setup).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No proxy registered under this id (or for this workload).
    #[error("no sidecar proxy for {0:?} (proxies are registered as NAMESPACE/WORKLOAD)")]
    UnknownProxy(String),
    /// The proxy id is already registered.
    #[error("proxy {0:?} is already registered")]
    DuplicateProxy(String),
    /// The CA failed (key generation, certificate building).
    #[error(transparent)]
    Pki(#[from] PkiError),
}

/// The trust bundle of a proxy the control plane does not know: no roots.
static EMPTY_BUNDLE: TrustBundle = TrustBundle { roots: Vec::new() };

/// istiod with its CA, the `istio-ca-root-cert` it distributes, and every sidecar's agent.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    ca: CertificateAuthority,
    istiod: Istiod,
    /// What `istio-ca-root-cert` holds: what a (re)starting proxy gets as `ROOTCA`.
    distributed: TrustBundle,
    agents: BTreeMap<String, Agent>,
    ttl: Duration,
    key_type: KeyType,
    jitter: ChaCha20Rng,
    now: SimTime,
}

impl ControlPlane {
    /// istiod with a fresh self-signed CA at `now`; sidecars request `ttl` (`SECRET_TTL`) and
    /// generate `key_type` keys.
    pub fn new(
        seed: u64,
        trust_domain: &str,
        ttl: Duration,
        key_type: KeyType,
        now: SimTime,
    ) -> Result<ControlPlane, ControlError> {
        let ca = CertificateAuthority::self_signed(seed, trust_domain, now)?;
        Ok(ControlPlane {
            distributed: ca.root_bundle(),
            ca,
            istiod: Istiod::default(),
            agents: BTreeMap::new(),
            ttl,
            key_type,
            jitter: seeded_rng(seed, "rotation-jitter"),
            now,
        })
    }

    /// Starts a sidecar: its agent gets the distributed root bundle and sends its first CSR at
    /// the current time (processed by the next `advance_to`). `service_account_exists: false`
    /// registers a pod whose service account is already gone.
    pub fn register(
        &mut self,
        proxy_id: &str,
        spiffe: SpiffeId,
        service_account_exists: bool,
    ) -> Result<(), ControlError> {
        if self.agents.contains_key(proxy_id) {
            return Err(ControlError::DuplicateProxy(proxy_id.to_string()));
        }
        self.set_service_account_exists(
            &spiffe.namespace,
            &spiffe.service_account,
            service_account_exists,
        );
        let peer = pod_address(self.agents.len());
        let agent = Agent::new(spiffe, peer, self.distributed.clone(), self.now);
        self.agents.insert(proxy_id.to_string(), agent);
        Ok(())
    }

    /// Stops a sidecar for good (its pod is gone, or replaced by a rollout that changes its
    /// identity); a later `register` under the same id starts a fresh agent.
    pub fn unregister(&mut self, proxy_id: &str) -> bool {
        self.agents.remove(proxy_id).is_some()
    }

    /// Processes every CSR due up to `now`, in time order (ties by proxy id), then sets the
    /// clock to `now`. Moving backwards does nothing.
    ///
    /// The cost does not grow with the jump's length beyond bookkeeping: the CA accepts each CSR
    /// on the way (validity, serial, the agent's rotation schedule and logs, all as before) but
    /// signs only the certificate each proxy holds when the jump ends, and an agent whose CSRs
    /// keep failing for a reason the jump cannot change (istiod down, authentication refused,
    /// signing certificate expired) skips whole blocks of identical retries, keeping the last
    /// ones so its kept log tail is the one the step-by-step run gives.
    pub fn advance_to(&mut self, now: SimTime) {
        loop {
            let due = self
                .agents
                .iter()
                .filter_map(|(id, a)| a.next_csr.filter(|t| *t <= now).map(|t| (t, id.clone())))
                .min();
            let Some((t, id)) = due else { break };
            self.now = self.now.max(t);
            self.process_csr(&id, t);
            self.skip_repeated_failures(&id, now);
        }
        self.now = self.now.max(now);
        self.sign_accepted();
    }

    fn process_csr(&mut self, id: &str, t: SimTime) {
        let Some(agent) = self.agents.get_mut(id) else {
            return;
        };
        agent.next_csr = None;
        if agent.stalled {
            return;
        }
        let (spiffe, peer, issued) = (agent.spiffe.clone(), agent.peer.clone(), agent.issued);
        let key_purpose = self.key_purpose(id, issued);
        let result = self.istiod.admit(t, &peer, &spiffe).and_then(|()| {
            self.ca
                .reserve(&spiffe, self.ttl, t)
                .map_err(|e| self.istiod.signing_failed(t, &e))
        });
        let jitter = self.jitter.gen_range(-1.0..=1.0);
        let Some(agent) = self.agents.get_mut(id) else {
            return;
        };
        match result {
            Ok(accepted) => {
                agent.received(accepted, key_purpose, t, jitter);
                self.istiod.count_success();
            }
            Err(failure) => agent.failed(&failure, t),
        }
    }

    /// After a failure that every later retry of this jump repeats, moves the agent past whole
    /// blocks of [`LOG_LINES_KEPT`] retries (each one agent log line and at most one istiod
    /// line), keeping at least twice that many to run: the logs' kept tails and every other
    /// agent's schedule are then exactly those of running each retry. Retries are at the
    /// `RETRY_MAX` cap by then. Not with a CSR rate limit, whose per-second window every
    /// admitted CSR counts in.
    fn skip_repeated_failures(&mut self, id: &str, until: SimTime) {
        if self.istiod.csr_rate_limit.is_some() {
            return;
        }
        let Some(agent) = self.agents.get_mut(id) else {
            return;
        };
        let repeats = matches!(
            agent.last_failure,
            Some(
                CsrFailure::Unavailable
                    | CsrFailure::Unauthenticated
                    | CsrFailure::InvalidArgument(_)
                    | CsrFailure::Internal(_)
            )
        );
        let Some(next) = agent.next_csr else { return };
        if !repeats || retry_delay(agent.failures) != RETRY_MAX || next > until {
            return;
        }
        let step = RETRY_MAX.as_secs();
        let due = (until.0 - next.0) / step + 1;
        let block = LOG_LINES_KEPT as u64;
        if due < 3 * block {
            return;
        }
        let skip = (due - 2 * block) / block * block;
        // The skipped retries were sent and failed all the same: the counters say so.
        agent.csr_sent += skip;
        agent.csr_failed += skip;
        if let Some(failure) = &agent.last_failure {
            self.istiod.count_repeated(failure, skip);
        }
        agent.failures = agent
            .failures
            .saturating_add(u32::try_from(skip).unwrap_or(u32::MAX));
        agent.next_csr = Some(next.plus(Duration::from_secs(skip * step)));
    }

    /// Signs the certificate each agent accepted last (a fresh key and CSR per issuance, as the
    /// istio-agent makes them); the CA has not changed since it accepted them.
    fn sign_accepted(&mut self) {
        for agent in self.agents.values_mut() {
            let Some((accepted, key_purpose)) = agent.pending.take() else {
                continue;
            };
            let signed = create_csr(&agent.spiffe, self.key_type, self.ca.seed(), &key_purpose)
                .and_then(|csr| {
                    self.ca
                        .sign_reserved(&csr.der, &accepted)
                        .map(|signed| (csr, signed))
                });
            match signed {
                Ok((csr, signed)) => {
                    agent.cert = Some(Arc::new(WorkloadCert {
                        chain: signed.chain,
                        key_pkcs8: csr.key_pkcs8,
                        not_before: signed.not_before,
                        not_after: signed.not_after,
                        spiffe: Some(agent.spiffe.clone()),
                    }));
                }
                // Only a broken key or CA gets here: istiod logs it, the proxy keeps what it had.
                Err(e) => {
                    self.istiod.signing_failed(self.now, &e);
                }
            }
        }
    }

    /// ECDSA keys are cheap and fresh per CSR; an RSA-2048 key is generated once per proxy and
    /// reused across rotations (documented deviation: generation costs ~0.5s).
    fn key_purpose(&self, id: &str, issued: u64) -> String {
        match self.key_type {
            KeyType::EcdsaP256 => format!("workload/{id}/{issued}"),
            KeyType::Rsa2048 => format!("workload/{id}"),
        }
    }

    /// What SDS `default` and `ROOTCA` hold for the proxy right now. An unknown proxy has
    /// neither (no certificate, an empty bundle).
    pub fn credentials(&self, proxy: &str) -> (Option<&WorkloadCert>, &TrustBundle) {
        match self.agents.get(proxy) {
            Some(a) => (a.cert.as_deref(), &a.bundle),
            None => (None, &EMPTY_BUNDLE),
        }
    }

    /// [`ControlPlane::credentials`] as the shared values SDS holds, for a request's
    /// `SidecarTls` (cloning the `Arc`s, not the certificates).
    pub(crate) fn shared_credentials(
        &self,
        proxy: &str,
    ) -> (Option<Arc<WorkloadCert>>, Option<Arc<TrustBundle>>) {
        match self.agents.get(proxy) {
            Some(a) => (a.cert.clone(), Some(a.bundle.clone())),
            None => (None, None),
        }
    }

    /// Serves every proxy of `workload` (`NS/WORKLOAD`) `cert` and `bundle` from outside the
    /// CA (a replay's twins of a real cluster's SDS secrets) and stops its agent's CSRs, so
    /// they stay as shown until the proxy restarts (a restart starts a fresh agent).
    pub fn install_exported_credentials(
        &mut self,
        workload: &str,
        cert: Option<WorkloadCert>,
        bundle: TrustBundle,
    ) -> Result<(), ControlError> {
        for id in self.proxies_of(workload)? {
            if let Some(a) = self.agents.get_mut(&id) {
                a.set_credentials(cert.clone(), bundle.clone());
                a.stalled = true;
                a.next_csr = None;
                a.pending = None;
            }
        }
        Ok(())
    }

    /// Changes whenever the proxy's certificate or bundle changes (0 for an unknown proxy);
    /// the proxy re-handshakes pooled connections when it moves.
    pub fn generation(&self, proxy: &str) -> u64 {
        self.agents.get(proxy).map_or(0, |a| a.generation)
    }

    /// Every istiod log line, oldest first.
    pub fn istiod_log(&self) -> &[String] {
        self.istiod.log()
    }

    /// The proxy's istio-agent log lines, oldest first (empty for an unknown proxy).
    pub fn agent_log(&self, proxy: &str) -> &[String] {
        self.agents.get(proxy).map_or(&[], |a| &a.log)
    }

    /// The proxy's clock offset in seconds (fault `clock-skew`; positive: ahead).
    pub fn clock_offset(&self, proxy: &str) -> i64 {
        self.agents.get(proxy).map_or(0, |a| a.clock_offset)
    }

    /// The proxy's TLS parameters, if a `tls-params` fault set them.
    pub fn tls_params(&self, proxy: &str) -> Option<&TlsParamsOverride> {
        self.agents.get(proxy).and_then(|a| a.tls.as_ref())
    }

    /// The proxy's CSRs sent and failed so far (istio-agent's `num_outgoing_requests` and
    /// `num_failed_outgoing_requests` with `request_type="csr"`); zero for an unknown proxy.
    pub fn csr_counts(&self, proxy: &str) -> (u64, u64) {
        self.agents
            .get(proxy)
            .map_or((0, 0), |a| (a.csr_sent, a.csr_failed))
    }

    /// When the proxy's agent sends its next CSR (rotation or retry), if ever.
    pub fn next_csr(&self, proxy: &str) -> Option<SimTime> {
        self.agents.get(proxy).and_then(|a| a.next_csr)
    }

    /// Registered proxy ids, sorted.
    pub fn proxies(&self) -> impl Iterator<Item = &str> {
        self.agents.keys().map(String::as_str)
    }

    /// The control plane's clock.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The CA (roots, signing certificate) as istiod holds it.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// istiod's state (up, RBAC, rate limit, missing service accounts).
    pub fn istiod(&self) -> &Istiod {
        &self.istiod
    }

    /// What `istio-ca-root-cert` currently distributes.
    pub fn distributed_bundle(&self) -> &TrustBundle {
        &self.distributed
    }

    /// The workload certificate TTL agents request.
    pub fn cert_ttl(&self) -> Duration {
        self.ttl
    }

    /// Records whether a service account exists (creating or deleting it).
    pub fn set_service_account_exists(&mut self, namespace: &str, name: &str, exists: bool) {
        let key = (namespace.to_string(), name.to_string());
        if exists {
            self.istiod.missing_service_accounts.remove(&key);
        } else {
            self.istiod.missing_service_accounts.insert(key);
        }
    }

    /// Brings istiod up or down at `now`; agents keep retrying on their backoff schedule.
    pub fn set_istiod_up(&mut self, up: bool, now: SimTime) {
        self.advance_to(now);
        self.istiod.up = up;
    }

    /// Breaks or restores istiod's permission to create TokenReviews.
    pub fn set_rbac_denied(&mut self, denied: bool) {
        self.istiod.rbac_denied = denied;
    }

    /// Sets or clears the CSR rate limit.
    pub fn set_csr_rate_limit(&mut self, per_second: Option<u32>) {
        self.istiod.csr_rate_limit = per_second;
    }

    /// Renews the CA's signing certificate at `now` (same key), e.g. after `expire-ca-cert`.
    pub fn renew_ca_cert(&mut self, now: SimTime) -> Result<(), ControlError> {
        self.advance_to(now);
        self.ca.renew_signing_cert(now)?;
        Ok(())
    }

    /// Restarts every proxy of `workload` (`kubectl rollout restart`): the new pod starts with
    /// no certificate and the distributed bundle, clears agent faults, and sends a CSR now.
    pub fn restart(&mut self, workload: &str, now: SimTime) -> Result<(), ControlError> {
        self.advance_to(now);
        let ids = self.proxies_of(workload)?;
        for id in ids {
            self.restart_proxy(&id, now);
        }
        self.advance_to(now);
        Ok(())
    }

    pub(crate) fn restart_proxy(&mut self, id: &str, now: SimTime) {
        let now = now.max(self.now);
        let bundle = self.distributed.clone();
        if let Some(a) = self.agents.get_mut(id) {
            a.set_credentials(None, bundle);
            a.stalled = false;
            a.failures = 0;
            a.next_csr = Some(now);
        }
    }

    /// The registered proxy ids of `workload` (empty when it runs no sidecar).
    pub fn proxies_of_workload(&self, workload: &crate::vocab::WorkloadRef) -> Vec<String> {
        self.proxies_of(&workload.to_string()).unwrap_or_default()
    }

    /// The proxies of a workload: `NS/WORKLOAD` itself, or its replicas `NS/WORKLOAD/<n>`.
    pub(crate) fn proxies_of(&self, workload: &str) -> Result<Vec<String>, ControlError> {
        let prefix = format!("{workload}/");
        let ids: Vec<String> = self
            .agents
            .keys()
            .filter(|id| id.as_str() == workload || id.starts_with(&prefix))
            .cloned()
            .collect();
        if ids.is_empty() {
            return Err(ControlError::UnknownProxy(workload.to_string()));
        }
        Ok(ids)
    }
}

/// How many recent lines each log keeps (istiod's and every agent's): the kubelet rotates
/// container logs too (`containerLogMaxSize`, 10 MiB by default), so a years-long run keeps a
/// bounded tail instead of every line.
pub const LOG_LINES_KEPT: usize = 10_000;

/// Appends `line`, dropping the oldest [`LOG_LINES_KEPT`] lines whenever twice that many are
/// held: amortised O(1), and the kept tail depends only on the lines pushed.
pub(crate) fn keep_recent(log: &mut Vec<String>, line: String) {
    log.push(line);
    if log.len() >= 2 * LOG_LINES_KEPT {
        log.drain(..LOG_LINES_KEPT);
    }
}

/// A pod IP for the n-th registered proxy, as istiod's logs show the CSR's peer address.
fn pod_address(n: usize) -> String {
    format!(
        "10.244.{}.{}:{}",
        n / 250,
        n % 250 + 2,
        40000 + (n * 7919) % 20000
    )
}
