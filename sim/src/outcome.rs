//! What one request shows, in Envoy's vocabulary: the client's view (status, flags, details,
//! body, TLS error) and each proxy's access log and TLS stats. A failed handshake or a denial is
//! an `Outcome`, never an `Err`.
//!
//! A leaf of the vocabulary: the data path fills it, the Evidence bundle and the diagnosis read
//! it, so it lives outside `proxy` and neither reader imports the sidecar runtime.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::vocab::{ResponseFlag, Status};

/// Envoy TLS stats of one proxy (listener side for a server, cluster side for a client).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TlsStats {
    /// Successful handshakes.
    pub handshake: u64,
    /// TLS errors other than counted verify failures.
    pub connection_error: u64,
    /// Chain/CA/expiry verification failures.
    pub fail_verify_error: u64,
    /// SAN mismatches.
    pub fail_verify_san: u64,
    /// A required peer certificate was not sent.
    pub fail_verify_no_cert: u64,
    /// Listener: no filter chain matched (plaintext into STRICT).
    pub no_filter_chain_match: u64,
}

/// Everything one request shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Status or connection error as the client sees it.
    pub status: Status,
    /// Envoy response flags of the client-side proxy (e.g. `UF`, `URX`), in Envoy's order.
    pub response_flags: Vec<ResponseFlag>,
    /// Response-code details (`via_upstream`, `rbac_access_denied_matched_policy[...]`, ...).
    pub details: String,
    /// The response body the client received (Envoy's 503 body, `RBAC: access denied`, ...).
    pub body: String,
    /// Did the hop use mutual TLS.
    pub mtls: bool,
    /// BoringSSL reason as Envoy reports it, e.g. `CERTIFICATE_VERIFY_FAILED`.
    pub tls_error: Option<String>,
    /// The client's principal as the server saw it (`<td>/ns/<ns>/sa/<sa>`), when mTLS.
    pub peer_principal: Option<String>,
    /// The source proxy's access-log line, if the source has a sidecar.
    pub client_log: Option<String>,
    /// The destination proxy's access-log line, if the destination has a sidecar.
    pub server_log: Option<String>,
    /// Stats counted by this request, keyed `client` / `server`.
    pub stats: BTreeMap<String, TlsStats>,
    /// The destination proxy's own TLS failure reason (BoringSSL name, e.g.
    /// `PEER_DID_NOT_RETURN_A_CERTIFICATE`, `NO_SHARED_CIPHER`, or `Secret is not supplied by
    /// SDS`), when its listener failed the connection. Envoy logs this in its own log, not in
    /// the access log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_tls_error: Option<String>,
}

impl Outcome {
    /// A bare outcome with only a status, for building up.
    pub fn with_status(status: Status) -> Outcome {
        Outcome {
            status,
            response_flags: Vec::new(),
            details: String::new(),
            body: String::new(),
            mtls: false,
            tls_error: None,
            peer_principal: None,
            client_log: None,
            server_log: None,
            stats: BTreeMap::new(),
            server_tls_error: None,
        }
    }
}

/// What a request step's `count` requests showed, grouped by what the client saw: memory grows
/// with the number of distinct results, not with the number of requests, so `count: 10000000`
/// runs in constant space. Each group keeps its first request's full outcome (logs, body, stats)
/// as the example of the group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    groups: Vec<OutcomeGroup>,
    total: u64,
}

/// Requests that saw the same result, with the first of them as the example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutcomeGroup {
    /// The first request of the group, whole.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// How many requests saw this result (omitted from JSON when 1).
    #[serde(skip_serializing_if = "is_one")]
    pub count: u64,
    /// The 0-based index of the group's first request in the step (omitted when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub first: u64,
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Outcome {
    /// Whether two outcomes are the same result as far as an expectation, a diagnosis or a
    /// matrix cell can tell: everything but the per-request log lines, body and stats.
    pub fn same_result(&self, other: &Outcome) -> bool {
        self.status == other.status
            && self.response_flags == other.response_flags
            && self.details == other.details
            && self.mtls == other.mtls
            && self.tls_error == other.tls_error
            && self.peer_principal == other.peer_principal
            && self.server_tls_error == other.server_tls_error
    }
}

impl Outcomes {
    /// No requests yet.
    pub fn new() -> Outcomes {
        Outcomes::default()
    }

    /// `n` requests that all saw `outcome`.
    pub fn repeated(outcome: Outcome, n: u64) -> Outcomes {
        let mut all = Outcomes::new();
        all.push_n(outcome, n);
        all
    }

    /// Records the next request's outcome.
    pub fn push(&mut self, outcome: Outcome) {
        self.push_n(outcome, 1);
    }

    fn push_n(&mut self, outcome: Outcome, n: u64) {
        if n == 0 {
            return;
        }
        match self
            .groups
            .iter_mut()
            .find(|g| g.outcome.same_result(&outcome))
        {
            Some(g) => g.count += n,
            None => self.groups.push(OutcomeGroup {
                outcome,
                count: n,
                first: self.total,
            }),
        }
        self.total += n;
    }

    /// How many requests were recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Whether no request was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The groups, in the order their first request was sent.
    pub fn groups(&self) -> &[OutcomeGroup] {
        &self.groups
    }

    /// The first request's outcome.
    pub fn first(&self) -> Option<&Outcome> {
        self.groups.first().map(|g| &g.outcome)
    }

    /// The first request's outcome, owned.
    pub fn into_first(self) -> Option<Outcome> {
        self.groups.into_iter().next().map(|g| g.outcome)
    }

    /// The first failed request's outcome, else the first: a burst where only some requests
    /// overflow is explained by a failed one.
    pub fn first_failure_or_first(&self) -> Option<&Outcome> {
        self.groups
            .iter()
            .find(|g| !g.outcome.status.is_success())
            .or_else(|| self.groups.first())
            .map(|g| &g.outcome)
    }
}

impl Serialize for Outcomes {
    /// A list of groups; a step of one request is a list of one plain outcome.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.groups.serialize(s)
    }
}

impl FromIterator<Outcome> for Outcomes {
    fn from_iter<I: IntoIterator<Item = Outcome>>(iter: I) -> Outcomes {
        let mut all = Outcomes::new();
        for o in iter {
            all.push(o);
        }
        all
    }
}
