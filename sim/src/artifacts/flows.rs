//! Which requests the access logs show, and what each one's client saw. A line is a sidecar's
//! outbound line (`%UPSTREAM_CLUSTER%` `outbound|PORT|SUBSET|FQDN`, Passthrough/BlackHole) or
//! an inbound one (`inbound|PORT||`, or `-` for a listener-level rejection such as
//! `filter_chain_not_found`). Pods are found by IP: `%DOWNSTREAM_REMOTE_ADDRESS%` is the caller,
//! an inbound line's `%DOWNSTREAM_LOCAL_ADDRESS%` the destination pod and target port. An
//! inbound line joins the flow of the outbound line of the same connection (the client's
//! `%UPSTREAM_LOCAL_ADDRESS%` is the server's `%DOWNSTREAM_REMOTE_ADDRESS%`: the inbound capture
//! keeps the source address), before its SNI or `:authority` is read, because a
//! DestinationRule's `sni` may name any port.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::{AccessLog, ParsedAccessLog};
use crate::model::{Resources, TargetPort, Workload};
use crate::outcome::Outcome;
use crate::policy::{parse_istio_sni, PodIps};
use crate::request::RequestSpec;
use crate::vocab::boringssl::reason_of_transport_failure;
use crate::vocab::{HostPort, Protocol, Status, WorkloadRef};

/// Which side of a hop a line was logged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The caller's sidecar (outbound listener).
    Outbound,
    /// The destination's sidecar (inbound listener).
    Inbound,
}

/// The side a line was logged on, from its upstream cluster.
pub fn direction(l: &AccessLog) -> Direction {
    let c = &*l.upstream_cluster;
    if c.starts_with("outbound|") || c == "PassthroughCluster" || c == "BlackHoleCluster" {
        Direction::Outbound
    } else {
        Direction::Inbound
    }
}

/// Whether the line records a failure: a 4xx/5xx, or no response code with a response flag or
/// a connection termination reason.
pub fn failed(l: &AccessLog) -> bool {
    // A TCP connection the RBAC network filter closed carries no flag, only its
    // `%CONNECTION_TERMINATION_DETAILS%` (`rbac_access_denied_matched_policy[...]`).
    l.code >= 400 || (l.code == 0 && no_answer(l))
}

/// A line without a response code that records no answer: a response flag, a termination
/// reason, details other than `via_upstream` (a TCP proxy line whose connection the
/// destination's RBAC closed), or a TCP stream that sent bytes and got none back (the upstream
/// closed it: a request-response protocol's server never stays silent).
fn no_answer(l: &AccessLog) -> bool {
    !l.flags.is_empty()
        || l.termination != "-"
        || (l.details != "-" && l.details != "via_upstream")
        || (l.request.is_none() && l.bytes_received > 0 && l.bytes_sent == 0)
}

/// Pod IP to workload: the dump's `status.podIP`s; for a dump without any (a manifest, or a
/// simulated mesh's export), the simulator's own deterministic addresses.
pub struct IpIndex<'r> {
    res: &'r Resources,
    simulated: Option<PodIps>,
}

impl<'r> IpIndex<'r> {
    /// The index of `res`.
    pub fn new(res: &'r Resources) -> IpIndex<'r> {
        let any_real = res
            .workloads
            .iter()
            .any(|w| w.pods.iter().any(|p| p.ip.is_some()));
        IpIndex {
            res,
            simulated: (!any_real).then(|| PodIps::build(res)),
        }
    }

    /// The workload whose pod has address `addr` (`IP:PORT` or `IP`).
    pub fn owner(&self, addr: &str) -> Option<&'r Workload> {
        let ip: IpAddr = match addr.parse::<SocketAddr>() {
            Ok(sa) => sa.ip(),
            Err(_) => addr.parse().ok()?,
        };
        let res = self.res;
        match &self.simulated {
            None => res
                .workloads
                .iter()
                .find(|w| w.pods.iter().any(|p| p.ip == Some(ip))),
            Some(ips) => res
                .workloads
                .iter()
                .find(|w| ips.get(&w.meta.namespace, &w.meta.name) == ip),
        }
    }
}

fn port_of(addr: &str) -> Option<u16> {
    addr.parse::<SocketAddr>().ok().map(|sa| sa.port())
}

