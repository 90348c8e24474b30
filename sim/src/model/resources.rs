//! The `Resources` set: `kubectl apply`-style insert (replace by kind, namespace and name),
//! delete, merge, lookups, implicit namespaces and folding of controller-owned pods.

use crate::vocab::Kind;
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::vocab::WorkloadRef;

use super::{
    MeshConfig, Meta, Namespace, Object, ObjectRef, PodFacts, Resources, Service, ServiceAccount,
    Warning, Workload, WorkloadKind,
};

/// The origin file of namespaces that no YAML declares but objects mention.
pub(crate) const IMPLICIT: &str = "<implicit>";

fn implicit_namespace(name: String) -> Namespace {
    Namespace {
        meta: Meta {
            name,
            origin: super::Origin {
                file: IMPLICIT.into(),
                line: 0,
            },
            ..Meta::default()
        },
    }
}

fn is_implicit(meta: &Meta) -> bool {
    meta.origin.file.as_os_str() == IMPLICIT
}

/// Where each loaded object sits in its vector, by identity (kind, namespace, name), so that a
/// bulk load replaces or appends in constant time: a 50 MB cluster dump holds hundreds of
/// thousands of objects, and a scan per insert made loading quadratic.
#[derive(Default)]
struct Positions {
    at: HashMap<ObjectRef, usize>,
    namespaces: HashSet<String>,
}

impl Positions {
    fn of(res: &Resources) -> Positions {
        let mut at = HashMap::new();
        let mut note = |kind: Kind, metas: &mut dyn Iterator<Item = &Meta>| {
            for (i, meta) in metas.enumerate() {
                at.insert(identity(kind, meta), i);
            }
        };
        note(Kind::Namespace, &mut res.namespaces.iter().map(|x| &x.meta));
        note(
            Kind::ServiceAccount,
            &mut res.service_accounts.iter().map(|x| &x.meta),
        );
        note(Kind::Service, &mut res.services.iter().map(|x| &x.meta));
        note(
            Kind::PeerAuthentication,
            &mut res.peer_authentications.iter().map(|x| &x.meta),
        );
        note(
            Kind::DestinationRule,
            &mut res.destination_rules.iter().map(|x| &x.meta),
        );
        note(
            Kind::AuthorizationPolicy,
            &mut res.authorization_policies.iter().map(|x| &x.meta),
        );
        note(Kind::Sidecar, &mut res.sidecars.iter().map(|x| &x.meta));
        note(
            Kind::ServiceEntry,
            &mut res.service_entries.iter().map(|x| &x.meta),
        );
        note(Kind::ConfigMap, &mut res.root_certs.iter().map(|x| &x.meta));
        for (i, w) in res.workloads.iter().enumerate() {
            at.insert(identity(w.kind.into(), &w.meta), i);
        }
        Positions {
            at,
            namespaces: res.namespaces.iter().map(|n| n.meta.name.clone()).collect(),
        }
    }

    /// Replaces the entry with `key`'s identity, or appends; returns the replaced entry.
    fn upsert<T>(&mut self, items: &mut Vec<T>, key: ObjectRef, item: T) -> Option<T> {
        match self.at.get(&key) {
            Some(&i) => Some(std::mem::replace(&mut items[i], item)),
            None => {
                self.at.insert(key, items.len());
                items.push(item);
                None
            }
        }
    }
}

/// See [`Resources::bulk`].
pub(crate) struct Bulk<'a> {
    resources: &'a mut Resources,
    positions: Positions,
    warn: bool,
}

impl Bulk<'_> {
    /// Adds or replaces one object.
    pub(crate) fn insert(&mut self, object: Object) {
        self.resources
            .insert_at(&mut self.positions, object, self.warn);
    }

    /// Records a loader warning in order with the replacement warnings.
    pub(crate) fn warn(&mut self, warning: Warning) {
        self.resources.warnings.push(warning);
    }
}

