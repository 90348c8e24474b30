//! One AuthorizationPolicy rule against one request: a rule matches when some `from` matches,
//! some `to` matches and every `when` holds; values of one field OR, fields AND, `not*` fields
//! negate. On TCP, Istio's builder (`pilot/pkg/security/authz/model/model.go`, `checkError`)
//! drops an ALLOW rule that uses an HTTP-only field and removes HTTP-only fields from DENY, AUDIT
//! and CUSTOM rules (CUSTOM is generated with the DENY action in `builder.go`), widening them.

use std::collections::HashMap;

use crate::model::{AuthzAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource};

use super::matcher::{
    expand_trust_domains, header_match, host_match, ip_block_match, namespace_match, path_match,
    principal_parts, string_match, trust_domain_match,
};
use super::RequestFacts;

/// What a rule is evaluated against.
pub(super) struct MatchContext<'a> {
    pub facts: &'a RequestFacts,
    /// The policy's namespace (a bare `serviceAccounts` entry is in it).
    pub policy_namespace: &'a str,
    pub action: AuthzAction,
    /// The mesh trust domain followed by its aliases.
    pub bundle: &'a [String],
    /// Principal patterns already expanded over `bundle` ([`expand_trust_domains`]) when the
    /// index was built, holding only those the expansion changes (a pattern not in it stands
    /// for itself); `None`: every pattern is expanded on the spot.
    pub expansions: Option<&'a HashMap<String, Vec<String>>>,
    /// Whether a miss says why (`field`, `reason`); without the trace a miss is an empty
    /// [`Miss`] and nothing is allocated on the way.
    pub trace: bool,
}

/// Why a rule did not match: the first field that failed, and a readable reason (both empty
/// when the decision runs without its trace).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Miss {
    /// The field as the policy names it (`principals`, `notNamespaces`, `when source.ip`, ...),
    /// or `http-only fields` for an ALLOW rule dropped on TCP.
    pub field: String,
    /// One line: what the request had and what the rule wanted.
    pub reason: String,
}

type Outcome = Result<(), Miss>;

