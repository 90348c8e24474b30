//! istiod's side of a CSR (`security/pkg/server/ca/server.go` `CreateCertificate`): it must be
//! up, under its request rate, able to authenticate the caller's token (TokenReview needs RBAC;
//! the service account must exist), and its CA must be able to sign. Each refusal is logged the
//! way istiod logs it and answered with the gRPC status the agent then logs.

use crate::vocab::SpiffeId;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::pki::PkiError;
use crate::SimTime;

/// Why a CSR was not signed: the gRPC status istiod (or the network) returns to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrFailure {
    /// istiod is not reachable.
    Unavailable,
    /// Over the CSR rate limit.
    RateLimited,
    /// The caller could not be authenticated (RBAC for TokenReview, or missing service account).
    Unauthenticated,
    /// The CA refused the request (TTL too long).
    InvalidArgument(String),
    /// The CA failed to sign (e.g. its signing certificate expired).
    Internal(String),
}

impl fmt::Display for CsrFailure {
    /// The gRPC error text as `citadel/client.go` wraps it (`rpc error: code = ... desc = ...`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsrFailure::Unavailable => write!(
                f,
                "rpc error: code = Unavailable desc = connection error: desc = \"transport: \
                 Error while dialing: dial tcp {ISTIOD_ADDRESS}: connect: connection refused\""
            ),
            CsrFailure::RateLimited => {
                write!(
                    f,
                    "rpc error: code = ResourceExhausted desc = rate limit exceeded"
                )
            }
            CsrFailure::Unauthenticated => write!(
                f,
                "rpc error: code = Unauthenticated desc = request authenticate failure"
            ),
            CsrFailure::InvalidArgument(m) => {
                write!(
                    f,
                    "rpc error: code = InvalidArgument desc = CSR signing error ({m})"
                )
            }
            CsrFailure::Internal(m) => {
                write!(
                    f,
                    "rpc error: code = Internal desc = CSR signing error ({m})"
                )
            }
        }
    }
}

/// Where sidecars reach istiod's CA (`istiod.istio-system.svc:15012`), as a ClusterIP.
pub const ISTIOD_ADDRESS: &str = "10.96.0.20:15012";

/// The identity istiod runs as; named in the RBAC failure, as Kubernetes names it.
const ISTIOD_USER: &str = "system:serviceaccount:istio-system:istiod";

/// istiod's state as the CSR flow sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Istiod {
    /// Whether istiod is running and reachable.
    pub up: bool,
    /// Whether istiod lacks `create` on `tokenreviews` (its ClusterRole was broken).
    pub rbac_denied: bool,
    /// Accepted CSRs per virtual second, if limited.
    pub csr_rate_limit: Option<u32>,
    /// `(namespace, name)` of service accounts that no longer exist.
    pub missing_service_accounts: BTreeSet<(String, String)>,
    window: (SimTime, u32),
    log: Vec<String>,
    /// The CA server's counters (`security/pkg/server/ca/monitoring.go`).
    counts: CaCounts,
}

/// The counters istiod's CA server keeps (`security/pkg/server/ca/monitoring.go`), counted where
/// `CreateCertificate` (`security/pkg/server/ca/server.go`) increments them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaCounts {
    /// `citadel_server_csr_count`: CSRs that reached `CreateCertificate`.
    pub csr: u64,
    /// `citadel_server_authentication_failure_count`.
    pub authentication_failure: u64,
    /// `citadel_server_csr_sign_err_count{error=...}`, by `caerror` type
    /// (`security/pkg/pki/error/error.go` `ErrorType`).
    pub sign_errors: BTreeMap<&'static str, u64>,
    /// `citadel_server_success_cert_issuance_count`.
    pub success: u64,
}

impl Default for Istiod {
    fn default() -> Self {
        Istiod {
            up: true,
            rbac_denied: false,
            csr_rate_limit: None,
            missing_service_accounts: BTreeSet::new(),
            window: (SimTime(0), 0),
            log: Vec::new(),
            counts: CaCounts::default(),
        }
    }
}

/// Istio's log timestamp: RFC 3339 with microseconds, UTC.
pub(crate) fn stamp(t: SimTime) -> String {
    let s = t.to_string();
    match s.strip_suffix('Z') {
        Some(base) => format!("{base}.000000Z"),
        None => s,
    }
}

impl Istiod {
    /// Every line istiod logged, oldest first.
    pub fn log(&self) -> &[String] {
        &self.log
    }

    /// The CA server's counters so far.
    pub fn counts(&self) -> &CaCounts {
        &self.counts
    }

