//! What meshsim reads but does not model: one table of valid Istio and Kubernetes fields, kinds
//! and annotations, each with the behaviour meshsim assumes instead. A manifest that sets one
//! gets a loader warning naming the field and the assumption (`check` reports it as the finding
//! `UnmodelledField`), so a difference between meshsim's answer and a cluster's is never silent.
//!
//! The table is the single source: `docs/semantics.md` ("Modelled, warned, rejected") lists the
//! same rows with the Istio code that handles each field.

use serde_yaml::Value;

use super::locate::FieldPath;
use super::parse::Source;
use super::{Origin, Warning};

pub(crate) use crate::vocab::UnmodelledSubject as Subject;

/// Which requests a row can change the answer for, so `probe` names only the rows that matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Scope {
    /// Requests to a host the object lists (`spec.host` of a DestinationRule, `spec.hosts` of a
    /// VirtualService or ServiceEntry).
    Hosts,
    /// Requests from or to a workload in the object's namespace (a Sidecar, RequestAuthentication,
    /// EnvoyFilter or AuthorizationPolicy; the root namespace's reach every workload).
    Namespace,
    /// Every request (a MeshConfig key).
    Mesh,
    /// No request's status (telemetry, gateways meshsim's probes do not cross).
    Never,
}

/// One step of a field path in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// A mapping key.
    Key(&'static str),
    /// Every item of a list.
    Each,
    /// Every traffic policy of a DestinationRule spec: `trafficPolicy`, its
    /// `portLevelSettings[]`, and the same under `subsets[]`.
    EveryTrafficPolicy,
    /// The `key` of a `when` condition, when its value starts with this prefix.
    WhenKeyPrefix(&'static str),
}

/// One row: a field (below `spec`, or a MeshConfig key) that is valid Istio but not modelled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    /// The kind it belongs to.
    pub subject: Subject,
    /// Its path; empty for a kind meshsim skips whole.
    pub path: &'static [Step],
    /// What meshsim does instead.
    pub assumption: &'static str,
    /// Which requests it can change.
    pub scope: Scope,
}

use Step::{Each, EveryTrafficPolicy as Tp, Key, WhenKeyPrefix};

const fn row(
    subject: Subject,
    path: &'static [Step],
    scope: Scope,
    assumption: &'static str,
) -> Row {
    Row {
        subject,
        path,
        assumption,
        scope,
    }
}

/// What meshsim assumes for a `when` on a header the sidecars add before RBAC.
const SIDECAR_HEADER: &str =
    "Envoy sets this header before the destination's RBAC runs; meshsim's requests do not carry it, so the condition is judged as if the header were absent";

