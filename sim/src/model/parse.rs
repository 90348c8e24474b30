//! One YAML object to one typed `Object`: apiVersion/kind dispatch, typed deserialisation with
//! unknown-field warnings (`serde_ignored`), explicit-null checks and Istio validation.

use std::cell::RefCell;
use std::path::Path;

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde_yaml::Value;

use super::istio_parse::istio_object;
use super::k8s_convert::{self, PodPart};
use super::load::LoadError;
use super::locate::yaml_message;
use super::locate::{Document, FieldPath};
use super::mesh_config::config_map;
use super::unmodelled;
use super::validate;
use super::validate::names::NameRule;
use super::{
    AuthorizationPolicy, DestinationRule, Interception, Namespace, Object, Origin,
    PeerAuthentication, ServiceAccount, ServiceEntry, Sidecar, Warning, WarningKind, WorkloadKind,
};
use crate::vocab::KubeProtocol;

/// Where the object being parsed sits: its file, its document (for field lines) and its path
/// inside the document (`items[3]` for a `kind: List` entry).
pub(crate) struct Source<'a> {
    /// The file (or pseudo-name).
    pub file: &'a Path,
    /// The document text, when known.
    pub doc: Option<&'a Document>,
    /// The object's path inside the document.
    pub prefix: FieldPath,
    /// The object's own line (fallback when a field cannot be located).
    pub line: usize,
    /// Whether the document text deserialises to the same value (false after YAML merge keys
    /// were applied), so typed errors can take their position straight from the text.
    pub exact_text: bool,
    /// The unknown-field warnings given for this object so far: a rejection cites them, since a
    /// misspelt (and so ignored) field is a likely cause.
    pub unknown_fields: RefCell<Vec<String>>,
    /// The namespace given with `-n`, as `kubectl apply -n` takes it: objects without one land
    /// there, and one naming another namespace is an error. `None`: `default`, no check.
    pub namespace: Option<&'a str>,
}

/// Why an object was rejected. A `Field` error says what is wrong with one field, and the
/// object is named in front of it ("invalid KIND NAME: ..."); an `Object` error names the
/// object itself already (Istio's validation messages do).
pub(crate) enum Rejection {
    /// Needs the object named in front.
    Field(LoadError),
    /// Names the object already.
    Object(LoadError),
}

impl From<LoadError> for Rejection {
    fn from(e: LoadError) -> Rejection {
        Rejection::Field(e)
    }
}

impl Source<'_> {
    /// The origin of a field of the object.
    pub(crate) fn at(&self, rel: &FieldPath) -> Origin {
        let line = match self.doc {
            Some(doc) if !rel.0.is_empty() || !self.prefix.0.is_empty() => doc
                .find(&self.prefix.join(rel))
                .map(|l| doc.line_offset + l + 1)
                .unwrap_or(self.line),
            _ => self.line,
        };
        Origin {
            file: self.file.to_path_buf(),
            line,
        }
    }

    /// The object's own origin.
    pub(crate) fn origin(&self) -> Origin {
        Origin {
            file: self.file.to_path_buf(),
            line: self.line,
        }
    }

    /// The namespace an object without `metadata.namespace` lands in.
    pub(crate) fn default_namespace(&self) -> &str {
        self.namespace.unwrap_or(DEFAULT_NAMESPACE)
    }

    /// An error at a field of the object.
    pub(crate) fn error(&self, rel: &FieldPath, message: String) -> LoadError {
        LoadError {
            origin: self.at(rel),
            message,
        }
    }
}

/// Where namespaced objects without `metadata.namespace` land when no `-n` is given: kubectl's
/// default context namespace.
pub(crate) const DEFAULT_NAMESPACE: &str = "default";

/// Which API groups/versions meshsim reads for a kind it models.
fn supported_versions(kind: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match kind {
        "Namespace" | "ServiceAccount" | "Pod" | "Service" | "ConfigMap" => ("", &["v1"]),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => ("apps", &["v1"]),
        "Job" => ("batch", &["v1"]),
        "PeerAuthentication" | "AuthorizationPolicy" => ("security.istio.io", &["v1", "v1beta1"]),
        "DestinationRule" | "Sidecar" | "ServiceEntry" => {
            ("networking.istio.io", &["v1", "v1beta1", "v1alpha3"])
        }
        _ => return None,
    })
}

