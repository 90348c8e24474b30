//! A DestinationRule's `exportTo` as Istio indexes it (`setDestinationRules` in
//! `pilot/pkg/model/push_context.go`): a set of `visibility.Instance` values, where `*` is
//! public, `.` private, `~` none and anything else a namespace name.

use std::collections::BTreeSet;

use crate::model::DestinationRule;

const PUBLIC: &str = "*";
const PRIVATE: &str = ".";

/// The `exportTo` set of one rule; a rule with a `workloadSelector` gets `{.}` whatever it lists
/// ("destination rules with workloadSelector should not be exported to other namespaces").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ExportTo(BTreeSet<String>);

impl ExportTo {
    pub(super) fn of(dr: &DestinationRule) -> ExportTo {
        if dr.spec.workload_selector.is_some() {
            return ExportTo(BTreeSet::from([PRIVATE.to_string()]));
        }
        ExportTo(dr.spec.export_to.iter().cloned().collect())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn contains(&self, value: &str) -> bool {
        self.0.contains(value)
    }

    /// `sets.Set.SupersetOf`.
    pub(super) fn is_superset_of(&self, other: &ExportTo) -> bool {
        self.0.is_superset(&other.0)
    }

    /// Goes into the owning namespace's `namespaceLocal` index: empty, `*`, `.` or the namespace.
    pub(super) fn is_local_to(&self, namespace: &str) -> bool {
        self.is_empty()
            || self.contains(PUBLIC)
            || self.contains(PRIVATE)
            || self.contains(namespace)
    }

    /// `isPrivateOnly`: exactly `.` or exactly the owning namespace. Empty means exported
    /// everywhere (meshsim models the default `defaultDestinationRuleExportTo`, `*`).
    pub(super) fn is_private_only(&self, namespace: &str) -> bool {
        self.0.len() == 1 && (self.contains(PRIVATE) || self.contains(namespace))
    }

    /// The check `getExportedDestinationRuleFromNamespace` applies to an exported rule: empty,
    /// `*`, or the client's namespace by name (`.` never matches here).
    pub(super) fn exports_to(&self, client_namespace: &str) -> bool {
        self.is_empty() || self.contains(PUBLIC) || self.contains(client_namespace)
    }

    /// As written, for decision messages.
    pub(super) fn describe(&self) -> String {
        if self.is_empty() {
            return "[] (everywhere)".to_string();
        }
        let items: Vec<&str> = self.0.iter().map(String::as_str).collect();
        format!("[{}]", items.join(", "))
    }
}