impl MatchContext<'_> {
    fn tcp(&self) -> bool {
        self.facts.http.is_none()
    }

    fn principal(&self) -> Option<&str> {
        self.facts.principal.as_deref()
    }

    fn peer(&self) -> String {
        match self.principal() {
            Some(p) => format!("peer {p}"),
            None => "a plaintext peer (no mTLS identity)".into(),
        }
    }

    fn principal_matches(&self, pattern: &str) -> bool {
        self.principal().is_some_and(|p| match self.expansions {
            // An empty map (the usual mesh) is not even hashed into.
            Some(x) => match (!x.is_empty()).then(|| x.get(pattern)).flatten() {
                Some(expanded) => expanded.iter().any(|e| string_match(e, p)),
                None => string_match(pattern, p),
            },
            None => expand_trust_domains(pattern, self.bundle)
                .iter()
                .any(|e| string_match(e, p)),
        })
    }

    /// A miss: `why()` with the trace, else an empty one (no allocation).
    fn miss(&self, why: impl FnOnce() -> Miss) -> Miss {
        if self.trace {
            why()
        } else {
            Miss::default()
        }
    }

    fn namespace_matches(&self, pattern: &str) -> bool {
        self.principal()
            .is_some_and(|p| namespace_match(pattern, p))
    }

    /// `ns/sa`, or a bare `sa` meaning the policy's namespace; exact, any trust domain.
    fn service_account_matches(&self, value: &str) -> bool {
        let (ns, sa) = value
            .split_once('/')
            .unwrap_or((self.policy_namespace, value));
        self.principal()
            .and_then(principal_parts)
            .is_some_and(|(_, pns, psa)| pns == ns && psa == sa)
    }

    fn ip_matches(&self, block: &str) -> bool {
        self.facts
            .source_ip
            .is_some_and(|ip| ip_block_match(block, ip))
    }

    fn remote_ip_matches(&self, block: &str) -> bool {
        self.facts
            .remote_ip
            .is_some_and(|ip| ip_block_match(block, ip))
    }

    fn port_matches(&self, value: &str) -> bool {
        port_value_matches(value, self.facts.destination_port)
    }

    fn host_matches(&self, pattern: &str) -> bool {
        let Some(http) = &self.facts.http else {
            return false;
        };
        host_match(pattern, &http.host)
    }

    fn header(&self, name: &str) -> Option<&str> {
        let http = self.facts.http.as_ref()?;
        http.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// One field: values OR; `negate` for `not*` fields; empty or absent is a wildcard; an
    /// HTTP-only field on TCP has been removed (DENY/AUDIT) and so matches.
    fn field(
        &self,
        name: &str,
        values: &Option<Vec<String>>,
        negate: bool,
        http_only: bool,
        actual: impl Fn() -> String,
        matcher: impl Fn(&str) -> bool,
    ) -> Outcome {
        let Some(values) = values.as_ref().filter(|v| !v.is_empty()) else {
            return Ok(());
        };
        if http_only && self.tcp() {
            return Ok(());
        }
        let hit = values.iter().any(|v| matcher(v));
        match (negate, hit) {
            (false, true) | (true, false) => Ok(()),
            (false, false) => Err(self.miss(|| Miss {
                field: name.to_string(),
                reason: format!("{name}: {} matches none of {values:?}", actual()),
            })),
            (true, true) => Err(self.miss(|| Miss {
                field: name.to_string(),
                reason: format!("{name}: {} matches one of {values:?}", actual()),
            })),
        }
    }

    fn source(&self, s: &AuthzSource) -> Outcome {
        let peer = || self.peer();
        let ip = || self.peer_ip();
        let f = |n, v, neg, m: &dyn Fn(&str) -> bool, a: &dyn Fn() -> String| {
            self.field(n, v, neg, false, a, m)
        };
        f(
            "principals",
            &s.principals,
            false,
            &|v| self.principal_matches(v),
            &peer,
        )?;
        f(
            "notPrincipals",
            &s.not_principals,
            true,
            &|v| self.principal_matches(v),
            &peer,
        )?;
        f(
            "namespaces",
            &s.namespaces,
            false,
            &|v| self.namespace_matches(v),
            &peer,
        )?;
        f(
            "notNamespaces",
            &s.not_namespaces,
            true,
            &|v| self.namespace_matches(v),
            &peer,
        )?;
        f(
            "serviceAccounts",
            &s.service_accounts,
            false,
            &|v| self.service_account_matches(v),
            &peer,
        )?;
        f(
            "notServiceAccounts",
            &s.not_service_accounts,
            true,
            &|v| self.service_account_matches(v),
            &peer,
        )?;
        f(
            "trustDomains",
            &s.trust_domains,
            false,
            &|v| trust_domain_match(v, self.principal(), self.bundle),
            &peer,
        )?;
        f(
            "notTrustDomains",
            &s.not_trust_domains,
            true,
            &|v| trust_domain_match(v, self.principal(), self.bundle),
            &peer,
        )?;
        f(
            "ipBlocks",
            &s.ip_blocks,
            false,
            &|v| self.ip_matches(v),
            &ip,
        )?;
        f(
            "notIpBlocks",
            &s.not_ip_blocks,
            true,
            &|v| self.ip_matches(v),
            &ip,
        )?;
        // The original client: the rightmost X-Forwarded-For entry, else the direct peer.
        let remote = || self.remote_ip();
        f(
            "remoteIpBlocks",
            &s.remote_ip_blocks,
            false,
            &|v| self.remote_ip_matches(v),
            &remote,
        )?;
        f(
            "notRemoteIpBlocks",
            &s.not_remote_ip_blocks,
            true,
            &|v| self.remote_ip_matches(v),
            &remote,
        )?;
        // No RequestAuthentication is modelled, so a request never carries a JWT principal.
        let jwt = || "a request without JWT principal".to_string();
        self.field(
            "requestPrincipals",
            &s.request_principals,
            false,
            true,
            jwt,
            |_| false,
        )?;
        self.field(
            "notRequestPrincipals",
            &s.not_request_principals,
            true,
            true,
            jwt,
            |_| false,
        )
    }

    fn operation(&self, o: &AuthzOperation) -> Outcome {
        let http = self.facts.http.as_ref();
        let host = || format!("host {:?}", http.map(|h| h.host.as_str()).unwrap_or(""));
        let method = || format!("method {:?}", http.map(|h| h.method.as_str()).unwrap_or(""));
        let path = || format!("path {:?}", http.map(|h| h.path.as_str()).unwrap_or(""));
        let port = || format!("port {}", self.facts.destination_port);
        let method_is = |v: &str| header_match(v, http.map(|h| h.method.as_str()));
        // `RequestFacts::new` already holds the path as the HCM normalized it.
        let path_is = |v: &str| http.is_some_and(|h| path_match(v, &h.path));
        self.field("hosts", &o.hosts, false, true, host, |v| {
            self.host_matches(v)
        })?;
        self.field("notHosts", &o.not_hosts, true, true, host, |v| {
            self.host_matches(v)
        })?;
        self.field("ports", &o.ports, false, false, port, |v| {
            self.port_matches(v)
        })?;
        self.field("notPorts", &o.not_ports, true, false, port, |v| {
            self.port_matches(v)
        })?;
        self.field("methods", &o.methods, false, true, method, method_is)?;
        self.field("notMethods", &o.not_methods, true, true, method, method_is)?;
        self.field("paths", &o.paths, false, true, path, path_is)?;
        self.field("notPaths", &o.not_paths, true, true, path, path_is)
    }

    fn condition(&self, c: &AuthzCondition) -> Outcome {
        let key = c.key.as_str();
        // Only the trace names the field; `String::new()` allocates nothing.
        let name = if self.trace {
            format!("when {key}")
        } else {
            String::new()
        };
        let check = |http_only: bool, actual: &dyn Fn() -> String, m: &dyn Fn(&str) -> bool| {
            self.field(&name, &c.values, false, http_only, actual, m)?;
            self.field(&name, &c.not_values, true, http_only, actual, m)
        };
        if let Some(header) = key
            .strip_prefix("request.headers[")
            .and_then(|r| r.strip_suffix(']'))
        {
            let value = self.header(header);
            let actual = || format!("header {header}={:?}", value.unwrap_or(""));
            return check(true, &actual, &|v| header_match(v, value));
        }
        match key {
            "source.ip" => check(false, &|| self.peer_ip(), &|v| self.ip_matches(v)),
            "remote.ip" => check(false, &|| self.remote_ip(), &|v| self.remote_ip_matches(v)),
            "source.namespace" => check(false, &|| self.peer(), &|v| self.namespace_matches(v)),
            "source.principal" => check(false, &|| self.peer(), &|v| self.principal_matches(v)),
            // 1.25+ (`srcServiceAccountGenerator`): `ns/sa` or `sa` (the policy's namespace),
            // the same match as `from.source.serviceAccounts`.
            "source.serviceAccount" => {
                check(false, &|| self.peer(), &|v| self.service_account_matches(v))
            }
            "destination.port" => check(
                false,
                &|| format!("port {}", self.facts.destination_port),
                &|v| self.port_matches(v),
            ),
            "connection.sni" => {
                let sni = self.facts.sni.as_deref().unwrap_or("");
                check(false, &|| format!("sni {sni:?}"), &|v| string_match(v, sni))
            }
            k if k.starts_with("request.auth.")
                || k.starts_with("experimental.envoy.filters.")
                || k.starts_with("request.regex.headers") =>
            {
                check(
                    true,
                    &|| "a request without JWT or filter metadata".into(),
                    &|_| false,
                )
            }
            // `destIPGenerator` → RBAC `destination_ip`, a CIDR match on the connection's local
            // (original destination) address; TCP and HTTP alike.
            "destination.ip" => {
                let actual = || {
                    self.facts.destination_ip.map_or_else(
                        || "an unknown destination ip".into(),
                        |ip| format!("destination ip {ip}"),
                    )
                };
                check(false, &actual, &|v| {
                    self.facts
                        .destination_ip
                        .is_some_and(|ip| ip_block_match(v, ip))
                })
            }
            // Keys Istio's validation rejects: no fact to match.
            _ => check(false, &|| format!("no value for {key}"), &|_| false),
        }
    }

    fn peer_ip(&self) -> String {
        match self.facts.source_ip {
            Some(ip) => format!("source ip {ip}"),
            None => "an unknown source ip".into(),
        }
    }

    fn remote_ip(&self) -> String {
        match (
            self.facts.remote_ip,
            self.facts.remote_ip == self.facts.source_ip,
        ) {
            // Without X-Forwarded-For the remote address is the peer's, and reads as before.
            (_, true) => self.peer_ip(),
            (Some(ip), false) => format!("remote ip {ip}"),
            (None, false) => "an unknown remote ip".into(),
        }
    }
}

