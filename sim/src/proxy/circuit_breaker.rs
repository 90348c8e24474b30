//! The client sidecar's per-cluster circuit breaker and connection limits, as Istio writes a
//! DestinationRule's `connectionPool` into the Envoy cluster
//! (`pilot/pkg/networking/core/cluster_traffic_policy.go`, `applyConnectionPool`, 1.22–1.28):
//! `tcp.maxConnections` → `max_connections`, `http.http1MaxPendingRequests` →
//! `max_pending_requests`, `http.http2MaxRequests` → `max_requests`,
//! `http.maxRequestsPerConnection` → `max_requests_per_connection`. Unset fields keep Istio's
//! defaults (`getDefaultCircuitBreakerThresholds`: every threshold `MaxUint32`, i.e. no limit).
//!
//! Envoy's HTTP/1.1 pool binds one request to one connection at a time and queues the rest as
//! pending until a connection frees up (`docs/intro/arch_overview/connection_pooling.rst`); a
//! request that finds the pending queue full is answered `503 UO`
//! (`upstream_rq_pending_overflow`). `tcp_proxy` has no queue: a connection beyond
//! `max_connections` is closed with `UO` (`upstream_cx_overflow`).

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::model::ConnectionPool as PoolSettings;
use crate::vocab::OutboundChain;

/// The connection-pool limits of one upstream cluster; `None` is Istio's unlimited default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ClusterLimits {
    /// `tcp.maxConnections`.
    pub max_connections: Option<u32>,
    /// `http.http1MaxPendingRequests`.
    pub max_pending_requests: Option<u32>,
    /// `http.http2MaxRequests`: requests in flight (active and pending) across the cluster.
    pub max_requests: Option<u32>,
    /// `http.maxRequestsPerConnection`: a connection is closed after this many requests.
    pub max_requests_per_connection: Option<u32>,
}

impl ClusterLimits {
    /// The limits a DestinationRule's `trafficPolicy.connectionPool` sets (zero means unset, as
    /// `applyConnectionPool` reads it).
    pub fn from_settings(settings: Option<&PoolSettings>) -> ClusterLimits {
        let positive = |v: Option<u32>| v.filter(|v| *v > 0);
        let tcp = settings.and_then(|s| s.tcp.as_ref());
        let http = settings.and_then(|s| s.http.as_ref());
        ClusterLimits {
            max_connections: positive(tcp.and_then(|t| t.max_connections)),
            max_pending_requests: positive(http.and_then(|h| h.http1_max_pending_requests)),
            max_requests: positive(http.and_then(|h| h.http2_max_requests)),
            max_requests_per_connection: positive(http.and_then(|h| h.max_requests_per_connection)),
        }
    }
}

/// One cluster's budget while a wave of requests arrives at once.
#[derive(Debug)]
pub(crate) struct CircuitBreaker {
    /// Connection slots: one request per connection at a time. `None`: no limit.
    connections: Option<Semaphore>,
    /// Requests admitted so far in this wave, and how many may be.
    admitted: usize,
    budget: usize,
}

/// What the breaker says to an arriving request.
pub(crate) enum Admission {
    /// It may go on (it waits for a connection slot when all are busy).
    Admitted,
    /// `503 UO`: every connection is busy and the pending queue is full.
    Overflow,
}

impl CircuitBreaker {
    /// The breaker for requests on `chain`. `PassthroughCluster` takes no DestinationRule, so it
    /// has no limits; a TCP chain has no pending queue.
    pub(crate) fn new(limits: &ClusterLimits, chain: OutboundChain) -> CircuitBreaker {
        let as_usize = |v: Option<u32>| v.map_or(usize::MAX, |v| v as usize);
        if chain.is_passthrough() || chain.is_black_hole() {
            return CircuitBreaker {
                connections: None,
                admitted: 0,
                budget: usize::MAX,
            };
        }
        let connections = as_usize(limits.max_connections);
        let pending = match chain {
            OutboundChain::Http => as_usize(limits.max_pending_requests),
            _ => 0,
        };
        let mut budget = connections.saturating_add(pending);
        if chain == OutboundChain::Http {
            budget = budget.min(as_usize(limits.max_requests));
        }
        CircuitBreaker {
            connections: limits
                .max_connections
                .map(|n| Semaphore::new((n as usize).min(Semaphore::MAX_PERMITS))),
            admitted: 0,
            budget,
        }
    }

    /// Admits the next arriving request while every earlier one of the wave is still in flight
    /// (they arrive together), or overflows it.
    pub(crate) fn arrive(&mut self) -> Admission {
        if self.admitted >= self.budget {
            return Admission::Overflow;
        }
        self.admitted += 1;
        Admission::Admitted
    }

    /// Waits for a free connection slot (a pending request waits here), in arrival order.
    pub(crate) async fn connection(&self) -> Option<SemaphorePermit<'_>> {
        match &self.connections {
            // The semaphore is never closed, so acquiring only fails if it were.
            Some(s) => s.acquire().await.ok(),
            None => None,
        }
    }
}
