//! What a client sidecar's `Sidecar` scope gives one destination: the outbound listener a
//! connection meets, and the outbound traffic policy for what no listener or route takes. One
//! shape for both paths (`policy::sidecar_scope` decides it; `OutboundChain::select_with` turns
//! it into the filter chain).

use serde::{Deserialize, Serialize};

/// `outboundTrafficPolicy.mode`: where a sidecar sends traffic for a destination it has no
/// listener or route for (`pilot/pkg/networking/util.IsAllowAnyOutbound`, Istio 1.22–1.28).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutboundTrafficMode {
    /// `REGISTRY_ONLY`: to `BlackHoleCluster` (the proto's zero value, so a written
    /// `outboundTrafficPolicy: {}` means it).
    #[default]
    RegistryOnly,
    /// `ALLOW_ANY`: to `PassthroughCluster` (MeshConfig's default, `mesh.DefaultMeshConfig`).
    AllowAny,
}

impl OutboundTrafficMode {
    /// The name as Istio spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundTrafficMode::RegistryOnly => "REGISTRY_ONLY",
            OutboundTrafficMode::AllowAny => "ALLOW_ANY",
        }
    }
}

/// Which outbound listener of the client sidecar a connection to a destination's address and
/// port meets (`buildSidecarOutboundListener`, `pilot/pkg/networking/core/listener.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub enum OutboundListener {
    /// The destination Service is in the sidecar's egress scope: its own listener (the
    /// Service's address, or `0.0.0.0:<port>` for HTTP), routes and cluster.
    #[default]
    Service,
    /// Not in scope, but an HTTP Service in scope binds `0.0.0.0:<port>`: its HTTP connection
    /// manager takes HTTP bytes, and no virtual host but the catch-all matches.
    WildcardHttp,
    /// Not in scope and no listener binds the port: the virtual outbound listener's catch-all
    /// chain (`buildOutboundCatchAllNetworkFilterChains`).
    Virtual,
}

/// The client sidecar's egress view of one destination port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Egress {
    /// The listener the connection meets.
    pub listener: OutboundListener,
    /// The sidecar's outbound traffic policy (its Sidecar's, else MeshConfig's).
    pub mode: OutboundTrafficMode,
}

impl Default for Egress {
    /// A Service in scope under MeshConfig's default, ALLOW_ANY.
    fn default() -> Self {
        Egress {
            listener: OutboundListener::Service,
            mode: OutboundTrafficMode::AllowAny,
        }
    }
}

/// `util.BlackHoleCluster`, the STATIC cluster without endpoints of REGISTRY_ONLY traffic.
pub const BLACKHOLE_CLUSTER: &str = "BlackHoleCluster";
