//! Traffic failures that are not mTLS but look alike (failure-modes.md §F): connection-pool
//! overflow (`503 UO`) with the DestinationRule whose `connectionPool` set the limit.

use crate::diagnose::Finding;
use crate::policy::{client_tls_for_endpoint, resolve_destination};
use crate::vocab::Kind;
use crate::vocab::{FindingCode, ResponseFlag};

use super::config::observed;
use super::{decision_line, Ctx};

pub(super) fn findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let ev = ctx.ev;
    if !ev
        .outcome
        .response_flags
        .contains(&ResponseFlag::UpstreamOverflow)
    {
        return Vec::new();
    }
    let res = &ev.resources;
    let req = &ev.request;
    let (ns, name) = (req.from.namespace.as_str(), req.from.name.as_str());
    let Some(from) = res.workload(ns, name) else {
        return Vec::new();
    };
    let Ok(dest) = resolve_destination(res, ns, &req.to) else {
        return Vec::new();
    };
    let Some(ep) = dest.endpoints.first() else {
        return Vec::new();
    };
    let choice = client_tls_for_endpoint(res, from, &dest, ep);
    let Some(pool) = &choice.connection_pool else {
        return Vec::new();
    };
    let mut evidence = vec![observed(ctx)];
    let mut limits = Vec::new();
    if let Some(n) = pool.tcp.as_ref().and_then(|t| t.max_connections) {
        limits.push(format!("tcp.maxConnections {n}"));
    }
    if let Some(h) = &pool.http {
        if let Some(n) = h.http1_max_pending_requests {
            limits.push(format!("http.http1MaxPendingRequests {n}"));
        }
    }
    evidence.push(format!(
        "connectionPool on the path: {}; the request burst had {} in flight",
        if limits.is_empty() {
            "set".to_string()
        } else {
            limits.join(", ")
        },
        req.concurrency
    ));
    evidence.extend(
        choice
            .decided_by
            .iter()
            .filter(|d| {
                d.resource
                    .as_ref()
                    .is_some_and(|r| r.kind == Kind::DestinationRule)
            })
            .map(|d| decision_line(res, d)),
    );
    vec![Finding::error(
        FindingCode::CircuitBreakerOpen,
        format!(
            "the client sidecar's circuit breaker for {} overflowed: more requests were in flight than the DestinationRule's connectionPool allows (503 UO)",
            req.to
        ),
        evidence,
        "raise the DestinationRule's connectionPool limits (tcp.maxConnections, http.http1MaxPendingRequests), or lower the client's concurrency",
    )]
}
