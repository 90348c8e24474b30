//! Which DestinationRule applies to a client's outbound traffic for a service, following
//! `PushContext.destinationRule` (`pilot/pkg/model/push_context.go`), `SidecarScope.DestinationRule`
//! (`pilot/pkg/model/sidecar.go`) and `mergeDestinationRule` (`pilot/pkg/model/destination_rule.go`),
//! and the traffic policy it yields for a port and subset (`pilot/pkg/networking/util/util.go`).

mod export_to;
mod host;
mod index;
mod lookup;
#[cfg(test)]
mod tests;

use crate::model::{ClientTlsMode, DestinationRuleSpec, ObjectRef, TrafficPolicy};
use crate::policy::decision::Decision;
use crate::vocab::Kind;

pub(crate) use host::{most_specific_host_match, resolve_short_host};
pub(crate) use lookup::select_destination_rule_explained;
#[cfg(test)]
pub(crate) use lookup::{select_destination_rule, select_destination_rule_for_release};

const KIND: Kind = Kind::DestinationRule;

/// The DestinationRule a client uses for one service: the merged spec and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectedDestinationRule {
    /// The merged spec (oldest top-level `trafficPolicy`, union of subsets).
    pub spec: DestinationRuleSpec,
    /// The rules consolidated into it (Istio's `from`), the base first; the first one names the
    /// merged rule.
    pub rules: Vec<ObjectRef>,
    /// The host as resolved from the rules (`reviews` in `foo` becomes
    /// `reviews.foo.svc.cluster.local`; wildcards stay as written).
    pub host: String,
    /// Why this rule, from which scope, and which rules were passed over.
    pub decided_by: Vec<Decision>,
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