/// Groups that once served a kind meshsim models under a version it does not read; those are
/// errors (the user meant this kind), while any other group is a different kind and is skipped.
fn legacy_group(kind: &str, group: &str) -> bool {
    matches!(
        (kind, group),
        ("Deployment" | "DaemonSet" | "ReplicaSet", "extensions")
            | (
                "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet",
                "apps"
            )
            | ("Job", "batch")
    )
}

/// Parses one object. `Ok(None)` when the kind is not modelled (a warning is pushed).
pub(crate) fn parse_value(
    value: &Value,
    src: &Source<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Object>, LoadError> {
    let map = value.as_mapping().ok_or_else(|| {
        src.error(
            &FieldPath::root(),
            format!(
                "expected a Kubernetes object (a mapping with apiVersion, kind and metadata), \
                 found {}",
                describe(value)
            ),
        )
    })?;
    let text_field = |name: &str| -> Result<String, LoadError> {
        match map.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            None | Some(Value::Null) => Err(src.error(
                &FieldPath::root(),
                format!("missing `{name}`: every object needs apiVersion and kind"),
            )),
            Some(other) => Err(src.error(
                &FieldPath::root().key(name),
                format!("`{name}` must be a string, found {}", describe(other)),
            )),
        }
    };
    // A meshsim scenario file in a fixtures folder is not a Kubernetes object; the harness
    // reads it separately.
    if !map.contains_key("apiVersion") && !map.contains_key("kind") && map.contains_key("steps") {
        warnings.push(Warning {
            kind: WarningKind::Skipped,
            unmodelled: None,
            origin: src.origin(),
            message: "skipped a meshsim scenario document (it has `steps` and no apiVersion/kind)"
                .into(),
        });
        return Ok(None);
    }
    let api_version = text_field("apiVersion")?;
    let kind = text_field("kind")?;
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version.as_str()),
    };
    let Some((want_group, versions)) = supported_versions(&kind) else {
        // An Istio kind meshsim skips: say what it assumes instead.
        if group.ends_with("istio.io") {
            if let Some(note) = unmodelled::subject_of_kind(&kind)
                .and_then(|subject| unmodelled::skipped_kind(subject, value, src))
            {
                warnings.push(note);
                return Ok(None);
            }
        }
        warnings.push(Warning {
            kind: WarningKind::Skipped,
            unmodelled: None,
            origin: src.origin(),
            message: format!(
                "skipped {api_version} {kind} {}: meshsim does not model this kind",
                name_of(map)
            ),
        });
        return Ok(None);
    };
    if group != want_group || !versions.contains(&version) {
        if group == want_group || legacy_group(&kind, group) {
            let expected: Vec<String> = versions
                .iter()
                .map(|v| {
                    if want_group.is_empty() {
                        v.to_string()
                    } else {
                        format!("{want_group}/{v}")
                    }
                })
                .collect();
            return Err(src.error(
                &FieldPath::root().key("apiVersion"),
                format!(
                    "unsupported apiVersion `{api_version}` for {kind}, expected {}",
                    expected.join(" or ")
                ),
            ));
        }
        warnings.push(Warning {
            kind: WarningKind::Skipped,
            unmodelled: None,
            origin: src.origin(),
            message: format!(
                "skipped {api_version} {kind} {}: meshsim does not model this kind",
                name_of(map)
            ),
        });
        return Ok(None);
    }
    parse_kind(&kind, value, src, warnings).map_err(|rejection| {
        let mut e = match rejection {
            Rejection::Object(e) => e,
            Rejection::Field(mut e) => {
                e.message = format!("invalid {kind} {}: {}", name_of(map), e.message);
                e
            }
        };
        // A misspelt field often causes the rejection (pruned, it leaves a rule empty).
        let hints = src.unknown_fields.borrow();
        if !hints.is_empty() {
            e.message = format!("{} (note: {})", e.message, hints.join("; "));
        }
        e
    })
}

