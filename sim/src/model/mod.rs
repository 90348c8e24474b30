//! Typed Kubernetes and Istio resources as a cluster dump holds them, and the `Resources` set a
//! mesh is built from. Loading and validation live in `load` and `validate`.

pub(crate) mod injection;
pub(crate) mod input;
pub(crate) mod interception;
pub(crate) mod istio;
mod istio_parse;
pub(crate) mod k8s;
mod k8s_convert;
pub(crate) mod load;
pub(crate) mod locate;
mod mesh_config;
mod mesh_doc;
mod parse;
mod resources;
mod service_entry;
pub(crate) mod unmodelled;
pub use resources::FindWorkloadError;
pub(crate) mod validate;
pub(crate) mod walk;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::vocab::Kind;

pub use input::{is_stdin, read_input, Named, ReadError, MAX_INPUT_BYTES};
pub use interception::{Cidr, Interception, InterceptionError, IpRanges, PortList};
pub use istio::*;
pub use k8s::*;
pub use load::{
    load_paths, load_sources, load_sources_each, load_sources_with, load_str, parse_object,
    parse_object_at, LoadError, LoadOptions,
};
pub use locate::{split_documents, yaml_message, Document, FieldPath, Seg};
pub use mesh_doc::{
    min_protocol_version, InvalidMinProtocolVersion, MeshConfigDoc, MeshMtlsDoc,
    MinProtocolVersion, StrictMeshConfigDoc,
};
pub use service_entry::{
    ServiceEntry, ServiceEntryEndpoint, ServiceEntryLocation, ServiceEntryPort,
    ServiceEntryResolution, ServiceEntrySelector, ServiceEntrySpec,
};
pub use unmodelled::Unmodelled;
pub use validate::release_problems;
pub use walk::{files_under, is_manifest, WalkError};

/// Where an object came from: file and 1-based line of its document (or of the field at fault).
#[derive(Debug, Clone, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// The file, or a pseudo-name such as `<inline>` or `<scenario:NAME>`.
    pub file: PathBuf,
    /// 1-based line; 0 when unknown.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file.display(), self.line)
        } else {
            write!(f, "{}", self.file.display())
        }
    }
}

/// The metadata meshsim keeps from `metadata:`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (defaulted to `default` for namespaced kinds when absent).
    pub namespace: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `metadata.creationTimestamp` as Unix seconds; `None` when absent (sorts as oldest-unknown
    /// after every known timestamp, see `policy`).
    pub creation_timestamp: Option<i64>,
    /// Where the object was read from.
    pub origin: Origin,
}

/// A reference to one object, as `delete:` and findings name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// The Kubernetes kind (`PeerAuthentication`, `Deployment`, ...).
    pub kind: Kind,
    /// Namespace (empty for cluster-scoped kinds).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One loaded object.
// Objects are built once per load and moved into `Resources`; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// A namespace.
    Namespace(Namespace),
    /// A service account.
    ServiceAccount(ServiceAccount),
    /// A pod or controller with a pod template.
    Workload(Workload),
    /// A service.
    Service(Service),
    /// The mesh configuration (ConfigMap `istio` in the root namespace, key `mesh`).
    MeshConfig(MeshConfig),
    /// A PeerAuthentication.
    PeerAuthentication(PeerAuthentication),
    /// A DestinationRule.
    DestinationRule(DestinationRule),
    /// An AuthorizationPolicy.
    AuthorizationPolicy(AuthorizationPolicy),
    /// A Sidecar.
    Sidecar(Sidecar),
    /// A ServiceEntry.
    ServiceEntry(ServiceEntry),
    /// A namespace's `istio-ca-root-cert` ConfigMap.
    RootCert(RootCertConfigMap),
}

/// The `istio-ca-root-cert` ConfigMap istiod writes into every namespace
/// (`pilot/pkg/keycertbundle`, `security/pkg/k8s/configmap.go`): `data["root-cert.pem"]`, the
/// roots a pod starting there gets as its `ROOTCA`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootCertConfigMap {
    /// Metadata.
    pub meta: Meta,
    /// The roots, as DER, in file order.
    pub roots: Vec<Vec<u8>>,
}

/// What a loader warning is about; `check` reports each kind under its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WarningKind {
    /// A field the object's schema does not have (a typo: the API server prunes it).
    UnknownField,
    /// A document or object meshsim does not read (a kind it does not model, a scenario file in
    /// a folder of manifests, a ConfigMap other than `istio`).
    Skipped,
    /// An object a later one with the same kind, namespace and name replaced.
    Replaced,
    /// A value Istio's validation accepts with a warning.
    Validation,
    /// A valid field, kind, annotation or key meshsim reads but does not model
    /// ([`Warning::unmodelled`] says which).
    Unmodelled,
}

/// A non-fatal note from loading: unknown fields, skipped kinds, ignored duplicates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// Where.
    pub origin: Origin,
    /// What it is about.
    pub kind: WarningKind,
    /// What, in one line.
    pub message: String,
    /// When the warning is about a valid field meshsim does not model: which, and what it
    /// assumes (`check` reports these as `UnmodelledField`, `probe` when they matter).
    pub unmodelled: Option<Unmodelled>,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: warning: {}", self.origin, self.message)
    }
}

/// Everything a mesh is built from. Vectors keep load order; lookups go through the helpers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// Namespaces (implicitly created for namespaces that objects mention but no YAML declares).
    pub namespaces: Vec<Namespace>,
    /// Service accounts.
    pub service_accounts: Vec<ServiceAccount>,
    /// Pods and controllers.
    pub workloads: Vec<Workload>,
    /// Services.
    pub services: Vec<Service>,
    /// MeshConfig (Istio defaults when no `istio` ConfigMap was loaded).
    pub mesh_config: MeshConfig,
    /// PeerAuthentications.
    pub peer_authentications: Vec<PeerAuthentication>,
    /// DestinationRules.
    pub destination_rules: Vec<DestinationRule>,
    /// AuthorizationPolicies.
    pub authorization_policies: Vec<AuthorizationPolicy>,
    /// Sidecars.
    pub sidecars: Vec<Sidecar>,
    /// ServiceEntries.
    pub service_entries: Vec<ServiceEntry>,
    /// `istio-ca-root-cert` ConfigMaps, one per namespace that has one.
    pub root_certs: Vec<RootCertConfigMap>,
    /// Notes from loading.
    pub warnings: Vec<Warning>,
}