/// An object's identity for `kubectl apply`: a Namespace by name alone (whatever namespace its
/// metadata claims), a workload by its own kind, anything else by kind, namespace and name.
fn identity(kind: Kind, meta: &Meta) -> ObjectRef {
    ObjectRef {
        kind,
        namespace: if kind == Kind::Namespace {
            String::new()
        } else {
            meta.namespace.clone()
        },
        name: meta.name.clone(),
    }
}

impl Object {
    /// The reference `delete:` and findings use for this object.
    pub fn object_ref(&self) -> ObjectRef {
        let (kind, meta): (Kind, Option<&Meta>) = match self {
            Object::Namespace(x) => (Kind::Namespace, Some(&x.meta)),
            Object::ServiceAccount(x) => (Kind::ServiceAccount, Some(&x.meta)),
            Object::Workload(x) => (x.kind.into(), Some(&x.meta)),
            Object::Service(x) => (Kind::Service, Some(&x.meta)),
            Object::MeshConfig(_) => (Kind::ConfigMap, None),
            Object::PeerAuthentication(x) => (Kind::PeerAuthentication, Some(&x.meta)),
            Object::DestinationRule(x) => (Kind::DestinationRule, Some(&x.meta)),
            Object::AuthorizationPolicy(x) => (Kind::AuthorizationPolicy, Some(&x.meta)),
            Object::Sidecar(x) => (Kind::Sidecar, Some(&x.meta)),
            Object::ServiceEntry(x) => (Kind::ServiceEntry, Some(&x.meta)),
            Object::RootCert(x) => (Kind::ConfigMap, Some(&x.meta)),
        };
        match (self, meta) {
            (Object::MeshConfig(m), _) => ObjectRef {
                kind,
                namespace: m.root_namespace.clone(),
                name: "istio".into(),
            },
            (_, Some(meta)) => ObjectRef {
                kind,
                namespace: meta.namespace.clone(),
                name: meta.name.clone(),
            },
            (_, None) => ObjectRef {
                kind,
                namespace: String::new(),
                name: String::new(),
            },
        }
    }
}

impl Resources {
    /// Adds or replaces an object, as `kubectl apply` does (same kind, namespace and name); a
    /// MeshConfig replaces the mesh config.
    pub fn insert(&mut self, object: Object) {
        let is_workload = matches!(object, Object::Workload(_));
        self.insert_many(std::iter::once(object), false);
        if is_workload {
            self.fold_owned();
        }
    }

    /// `insert` for bulk loaders, in time linear in the objects: without re-folding owned
    /// workloads (callers run `normalise` afterwards) and, when `warn`, noting an object the same
    /// input defines twice.
    pub(crate) fn insert_many(&mut self, objects: impl IntoIterator<Item = Object>, warn: bool) {
        let mut bulk = self.bulk(warn);
        for object in objects {
            bulk.insert(object);
        }
    }