/// Every known-but-unmodelled field, kind and MeshConfig key. Paths of Istio kinds start below
/// `spec`; MeshConfig paths start at the top of `data.mesh`.
pub(crate) const TABLE: &[Row] = &[
    // Kinds skipped whole (pilot/pkg/networking/core, pilot/pkg/security/authn).
    row(Subject::EnvoyFilter, &[], Scope::Namespace, "no patch is applied: the generated Envoy configuration is used as is"),
    row(Subject::Gateway, &[], Scope::Never, "gateway listeners are not built: gateway pods send as proxies with their own identity, and flows to them are left out of the matrix; sidecar-to-sidecar traffic is unaffected"),
    row(Subject::ProxyConfig, &[], Scope::Namespace, "proxies run with the default ProxyConfig"),
    row(Subject::RequestAuthentication, &[], Scope::Namespace, "no JWT is validated and requests carry none: `request.auth.*` conditions never match"),
    // ServiceEntry (pilot/pkg/serviceregistry/serviceentry/conversion.go): hosts, ports,
    // location, resolution, endpoints' address/ports/labels/serviceAccount, workloadSelector,
    // exportTo and subjectAltNames are modelled.
    row(Subject::ServiceEntry, &[Key("addresses")], Scope::Hosts, "clients dial the hosts by name: no listener is bound to the addresses, and a connection to one of them is not modelled"),
    row(Subject::ServiceEntry, &[Key("endpoints"), Each, Key("network")], Scope::Hosts, "the endpoint is on the client's network"),
    row(Subject::ServiceEntry, &[Key("endpoints"), Each, Key("locality")], Scope::Hosts, "endpoints are picked regardless of locality"),
    row(Subject::ServiceEntry, &[Key("endpoints"), Each, Key("weight")], Scope::Hosts, "endpoints are picked round-robin with equal weight"),
    row(Subject::ServiceEntry, &[Key("endpoints"), Each, Key("serviceAccount")], Scope::Hosts, "the client treats the endpoint as mTLS-capable (tlsMode istio), but meshsim runs no sidecar at that address: it answers as a server outside the mesh"),
    row(Subject::Telemetry, &[], Scope::Never, "no effect on traffic; access logs use meshsim's fixed format"),
    row(Subject::VirtualService, &[], Scope::Hosts, "requests go straight to the Service named in the URL: no routing, retries, timeouts, faults, mirroring or rewrites"),
    row(Subject::WasmPlugin, &[], Scope::Namespace, "no Wasm filter runs"),
    row(Subject::WorkloadEntry, &[], Scope::Hosts, "the entry is no endpoint of any Service"),
    row(Subject::WorkloadGroup, &[], Scope::Never, "no WorkloadEntry is generated from it"),
    // DestinationRule (pilot/pkg/networking/core/cluster_traffic_policy.go).
    row(Subject::DestinationRule, &[Tp, Key("outlierDetection")], Scope::Hosts, "no endpoint is ever ejected"),
    row(Subject::DestinationRule, &[Tp, Key("loadBalancer"), Key("consistentHash")], Scope::Hosts, "endpoints are picked round-robin, not by hash"),
    row(Subject::DestinationRule, &[Tp, Key("loadBalancer"), Key("localityLbSetting")], Scope::Hosts, "endpoints are picked regardless of locality"),
    row(Subject::DestinationRule, &[Tp, Key("loadBalancer"), Key("warmupDurationSecs")], Scope::Hosts, "new endpoints get full traffic at once"),
    row(Subject::DestinationRule, &[Tp, Key("loadBalancer"), Key("warmup")], Scope::Hosts, "new endpoints get full traffic at once"),
    row(Subject::DestinationRule, &[Tp, Key("tunnel")], Scope::Hosts, "connections are not tunnelled"),
    row(Subject::DestinationRule, &[Tp, Key("proxyProtocol")], Scope::Hosts, "no PROXY protocol header is sent"),
    row(Subject::DestinationRule, &[Tp, Key("retryBudget")], Scope::Hosts, "retries are not budgeted"),
    row(Subject::DestinationRule, &[Tp, Key("tls"), Key("caCrl")], Scope::Hosts, "no certificate is revoked"),
    row(Subject::DestinationRule, &[Tp, Key("connectionPool"), Key("tcp"), Key("connectTimeout")], Scope::Hosts, "connections never time out"),
    row(Subject::DestinationRule, &[Tp, Key("connectionPool"), Key("tcp"), Key("tcpKeepalive")], Scope::Hosts, "no TCP keepalive; connections stay up"),
    row(Subject::DestinationRule, &[Tp, Key("connectionPool"), Key("tcp"), Key("maxConnectionDuration")], Scope::Hosts, "connections are never closed for age"),
    row(Subject::DestinationRule, &[Tp, Key("connectionPool"), Key("tcp"), Key("idleTimeout")], Scope::Hosts, "idle connections are never closed"),
    row(Subject::DestinationRule, &[Tp, Key("connectionPool"), Key("http"), Key("maxRetries")], Scope::Hosts, "retries are not limited (meshsim sends no retries)"),
    row(Subject::DestinationRule, &[Tp, Key("connectionPool"), Key("http"), Key("idleTimeout")], Scope::Hosts, "idle connections are never closed"),
    row(Subject::DestinationRule, &[Tp, Key("connectionPool"), Key("http"), Key("h2UpgradePolicy")], Scope::Hosts, "HTTP/1.1 is never upgraded to HTTP/2"),
    row(Subject::DestinationRule, &[Tp, Key("connectionPool"), Key("http"), Key("maxConcurrentStreams")], Scope::Hosts, "streams are not limited"),
    row(Subject::DestinationRule, &[Tp, Key("connectionPool"), Key("http"), Key("useClientProtocol")], Scope::Hosts, "the upstream protocol follows the port, not the client"),
    row(Subject::DestinationRule, &[Tp, Key("connectionPool"), Key("http"), Key("http2KeepAlive")], Scope::Hosts, "no HTTP/2 keepalive pings"),
    // Sidecar (pilot/pkg/model/sidecar.go, pilot/pkg/networking/core/listener.go): the
    // selection, `egress[].hosts` and `outboundTrafficPolicy.mode` are modelled.
    row(Subject::Sidecar, &[Key("ingress")], Scope::Namespace, "default inbound listeners: every container port is captured as the PeerAuthentication and the Service port say"),
    row(Subject::Sidecar, &[Key("inboundConnectionPool")], Scope::Namespace, "inbound connections are not limited"),
    row(Subject::Sidecar, &[Key("egress"), Each, Key("port"), Key("protocol")], Scope::Namespace, "the listener imports the matching Services on that port number only, each with its own Service port's protocol"),
    row(Subject::Sidecar, &[Key("egress"), Each, Key("bind")], Scope::Namespace, "the listener is bound as if `bind` were unset (the Service's address, or 0.0.0.0 for HTTP)"),
    row(Subject::Sidecar, &[Key("egress"), Each, Key("captureMode")], Scope::Namespace, "iptables capture (DEFAULT)"),
    row(Subject::Sidecar, &[Key("outboundTrafficPolicy"), Key("egressProxy")], Scope::Namespace, "unknown destinations go to PassthroughCluster, not to the egress proxy"),
    // AuthorizationPolicy (pilot/pkg/security/authz/model/generator.go).
    row(Subject::AuthorizationPolicy, &[Key("rules"), Each, Key("when"), Each, WhenKeyPrefix("request.auth.")], Scope::Namespace, "requests carry no JWT: the condition never matches"),
    row(Subject::AuthorizationPolicy, &[Key("rules"), Each, Key("when"), Each, WhenKeyPrefix("experimental.envoy.filters.")], Scope::Namespace, "requests carry no filter metadata: the condition never matches"),
    row(Subject::AuthorizationPolicy, &[Key("rules"), Each, Key("when"), Each, WhenKeyPrefix("request.regex.headers")], Scope::Namespace, "the condition never matches"),
    // Headers Envoy sets before the destination's RBAC filter runs: the inbound HCM's
    // `x-request-id`, `x-forwarded-proto` and `x-forwarded-client-cert`
    // (`forward_client_cert_details`, `pilot/pkg/networking/core/listener_builder.go`), the
    // client router's `x-envoy-attempt-count`, and the tracer's B3/W3C headers.
    row(Subject::AuthorizationPolicy, &[Key("rules"), Each, Key("when"), Each, WhenKeyPrefix("request.headers[x-request-id]")], Scope::Namespace, SIDECAR_HEADER),
    row(Subject::AuthorizationPolicy, &[Key("rules"), Each, Key("when"), Each, WhenKeyPrefix("request.headers[x-forwarded-proto]")], Scope::Namespace, SIDECAR_HEADER),
    row(Subject::AuthorizationPolicy, &[Key("rules"), Each, Key("when"), Each, WhenKeyPrefix("request.headers[x-forwarded-client-cert]")], Scope::Namespace, SIDECAR_HEADER),
    row(Subject::AuthorizationPolicy, &[Key("rules"), Each, Key("when"), Each, WhenKeyPrefix("request.headers[x-envoy-")], Scope::Namespace, SIDECAR_HEADER),
    row(Subject::AuthorizationPolicy, &[Key("rules"), Each, Key("when"), Each, WhenKeyPrefix("request.headers[x-b3-")], Scope::Namespace, SIDECAR_HEADER),
    row(Subject::AuthorizationPolicy, &[Key("rules"), Each, Key("when"), Each, WhenKeyPrefix("request.headers[traceparent]")], Scope::Namespace, SIDECAR_HEADER),
    // MeshConfig (pkg/config/mesh, pilot/pkg/networking/core).
    row(Subject::MeshConfig, &[Key("defaultConfig")], Scope::Never, "proxies run with the default ProxyConfig"),
    row(Subject::MeshConfig, &[Key("defaultDestinationRuleExportTo")], Scope::Mesh, "DestinationRules are exported to every namespace unless they say otherwise"),
    row(Subject::MeshConfig, &[Key("defaultServiceExportTo")], Scope::Mesh, "Services are visible in every namespace"),
    row(Subject::MeshConfig, &[Key("defaultVirtualServiceExportTo")], Scope::Never, "VirtualServices are not modelled"),
    row(Subject::MeshConfig, &[Key("localityLbSetting")], Scope::Mesh, "endpoints are picked regardless of locality"),
    row(Subject::MeshConfig, &[Key("connectTimeout")], Scope::Mesh, "connections never time out"),
    row(Subject::MeshConfig, &[Key("tcpKeepalive")], Scope::Mesh, "no TCP keepalive"),
    row(Subject::MeshConfig, &[Key("h2UpgradePolicy")], Scope::Mesh, "HTTP/1.1 is never upgraded to HTTP/2"),
    row(Subject::MeshConfig, &[Key("inboundTrafficPolicy")], Scope::Mesh, "inbound traffic goes to the pod IP (PASSTHROUGH)"),
    row(Subject::MeshConfig, &[Key("serviceSettings")], Scope::Mesh, "every Service is cluster-local as Kubernetes defines it"),
    row(Subject::MeshConfig, &[Key("caCertificates")], Scope::Mesh, "proxies trust only the mesh CA's root"),
    row(Subject::MeshConfig, &[Key("certificates")], Scope::Never, "no DNS certificates are issued"),
    row(Subject::MeshConfig, &[Key("extensionProviders"), Each, Key("envoyExtAuthzHttp"), Key("failOpen")], Scope::Mesh, "the provider is never called, so failOpen has no effect"),
    row(Subject::MeshConfig, &[Key("extensionProviders"), Each, Key("envoyExtAuthzHttp"), Key("statusOnError")], Scope::Mesh, "the provider is never called, so statusOnError has no effect"),
    row(Subject::MeshConfig, &[Key("extensionProviders"), Each, Key("envoyExtAuthzGrpc"), Key("failOpen")], Scope::Mesh, "the provider is never called, so failOpen has no effect"),
    row(Subject::MeshConfig, &[Key("extensionProviders"), Each, Key("envoyExtAuthzGrpc"), Key("statusOnError")], Scope::Mesh, "the provider is never called, so statusOnError has no effect"),
    row(Subject::MeshConfig, &[Key("accessLogFile")], Scope::Never, "access logs use meshsim's fixed format"),
    row(Subject::MeshConfig, &[Key("accessLogFormat")], Scope::Never, "access logs use meshsim's fixed format"),
    row(Subject::MeshConfig, &[Key("accessLogEncoding")], Scope::Never, "access logs use meshsim's fixed format"),
    row(Subject::MeshConfig, &[Key("enableTracing")], Scope::Never, "no traces"),
    row(Subject::MeshConfig, &[Key("defaultProviders")], Scope::Never, "no telemetry providers"),
];