/// The service `HOST:PORT` that reaches `w` on `target_port`: the first Service (by namespace
/// and name) selecting it whose port targets that container port.
fn service_for(res: &Resources, w: &Workload, target_port: u16) -> Option<HostPort> {
    let mut services: Vec<_> = res
        .services
        .iter()
        .filter(|s| s.meta.namespace == w.meta.namespace)
        .filter(|s| s.selector.as_ref().is_some_and(|sel| w.has_labels(sel)))
        .collect();
    services.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    services.into_iter().find_map(|s| {
        s.ports.iter().find_map(|p| {
            let targets = match &p.target_port {
                TargetPort::Number(n) => *n == target_port,
                TargetPort::Name(name) => w
                    .ports
                    .iter()
                    .any(|c| c.name.as_deref() == Some(name) && c.port == target_port),
            };
            targets.then(|| HostPort::service_port(&s.meta.name, &s.meta.namespace, p.port))
        })
    })
}

/// The Service port an inbound line's Istio SNI (`outbound_.PORT_.SUBSET_.FQDN`) names.
fn sni_destination(l: &AccessLog) -> Option<HostPort> {
    let (port, fqdn) = parse_istio_sni(&l.sni)?;
    let mut labels = fqdn.split('.');
    let (service, namespace) = (labels.next()?, labels.next()?);
    Some(HostPort::service_port(service, namespace, port))
}

/// The Service port an inbound HTTP line's `:authority` names (with its port).
fn authority_destination(l: &AccessLog, caller: Option<&Workload>) -> Option<HostPort> {
    let h: HostPort = l.authority.parse().ok()?;
    Some(one_spelling(h, caller))
}

/// The destination of an outbound line: `outbound|PORT|SUBSET|FQDN`, else its `:authority`.
fn outbound_destination(l: &AccessLog, caller: Option<&Workload>) -> Option<HostPort> {
    let mut parts = l.upstream_cluster.split('|');
    if parts.next() == Some("outbound") {
        let port = parts.next()?;
        let host = parts.nth(1)?;
        let h: HostPort = format!("{host}:{port}").parse().ok()?;
        Some(one_spelling(h, caller))
    } else {
        authority_destination(l, caller)
    }
}

/// One spelling per Service port (`SVC.NS:PORT`, a short host read in the caller's namespace),
/// so both sides' lines land on the same flow.
fn one_spelling(h: HostPort, caller: Option<&Workload>) -> HostPort {
    let Some((service, namespace)) = h.service() else {
        // An external host is spelled one way already.
        return h;
    };
    match namespace.or(caller.map(|w| w.meta.namespace.as_str())) {
        Some(ns) => HostPort::service_port(service, ns, h.port),
        None => h,
    }
}

/// One request as the logs show it: who called what, and both sides' lines when logged.
#[derive(Debug, Clone)]
pub struct LoggedFlow {
    /// The caller.
    pub from: WorkloadRef,
    /// The destination as `HOST:PORT`.
    pub to: HostPort,
    /// The caller's sidecar line, if it has one.
    pub client: Option<ParsedAccessLog>,
    /// The destination sidecar's line, if logged.
    pub server: Option<ParsedAccessLog>,
}

impl LoggedFlow {
    /// The request the logs show: method and path from a line's request field, TCP when it has
    /// none.
    pub fn request(&self) -> RequestSpec {
        let line = self.client.as_ref().or(self.server.as_ref());
        let req = line.and_then(|l| l.fields.request.clone());
        RequestSpec {
            from: self.from.clone(),
            to: self.to.clone(),
            path: req.as_ref().map_or("/".into(), |r| r.1.clone()),
            method: req.as_ref().map_or("GET".into(), |r| r.0.clone()),
            headers: Default::default(),
            protocol: match (&req, line) {
                (Some(_), _) => Some(Protocol::Http),
                // A listener-level line says nothing about what the client meant to send.
                (None, Some(l)) if l.fields.upstream_cluster != "-" => Some(Protocol::Tcp),
                _ => None,
            },
            count: 1,
            concurrency: 1,
        }
    }

