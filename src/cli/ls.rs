//! `meshsim ls`: the inventory of a configuration — workloads (replicas, service account,
//! sidecar and why), Services (ports, selector, ready endpoints) and the Istio policies with
//! their scope — as meshsim read it.

use std::collections::BTreeMap;

use serde::Serialize;
use sim::model::{TargetPort, Workload};
use sim::policy::service_selects;
use sim::Resources;

use super::output::emit_then;
use super::{Format, LsArgs, EXIT_BAD_INPUT, EXIT_OK};

/// One workload row.
#[derive(Debug, Serialize)]
struct WorkloadRow {
    namespace: String,
    name: String,
    kind: &'static str,
    replicas: u32,
    service_account: String,
    sidecar: bool,
    sidecar_reason: String,
}

/// One Service row.
#[derive(Debug, Serialize)]
struct ServiceRow {
    namespace: String,
    name: String,
    /// `PORT/NAME->TARGET`.
    ports: Vec<String>,
    selector: BTreeMap<String, String>,
    /// The workloads (`NS/NAME`) whose ready pods back it.
    endpoints: Vec<String>,
}

/// One policy row.
#[derive(Debug, Serialize)]
struct PolicyRow {
    kind: &'static str,
    namespace: String,
    name: String,
    /// Whom it applies to.
    scope: String,
    /// What it sets, in one line.
    summary: String,
    /// `FILE:LINE` it was read from.
    origin: String,
}

/// `ls --format json`.
#[derive(Debug, Serialize)]
struct Inventory {
    workloads: Vec<WorkloadRow>,
    services: Vec<ServiceRow>,
    policies: Vec<PolicyRow>,
}

/// Runs `meshsim ls` and returns the exit code: 0 when the configuration loads, 2 otherwise.
pub(super) fn ls(args: LsArgs) -> i32 {
    let resources = match args.config.load() {
        Ok((resources, _faults)) => resources,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let inventory = inventory(&resources);
    let text = match args.format {
        Format::Human => human(&inventory),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&inventory)
                .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
            s.push('\n');
            s
        }
    };
    emit_then("ls", &text, None, EXIT_OK)
}