/// Pod annotations read by the injector or the proxy that meshsim does not model, each with the
/// assumption; `traffic.sidecar.istio.io/*` interception, `sidecar.istio.io/inject` and
/// `sidecar.istio.io/status` are modelled (`interception.rs`, `injection.rs`).
/// Istio's list: `istio/api` `annotation/annotations.gen.go`.
pub(crate) const ANNOTATIONS: &[(&str, &str)] = &[
    (
        "proxy.istio.io/config",
        "the proxy runs with the mesh's default ProxyConfig",
    ),
    (
        "sidecar.istio.io/bootstrapOverride",
        "the default Envoy bootstrap",
    ),
    (
        "sidecar.istio.io/interceptionMode",
        "REDIRECT (iptables) interception",
    ),
    ("sidecar.istio.io/proxyImage", "the default proxy image"),
    ("sidecar.istio.io/userVolume", "no extra volumes"),
    ("sidecar.istio.io/userVolumeMount", "no extra volume mounts"),
    (
        "sidecar.istio.io/rewriteAppHTTPProbers",
        "probes are not part of the model",
    ),
    (
        "traffic.sidecar.istio.io/kubevirtInterfaces",
        "no KubeVirt interfaces are redirected",
    ),
];

/// Annotation prefixes that belong to Istio; a key under one that neither `ANNOTATIONS` nor the
/// modelled set names is warned with a generic assumption (resource hints, log levels...).
const ANNOTATION_PREFIXES: &[&str] = &["sidecar.istio.io/", "proxy.istio.io/"];

