//! Which DestinationRule applies to a client's outbound traffic for a service, following
//! `PushContext.destinationRule` (`pilot/pkg/model/push_context.go`), `SidecarScope.DestinationRule`
//! (`pilot/pkg/model/sidecar.go`) and `mergeDestinationRule` (`pilot/pkg/model/destination_rule.go`),
//! and the traffic policy it yields for a port and subset (`pilot/pkg/networking/util/util.go`).

mod host;
mod merge;
#[cfg(test)]
mod tests;

use crate::model::{
    ClientTlsMode, DestinationRule, DestinationRuleSpec, ObjectRef, Resources, TrafficPolicy,
    Workload,
};
use crate::policy::decision::{object_ref, Decision};
use crate::policy::peer_authn::creation_order;
use crate::policy::routing::Destination;

pub use host::{most_specific_host_match, resolve_short_host};

const KIND: &str = "DestinationRule";

/// The DestinationRule a client uses for one service: the merged spec and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectedDestinationRule {
    /// The merged spec (oldest top-level `trafficPolicy`, union of subsets).
    pub spec: DestinationRuleSpec,
    /// The rules merged into it, oldest first; the first one names the merged rule.
    pub rules: Vec<ObjectRef>,
    /// The host as resolved from the rules (`reviews` in `foo` becomes
    /// `reviews.foo.svc.cluster.local`; wildcards stay as written).
    pub host: String,
    /// Why this rule, from which scope, and which rules were passed over.
    pub decided_by: Vec<Decision>,
}

/// Where a rule sits relative to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Client,
    Service,
    Root,
}

impl Scope {
    fn describe(self) -> &'static str {
        match self {
            Scope::Client => "the client's namespace",
            Scope::Service => "the service's namespace (exported to the client)",
            Scope::Root => "the root namespace (exported to the client)",
        }
    }
}

fn has_selector(dr: &DestinationRule) -> bool {
    dr.spec.workload_selector.is_some()
}

/// Visible in its own namespace: Istio's `namespaceLocal` index takes a rule when `exportTo` is
/// empty, `.`, `*` or names the namespace; rules with a `workloadSelector` are always private.
fn is_local(dr: &DestinationRule, namespace: &str) -> bool {
    dr.meta.namespace == namespace
        && (has_selector(dr)
            || dr.spec.export_to.is_empty()
            || dr
                .spec
                .export_to
                .iter()
                .any(|e| e == "." || e == "*" || e == namespace))
}

/// Private to its namespace (`isPrivateOnly` in `setDestinationRules`): a `workloadSelector`, or
/// an `exportTo` that is exactly `.` or the rule's own namespace. For a client *in the root
/// namespace* Istio's first lookup (`rootNamespaceLocal`) holds only these root rules; the
/// root's exported rules come last, after the service's namespace.
fn is_private_only(dr: &DestinationRule) -> bool {
    if has_selector(dr) {
        return true;
    }
    let mut set: Vec<&str> = dr.spec.export_to.iter().map(String::as_str).collect();
    set.sort_unstable();
    set.dedup();
    matches!(set.as_slice(), [only] if *only == "." || *only == dr.meta.namespace)
}

/// Exported to `client_namespace`: empty `exportTo` means everywhere (Istio's default
/// `defaultDestinationRuleExportTo`); `.` only the rule's own namespace; `~` nowhere. A rule with
/// a `workloadSelector` is never exported ("destination rules with workloadSelector should not
/// be exported to other namespaces").
fn is_exported_to(dr: &DestinationRule, client_namespace: &str) -> bool {
    if has_selector(dr) {
        return dr.meta.namespace == client_namespace;
    }
    dr.spec.export_to.is_empty()
        || dr.spec.export_to.iter().any(|e| {
            e == "*" || e == client_namespace || (e == "." && dr.meta.namespace == client_namespace)
        })
}

/// Selects the DestinationRule for traffic from `client` to `dest`. Lookup order: the client's
/// namespace, then the service's namespace, then the root namespace; the first scope with a host
/// match wins. Within it, a rule whose `workloadSelector` matches the client (same namespace)
/// beats the catch-all rule without a selector.
pub fn select_destination_rule(
    res: &Resources,
    client: &Workload,
    dest: &Destination,
) -> Option<SelectedDestinationRule> {
    select_destination_rule_explained(res, client, dest).0
}