fn parse_kind(
    kind: &str,
    value: &Value,
    src: &Source<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Object>, Rejection> {
    let origin = src.origin();
    let mut object = match kind {
        "Namespace" => {
            let ns: core::Namespace = typed(value, src, warnings)?;
            require_name(&ns.metadata, src)?;
            Object::Namespace(Namespace {
                meta: k8s_convert::meta(&ns.metadata, false, origin, src.default_namespace()),
            })
        }
        "ServiceAccount" => {
            let sa: core::ServiceAccount = typed(value, src, warnings)?;
            require_name(&sa.metadata, src)?;
            Object::ServiceAccount(ServiceAccount {
                meta: k8s_convert::meta(&sa.metadata, true, origin, src.default_namespace()),
            })
        }
        "Pod" => {
            let pod: core::Pod = typed(value, src, warnings)?;
            require_name(&pod.metadata, src)?;
            let part = PodPart {
                meta: Some(&pod.metadata),
                spec: pod.spec.as_ref(),
                status: pod.status.as_ref(),
            };
            // A finished pod in a dump (a completed Job's pod) serves nothing.
            let phase = pod.status.as_ref().and_then(|st| st.phase.as_deref());
            let replicas = u32::from(!matches!(phase, Some("Succeeded" | "Failed")));
            Object::Workload(k8s_convert::workload(
                &pod.metadata,
                WorkloadKind::Pod,
                part,
                replicas,
                origin,
                src.default_namespace(),
            ))
        }
        "Deployment" => controller::<apps::Deployment>(value, src, warnings)?,
        "StatefulSet" => controller::<apps::StatefulSet>(value, src, warnings)?,
        "ReplicaSet" => controller::<apps::ReplicaSet>(value, src, warnings)?,
        "DaemonSet" => controller::<apps::DaemonSet>(value, src, warnings)?,
        "Job" => controller::<batch::Job>(value, src, warnings)?,
        "Service" => {
            let svc: core::Service = typed(value, src, warnings)?;
            require_name(&svc.metadata, src)?;
            let service = k8s_convert::service(&svc, origin, src.default_namespace())
                .map_err(|m| src.error(&FieldPath::root().key("spec").key("ports"), m))?;
            Object::Service(service)
        }
        "ConfigMap" => return config_map(value, src, warnings),
        "PeerAuthentication" => {
            let (meta, spec) = istio_object(value, src, warnings)?;
            let pa = PeerAuthentication { meta, spec };
            let notes = validate::peer_authentication(&pa)
                .map_err(|e| Rejection::Object(e.into_load_error(src)))?;
            let object = format!("PeerAuthentication {}/{}", pa.meta.namespace, pa.meta.name);
            warnings.extend(validate::to_warnings(notes, &object, src));
            Object::PeerAuthentication(pa)
        }
        "DestinationRule" => {
            let (meta, spec) = istio_object(value, src, warnings)?;
            let dr = DestinationRule { meta, spec };
            let notes = validate::destination_rule(&dr)
                .map_err(|e| Rejection::Object(e.into_load_error(src)))?;
            let object = format!("DestinationRule {}/{}", dr.meta.namespace, dr.meta.name);
            warnings.extend(validate::to_warnings(notes, &object, src));
            warnings.extend(unmodelled::istio_fields(
                unmodelled::Subject::DestinationRule,
                value,
                src,
            ));
            Object::DestinationRule(dr)
        }
        "AuthorizationPolicy" => {
            let (meta, spec) = istio_object(value, src, warnings)?;
            let ap = AuthorizationPolicy { meta, spec };
            let notes = validate::authorization_policy(&ap)
                .map_err(|e| Rejection::Object(e.into_load_error(src)))?;
            let object = format!("AuthorizationPolicy {}/{}", ap.meta.namespace, ap.meta.name);
            warnings.extend(validate::to_warnings(notes, &object, src));
            warnings.extend(unmodelled::istio_fields(
                unmodelled::Subject::AuthorizationPolicy,
                value,
                src,
            ));
            Object::AuthorizationPolicy(ap)
        }
        "Sidecar" => {
            let (meta, spec) = istio_object(value, src, warnings)?;
            let sc = Sidecar { meta, spec };
            let notes =
                validate::sidecar(&sc).map_err(|e| Rejection::Object(e.into_load_error(src)))?;
            let object = format!("Sidecar {}/{}", sc.meta.namespace, sc.meta.name);
            warnings.extend(validate::to_warnings(notes, &object, src));
            warnings.extend(unmodelled::istio_fields(
                unmodelled::Subject::Sidecar,
                value,
                src,
            ));
            Object::Sidecar(sc)
        }
        "ServiceEntry" => {
            let (meta, spec) = istio_object(value, src, warnings)?;
            let se = ServiceEntry { meta, spec };
            let notes = validate::service_entry(&se)
                .map_err(|e| Rejection::Object(e.into_load_error(src)))?;
            let object = format!("ServiceEntry {}/{}", se.meta.namespace, se.meta.name);
            warnings.extend(validate::to_warnings(notes, &object, src));
            warnings.extend(unmodelled::istio_fields(
                unmodelled::Subject::ServiceEntry,
                value,
                src,
            ));
            Object::ServiceEntry(se)
        }
        _ => return Ok(None),
    };
    check_names(&object, src)?;
    check_namespace(&object, src)?;
    if let Object::Workload(w) = &object {
        check_counts(w.kind, value, src)?;
    }
    if let Object::Workload(w) = &mut object {
        w.interception = Interception::from_annotations(&w.pod_annotations).map_err(|e| {
            let pod_meta = pod_meta_path(w.kind);
            Rejection::Field(src.error(
                &pod_meta.key("annotations").key(e.annotation()),
                e.to_string(),
            ))
        })?;
        warnings.extend(unmodelled::pod_annotations(
            w.pod_annotations.keys(),
            &w.meta.namespace,
            &w.meta.name,
            &pod_meta_path(w.kind).key("annotations"),
            src,
        ));
    }
    Ok(Some(object))
}

/// With `-n`, a namespaced object naming another namespace is refused as `kubectl apply -n`
/// refuses it (`RequireNamespace`, `k8s.io/cli-runtime/pkg/resource/visitor.go`); objects
/// without a namespace were already put into the `-n` one.
fn check_namespace(object: &Object, src: &Source<'_>) -> Result<(), Rejection> {
    let Some(wanted) = src.namespace else {
        return Ok(());
    };
    let r = object.object_ref();
    if r.namespace.is_empty() || r.namespace == wanted {
        return Ok(());
    }
    Err(Rejection::Object(src.error(
        &FieldPath::root().key("metadata").key("namespace"),
        format!(
            "{} {}: the namespace from the provided object \"{}\" does not match the namespace \
             \"{wanted}\" given with -n (kubectl apply refuses it too); drop -n or the object's \
             namespace",
            r.kind, r.name, r.namespace
        ),
    )))
}

/// `metadata.name` and `metadata.namespace` as the API server validates them.
fn check_names(object: &Object, src: &Source<'_>) -> Result<(), Rejection> {
    let r = object.object_ref();
    let metadata = FieldPath::root().key("metadata");
    let problems = [
        (NameRule::of(r.kind).check(&r.name), "name"),
        (
            (!r.namespace.is_empty())
                .then(|| NameRule::Dns1123Label.check(&r.namespace))
                .flatten(),
            "namespace",
        ),
    ];
    for (problem, field) in problems {
        if let Some(message) = problem {
            let path = metadata.key(field);
            return Err(Rejection::Field(
                src.error(&path, format!("{path}: {message}")),
            ));
        }
    }
    Ok(())
}

/// A controller of a pod template: what meshsim reads from each workload kind.
trait PodController: DeserializeOwned {
    /// The kind it loads as.
    const KIND: WorkloadKind;
    /// The controller's own metadata.
    fn metadata(&self) -> &ObjectMeta;
    /// `spec.template`.
    fn template(&self) -> Option<&core::PodTemplateSpec>;
    /// How many pods it runs in the simulated one-node cluster.
    fn pods(&self) -> u32;
}

/// `spec.replicas` as the controllers default it (1 when unset).
macro_rules! replicated {
    ($($ty:ty => $kind:ident),+) => {$(
        impl PodController for $ty {
            const KIND: WorkloadKind = WorkloadKind::$kind;
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn template(&self) -> Option<&core::PodTemplateSpec> {
                self.spec.as_ref().map(|s| &s.template)
            }
            fn pods(&self) -> u32 {
                k8s_convert::replicas(self.spec.as_ref().and_then(|s| s.replicas))
            }
        }
    )+};
}

replicated!(apps::Deployment => Deployment, apps::StatefulSet => StatefulSet);

impl PodController for apps::ReplicaSet {
    const KIND: WorkloadKind = WorkloadKind::ReplicaSet;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn template(&self) -> Option<&core::PodTemplateSpec> {
        self.spec.as_ref().and_then(|s| s.template.as_ref())
    }
    fn pods(&self) -> u32 {
        k8s_convert::replicas(self.spec.as_ref().and_then(|s| s.replicas))
    }
}

impl PodController for apps::DaemonSet {
    const KIND: WorkloadKind = WorkloadKind::DaemonSet;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn template(&self) -> Option<&core::PodTemplateSpec> {
        self.spec.as_ref().map(|s| &s.template)
    }
    /// One pod per node; the simulated cluster has one node.
    fn pods(&self) -> u32 {
        1
    }
}

impl PodController for batch::Job {
    const KIND: WorkloadKind = WorkloadKind::Job;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn template(&self) -> Option<&core::PodTemplateSpec> {
        self.spec.as_ref().map(|s| &s.template)
    }
    /// One run at a time (`parallelism` is not modelled).
    fn pods(&self) -> u32 {
        1
    }
}

/// A workload from a controller object: its metadata, its pod template and its pod count.
fn controller<T: PodController>(
    value: &Value,
    src: &Source<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Object, Rejection> {
    let d: T = typed(value, src, warnings)?;
    require_name(d.metadata(), src)?;
    let template = d.template();
    let part = PodPart {
        meta: template.and_then(|t| t.metadata.as_ref()),
        spec: template.and_then(|t| t.spec.as_ref()),
        status: None,
    };
    Ok(Object::Workload(k8s_convert::workload(
        d.metadata(),
        T::KIND,
        part,
        d.pods(),
        src.origin(),
        src.default_namespace(),
    )))
}

/// `spec.replicas` and every container port as the API server bounds them
/// (`ValidateNonnegativeField` on `replicas`; `validateContainerPorts` with `IsValidPortNum` and
/// `supportedPortProtocols`,
/// in Kubernetes' `pkg/apis/core/validation`): a negative replica count or port is an error,
/// not a workload that silently runs nothing or listens nowhere.
fn check_counts(kind: WorkloadKind, value: &Value, src: &Source<'_>) -> Result<(), Rejection> {
    let spec = FieldPath::root().key("spec");
    let replicas = spec.key("replicas");
    if let Some(n) = replicas
        .get(value)
        .and_then(Value::as_i64)
        .filter(|n| *n < 0)
    {
        return Err(Rejection::Field(src.error(
            &replicas,
            format!("{replicas}: Invalid value: {n}: must be greater than or equal to 0"),
        )));
    }
    let pod_spec = if kind == WorkloadKind::Pod {
        spec
    } else {
        spec.key("template").key("spec")
    };
    let pod = pod_spec.get(value);
    for list in ["initContainers", "containers"] {
        let containers = pod.and_then(|p| p.get(list)).and_then(Value::as_sequence);
        for (c, container) in containers.into_iter().flatten().enumerate() {
            let ports = container.get("ports").and_then(Value::as_sequence);
            for (i, port) in ports.into_iter().flatten().enumerate() {
                let port_path = pod_spec.key(list).index(c).key("ports").index(i);
                let path = port_path.key("containerPort");
                match port.get("containerPort").and_then(Value::as_i64) {
                    Some(n) if !(1..=65535).contains(&n) => {
                        return Err(Rejection::Field(src.error(
                            &path,
                            format!("{path}: Invalid value: {n}: must be between 1 and 65535, inclusive"),
                        )));
                    }
                    _ => {}
                }
                let protocol = port.get("protocol").and_then(Value::as_str);
                if let Err(message) = KubeProtocol::from_field(protocol) {
                    let path = port_path.key("protocol");
                    return Err(Rejection::Field(
                        src.error(&path, format!("{path}: {message}")),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Where a workload's pod metadata sits: the Pod's own, or its template's.
fn pod_meta_path(kind: WorkloadKind) -> FieldPath {
    if kind == WorkloadKind::Pod {
        FieldPath::root().key("metadata")
    } else {
        FieldPath::root()
            .key("spec")
            .key("template")
            .key("metadata")
    }
}

/// `metadata.name` is required for every kind.
pub(crate) fn require_name(meta: &ObjectMeta, src: &Source<'_>) -> Result<(), LoadError> {
    match meta.name.as_deref() {
        Some(n) if !n.is_empty() => Ok(()),
        _ => Err(src.error(
            &FieldPath::root().key("metadata"),
            "missing `metadata.name`".to_string(),
        )),
    }
}

fn name_of(map: &serde_yaml::Mapping) -> String {
    let meta = map.get("metadata");
    let get = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let shown = match (get("namespace"), get("name")) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n,
        _ => "(unnamed)".into(),
    };
    // The name may be the very thing being rejected: a newline in it must not forge a line.
    if shown.chars().any(char::is_control) {
        shown.escape_default().to_string()
    } else {
        shown
    }
}

/// A short description of a YAML value for error messages.
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Deserialises `value` as `T`, warning about every field `T` does not know (a misspelt field is
/// silently dropped by the API server's pruning, which is a real outage cause). Errors carry the
/// field's path and the line of the offending field.
pub(crate) fn typed<T: DeserializeOwned>(
    value: &Value,
    src: &Source<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<T, LoadError> {
    typed_impl(value, src, warnings, true)
}

/// `typed`, optionally without reading the document text (for values that were rewritten).
pub(crate) fn typed_impl<T: DeserializeOwned>(
    value: &Value,
    src: &Source<'_>,
    warnings: &mut Vec<Warning>,
    use_doc_text: bool,
) -> Result<T, LoadError> {
    let mut ignored = Vec::new();
    let result = match src.doc {
        // A whole document: deserialised from the value already parsed, which gives what its
        // text gives (one YAML resolver built both); when that fails, from its text so the
        // error and its location are exact. Reading the text again cost a tenth of a
        // 1 000-workload matrix (callgrind, `docs/performance.md`).
        Some(doc) if use_doc_text && src.exact_text && src.prefix.0.is_empty() => {
            let from_value: Result<T, serde_yaml::Error> = serde_ignored::deserialize(value, |p| {
                ignored.push(FieldPath::parse(&p.to_string()))
            });
            if let Ok(typed) = from_value {
                report_ignored(ignored, src, warnings);
                return Ok(typed);
            }
            ignored.clear();
            let de = serde_yaml::Deserializer::from_str(&doc.text);
            serde_ignored::deserialize(de, |p| ignored.push(FieldPath::parse(&p.to_string())))
                .map_err(|e| {
                    let line = e
                        .location()
                        .map(|l| (doc.line_offset + l.line()).min(doc.last_line()))
                        .unwrap_or(src.line);
                    LoadError {
                        origin: Origin {
                            file: src.file.to_path_buf(),
                            line,
                        },
                        message: yaml_message(&e),
                    }
                })
        }
        _ => {
            // A List item or an inline value: deserialise the value itself, tracking the path
            // of the field being read so the error points at its line in the original text.
            let mut track = serde_path_to_error::Track::new();
            let de = serde_path_to_error::Deserializer::new(value, &mut track);
            serde_ignored::deserialize(de, |p| ignored.push(FieldPath::parse(&p.to_string())))
                .map_err(|e: serde_yaml::Error| {
                    let segments = track.path();
                    let path = FieldPath::from_serde(&segments);
                    // The message reads as serde_yaml's own for a document: `path: what`.
                    let message = if path.0.is_empty() {
                        e.to_string()
                    } else {
                        format!("{segments}: {e}")
                    };
                    LoadError {
                        origin: src.at(&path),
                        message,
                    }
                })
        }
    };
    // Also when it failed: a misspelt field is often why (the rejection's note names it).
    report_ignored(ignored, src, warnings);
    result
}

/// Warns about each field of `ignored`, which the type read does not know.
fn report_ignored(ignored: Vec<FieldPath>, src: &Source<'_>, warnings: &mut Vec<Warning>) {
    for path in ignored {
        let message =
            format!("unknown field `{path}` ignored (check its spelling and indentation)");
        src.unknown_fields.borrow_mut().push(message.clone());
        warnings.push(Warning {
            kind: WarningKind::UnknownField,
            unmodelled: None,
            origin: src.at(&path),
            message,
        });
    }
}