/// Annotations meshsim models (no warning).
const MODELLED_ANNOTATIONS: &[&str] = &[
    "sidecar.istio.io/inject",
    "sidecar.istio.io/status",
    "status.sidecar.istio.io/port",
];

/// Where an unmodelled field can matter, resolved for one object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// Requests to these hosts, as written, resolved against `namespace`.
    Hosts {
        /// The object's namespace (short names resolve in it).
        namespace: String,
        /// The hosts.
        hosts: Vec<String>,
    },
    /// Requests from or to workloads in this namespace.
    Namespace(String),
    /// Requests from or to this workload (`namespace`, `name`).
    Workload(String, String),
    /// Every request.
    Mesh,
    /// No request.
    Never,
}

/// One unmodelled field as found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unmodelled {
    /// What it belongs to.
    pub subject: Subject,
    /// The object, `namespace/name` (or the workload for an annotation).
    pub object: String,
    /// The field as written (`spec.trafficPolicy.outlierDetection`), empty for a skipped kind.
    pub field: String,
    /// What meshsim assumes instead.
    pub assumption: &'static str,
    /// Which requests it can change.
    pub reach: Reach,
}

impl Unmodelled {
    /// The warning text: the field and what meshsim assumes.
    pub fn message(&self) -> String {
        if self.field.is_empty() {
            format!(
                "skipped {} {}: meshsim does not model this kind; it assumes {}",
                self.subject, self.object, self.assumption
            )
        } else {
            format!(
                "{} {}: `{}` is not modelled; meshsim assumes {}",
                self.subject, self.object, self.field, self.assumption
            )
        }
    }