    /// Counts `n` more CSRs that ended like `failure` without being run one by one (the
    /// control plane skipping identical retries), as `admit` and `signing_failed` would have.
    pub(crate) fn count_repeated(&mut self, failure: &CsrFailure, n: u64) {
        let c = &mut self.counts;
        match failure {
            CsrFailure::Unavailable | CsrFailure::RateLimited => {}
            CsrFailure::Unauthenticated => {
                c.csr += n;
                c.authentication_failure += n;
            }
            CsrFailure::InvalidArgument(_) | CsrFailure::Internal(_) => {
                let kind = match failure {
                    CsrFailure::InvalidArgument(_) => "TTL_ERROR",
                    _ => "CERT_GEN_ERROR",
                };
                c.csr += n;
                *c.sign_errors.entry(kind).or_default() += n;
            }
        }
    }

    /// Counts a certificate the CA issued (`citadel_server_success_cert_issuance_count`).
    pub(crate) fn count_success(&mut self) {
        self.counts.success += 1;
    }

    fn push(&mut self, now: SimTime, level: &str, msg: String) {
        super::keep_recent(&mut self.log, format!("{}\t{level}\t{msg}", stamp(now)));
    }

    /// Admission of one CSR from `peer` claiming `identity`: availability, rate limit, then
    /// authentication (`pkg/security/authentication.go`: every authenticator's error, joined).
    pub fn admit(
        &mut self,
        now: SimTime,
        peer: &str,
        identity: &SpiffeId,
    ) -> Result<(), CsrFailure> {
        if !self.up {
            return Err(CsrFailure::Unavailable);
        }
        if let Some(limit) = self.csr_rate_limit {
            if self.window.0 != now {
                self.window = (now, 0);
            }
            if self.window.1 >= limit {
                self.push(
                    now,
                    "warn",
                    format!(
                        "CSR rate limit exceeded ({limit} per second): rejecting CSR from {peer} \
                         for {identity}"
                    ),
                );
                return Err(CsrFailure::RateLimited);
            }
            self.window.1 += 1;
        }
        // `CreateCertificate` counts every CSR it is handed before authenticating it.
        self.counts.csr += 1;
        let jwt_error = if self.rbac_denied {
            Some(format!(
                "the service account authentication returns an error: \
                 tokenreviews.authentication.k8s.io is forbidden: User \"{ISTIOD_USER}\" cannot \
                 create resource \"tokenreviews\" in API group \"authentication.k8s.io\" at the \
                 cluster scope"
            ))
        } else if self
            .missing_service_accounts
            .contains(&(identity.namespace.clone(), identity.service_account.clone()))
        {
            Some("the token is not authenticated".to_string())
        } else {
            None
        };
        if let Some(jwt_error) = jwt_error {
            self.push(
                now,
                "error",
                format!(
                    "Failed to authenticate client from {peer}: Authenticator \
                     ClientCertAuthenticator: no verified chain is found; Authenticator \
                     KubeJWTAuthenticator: failed to validate the JWT from cluster \
                     \"Kubernetes\": {jwt_error}"
                ),
            );
            self.counts.authentication_failure += 1;
            return Err(CsrFailure::Unauthenticated);
        }
        Ok(())
    }

    /// Logs a CA refusal (`CSR signing error`) and maps it to the gRPC status istiod returns.
    pub fn signing_failed(&mut self, now: SimTime, err: &PkiError) -> CsrFailure {
        self.push(now, "error", format!("CSR signing error: {err}"));
        *self
            .counts
            .sign_errors
            .entry(ca_error_type(err))
            .or_default() += 1;
        match err {
            PkiError::TtlTooLong { .. } => CsrFailure::InvalidArgument(err.to_string()),
            _ => CsrFailure::Internal(err.to_string()),
        }
    }
}

/// The `caerror` type Istio's CA reports for a signing failure (`security/pkg/pki/error/error.go`
/// `ErrorType`, the `error` label of `citadel_server_csr_sign_err_count`): a TTL over the maximum
/// is `TTL_ERROR`, a CSR that does not parse `CSR_ERROR`, anything failing while the certificate
/// is built `CERT_GEN_ERROR` (meshsim's expired signing certificate is one of these: Istio's
/// `IstioCA.Sign` has no expiry check of its own, see docs/pki.md).
fn ca_error_type(err: &PkiError) -> &'static str {
    match err {
        PkiError::TtlTooLong { .. } => "TTL_ERROR",
        PkiError::Csr(_) => "CSR_ERROR",
        PkiError::Key(_)
        | PkiError::Certificate(_)
        | PkiError::SigningCertExpired { .. }
        | PkiError::Parse(_) => "CERT_GEN_ERROR",
    }
}