    /// What the client saw, read back from the lines: the client sidecar's code, flags,
    /// details and TLS failure; for a caller without a sidecar, the destination's line (a
    /// listener-level rejection reaches the client as a reset).
    pub fn outcome(&self) -> Outcome {
        // The client's line decides, unless it shows a TCP stream that looks fine while the
        // destination's listener refused it (`tcp_proxy` logs the client side's bytes).
        let server_refused = self.server.as_ref().is_some_and(|s| failed(&s.fields))
            && self
                .client
                .as_ref()
                .is_some_and(|c| c.fields.code == 0 && !failed(&c.fields));
        let deciding = if server_refused {
            self.server.as_ref()
        } else {
            self.client.as_ref().or(self.server.as_ref())
        };
        let Some(line) = deciding else {
            return Outcome::with_status(Status::Reset);
        };
        let by_client = self.client.is_some() && !server_refused;
        let l = &line.fields;
        let mut o = Outcome::with_status(if l.code == 0 {
            if !no_answer(l) && by_client {
                Status::Http(200)
            } else {
                Status::Reset
            }
        } else {
            Status::Http(l.code)
        });
        o.response_flags = if by_client {
            l.flags.clone()
        } else {
            Vec::new()
        };
        o.details = if l.code == 0 && l.termination != "-" {
            l.termination.to_string()
        } else if l.details == "-" || !by_client && l.code == 0 {
            String::new()
        } else {
            l.details.to_string()
        };
        // The client's own line says `via_upstream` for a reply the destination's sidecar made
        // itself (an RBAC denial); the client saw that sidecar's details.
        if let (Some(c), Some(s)) = (&self.client, &self.server) {
            let sd = &*s.fields.details;
            if c.fields.code > 0
                && s.fields.code == c.fields.code
                && sd != "-"
                && sd != "via_upstream"
            {
                o.details = sd.to_string();
            }
        }
        o.tls_error = reason_of_transport_failure(&l.upstream_failure).map(str::to_string);
        o.mtls = self.server.as_ref().is_some_and(|s| s.fields.sni != "-");
        o.client_log = self.client.as_ref().map(|c| c.raw.clone());
        o.server_log = self.server.as_ref().map(|s| s.raw.clone());
        o
    }
}

/// Every flow the lines show, failing or not, in the order first seen; each flow keeps its
/// newest failing lines (else its newest lines). `unresolved` counts lines whose pods are not in
/// the resources.
pub fn logged_flows(res: &Resources, lines: &[ParsedAccessLog]) -> (Vec<LoggedFlow>, usize) {
    let ips = IpIndex::new(res);
    // Each outbound line's destination, once: the main loop and the connection index both use
    // it.
    let outbound: Vec<Option<HostPort>> = lines
        .iter()
        .map(|line| {
            let l = &line.fields;
            (direction(l) == Direction::Outbound)
                .then(|| outbound_destination(l, ips.owner(&l.downstream_remote)))
                .flatten()
        })
        .collect();
    let by_connection = connections(lines, &outbound);
    let mut flows: Vec<LoggedFlow> = Vec::new();
    // Flow positions by (from, to): a cluster export holds many thousands of flows, and a
    // linear search per line was quadratic.
    let mut index: HashMap<(WorkloadRef, HostPort), usize> = HashMap::new();
    let mut unresolved = 0;
    for (line, outbound_to) in lines.iter().zip(outbound) {
        let l = &line.fields;
        let dir = direction(l);
        let from = ips.owner(&l.downstream_remote);
        let to = match dir {
            Direction::Outbound => outbound_to,
            // Two ports of one Service can target the same container port, so the Service
            // port comes from what the client named: the outbound line of the same connection
            // when it is in the logs, else the SNI of an mTLS line (a DestinationRule's `sni`
            // may name another port), else the HTTP `:authority` (a short host in the caller's
            // namespace), else the first Service port that targets the port the line arrived on.
            Direction::Inbound => by_connection
                .get(&*l.downstream_remote)
                .cloned()
                .flatten()
                .or_else(|| sni_destination(l))
                .or_else(|| authority_destination(l, from))
                .or_else(|| {
                    ips.owner(&l.downstream_local)
                        .zip(port_of(&l.downstream_local))
                        .and_then(|(w, port)| service_for(res, w, port))
                }),
        };
        let (Some(from), Some(to)) = (from, to) else {
            unresolved += 1;
            continue;
        };
        let from = WorkloadRef::new(&from.meta.namespace, &from.meta.name);
        let i = *index.entry((from.clone(), to.clone())).or_insert_with(|| {
            flows.push(LoggedFlow {
                from,
                to,
                client: None,
                server: None,
            });
            flows.len() - 1
        });
        let slot = match dir {
            Direction::Outbound => &mut flows[i].client,
            Direction::Inbound => &mut flows[i].server,
        };
        let replace = match slot {
            None => true,
            // A failing line wins over a success; among equals, the newer.
            Some(old) => (failed(l), l.start) >= (failed(&old.fields), old.fields.start),
        };
        if replace {
            *slot = Some(line.clone());
        }
    }
    (flows, unresolved)
}

/// The destination of each connection an outbound line shows (`outbound`, by line), by its
/// `%UPSTREAM_LOCAL_ADDRESS%`: the destination sidecar logs the same address as its
/// `%DOWNSTREAM_REMOTE_ADDRESS%` (the inbound capture keeps the client's source address and
/// port). An address the logs show for two destinations (a port reused) is `None`: ambiguous.
fn connections<'l>(
    lines: &'l [ParsedAccessLog],
    outbound: &[Option<HostPort>],
) -> HashMap<&'l str, Option<HostPort>> {
    let mut by_connection: HashMap<&str, Option<HostPort>> = HashMap::new();
    for (line, to) in lines.iter().zip(outbound) {
        let l = &line.fields;
        let Some(to) = to.as_ref().filter(|_| l.upstream_local != "-") else {
            continue;
        };
        by_connection
            .entry(&*l.upstream_local)
            .and_modify(|seen| {
                if seen.as_ref() != Some(to) {
                    *seen = None;
                }
            })
            .or_insert_with(|| Some(to.clone()));
    }
    by_connection
}