    /// The loader warning carrying this note.
    pub(crate) fn into_warning(self, origin: Origin) -> Warning {
        Warning {
            origin,
            kind: super::WarningKind::Unmodelled,
            message: self.message(),
            unmodelled: Some(self),
        }
    }
}

/// The subject of an Istio kind meshsim skips whole or reads in part, by its `kind:`.
pub(crate) fn subject_of_kind(kind: &str) -> Option<Subject> {
    kind.parse::<Subject>()
        .ok()
        .filter(|s| !matches!(s, Subject::MeshConfig | Subject::PodAnnotation))
}

/// The reach of an object of `subject` from its manifest value.
fn reach_of(scope: Scope, value: &Value, namespace: &str) -> Reach {
    match scope {
        Scope::Hosts => {
            let spec = value.get("spec");
            let mut hosts: Vec<String> = spec
                .and_then(|s| s.get("hosts"))
                .and_then(Value::as_sequence)
                .map(|s| {
                    s.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if let Some(h) = spec.and_then(|s| s.get("host")).and_then(Value::as_str) {
                hosts.push(h.to_string());
            }
            Reach::Hosts {
                namespace: namespace.to_string(),
                hosts,
            }
        }
        Scope::Namespace => Reach::Namespace(namespace.to_string()),
        Scope::Mesh => Reach::Mesh,
        Scope::Never => Reach::Never,
    }
}

fn meta_str<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get("metadata")?.get(key)?.as_str()
}

/// The note for an object of a kind meshsim skips whole, if the table lists the kind.
pub(crate) fn skipped_kind(subject: Subject, value: &Value, src: &Source<'_>) -> Option<Warning> {
    let row = TABLE
        .iter()
        .find(|r| r.subject == subject && r.path.is_empty())?;
    let namespace = meta_str(value, "namespace").unwrap_or("default");
    let name = meta_str(value, "name").unwrap_or("(unnamed)");
    let note = Unmodelled {
        subject,
        object: format!("{namespace}/{name}"),
        field: String::new(),
        assumption: row.assumption,
        reach: reach_of(row.scope, value, namespace),
    };
    Some(note.into_warning(src.origin()))
}

/// Every path below `node` that `steps` names.
fn matches(node: &Value, at: &FieldPath, steps: &[Step], out: &mut Vec<FieldPath>) {
    let Some((first, rest)) = steps.split_first() else {
        out.push(at.clone());
        return;
    };
    match first {
        Key(k) => {
            if let Some(child) = node.get(*k) {
                matches(child, &at.key(k), rest, out);
            }
        }
        Each => {
            for (i, child) in node.as_sequence().into_iter().flatten().enumerate() {
                matches(child, &at.index(i), rest, out);
            }
        }
        Tp => {
            let mut policies = Vec::new();
            let mut with_ports = |tp: &Value, path: FieldPath| {
                for (i, p) in tp
                    .get("portLevelSettings")
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    policies.push((p.clone(), path.key("portLevelSettings").index(i)));
                }
                policies.push((tp.clone(), path));
            };
            if let Some(tp) = node.get("trafficPolicy") {
                with_ports(tp, at.key("trafficPolicy"));
            }
            for (i, subset) in node
                .get("subsets")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(tp) = subset.get("trafficPolicy") {
                    with_ports(tp, at.key("subsets").index(i).key("trafficPolicy"));
                }
            }
            for (tp, path) in policies {
                matches(&tp, &path, rest, out);
            }
        }
        WhenKeyPrefix(prefix) => {
            // Header names are case-insensitive; the table writes them in lower case.
            if node
                .get("key")
                .and_then(Value::as_str)
                .is_some_and(|k| k.to_ascii_lowercase().starts_with(prefix))
            {
                matches(node, &at.key("key"), rest, out);
            }
        }
    }
}