/// `select_destination_rule`, with the decisions behind a `None` too (which scopes were searched,
/// or that only non-matching selector rules matched).
pub fn select_destination_rule_explained(
    res: &Resources,
    client: &Workload,
    dest: &Destination,
) -> (Option<SelectedDestinationRule>, Vec<Decision>) {
    let client_ns = client.meta.namespace.as_str();
    let root = res.mesh_config.root_namespace.as_str();
    let client_in_root = client_ns == root;
    let mut scopes = vec![(Scope::Client, client_ns)];
    // A root-namespace client saw only private root rules first, so the root's exported rules
    // still count even when the service lives in the root namespace.
    if dest.namespace() != client_ns || client_in_root {
        scopes.push((Scope::Service, dest.namespace()));
    }
    if root != dest.namespace() {
        scopes.push((Scope::Root, root));
    }
    let scopes_searched: Vec<Scope> = scopes.iter().map(|(s, _)| *s).collect();
    for (scope, ns) in scopes {
        let visible: Vec<&DestinationRule> = res
            .destination_rules
            .iter()
            .filter(|dr| match scope {
                Scope::Client if client_in_root => dr.meta.namespace == ns && is_private_only(dr),
                Scope::Client => is_local(dr, ns),
                _ => dr.meta.namespace == ns && is_exported_to(dr, client_ns),
            })
            .collect();
        let hosts: Vec<String> = visible
            .iter()
            .map(|dr| resolve_short_host(&dr.spec.host, &dr.meta.namespace))
            .collect();
        let Some(host) = most_specific_host_match(&dest.fqdn, hosts.iter().map(String::as_str))
        else {
            continue;
        };
        let matched: Vec<&DestinationRule> = visible
            .iter()
            .zip(&hosts)
            .filter(|(_, h)| **h == host)
            .map(|(dr, _)| *dr)
            .collect();
        let mut decided_by = vec![Decision::default(
            "destination-rule/scope",
            format!(
                "host {} matches {} rule(s) for {host} in {}",
                dest.fqdn,
                matched.len(),
                scope.describe()
            ),
        )];
        // Istio sorts selector rules first, oldest first, and returns the first whose selector
        // matches the client; rules with an equal selector were merged into it.
        let mut for_client: Vec<&DestinationRule> = matched
            .iter()
            .copied()
            .filter(|dr| {
                dr.meta.namespace == client_ns
                    && dr
                        .spec
                        .workload_selector
                        .as_ref()
                        .is_some_and(|s| s.matches(&client.pod_labels))
            })
            .collect();
        for_client.sort_by(|a, b| creation_order(&a.meta, &b.meta));
        if let Some(first) = for_client.first().copied() {
            for_client.retain(|dr| dr.spec.workload_selector == first.spec.workload_selector);
        }
        let catch_all: Vec<&DestinationRule> = matched
            .iter()
            .copied()
            .filter(|dr| !has_selector(dr))
            .collect();
        for dr in matched
            .iter()
            .filter(|dr| has_selector(dr) && !for_client.contains(dr))
        {
            decided_by.push(Decision::by(
                object_ref(KIND, &dr.meta),
                "destination-rule/selector",
                "workloadSelector does not select the client (or an older selector rule does); not applied",
            ));
        }
        let merged = if !for_client.is_empty() {
            if !catch_all.is_empty() {
                decided_by.push(Decision::default(
                    "destination-rule/selector",
                    "a rule whose workloadSelector selects the client takes precedence over the catch-all rule(s)",
                ));
            }
            let fill: Vec<&DestinationRule> = catch_all
                .iter()
                .copied()
                .filter(|dr| dr.spec.export_to.iter().any(|e| e == "."))
                .collect();
            merge::merge(&for_client, &fill, &mut decided_by)
        } else if !catch_all.is_empty() {
            merge::merge(&catch_all, &[], &mut decided_by)
        } else {
            // Istio stops at the first scope with a host match even when none of its rules
            // selects this client (SidecarScope.DestinationRule returns nil).
            decided_by.push(Decision::default(
                "destination-rule/none",
                "only rules with non-matching workloadSelectors match; no DestinationRule applies",
            ));
            return (None, decided_by);
        };
        let (spec, rules) = merged;
        let selected = SelectedDestinationRule {
            spec,
            rules,
            host,
            decided_by: decided_by.clone(),
        };
        return (Some(selected), decided_by);
    }
    let searched: Vec<&str> = scopes_searched.iter().map(|s| s.describe()).collect();
    let decided_by = vec![Decision::default(
        "destination-rule/none",
        format!(
            "no DestinationRule visible to {client_ns} matches {} (searched {})",
            dest.fqdn,
            searched.join(", then ")
        ),
    )];
    (None, decided_by)
}

