//! The Kubernetes and Istio kinds meshsim reads, as `kind:` spells them in a manifest and in a
//! scenario's `delete:` entry, and as findings and decisions name a resource.

string_enum! {
    /// One kind of object meshsim loads (`ObjectRef.kind`). Declared in alphabetical order, so
    /// `ObjectRef` sorts as it did when the kind was a string.
    pub enum Kind ("kind") {
        /// security.istio.io AuthorizationPolicy.
        AuthorizationPolicy = "AuthorizationPolicy",
        /// v1 ConfigMap (meshsim reads only the `istio` MeshConfig).
        ConfigMap = "ConfigMap",
        /// apps/v1 DaemonSet.
        DaemonSet = "DaemonSet",
        /// apps/v1 Deployment.
        Deployment = "Deployment",
        /// networking.istio.io DestinationRule.
        DestinationRule = "DestinationRule",
        /// batch/v1 Job.
        Job = "Job",
        /// v1 Namespace.
        Namespace = "Namespace",
        /// security.istio.io PeerAuthentication.
        PeerAuthentication = "PeerAuthentication",
        /// v1 Pod.
        Pod = "Pod",
        /// apps/v1 ReplicaSet.
        ReplicaSet = "ReplicaSet",
        /// v1 Service.
        Service = "Service",
        /// v1 ServiceAccount.
        ServiceAccount = "ServiceAccount",
        /// networking.istio.io ServiceEntry.
        ServiceEntry = "ServiceEntry",
        /// networking.istio.io Sidecar.
        Sidecar = "Sidecar",
        /// apps/v1 StatefulSet.
        StatefulSet = "StatefulSet",
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;
    use crate::vocab::names::assert_closed_set;

    #[test]
    fn every_kind_round_trips_and_an_unknown_kind_is_rejected() {
        assert_closed_set(
            Kind::ALL,
            "kind",
            Kind::NAMES,
            &["", "deployment", "CronJob", "Deployment "],
        );
    }

    /// The derived order is the declaration order; findings and `ObjectRef`s are sorted by it
    /// and must sort as their strings do, so the declaration stays alphabetical.
    #[test]
    fn declaration_order_is_alphabetical() {
        assert!(
            Kind::NAMES.windows(2).all(|w| w[0] < w[1]),
            "{:?}",
            Kind::NAMES
        );
        let mut sorted = Kind::ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, Kind::ALL);
    }
}