/// The notes for a modelled Istio object's unmodelled fields, in table order.
pub(crate) fn istio_fields(subject: Subject, value: &Value, src: &Source<'_>) -> Vec<Warning> {
    let Some(spec) = value.get("spec") else {
        return Vec::new();
    };
    let namespace = meta_str(value, "namespace").unwrap_or("default");
    let name = meta_str(value, "name").unwrap_or("(unnamed)");
    let mut out = Vec::new();
    for row in TABLE
        .iter()
        .filter(|r| r.subject == subject && !r.path.is_empty())
    {
        let mut found = Vec::new();
        matches(spec, &FieldPath::root().key("spec"), row.path, &mut found);
        for path in found {
            let note = Unmodelled {
                subject,
                object: format!("{namespace}/{name}"),
                field: path.to_string(),
                assumption: row.assumption,
                reach: reach_of(row.scope, value, namespace),
            };
            out.push(note.into_warning(src.at(&path)));
        }
    }
    out
}

/// The notes for unmodelled MeshConfig keys in the parsed `mesh` text; `line_of` gives the line
/// of a top-level key.
pub(crate) fn mesh_fields(
    mesh: &Value,
    object: &str,
    line_of: impl Fn(&str) -> Origin,
) -> Vec<Warning> {
    let mut out = Vec::new();
    for row in TABLE.iter().filter(|r| r.subject == Subject::MeshConfig) {
        let mut found = Vec::new();
        matches(mesh, &FieldPath::root(), row.path, &mut found);
        let top = match row.path.first() {
            Some(Key(k)) => *k,
            _ => continue,
        };
        for path in found {
            let note = Unmodelled {
                subject: Subject::MeshConfig,
                object: object.to_string(),
                field: path.to_string(),
                assumption: row.assumption,
                reach: match row.scope {
                    Scope::Never => Reach::Never,
                    _ => Reach::Mesh,
                },
            };
            out.push(note.into_warning(line_of(top)));
        }
    }
    // Any other key meshsim does not read: Istio's default is assumed.
    let covered = |key: &str| {
        super::mesh_doc::MESH_FIELDS.contains(&key)
            || TABLE.iter().any(|r| {
                r.subject == Subject::MeshConfig
                    && matches!(r.path.first(), Some(Key(k)) if *k == key)
            })
    };
    let mut others: Vec<&str> = mesh
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.as_str())
        .filter(|k| !covered(k))
        .collect();
    others.sort_unstable();
    for key in others {
        let note = Unmodelled {
            subject: Subject::MeshConfig,
            object: object.to_string(),
            field: key.to_string(),
            assumption: "Istio's default for it",
            reach: Reach::Never,
        };
        out.push(note.into_warning(line_of(key)));
    }
    out
}

/// The notes for a workload's unmodelled Istio pod annotations, sorted by key.
pub(crate) fn pod_annotations<'a>(
    annotations: impl IntoIterator<Item = &'a String>,
    namespace: &str,
    name: &str,
    annotations_path: &FieldPath,
    src: &Source<'_>,
) -> Vec<Warning> {
    let mut keys: Vec<&String> = annotations
        .into_iter()
        .filter(|k| {
            !MODELLED_ANNOTATIONS.contains(&k.as_str())
                && (ANNOTATIONS.iter().any(|(a, _)| a == k)
                    || ANNOTATION_PREFIXES.iter().any(|p| k.starts_with(p)))
        })
        .collect();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let assumption = ANNOTATIONS
                .iter()
                .find(|(a, _)| a == k)
                .map(|(_, why)| *why)
                .unwrap_or("the default the injector would use");
            let note = Unmodelled {
                subject: Subject::PodAnnotation,
                object: format!("{namespace}/{name}"),
                field: k.clone(),
                assumption,
                reach: Reach::Workload(namespace.to_string(), name.to_string()),
            };
            note.into_warning(src.at(&annotations_path.key(k)))
        })
        .collect()
}