    /// A bulk load into this set: inserts keep an index of identities across calls, so loading
    /// many files is linear in their objects.
    pub(crate) fn bulk(&mut self, warn: bool) -> Bulk<'_> {
        Bulk {
            positions: Positions::of(self),
            resources: self,
            warn,
        }
    }

    fn insert_at(&mut self, positions: &mut Positions, object: Object, warn: bool) {
        let object = match object {
            Object::MeshConfig(m) => {
                // The release is meshsim's setting, not the ConfigMap's: keep it.
                let release = self.mesh_config.istio_release;
                self.mesh_config = MeshConfig {
                    istio_release: m.istio_release.or(release),
                    ..m
                };
                return;
            }
            other => other,
        };
        let (kind, meta) = match &object {
            Object::MeshConfig(_) => return,
            Object::Namespace(x) => (Kind::Namespace, &x.meta),
            Object::ServiceAccount(x) => (Kind::ServiceAccount, &x.meta),
            Object::Workload(x) => (x.kind.into(), &x.meta),
            Object::Service(x) => (Kind::Service, &x.meta),
            Object::PeerAuthentication(x) => (Kind::PeerAuthentication, &x.meta),
            Object::DestinationRule(x) => (Kind::DestinationRule, &x.meta),
            Object::AuthorizationPolicy(x) => (Kind::AuthorizationPolicy, &x.meta),
            Object::Sidecar(x) => (Kind::Sidecar, &x.meta),
            Object::ServiceEntry(x) => (Kind::ServiceEntry, &x.meta),
            Object::RootCert(x) => (Kind::ConfigMap, &x.meta),
        };
        let key = identity(kind, meta);
        let namespace = meta.namespace.clone();
        let new_origin = meta.origin.clone();
        let replaced = match object {
            Object::MeshConfig(_) => None,
            Object::Namespace(x) => {
                positions.namespaces.insert(x.meta.name.clone());
                positions
                    .upsert(&mut self.namespaces, key, x)
                    .map(|o| o.meta)
            }
            Object::ServiceAccount(x) => positions
                .upsert(&mut self.service_accounts, key, x)
                .map(|o| o.meta),
            Object::Workload(x) => positions
                .upsert(&mut self.workloads, key, x)
                .map(|o| o.meta),
            Object::Service(x) => positions.upsert(&mut self.services, key, x).map(|o| o.meta),
            Object::PeerAuthentication(x) => positions
                .upsert(&mut self.peer_authentications, key, x)
                .map(|o| o.meta),
            Object::DestinationRule(x) => positions
                .upsert(&mut self.destination_rules, key, x)
                .map(|o| o.meta),
            Object::AuthorizationPolicy(x) => positions
                .upsert(&mut self.authorization_policies, key, x)
                .map(|o| o.meta),
            Object::Sidecar(x) => positions.upsert(&mut self.sidecars, key, x).map(|o| o.meta),
            Object::ServiceEntry(x) => positions
                .upsert(&mut self.service_entries, key, x)
                .map(|o| o.meta),
            Object::RootCert(x) => positions
                .upsert(&mut self.root_certs, key, x)
                .map(|o| o.meta),
        };
        // An implicit namespace being declared is not a duplicate.
        if let Some(old) = replaced.filter(|m| warn && !is_implicit(m)) {
            self.warnings.push(Warning {
                kind: super::WarningKind::Replaced,
                unmodelled: None,
                origin: old.origin.clone(),
                message: format!(
                    "{kind} {}/{} defined here was replaced by a later definition ({new_origin})",
                    if old.namespace.is_empty() {
                        "-"
                    } else {
                        &old.namespace
                    },
                    old.name
                ),
            });
        }
        if kind != Kind::Namespace
            && !namespace.is_empty()
            && !positions.namespaces.contains(&namespace)
        {
            positions.namespaces.insert(namespace.clone());
            let implicit = implicit_namespace(namespace);
            let key = identity(Kind::Namespace, &implicit.meta);
            positions.upsert(&mut self.namespaces, key, implicit);
        }
    }

    /// Deletes the object `r` names (kind as written: `Deployment`, `Pod`, `PeerAuthentication`,
    /// ...). Deleting a Namespace deletes everything in it, as Kubernetes does; deleting the
    /// `istio` ConfigMap restores Istio's default MeshConfig. True when something was removed.
    pub fn remove(&mut self, r: &ObjectRef) -> bool {
        let hit = |m: &Meta| m.namespace == r.namespace && m.name == r.name;
        let before = self.len();
        match r.kind {
            Kind::Namespace => {
                let ns = r.name.as_str();
                self.namespaces.retain(|n| n.meta.name != ns);
                self.service_accounts.retain(|x| x.meta.namespace != ns);
                self.workloads.retain(|x| x.meta.namespace != ns);
                self.services.retain(|x| x.meta.namespace != ns);
                self.peer_authentications.retain(|x| x.meta.namespace != ns);
                self.destination_rules.retain(|x| x.meta.namespace != ns);
                self.authorization_policies
                    .retain(|x| x.meta.namespace != ns);
                self.sidecars.retain(|x| x.meta.namespace != ns);
                self.service_entries.retain(|x| x.meta.namespace != ns);
                self.root_certs.retain(|x| x.meta.namespace != ns);
            }
            Kind::ServiceAccount => self.service_accounts.retain(|x| !hit(&x.meta)),
            Kind::Service => self.services.retain(|x| !hit(&x.meta)),
            Kind::PeerAuthentication => self.peer_authentications.retain(|x| !hit(&x.meta)),
            Kind::DestinationRule => self.destination_rules.retain(|x| !hit(&x.meta)),
            Kind::AuthorizationPolicy => self.authorization_policies.retain(|x| !hit(&x.meta)),
            Kind::Sidecar => self.sidecars.retain(|x| !hit(&x.meta)),
            Kind::ServiceEntry => self.service_entries.retain(|x| !hit(&x.meta)),
            Kind::ConfigMap if r.name == "istio-ca-root-cert" => {
                self.root_certs.retain(|x| !hit(&x.meta))
            }
            Kind::ConfigMap => {
                let is_mesh = r.name == "istio"
                    && (r.namespace == self.mesh_config.root_namespace
                        || r.namespace == "istio-system");
                if is_mesh && self.mesh_config != MeshConfig::default() {
                    self.mesh_config = MeshConfig {
                        istio_release: self.mesh_config.istio_release,
                        ..MeshConfig::default()
                    };
                    return true;
                }
                return false;
            }
            kind => self
                .workloads
                .retain(|x| !(Kind::from(x.kind) == kind && hit(&x.meta))),
        }
        self.len() != before
    }

    fn len(&self) -> usize {
        self.namespaces.len()
            + self.service_accounts.len()
            + self.workloads.len()
            + self.services.len()
            + self.peer_authentications.len()
            + self.destination_rules.len()
            + self.authorization_policies.len()
            + self.sidecars.len()
            + self.service_entries.len()
            + self.root_certs.len()
    }

    /// Applies every object of `other` on top of this set (later wins), keeping both warning
    /// lists. `other`'s MeshConfig replaces ours only when it differs from Istio's defaults.
    pub fn merge(&mut self, other: Resources) {
        let Resources {
            namespaces,
            service_accounts,
            workloads,
            services,
            mesh_config,
            peer_authentications,
            destination_rules,
            authorization_policies,
            sidecars,
            service_entries,
            root_certs,
            warnings,
        } = other;
        self.warnings.extend(warnings);
        if mesh_config != MeshConfig::default() {
            let release = self.mesh_config.istio_release;
            self.mesh_config = MeshConfig {
                istio_release: mesh_config.istio_release.or(release),
                ..mesh_config
            };
        }
        let declared: HashSet<String> = self
            .namespaces
            .iter()
            .map(|n| n.meta.name.clone())
            .collect();
        // The other set's implicit namespaces must not erase our declared labels.
        let namespaces = namespaces
            .into_iter()
            .filter(|x| !(is_implicit(&x.meta) && declared.contains(&x.meta.name)))
            .map(Object::Namespace);
        let objects = namespaces
            .chain(service_accounts.into_iter().map(Object::ServiceAccount))
            .chain(workloads.into_iter().map(Object::Workload))
            .chain(services.into_iter().map(Object::Service))
            .chain(
                peer_authentications
                    .into_iter()
                    .map(Object::PeerAuthentication),
            )
            .chain(destination_rules.into_iter().map(Object::DestinationRule))
            .chain(
                authorization_policies
                    .into_iter()
                    .map(Object::AuthorizationPolicy),
            )
            .chain(sidecars.into_iter().map(Object::Sidecar))
            .chain(service_entries.into_iter().map(Object::ServiceEntry))
            .chain(root_certs.into_iter().map(Object::RootCert));
        self.insert_many(objects, false);
        self.normalise();
    }

    /// Folds controller-owned objects into their loaded controllers and declares the namespaces
    /// objects mention. Loading calls this; call it after editing the vectors directly.
    pub fn normalise(&mut self) {
        self.fold_owned();
        let declared: HashSet<String> = self
            .namespaces
            .iter()
            .map(|n| n.meta.name.clone())
            .collect();
        for name in self.namespace_names() {
            if !declared.contains(&name) {
                self.namespaces.push(implicit_namespace(name));
            }
        }
    }

    /// A dump holds Deployments, their ReplicaSets and their Pods; only the top controller is a
    /// workload. An owner counts when it is loaded, or (for a ReplicaSet that is not) when its
    /// name is a loaded Deployment's name plus the pod's `pod-template-hash`.
    fn fold_owned(&mut self) {
        let present: BTreeSet<(Kind, String, String)> = self
            .workloads
            .iter()
            .map(|w| (w.kind.into(), w.meta.namespace.clone(), w.meta.name.clone()))
            .collect();
        let owned = |w: &Workload| {
            w.owner_references.iter().any(|o| {
                if present.contains(&(o.kind, o.namespace.clone(), o.name.clone())) {
                    return true;
                }
                if o.kind != Kind::ReplicaSet {
                    return false;
                }
                let hash = w
                    .pod_labels
                    .get("pod-template-hash")
                    .or_else(|| w.meta.labels.get("pod-template-hash"));
                hash.and_then(|h| o.name.strip_suffix(h.as_str()))
                    .and_then(|d| d.strip_suffix('-'))
                    .is_some_and(|d| {
                        present.contains(&(Kind::Deployment, o.namespace.clone(), d.to_string()))
                    })
            })
        };
        // Each folded Pod's facts go to the top owner that stays (a Deployment through its
        // ReplicaSet), so the dump's running pods still decide the sidecar and name the pods.
        let mut moved: Vec<(usize, PodFacts)> = Vec::new();
        for w in self.workloads.iter().filter(|w| owned(w)) {
            if w.pods.is_empty() {
                continue;
            }
            if let Some(top) = self.top_owner(w, &owned) {
                moved.extend(w.pods.iter().cloned().map(|p| (top, p)));
            }
        }
        for (i, p) in moved {
            if let Some(w) = self.workloads.get_mut(i) {
                w.pods.push(p);
            }
        }
        self.workloads.retain(|w| !owned(w));
        for w in &mut self.workloads {
            w.pods.sort_by(|a, b| a.name.cmp(&b.name));
            w.pods.dedup();
        }
    }

    /// The index of the loaded workload that `w` folds into: its owner, followed up while that
    /// owner is itself folded (a ReplicaSet into its Deployment); a ReplicaSet that is not
    /// loaded stands for the Deployment its name and the pod's `pod-template-hash` give.
    fn top_owner(&self, w: &Workload, owned: &dyn Fn(&Workload) -> bool) -> Option<usize> {
        let mut current = w;
        for _ in 0..4 {
            let next = current.owner_references.iter().find_map(|o| {
                let direct = self.workloads.iter().position(|c| {
                    Kind::from(c.kind) == o.kind
                        && c.meta.namespace == o.namespace
                        && c.meta.name == o.name
                });
                direct.or_else(|| {
                    let hash = current
                        .pod_labels
                        .get("pod-template-hash")
                        .or_else(|| current.meta.labels.get("pod-template-hash"))?;
                    let d = o.name.strip_suffix(hash.as_str())?.strip_suffix('-')?;
                    self.workloads.iter().position(|c| {
                        c.kind == WorkloadKind::Deployment
                            && c.meta.namespace == o.namespace
                            && c.meta.name == d
                    })
                })
            })?;
            let candidate = &self.workloads[next];
            if !owned(candidate) {
                return Some(next);
            }
            current = candidate;
        }
        None
    }

    /// The metadata of the object `r` names (a Namespace by name alone), when it is loaded.
    pub fn meta_of(&self, r: &ObjectRef) -> Option<&Meta> {
        let hit = |m: &&Meta| m.namespace == r.namespace && m.name == r.name;
        match r.kind {
            Kind::Namespace => self
                .namespaces
                .iter()
                .map(|x| &x.meta)
                .find(|m| m.name == r.name),
            Kind::ServiceAccount => self.service_accounts.iter().map(|x| &x.meta).find(hit),
            Kind::Service => self.services.iter().map(|x| &x.meta).find(hit),
            Kind::PeerAuthentication => self.peer_authentications.iter().map(|x| &x.meta).find(hit),
            Kind::DestinationRule => self.destination_rules.iter().map(|x| &x.meta).find(hit),
            Kind::AuthorizationPolicy => self
                .authorization_policies
                .iter()
                .map(|x| &x.meta)
                .find(hit),
            Kind::Sidecar => self.sidecars.iter().map(|x| &x.meta).find(hit),
            Kind::ServiceEntry => self.service_entries.iter().map(|x| &x.meta).find(hit),
            kind => self
                .workloads
                .iter()
                .filter(|w| Kind::from(w.kind) == kind)
                .map(|w| &w.meta)
                .find(hit),
        }
    }

    /// A namespace by name (declared or implicit).
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.meta.name == name)
    }

    /// A workload by namespace and name (a Deployment's or a Pod's name; first loaded wins when
    /// two kinds share a name).
    pub fn workload(&self, ns: &str, name: &str) -> Option<&Workload> {
        self.workload_index(ns, name).map(|i| &self.workloads[i])
    }

    /// Where [`Resources::workload`] finds a workload in `workloads`.
    pub fn workload_index(&self, ns: &str, name: &str) -> Option<usize> {
        self.workloads
            .iter()
            .position(|w| w.meta.namespace == ns && w.meta.name == name)
    }

    /// A workload named as scenarios and the CLI name it, `NAMESPACE/WORKLOAD`; the error says
    /// what was expected and which workloads exist.
    pub fn find_workload(&self, r: &WorkloadRef) -> Result<&Workload, FindWorkloadError> {
        self.workload(&r.namespace, &r.name)
            .ok_or_else(|| FindWorkloadError::NotFound {
                given: r.clone(),
                known: self
                    .workloads
                    .iter()
                    .map(|w| WorkloadRef::new(&w.meta.namespace, &w.meta.name))
                    .collect(),
            })
    }

    /// A service by namespace and name.
    pub fn service(&self, ns: &str, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.meta.namespace == ns && s.meta.name == name)
    }

    /// A service account by namespace and name.
    pub fn service_account(&self, ns: &str, name: &str) -> Option<&ServiceAccount> {
        self.service_accounts
            .iter()
            .find(|s| s.meta.namespace == ns && s.meta.name == name)
    }

    /// The workloads of a namespace, in load order.
    pub fn workloads_in<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a Workload> + 'a {
        self.workloads
            .iter()
            .filter(move |w| w.meta.namespace == ns)
    }

    /// Every namespace, declared or mentioned by an object, sorted.
    pub fn namespace_names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self
            .namespaces
            .iter()
            .map(|n| n.meta.name.clone())
            .collect();
        let metas = self
            .service_accounts
            .iter()
            .map(|x| &x.meta)
            .chain(self.workloads.iter().map(|x| &x.meta))
            .chain(self.services.iter().map(|x| &x.meta))
            .chain(self.peer_authentications.iter().map(|x| &x.meta))
            .chain(self.destination_rules.iter().map(|x| &x.meta))
            .chain(self.authorization_policies.iter().map(|x| &x.meta))
            .chain(self.sidecars.iter().map(|x| &x.meta))
            .chain(self.service_entries.iter().map(|x| &x.meta));
        names.extend(metas.map(|m| m.namespace.clone()).filter(|n| !n.is_empty()));
        names.into_iter().collect()
    }
}

/// Why `Resources::find_workload` found nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindWorkloadError {
    /// No workload has that namespace and name.
    #[error("source `{given}`: no such workload (known: {})", known_list(.known))]
    NotFound {
        /// The workload asked for.
        given: WorkloadRef,
        /// Every workload of the configuration.
        known: Vec<WorkloadRef>,
    },
}

fn known_list(known: &[WorkloadRef]) -> String {
    if known.is_empty() {
        "none".into()
    } else {
        crate::vocab::join(known, ", ")
    }
}
