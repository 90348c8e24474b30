//! The `Resources` set: `kubectl apply`-style insert (replace by kind, namespace and name),
//! delete, merge, lookups, implicit namespaces and folding of controller-owned pods.

use crate::vocab::Kind;
use std::collections::BTreeSet;

use crate::vocab::WorkloadRef;

use super::{
    MeshConfig, Meta, Namespace, Object, ObjectRef, Resources, Service, ServiceAccount, Warning,
    Workload,
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

fn same(a: &Meta, b: &Meta) -> bool {
    a.namespace == b.namespace && a.name == b.name
}

/// Replaces the entry with the same identity, or appends; returns the replaced entry.
fn upsert<T>(items: &mut Vec<T>, item: T, key: impl Fn(&T, &T) -> bool) -> Option<T> {
    match items.iter().position(|x| key(x, &item)) {
        Some(i) => Some(std::mem::replace(&mut items[i], item)),
        None => {
            items.push(item);
            None
        }
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
        self.insert_one(object, true, false);
    }

    /// `insert` for bulk loaders: without re-folding owned workloads (they call `normalise`
    /// afterwards) and, when `warn`, noting an object the same input defines twice.
    pub(crate) fn insert_one(&mut self, object: Object, fold: bool, warn: bool) {
        let namespace = object.object_ref().namespace;
        let is_workload = matches!(object, Object::Workload(_));
        let replaced = match object {
            Object::Namespace(x) => {
                upsert(&mut self.namespaces, x, |a, b| a.meta.name == b.meta.name).map(|o| o.meta)
            }
            Object::ServiceAccount(x) => {
                upsert(&mut self.service_accounts, x, |a, b| same(&a.meta, &b.meta)).map(|o| o.meta)
            }
            Object::Workload(x) => upsert(&mut self.workloads, x, |a, b| {
                a.kind == b.kind && same(&a.meta, &b.meta)
            })
            .map(|o| o.meta),
            Object::Service(x) => {
                upsert(&mut self.services, x, |a, b| same(&a.meta, &b.meta)).map(|o| o.meta)
            }
            Object::MeshConfig(m) => {
                self.mesh_config = m;
                None
            }
            Object::PeerAuthentication(x) => upsert(&mut self.peer_authentications, x, |a, b| {
                same(&a.meta, &b.meta)
            })
            .map(|o| o.meta),
            Object::DestinationRule(x) => upsert(&mut self.destination_rules, x, |a, b| {
                same(&a.meta, &b.meta)
            })
            .map(|o| o.meta),
            Object::AuthorizationPolicy(x) => {
                upsert(&mut self.authorization_policies, x, |a, b| {
                    same(&a.meta, &b.meta)
                })
                .map(|o| o.meta)
            }
        };
        // An implicit namespace being declared is not a duplicate.
        if let Some(old) = replaced.filter(|m| warn && !is_implicit(m)) {
            self.warnings.push(Warning {
                origin: old.origin.clone(),
                message: format!(
                    "{}/{} defined here was replaced by a later definition",
                    if old.namespace.is_empty() {
                        "-"
                    } else {
                        &old.namespace
                    },
                    old.name
                ),
            });
        }
        if is_workload && fold {
            self.fold_owned();
        }
        if !namespace.is_empty() && self.namespace(&namespace).is_none() {
            self.namespaces.push(implicit_namespace(namespace));
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
            }
            Kind::ServiceAccount => self.service_accounts.retain(|x| !hit(&x.meta)),
            Kind::Service => self.services.retain(|x| !hit(&x.meta)),
            Kind::PeerAuthentication => self.peer_authentications.retain(|x| !hit(&x.meta)),
            Kind::DestinationRule => self.destination_rules.retain(|x| !hit(&x.meta)),
            Kind::AuthorizationPolicy => self.authorization_policies.retain(|x| !hit(&x.meta)),
            Kind::ConfigMap => {
                let is_mesh = r.name == "istio"
                    && (r.namespace == self.mesh_config.root_namespace
                        || r.namespace == "istio-system");
                if is_mesh && self.mesh_config != MeshConfig::default() {
                    self.mesh_config = MeshConfig::default();
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
            warnings,
        } = other;
        self.warnings.extend(warnings);
        for x in namespaces {
            // The other set's implicit namespaces must not erase our declared labels.
            if is_implicit(&x.meta) && self.namespace(&x.meta.name).is_some() {
                continue;
            }
            self.insert_one(Object::Namespace(x), false, false);
        }
        for x in service_accounts {
            self.insert_one(Object::ServiceAccount(x), false, false);
        }
        for x in workloads {
            self.insert_one(Object::Workload(x), false, false);
        }
        for x in services {
            self.insert_one(Object::Service(x), false, false);
        }
        if mesh_config != MeshConfig::default() {
            self.mesh_config = mesh_config;
        }
        for x in peer_authentications {
            self.insert_one(Object::PeerAuthentication(x), false, false);
        }
        for x in destination_rules {
            self.insert_one(Object::DestinationRule(x), false, false);
        }
        for x in authorization_policies {
            self.insert_one(Object::AuthorizationPolicy(x), false, false);
        }
        self.normalise();
    }

    /// Folds controller-owned objects into their loaded controllers and declares the namespaces
    /// objects mention. Loading calls this; call it after editing the vectors directly.
    pub fn normalise(&mut self) {
        self.fold_owned();
        for name in self.namespace_names() {
            if self.namespace(&name).is_none() {
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
        self.workloads.retain(|w| !owned(w));
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
        self.workloads
            .iter()
            .find(|w| w.meta.namespace == ns && w.meta.name == name)
    }

    /// A workload named as scenarios and the CLI name it, `NAMESPACE/WORKLOAD`; the error says
    /// what was expected and which workloads exist.
    pub fn find_workload(&self, id: &str) -> Result<&Workload, FindWorkloadError> {
        let r: WorkloadRef = id.parse().map_err(|_| FindWorkloadError::Malformed {
            given: id.to_string(),
        })?;
        self.workload(&r.namespace, &r.name)
            .ok_or_else(|| FindWorkloadError::NotFound {
                given: r,
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
            .chain(self.authorization_policies.iter().map(|x| &x.meta));
        names.extend(metas.map(|m| m.namespace.clone()).filter(|n| !n.is_empty()));
        names.into_iter().collect()
    }
}

/// Why `Resources::find_workload` found nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindWorkloadError {
    /// The text is not `NAMESPACE/WORKLOAD` (see [`WorkloadRef`]).
    #[error("source `{given}`: expected NAMESPACE/WORKLOAD, e.g. foo/sleep")]
    Malformed {
        /// The text as given.
        given: String,
    },
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