/// Whether a `ports`/`notPorts` value names `port` (Istio's `portGenerator` turns the value into
/// an exact `destination_port` match).
pub(crate) fn port_value_matches(value: &str, port: u16) -> bool {
    value.trim().parse::<u16>().ok() == Some(port)
}

/// Calls `note(prefix, name)` for each HTTP-only field a rule uses (empty lists do not count):
/// the field is `prefix` followed by `name` (`when ` for a condition key).
fn visit_http_only_fields(rule: &AuthzRule, mut note: impl FnMut(&'static str, &str)) {
    let mut field = |name: &'static str, v: &Option<Vec<String>>| {
        if v.as_ref().is_some_and(|v| !v.is_empty()) {
            note("", name);
        }
    };
    for s in rule.from.iter().flatten().filter_map(|f| f.source.as_ref()) {
        field("requestPrincipals", &s.request_principals);
        field("notRequestPrincipals", &s.not_request_principals);
    }
    for o in rule
        .to
        .iter()
        .flatten()
        .filter_map(|t| t.operation.as_ref())
    {
        field("hosts", &o.hosts);
        field("notHosts", &o.not_hosts);
        field("methods", &o.methods);
        field("notMethods", &o.not_methods);
        field("paths", &o.paths);
        field("notPaths", &o.not_paths);
    }
    for c in rule.when.iter().flatten() {
        let k = c.key.as_str();
        if k.starts_with("request.") || k.starts_with("experimental.envoy.filters.") {
            note("when ", k);
        }
    }
}