/// Whether the flow's logged outcome is a failure.
pub fn flow_failed(f: &LoggedFlow) -> bool {
    f.client
        .as_ref()
        .or(f.server.as_ref())
        .is_some_and(|l| failed(&l.fields))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::artifacts::parse_proxy_log;
    use crate::mesh::{Mesh, MeshOptions};
    use crate::model::load_str;

    /// Two ports of one Service (8000 and 7000) target the same container port 80, and an
    /// allow-nothing policy denies in foo.
    const TWO_PORTS: &str = "
apiVersion: v1
kind: Namespace
metadata: {name: foo, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: baz, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: foo}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: app, image: app, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: foo}
spec:
  selector: {app: db}
  ports: [{name: http, port: 8000, targetPort: 80}, {port: 7000, targetPort: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: baz}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: app, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep, namespace: legacy}
spec:
  selector: {matchLabels: {app: sleep}}
  template:
    metadata: {labels: {app: sleep}}
    spec: {containers: [{name: app, image: app}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: foo}
spec: {}
";

    /// One request from `from` to `to` on a fresh mesh of `res`: its status, how many lines
    /// the sidecars logged, and the flows [`logged_flows`] reads back from those lines.
    fn logged_request(
        res: &Resources,
        from: &str,
        to: &str,
    ) -> (Status, usize, (Vec<LoggedFlow>, usize)) {
        let mut mesh = Mesh::build(res.clone(), &[], MeshOptions::default()).expect("mesh builds");
        let req = RequestSpec {
            from: from.parse().expect("NS/WORKLOAD"),
            to: to.parse().expect("HOST:PORT"),
            ..RequestSpec::default()
        };
        let o = mesh
            .request(&req)
            .expect("request")
            .into_first()
            .expect("one");
        let lines: Vec<String> = [o.client_log, o.server_log].into_iter().flatten().collect();
        let log = parse_proxy_log("both.log", &(lines.join("\n") + "\n"))
            .expect("the simulator's lines read");
        (o.status, lines.len(), logged_flows(res, &log.access))
    }

    #[test]
    fn an_inbound_line_pairs_with_the_service_port_the_client_named() {
        let res = load_str(TWO_PORTS, Path::new("<test>")).expect("test YAML loads");
        // (caller, destination, lines logged): mTLS names the port in its SNI; a plaintext
        // caller without a sidecar only in its `:authority`.
        let cases = [
            ("baz/web", "db.foo:7000", 2),
            ("legacy/sleep", "db.foo:7000", 1),
            ("legacy/sleep", "db.foo.svc.cluster.local:7000", 1),
        ];
        for (from, to, logged) in cases {
            let (status, lines, (flows, unresolved)) = logged_request(&res, from, to);
            assert_eq!(status, Status::Http(403), "{from} -> {to}");
            assert_eq!(lines, logged, "{from} -> {to}");
            assert_eq!(unresolved, 0, "{from} -> {to}");
            assert_eq!(flows.len(), 1, "{from} -> {to}: {flows:#?}");
            assert_eq!(flows[0].to.as_str(), "db.foo:7000", "{from} -> {to}");
            assert!(flows[0].server.is_some(), "{from} -> {to}");
        }
    }

    #[test]
    fn an_inbound_line_pairs_by_connection_when_a_destination_rule_pins_another_ports_sni() {
        // The SNI names port 8000; the request, its outbound line and its connection port 7000.
        let pinned = format!(
            "{TWO_PORTS}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: db, namespace: foo}}
spec:
  host: db.foo.svc.cluster.local
  trafficPolicy:
    tls: {{mode: ISTIO_MUTUAL, sni: outbound_.8000_._.db.foo.svc.cluster.local}}
"
        );
        let res = load_str(&pinned, Path::new("<test>")).expect("test YAML loads");
        let (status, _, (flows, unresolved)) = logged_request(&res, "baz/web", "db.foo:7000");
        assert_eq!(status, Status::Http(403));
        assert_eq!(unresolved, 0);
        assert_eq!(flows.len(), 1, "{flows:#?}");
        assert_eq!(flows[0].to.as_str(), "db.foo:7000");
        assert!(flows[0].client.is_some() && flows[0].server.is_some());
    }
}
