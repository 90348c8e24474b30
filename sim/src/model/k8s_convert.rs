//! Kubernetes objects (typed by `k8s-openapi`) normalised into meshsim's `k8s` types: a Pod or a
//! controller's pod template becomes one `Workload` with its replica count.

use std::collections::BTreeMap;

use crate::vocab::KubeProtocol;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{
    ContainerPort, Meta, ObjectRef, Origin, Service, ServicePort, TargetPort, Workload,
    WorkloadKind, WorkloadRole,
};

/// `metadata` as meshsim keeps it; namespaced kinds without a namespace land in
/// `default_namespace` (`-n`, else `default`), as kubectl puts them.
pub(crate) fn meta(
    om: &ObjectMeta,
    namespaced: bool,
    origin: Origin,
    default_namespace: &str,
) -> Meta {
    let namespace = if namespaced {
        om.namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| default_namespace.to_string())
    } else {
        String::new()
    };
    Meta {
        name: om.name.clone().unwrap_or_default(),
        namespace,
        labels: om.labels.clone().unwrap_or_default(),
        annotations: om.annotations.clone().unwrap_or_default(),
        creation_timestamp: om.creation_timestamp.as_ref().map(|t| t.0.as_second()),
        origin,
    }
}

/// The pod (template) part of a workload.
pub(crate) struct PodPart<'a> {
    /// Template (or Pod) metadata.
    pub meta: Option<&'a ObjectMeta>,
    /// Template (or Pod) spec.
    pub spec: Option<&'a core::PodSpec>,
    /// A Pod's status; `None` for a template.
    pub status: Option<&'a core::PodStatus>,
}

/// The facts of a Pod that went through the API server (it has a uid, a creation time or a
/// status): the injector has already decided, so its containers say whether it has a sidecar
/// (`istio-proxy` in `containers`, or in `initContainers` as a native sidecar, Istio 1.28's
/// `ENABLE_NATIVE_SIDECARS`), as does the `sidecar.istio.io/status` annotation. A manifest Pod
/// (none of those) gets none: injection would still run on it.
pub(crate) fn admitted_pod(
    own: &ObjectMeta,
    spec: Option<&core::PodSpec>,
    status: Option<&core::PodStatus>,
) -> Option<super::PodFacts> {
    if own.uid.is_none() && own.creation_timestamp.is_none() && status.is_none() {
        return None;
    }
    let proxy_container = spec.is_some_and(|s| {
        s.containers
            .iter()
            .chain(s.init_containers.iter().flatten())
            .any(|c| c.name == "istio-proxy")
    });
    let annotated = own
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(super::injection::SIDECAR_STATUS));
    Some(super::PodFacts {
        name: own.name.clone().unwrap_or_default(),
        ip: status
            .and_then(|s| s.pod_ip.as_deref())
            .and_then(|ip| ip.parse().ok()),
        sidecar: proxy_container || annotated,
    })
}