fn labels(l: &BTreeMap<String, String>) -> String {
    if l.is_empty() {
        return "-".into();
    }
    l.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn selector_scope(
    namespace: &str,
    root: &str,
    selector: Option<&BTreeMap<String, String>>,
) -> String {
    match (selector.filter(|s| !s.is_empty()), namespace == root) {
        (Some(sel), true) => format!("{{{}}} in any namespace", labels(sel)),
        (Some(sel), false) => format!("{{{}}} in {namespace}", labels(sel)),
        (None, true) => "mesh-wide".into(),
        (None, false) => format!("namespace {namespace}"),
    }
}

fn inventory(res: &Resources) -> Inventory {
    let root = res.mesh_config.root_namespace.as_str();
    let mut workloads: Vec<WorkloadRow> = res
        .workloads
        .iter()
        .map(|w| {
            let (sidecar, sidecar_reason) = res.sidecar_decision(w);
            WorkloadRow {
                namespace: w.meta.namespace.clone(),
                name: w.meta.name.clone(),
                kind: w.kind.as_str(),
                replicas: w.replicas,
                service_account: w.service_account.clone(),
                sidecar,
                sidecar_reason,
            }
        })
        .collect();
    workloads.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let mut services: Vec<ServiceRow> = res
        .services
        .iter()
        .map(|s| {
            let ports = s
                .ports
                .iter()
                .map(|p| {
                    let target = match &p.target_port {
                        TargetPort::Number(n) => n.to_string(),
                        TargetPort::Name(n) => n.clone(),
                    };
                    match &p.name {
                        Some(name) => format!("{}/{name}->{target}", p.port),
                        None => format!("{}->{target}", p.port),
                    }
                })
                .collect();
            let mut endpoints: Vec<String> = res
                .workloads
                .iter()
                .filter(|w| w.replicas > 0 && service_selects(s, w))
                .map(Workload::proxy_id)
                .collect();
            endpoints.sort();
            ServiceRow {
                namespace: s.meta.namespace.clone(),
                name: s.meta.name.clone(),
                ports,
                selector: s.selector.clone().unwrap_or_default(),
                endpoints,
            }
        })
        .collect();
    services.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let mut policies = Vec::new();
    for pa in &res.peer_authentications {
        let mode = pa
            .spec
            .mtls
            .as_ref()
            .map(|m| m.mode.as_str())
            .unwrap_or("UNSET");
        let mut summary = format!("mtls {mode}");
        for (port, m) in pa.spec.port_level_mtls.iter().flatten() {
            summary.push_str(&format!(", port {port} {}", m.mode.as_str()));
        }
        policies.push(PolicyRow {
            kind: "PeerAuthentication",
            namespace: pa.meta.namespace.clone(),
            name: pa.meta.name.clone(),
            scope: selector_scope(
                &pa.meta.namespace,
                root,
                pa.spec.selector.as_ref().map(|s| &s.match_labels),
            ),
            summary,
            origin: pa.meta.origin.to_string(),
        });
    }
    for dr in &res.destination_rules {
        let tls = dr
            .spec
            .traffic_policy
            .as_ref()
            .and_then(|t| t.tls.as_ref())
            .map(|t| t.mode.as_str())
            .unwrap_or("auto");
        let mut summary = format!("tls {tls}");
        if !dr.spec.subsets.is_empty() {
            let names: Vec<&str> = dr.spec.subsets.iter().map(|s| s.name.as_str()).collect();
            summary.push_str(&format!(", subsets {}", names.join(",")));
        }
        policies.push(PolicyRow {
            kind: "DestinationRule",
            namespace: dr.meta.namespace.clone(),
            name: dr.meta.name.clone(),
            scope: format!("host {}", dr.spec.host),
            summary,
            origin: dr.meta.origin.to_string(),
        });
    }
    for ap in &res.authorization_policies {
        let targeted = ap.spec.target_ref.is_some()
            || ap.spec.target_refs.as_ref().is_some_and(|t| !t.is_empty());
        let scope = if targeted {
            "targetRef (not modelled)".to_string()
        } else {
            selector_scope(
                &ap.meta.namespace,
                root,
                ap.spec.selector.as_ref().map(|s| &s.match_labels),
            )
        };
        let rules = ap.spec.rules.as_ref().map_or(0, Vec::len);
        policies.push(PolicyRow {
            kind: "AuthorizationPolicy",
            namespace: ap.meta.namespace.clone(),
            name: ap.meta.name.clone(),
            scope,
            summary: format!("{}, {rules} rule(s)", ap.spec.action.as_str()),
            origin: ap.meta.origin.to_string(),
        });
    }
    for sc in &res.sidecars {
        // A root-namespace Sidecar reaches other namespaces only without a selector.
        let scope = match &sc.spec.workload_selector {
            Some(sel) => format!("{{{}}} in {}", labels(&sel.labels), sc.meta.namespace),
            None if sc.meta.namespace == root => "mesh-wide (namespaces without their own)".into(),
            None => format!("namespace {}", sc.meta.namespace),
        };
        let hosts: Vec<&str> = sc
            .spec
            .egress
            .iter()
            .flat_map(|e| e.hosts.iter().map(String::as_str))
            .collect();
        let mut summary = if hosts.is_empty() {
            "egress */*".to_string()
        } else {
            format!("egress {}", hosts.join(","))
        };
        if let Some(policy) = &sc.spec.outbound_traffic_policy {
            summary.push_str(&format!(", {}", policy.mode.as_str()));
        }
        policies.push(PolicyRow {
            kind: "Sidecar",
            namespace: sc.meta.namespace.clone(),
            name: sc.meta.name.clone(),
            scope,
            summary,
            origin: sc.meta.origin.to_string(),
        });
    }
    policies.sort_by(|a, b| (a.kind, &a.namespace, &a.name).cmp(&(b.kind, &b.namespace, &b.name)));
    Inventory {
        workloads,
        services,
        policies,
    }
}

/// Aligned columns, the last one unpadded (as `matrix` prints its table).
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(header);
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&line(&cells));
    }
    out
}

fn human(inv: &Inventory) -> String {
    let workloads: Vec<Vec<String>> = inv
        .workloads
        .iter()
        .map(|w| {
            vec![
                format!("{}/{}", w.namespace, w.name),
                w.kind.to_string(),
                w.replicas.to_string(),
                w.service_account.clone(),
                if w.sidecar { "yes" } else { "no" }.to_string(),
                w.sidecar_reason.clone(),
            ]
        })
        .collect();
    let services: Vec<Vec<String>> = inv
        .services
        .iter()
        .map(|s| {
            vec![
                format!("{}/{}", s.namespace, s.name),
                s.ports.join(","),
                labels(&s.selector),
                if s.endpoints.is_empty() {
                    "-".into()
                } else {
                    s.endpoints.join(",")
                },
            ]
        })
        .collect();
    let policies: Vec<Vec<String>> = inv
        .policies
        .iter()
        .map(|p| {
            vec![
                p.kind.to_string(),
                format!("{}/{}", p.namespace, p.name),
                p.scope.clone(),
                p.summary.clone(),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "WORKLOAD",
            "KIND",
            "REPLICAS",
            "SERVICE_ACCOUNT",
            "SIDECAR",
            "WHY",
        ],
        &workloads,
    );
    out.push('\n');
    out.push_str(&table(
        &["SERVICE", "PORTS", "SELECTOR", "ENDPOINTS"],
        &services,
    ));
    out.push('\n');
    out.push_str(&table(&["POLICY", "NAME", "APPLIES_TO", "SETS"], &policies));
    out.push_str(&format!(
        "{} workload(s), {} service(s), {} policy(ies)\n",
        inv.workloads.len(),
        inv.services.len(),
        inv.policies.len()
    ));
    out
}
