//! What an unmodelled field belongs to (`model::unmodelled`), as a warning names it.

string_enum! {
    /// What an unmodelled field belongs to: an Istio kind meshsim skips or reads in part, the
    /// MeshConfig, or a pod annotation.
    pub enum UnmodelledSubject ("unmodelled subject") {
        /// security.istio.io AuthorizationPolicy (read; some `when` keys are not).
        AuthorizationPolicy = "AuthorizationPolicy",
        /// networking.istio.io DestinationRule (read; load balancing and outlier detection are not).
        DestinationRule = "DestinationRule",
        /// networking.istio.io EnvoyFilter (skipped).
        EnvoyFilter = "EnvoyFilter",
        /// networking.istio.io Gateway (skipped).
        Gateway = "Gateway",
        /// The `istio` ConfigMap's `mesh` (read in part).
        MeshConfig = "MeshConfig",
        /// A `sidecar.istio.io/*` or `proxy.istio.io/*` pod annotation.
        PodAnnotation = "pod annotation",
        /// networking.istio.io ProxyConfig (skipped).
        ProxyConfig = "ProxyConfig",
        /// security.istio.io RequestAuthentication (skipped).
        RequestAuthentication = "RequestAuthentication",
        /// networking.istio.io ServiceEntry (read; `addresses` and endpoint network, locality and weight are not).
        ServiceEntry = "ServiceEntry",
        /// networking.istio.io Sidecar (skipped).
        Sidecar = "Sidecar",
        /// telemetry.istio.io Telemetry (skipped).
        Telemetry = "Telemetry",
        /// networking.istio.io VirtualService (skipped).
        VirtualService = "VirtualService",
        /// extensions.istio.io WasmPlugin (skipped).
        WasmPlugin = "WasmPlugin",
        /// networking.istio.io WorkloadEntry (skipped).
        WorkloadEntry = "WorkloadEntry",
        /// networking.istio.io WorkloadGroup (skipped).
        WorkloadGroup = "WorkloadGroup",
    }
}