/// The HTTP-only fields a rule uses (empty lists do not count), sorted.
pub(crate) fn http_only_fields(rule: &AuthzRule) -> Vec<String> {
    let mut out = Vec::new();
    visit_http_only_fields(rule, |prefix, name| out.push(format!("{prefix}{name}")));
    out.sort();
    out.dedup();
    out
}

/// Whether a rule uses any HTTP-only field ([`http_only_fields`] is not empty), without
/// allocating.
fn uses_http_only_fields(rule: &AuthzRule) -> bool {
    let mut any = false;
    visit_http_only_fields(rule, |_, _| any = true);
    any
}

/// Whether one rule matches; `Err` says the first reason it does not.
pub(super) fn rule_matches(rule: &AuthzRule, ctx: &MatchContext<'_>) -> Outcome {
    if ctx.tcp() && ctx.action == AuthzAction::Allow && uses_http_only_fields(rule) {
        return Err(ctx.miss(|| Miss {
            field: "http-only fields".into(),
            reason: format!(
                "uses HTTP-only fields ({}); on a TCP connection an ALLOW rule with them is dropped",
                http_only_fields(rule).join(", ")
            ),
        }));
    }
    // Without the trace the misses of the alternatives are not kept (`Vec::new()` allocates
    // nothing until a push).
    let keep = |misses: &mut Vec<(usize, Miss)>, i: usize, m: Miss| {
        if ctx.trace {
            misses.push((i, m));
        }
    };
    if let Some(from) = rule.from.as_ref().filter(|f| !f.is_empty()) {
        let mut misses = Vec::new();
        let any = from.iter().enumerate().any(|(i, f)| match &f.source {
            None => true,
            Some(s) => ctx.source(s).map_err(|m| keep(&mut misses, i, m)).is_ok(),
        });
        if !any {
            return Err(ctx.miss(|| alternatives("from", misses)));
        }
    }
    if let Some(to) = rule.to.as_ref().filter(|t| !t.is_empty()) {
        let mut misses = Vec::new();
        let any = to.iter().enumerate().any(|(i, t)| match &t.operation {
            None => true,
            Some(o) => ctx
                .operation(o)
                .map_err(|m| keep(&mut misses, i, m))
                .is_ok(),
        });
        if !any {
            return Err(ctx.miss(|| alternatives("to", misses)));
        }
    }
    for c in rule.when.iter().flatten() {
        ctx.condition(c)?;
    }
    Ok(())
}

/// None of the `from` (or `to`) entries matched: the first entry's field, every entry's reason.
fn alternatives(section: &str, misses: Vec<(usize, Miss)>) -> Miss {
    let field = misses
        .first()
        .map(|(_, m)| m.field.clone())
        .unwrap_or_default();
    let reason = misses
        .iter()
        .map(|(i, m)| format!("{section}[{i}] {}", m.reason))
        .collect::<Vec<_>>()
        .join("; ");
    Miss { field, reason }
}