/// Builds a workload from the object's metadata and its pod (template).
pub(crate) fn workload(
    own: &ObjectMeta,
    kind: WorkloadKind,
    pod: PodPart<'_>,
    replicas: u32,
    origin: Origin,
    default_namespace: &str,
) -> Workload {
    let meta = meta(own, true, origin, default_namespace);
    // A bare Pod's labels are its own; a controller's pods carry the template's labels.
    let (pod_labels, pod_annotations) = match (kind, pod.meta) {
        (WorkloadKind::Pod, _) => (meta.labels.clone(), meta.annotations.clone()),
        (_, Some(tm)) => (
            tm.labels.clone().unwrap_or_default(),
            tm.annotations.clone().unwrap_or_default(),
        ),
        (_, None) => (BTreeMap::new(), BTreeMap::new()),
    };
    let spec = pod.spec;
    // `serviceAccount` is the deprecated alias the API server still copies into
    // `serviceAccountName`; absent both, the pod runs as `default`.
    let service_account = spec
        .and_then(|s| {
            s.service_account_name
                .clone()
                .filter(|n| !n.is_empty())
                .or_else(|| s.service_account.clone().filter(|n| !n.is_empty()))
        })
        .unwrap_or_else(|| "default".to_string());
    let mut ports = Vec::new();
    if let Some(spec) = spec {
        for container in spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers)
        {
            for p in container.ports.iter().flatten() {
                if let Ok(port) = u16::try_from(p.container_port) {
                    ports.push(ContainerPort {
                        name: p.name.clone().filter(|n| !n.is_empty()),
                        port,
                        // `check_counts` rejected any other spelling before conversion.
                        protocol: KubeProtocol::from_field(p.protocol.as_deref())
                            .unwrap_or_default(),
                    });
                }
            }
        }
    }
    // `proxy router` is how both gateway charts start their Envoy (a sidecar runs `proxy
    // sidecar`).
    let proxy_router = spec.is_some_and(|s| {
        s.containers
            .iter()
            .any(|c| c.name == "istio-proxy" && c.args.iter().flatten().any(|a| a == "router"))
    });
    let role = WorkloadRole::classify(&pod_labels, &pod_annotations, proxy_router);
    let owner_references = own
        .owner_references
        .iter()
        .flatten()
        // An owner of a kind meshsim does not load (a CronJob, a custom controller) can never
        // be a loaded workload, so dropping it leaves `fold_owned` deciding the same.
        .filter_map(|o| {
            Some(ObjectRef {
                kind: o.kind.parse().ok()?,
                namespace: meta.namespace.clone(),
                name: o.name.clone(),
            })
        })
        .collect();
    Workload {
        kind,
        pod_labels,
        pod_annotations,
        service_account,
        replicas,
        ports,
        host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
        owner_references,
        interception: super::Interception::default(),
        role,
        pods: match kind {
            WorkloadKind::Pod => admitted_pod(own, spec, pod.status).into_iter().collect(),
            _ => Vec::new(),
        },
        meta,
    }
}

/// `replicas` of a Deployment/StatefulSet/ReplicaSet: default 1, negative counts as 0.
pub(crate) fn replicas(value: Option<i32>) -> u32 {
    value.map(|r| r.max(0) as u32).unwrap_or(1)
}

/// A Service, with `targetPort` defaulted to `port` and `clusterIP: None` as headless.
pub(crate) fn service(
    svc: &core::Service,
    origin: Origin,
    default_namespace: &str,
) -> Result<Service, String> {
    let meta = meta(&svc.metadata, true, origin, default_namespace);
    let spec = svc.spec.clone().unwrap_or_default();
    let mut ports = Vec::new();
    for (i, p) in spec.ports.iter().flatten().enumerate() {
        let port = u16::try_from(p.port)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                format!(
                    "spec.ports[{i}].port: port number {} must be in the range 1..65535",
                    p.port
                )
            })?;
        let target_port = match &p.target_port {
            None => TargetPort::Number(port),
            Some(IntOrString::Int(n)) => {
                TargetPort::Number(u16::try_from(*n).ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!(
                        "spec.ports[{i}].targetPort: port number {n} must be in the range 1..65535"
                    )
                })?)
            }
            // A numeric string is a number (the API server accepts "8080" as an int-or-string).
            Some(IntOrString::String(s)) => match s.parse::<u16>() {
                Ok(n) if n > 0 => TargetPort::Number(n),
                _ if s.is_empty() => TargetPort::Number(port),
                _ => TargetPort::Name(s.clone()),
            },
        };
        ports.push(ServicePort {
            name: p.name.clone().filter(|n| !n.is_empty()),
            port,
            target_port,
            protocol: KubeProtocol::from_field(p.protocol.as_deref())
                .map_err(|m| format!("spec.ports[{i}].protocol: {m}"))?,
            app_protocol: p.app_protocol.clone(),
            declared: None,
        });
    }
    Ok(Service {
        meta,
        selector: spec.selector.clone(),
        ports,
        headless: spec.cluster_ip.as_deref() == Some("None"),
        cluster_ip: spec.cluster_ip.as_deref().and_then(|ip| ip.parse().ok()),
    })
}
