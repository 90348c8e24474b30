//! The Kubernetes and Istio kinds meshsim reads, as `kind:` spells them in a manifest and in a
//! scenario's `delete:` entry, and as findings and decisions name a resource.

string_enum! {
    /// One kind of object meshsim loads (`ObjectRef.kind`).
    pub enum Kind ("kind") {
        /// v1 Namespace.
        Namespace = "Namespace",
        /// v1 ServiceAccount.
        ServiceAccount = "ServiceAccount",
        /// v1 Pod.
        Pod = "Pod",
        /// apps/v1 Deployment.
        Deployment = "Deployment",
        /// apps/v1 StatefulSet.
        StatefulSet = "StatefulSet",
        /// apps/v1 DaemonSet.
        DaemonSet = "DaemonSet",
        /// apps/v1 ReplicaSet.
        ReplicaSet = "ReplicaSet",
        /// batch/v1 Job.
        Job = "Job",
        /// v1 Service.
        Service = "Service",
        /// v1 ConfigMap (meshsim reads only the `istio` MeshConfig).
        ConfigMap = "ConfigMap",
        /// security.istio.io PeerAuthentication.
        PeerAuthentication = "PeerAuthentication",
        /// networking.istio.io DestinationRule.
        DestinationRule = "DestinationRule",
        /// security.istio.io AuthorizationPolicy.
        AuthorizationPolicy = "AuthorizationPolicy",
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
}