/// `GetPortLevelTrafficPolicy`: a `portLevelSettings` entry for the *Service* port replaces the
/// policy wholesale (fields it omits go back to defaults, they are not inherited).
fn port_level(policy: &TrafficPolicy, service_port: u16) -> (TrafficPolicy, bool) {
    match policy.port_level_settings.iter().find(|p| {
        p.port
            .as_ref()
            .is_some_and(|s| s.number == u32::from(service_port))
    }) {
        Some(p) => (
            TrafficPolicy {
                tls: p.tls.clone(),
                connection_pool: p.connection_pool.clone(),
                load_balancer: p.load_balancer.clone(),
                outlier_detection: p.outlier_detection.clone(),
                ..TrafficPolicy::default()
            },
            true,
        ),
        None => (policy.clone(), false),
    }
}

impl SelectedDestinationRule {
    fn name(&self) -> Option<ObjectRef> {
        self.rules.first().cloned()
    }

    /// The traffic policy for a Service port and optional subset (`MergeSubsetTrafficPolicy`):
    /// port-level settings replace the top level; a subset's policy overrides the fields it sets,
    /// its own port-level settings applied first.
    pub fn traffic_policy_for(
        &self,
        service_port: u16,
        subset: Option<&str>,
    ) -> (Option<TrafficPolicy>, Vec<Decision>) {
        let mut decided_by = Vec::new();
        let original = self.spec.traffic_policy.as_ref().map(|tp| {
            let (tp, replaced) = port_level(tp, service_port);
            if replaced {
                decided_by.push(self.note(
                    "destination-rule/port",
                    format!("portLevelSettings for service port {service_port} replace the top-level trafficPolicy"),
                ));
            }
            tp
        });
        let Some(subset_name) = subset else {
            return (original, decided_by);
        };
        let Some(found) = self.spec.subsets.iter().find(|s| s.name == subset_name) else {
            decided_by.push(self.note(
                "destination-rule/subset",
                format!("subset {subset_name} is not defined"),
            ));
            return (original, decided_by);
        };
        let Some(sub_tp) = found.traffic_policy.as_ref() else {
            return (original, decided_by);
        };
        let (sub_tp, replaced) = port_level(sub_tp, service_port);
        decided_by.push(self.note(
            "destination-rule/subset",
            format!(
                "subset {subset_name} trafficPolicy{} overrides the fields it sets",
                if replaced {
                    " (its port-level settings)"
                } else {
                    ""
                }
            ),
        ));
        let Some(mut merged) = original else {
            return (Some(sub_tp), decided_by);
        };
        merged.port_level_settings.clear();
        if sub_tp.tls.is_some() {
            merged.tls = sub_tp.tls;
        }
        if sub_tp.connection_pool.is_some() {
            merged.connection_pool = sub_tp.connection_pool;
        }
        if sub_tp.load_balancer.is_some() {
            merged.load_balancer = sub_tp.load_balancer;
        }
        if sub_tp.outlier_detection.is_some() {
            merged.outlier_detection = sub_tp.outlier_detection;
        }
        if sub_tp.tunnel.is_some() {
            merged.tunnel = sub_tp.tunnel;
        }
        if sub_tp.proxy_protocol.is_some() {
            merged.proxy_protocol = sub_tp.proxy_protocol;
        }
        (Some(merged), decided_by)
    }

    /// The TLS mode EDS uses to mark endpoints mTLS-capable (`tlsModeForDestinationRule` in
    /// `pilot/pkg/xds/endpoints/mtls_checker.go`). Unlike the cluster, a port entry without `tls`
    /// falls back to the top-level `tls`, and a subset reads only its own policy.
    pub fn endpoint_tls_mode(
        &self,
        service_port: u16,
        subset: Option<&str>,
    ) -> Option<ClientTlsMode> {
        let tp = match subset {
            None => self.spec.traffic_policy.as_ref(),
            Some(name) => self
                .spec
                .subsets
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.traffic_policy.as_ref()),
        }?;
        let port_mode = tp
            .port_level_settings
            .iter()
            .find(|p| {
                p.port
                    .as_ref()
                    .is_some_and(|s| s.number == u32::from(service_port))
                    && p.tls.is_some()
            })
            .and_then(|p| p.tls.as_ref())
            .map(|t| t.mode);
        port_mode.or(tp.tls.as_ref().map(|t| t.mode))
    }

    fn note(&self, step: &'static str, reason: String) -> Decision {
        Decision {
            resource: self.name(),
            step,
            reason,
        }
    }
}
