//! The explanation trail: every policy function returns, beside its answer, the steps that
//! decided it and the resource behind each step, so `meshsim explain` can print the trace.

use crate::vocab::Kind;
use std::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::model::{Meta, ObjectRef};

/// One step of a policy decision: which resource decided it (if any) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The resource that decided this step; `None` for defaults and built-in behaviour.
    pub resource: Option<ObjectRef>,
    /// A stable short name of the step, e.g. `peer-authentication/mesh`.
    pub step: &'static str,
    /// Why, in one line.
    pub reason: String,
}

impl Decision {
    /// A step decided by `resource`.
    pub fn by(resource: ObjectRef, step: &'static str, reason: impl Into<String>) -> Decision {
        Decision {
            resource: Some(resource),
            step,
            reason: reason.into(),
        }
    }

    /// A step decided by a default or by built-in behaviour.
    pub fn default(step: &'static str, reason: impl Into<String>) -> Decision {
        Decision {
            resource: None,
            step,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.resource {
            Some(r) => write!(f, "{}: {} ({})", self.step, self.reason, r),
            None => write!(f, "{}: {}", self.step, self.reason),
        }
    }
}

/// JSON for `explain --format json`: `{"resource": "Kind/ns/name" | null, "step", "reason"}`.
impl Serialize for Decision {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("Decision", 3)?;
        st.serialize_field("resource", &self.resource.as_ref().map(ToString::to_string))?;
        st.serialize_field("step", self.step)?;
        st.serialize_field("reason", &self.reason)?;
        st.end()
    }
}

/// The `ObjectRef` of an object with the given Kubernetes kind and metadata.
pub(crate) fn object_ref(kind: Kind, meta: &Meta) -> ObjectRef {
    ObjectRef {
        kind,
        namespace: meta.namespace.clone(),
        name: meta.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_print_and_serialise_with_their_resource() {
        let r = ObjectRef {
            kind: Kind::PeerAuthentication,
            namespace: "foo".into(),
            name: "default".into(),
        };
        let d = Decision::by(
            r,
            "peer-authentication/namespace",
            "namespace-level mode STRICT",
        );
        assert_eq!(
            d.to_string(),
            "peer-authentication/namespace: namespace-level mode STRICT (PeerAuthentication/foo/default)"
        );
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"resource":"PeerAuthentication/foo/default","step":"peer-authentication/namespace","reason":"namespace-level mode STRICT"}"#
        );
        let d = Decision::default("peer-authentication/default", "PERMISSIVE");
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"resource":null,"step":"peer-authentication/default","reason":"PERMISSIVE"}"#
        );
    }
}
