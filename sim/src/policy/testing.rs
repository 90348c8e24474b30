//! Test fixtures: a small builder that constructs `Resources` directly (no YAML), shared by the
//! policy tests.

use std::collections::BTreeMap;

use crate::model::*;

/// Labels from pairs.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Metadata with a name, namespace and optional creation timestamp.
pub(crate) fn meta(namespace: &str, name: &str, created: Option<i64>) -> Meta {
    Meta {
        name: name.into(),
        namespace: namespace.into(),
        creation_timestamp: created,
        ..Meta::default()
    }
}

/// A PeerAuthentication object.
pub(crate) fn pa(
    namespace: &str,
    name: &str,
    selector: Option<&[(&str, &str)]>,
    mode: Option<MtlsMode>,
    created: Option<i64>,
) -> PeerAuthentication {
    PeerAuthentication {
        meta: meta(namespace, name, created),
        spec: PeerAuthenticationSpec {
            selector: selector.map(|s| WorkloadSelector {
                match_labels: labels(s),
            }),
            mtls: mode.map(|mode| PeerMtls { mode }),
            port_level_mtls: None,
        },
    }
}

/// A resource set under construction.
#[derive(Default)]
pub(crate) struct Fixture {
    /// The resources built so far.
    pub res: Resources,
}

impl Fixture {
    /// An empty mesh with Istio's default MeshConfig.
    pub(crate) fn new() -> Fixture {
        Fixture::default()
    }

    /// Adds an injected namespace (`istio-injection=enabled`).
    pub(crate) fn namespace(&mut self, name: &str) -> &mut Fixture {
        self.namespace_labeled(name, &[("istio-injection", "enabled")])
    }

    /// Adds a namespace with these labels.
    pub(crate) fn namespace_labeled(
        &mut self,
        name: &str,
        ns_labels: &[(&str, &str)],
    ) -> &mut Fixture {
        let mut m = meta("", name, None);
        m.labels = labels(ns_labels);
        self.res.namespaces.push(Namespace { meta: m });
        self
    }

    /// Adds a one-replica Deployment running as the `default` service account; returns its index.
    pub(crate) fn workload(
        &mut self,
        namespace: &str,
        name: &str,
        pod_labels: &[(&str, &str)],
    ) -> usize {
        self.workload_sa(namespace, name, "default", pod_labels, &[])
    }

    /// Adds a one-replica Deployment with a service account and named container ports.
    // Field by field, so fields the model adds later keep their defaults.
    #[allow(clippy::field_reassign_with_default)]
    pub(crate) fn workload_sa(
        &mut self,
        namespace: &str,
        name: &str,
        service_account: &str,
        pod_labels: &[(&str, &str)],
        ports: &[(Option<&str>, u16)],
    ) -> usize {
        let mut w = Workload::default();
        w.meta = meta(namespace, name, None);
        w.kind = WorkloadKind::Deployment;
        w.pod_labels = labels(pod_labels);
        w.service_account = service_account.into();
        w.replicas = 1;
        w.ports = ports
            .iter()
            .map(|(n, p)| ContainerPort {
                name: n.map(str::to_string),
                port: *p,
                protocol: crate::vocab::KubeProtocol::Tcp,
            })
            .collect();
        self.res.workloads.push(w);
        self.res.workloads.len() - 1
    }

    /// Adds a Service; ports are `(name, port, targetPort)`.
    #[allow(clippy::field_reassign_with_default)]
    pub(crate) fn service(
        &mut self,
        namespace: &str,
        name: &str,
        selector: &[(&str, &str)],
        ports: &[(&str, u16, TargetPort)],
    ) -> &mut Fixture {
        let mut svc = Service::default();
        svc.meta = meta(namespace, name, None);
        svc.selector = Some(labels(selector));
        svc.ports = ports
            .iter()
            .map(|(n, p, t)| ServicePort {
                name: Some(n.to_string()),
                port: *p,
                target_port: t.clone(),
                protocol: crate::vocab::KubeProtocol::Tcp,
                app_protocol: None,
                declared: None,
            })
            .collect();
        self.res.services.push(svc);
        self
    }

    /// Adds a PeerAuthentication.
    pub(crate) fn pa(
        &mut self,
        namespace: &str,
        name: &str,
        selector: Option<&[(&str, &str)]>,
        mode: Option<MtlsMode>,
        created: Option<i64>,
    ) -> &mut Fixture {
        self.res
            .peer_authentications
            .push(pa(namespace, name, selector, mode, created));
        self
    }

    /// Adds a DestinationRule.
    pub(crate) fn dr(
        &mut self,
        namespace: &str,
        name: &str,
        created: Option<i64>,
        spec: DestinationRuleSpec,
    ) -> &mut Fixture {
        self.res.destination_rules.push(DestinationRule {
            meta: meta(namespace, name, created),
            spec,
        });
        self
    }

    /// Adds an AuthorizationPolicy.
    pub(crate) fn ap(
        &mut self,
        namespace: &str,
        name: &str,
        spec: AuthorizationPolicySpec,
    ) -> &mut Fixture {
        self.res.authorization_policies.push(AuthorizationPolicy {
            meta: meta(namespace, name, None),
            spec,
        });
        self
    }
}

/// A DestinationRule spec with a host and an optional top-level TLS mode.
pub(crate) fn dr_spec(host: &str, tls: Option<ClientTlsMode>) -> DestinationRuleSpec {
    DestinationRuleSpec {
        host: host.into(),
        traffic_policy: tls.map(|mode| TrafficPolicy {
            tls: Some(ClientTls {
                mode,
                ..ClientTls::default()
            }),
            ..TrafficPolicy::default()
        }),
        ..DestinationRuleSpec::default()
    }
}
