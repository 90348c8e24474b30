//! Requests in waves: the client sidecar's circuit breaker, connection slots and
//! `maxRequestsPerConnection` on real connections, and outcomes kept as counters.

use std::path::Path;

use crate::mesh::MeshOptions;
use crate::model::load_str;
use crate::request::RequestSpec;
use crate::vocab::{ResponseFlag, Status};
use crate::Mesh;

const SLEEP_HTTPBIN: &str = include_str!("../../../scenarios/fixtures/sleep-httpbin.yaml");
const TCP_ECHO: &str = include_str!("../../../scenarios/fixtures/tcp-echo.yaml");

/// A DestinationRule for `host` with `connectionPool: {pool}` (YAML flow text).
fn pool_rule(host: &str, pool: &str) -> String {
    format!(
        "
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: limits, namespace: foo}}
spec:
  host: {host}
  trafficPolicy:
    connectionPool: {pool}
"
    )
}

fn mesh(fixture: &str, extra: &str) -> Mesh {
    let text = format!("{fixture}\n---\n{extra}");
    let res = load_str(&text, Path::new("<test>")).expect("test YAML loads");
    Mesh::build(res, &[], MeshOptions::default()).expect("mesh builds")
}

fn burst(from: &str, to: &str, count: u32, concurrency: u32) -> RequestSpec {
    RequestSpec {
        from: from.parse().expect("NS/WORKLOAD"),
        to: to.parse().expect("HOST:PORT"),
        path: "/get".into(),
        count,
        concurrency,
        ..RequestSpec::default()
    }
}

/// (successes, overflows) of one request step.
fn tally(mesh: &mut Mesh, req: &RequestSpec) -> (u64, u64) {
    let outcomes = mesh.request(req).expect("request runs");
    let mut ok = 0;
    let mut overflow = 0;
    for g in outcomes.groups() {
        if g.outcome.status.is_success() {
            ok += g.count;
        } else if g
            .outcome
            .response_flags
            .contains(&ResponseFlag::UpstreamOverflow)
        {
            overflow += g.count;
        } else {
            panic!("unexpected outcome {:?}", g.outcome);
        }
    }
    (ok, overflow)
}

const HTTPBIN: &str = "httpbin.foo.svc.cluster.local";

#[test]
fn a_wave_is_admitted_up_to_the_connections_plus_the_pending_queue() {
    // (connectionPool, count, concurrency) → (200s, 503 UO)
    let cases = [
        (
            "{tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 1}}",
            10,
            10,
            (2, 8),
        ),
        (
            "{tcp: {maxConnections: 2}, http: {http1MaxPendingRequests: 3}}",
            20,
            10,
            (10, 10),
        ),
        (
            "{tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 1}}",
            6,
            1,
            (6, 0),
        ),
        ("{http: {http2MaxRequests: 3}}", 5, 5, (3, 2)),
        // Zero is unset, as `applyConnectionPool` reads it: no limit.
        ("{tcp: {maxConnections: 0}}", 8, 8, (8, 0)),
    ];
    for (pool, count, concurrency, want) in cases {
        let mut m = mesh(SLEEP_HTTPBIN, &pool_rule(HTTPBIN, pool));
        let got = tally(
            &mut m,
            &burst("foo/sleep", "httpbin.foo:8000", count, concurrency),
        );
        assert_eq!(got, want, "{pool} count {count} concurrency {concurrency}");
    }
}

#[test]
fn tcp_proxy_has_no_pending_queue_and_closes_what_overflows() {
    let rule = pool_rule(
        "tcp-echo.foo.svc.cluster.local",
        "{tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 5}}",
    );
    let mut m = mesh(&format!("{SLEEP_HTTPBIN}\n---\n{TCP_ECHO}"), &rule);
    let outcomes = m
        .request(&burst("foo/sleep", "tcp-echo.foo:9000", 4, 4))
        .expect("request runs");
    let overflowed: Vec<_> = outcomes
        .groups()
        .iter()
        .filter(|g| !g.outcome.status.is_success())
        .collect();
    assert_eq!(overflowed.len(), 1, "{outcomes:?}");
    assert_eq!(overflowed[0].count, 3);
    assert_eq!(overflowed[0].outcome.status, Status::Reset);
    assert_eq!(
        overflowed[0].outcome.response_flags,
        [ResponseFlag::UpstreamOverflow]
    );
}

#[test]
fn admitted_requests_share_the_connection_slots_concurrently() {
    // Ten requests at once with no limit need ten connections: they are really in flight
    // together. With two connection slots and room to queue, all ten succeed over two.
    let mut free = mesh(SLEEP_HTTPBIN, "");
    assert_eq!(
        tally(&mut free, &burst("foo/sleep", "httpbin.foo:8000", 10, 10)),
        (10, 0)
    );
    assert_eq!(free.connections().opened_connections(), 10);

    let rule = pool_rule(
        HTTPBIN,
        "{tcp: {maxConnections: 2}, http: {http1MaxPendingRequests: 8}}",
    );
    let mut limited = mesh(SLEEP_HTTPBIN, &rule);
    assert_eq!(
        tally(
            &mut limited,
            &burst("foo/sleep", "httpbin.foo:8000", 10, 10)
        ),
        (10, 0)
    );
    assert_eq!(limited.connections().opened_connections(), 2);
    assert_eq!(limited.connections().reused_requests(), 8);
}

#[test]
fn max_requests_per_connection_closes_a_connection_after_that_many_requests() {
    // (maxRequestsPerConnection, sequential requests) → connections opened
    let cases = [
        (None, 5, 1),
        (Some(1), 5, 5),
        (Some(2), 5, 3),
        (Some(0), 5, 1),
    ];
    for (max, count, want) in cases {
        let rule = match max {
            Some(n) => pool_rule(
                HTTPBIN,
                &format!("{{http: {{maxRequestsPerConnection: {n}}}}}"),
            ),
            None => String::new(),
        };
        let mut m = mesh(SLEEP_HTTPBIN, &rule);
        assert_eq!(
            tally(&mut m, &burst("foo/sleep", "httpbin.foo:8000", count, 1)),
            (count.into(), 0)
        );
        assert_eq!(
            m.connections().opened_connections(),
            want,
            "maxRequestsPerConnection {max:?}"
        );
    }
}

#[test]
fn many_requests_are_kept_as_counters_not_as_outcomes() {
    let mut m = mesh(SLEEP_HTTPBIN, "");
    let outcomes = m
        .request(&burst("foo/sleep", "httpbin.foo:8000", 400, 4))
        .expect("request runs");
    assert_eq!(outcomes.total(), 400);
    assert_eq!(outcomes.groups().len(), 1);
    assert_eq!(outcomes.groups()[0].count, 400);
}

#[test]
fn the_same_burst_gives_identical_outcomes() {
    let rule = pool_rule(
        HTTPBIN,
        "{tcp: {maxConnections: 2}, http: {http1MaxPendingRequests: 2, maxRequestsPerConnection: 2}}",
    );
    let run = || {
        let mut m = mesh(SLEEP_HTTPBIN, &rule);
        m.request(&burst("foo/sleep", "httpbin.foo:8000", 12, 6))
            .expect("request runs")
    };
    assert_eq!(run(), run());
}
