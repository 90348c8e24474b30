//! Why a proxy has no (valid) certificate, from the logs (failure-modes.md §D): the istio-agent
//! logs every failed CSR with the gRPC status istiod returned (`citadel/client.go`), istiod logs
//! why it refused (`security/pkg/server/ca/server.go`). A proxy whose last CSR failed, with no
//! success since, is explained by that failure; an error when its certificate is already
//! missing or expired, a warning while it still works.

use crate::diagnose::{Finding, Severity};
use crate::evidence::{Evidence, ProxyEvidence};
use crate::pki::inspect;
use crate::vocab::FindingCode;

use super::Ctx;

const SUCCESS: &str = "generated new workload certificate";
const FAILURE: &str = "failed to sign";

pub(super) fn findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let ev = ctx.ev;
    ev.proxies
        .iter()
        .filter(|p| p.has_sidecar)
        .filter_map(|p| explain(ev, p))
        .collect()
}

/// The agent's failed CSRs since its last success; empty when the last CSR succeeded.
fn failures_since_success(log: &[String]) -> &[String] {
    let start = log
        .iter()
        .rposition(|l| l.contains(SUCCESS))
        .map_or(0, |i| i + 1);
    let tail = &log[start..];
    if tail.iter().any(|l| l.contains(FAILURE)) {
        tail
    } else {
        &[]
    }
}

/// Whether the proxy's own certificate is missing or past notAfter on its clock.
fn cert_unusable(p: &ProxyEvidence) -> bool {
    if !p.secrets_shown {
        return false;
    }
    match p.chain.first().map(|d| inspect(d)) {
        None => true,
        Some(Ok(leaf)) => leaf.not_after < p.clock,
        Some(Err(_)) => false,
    }
}

fn explain(ev: &Evidence, p: &ProxyEvidence) -> Option<Finding> {
    let failures: Vec<&String> = failures_since_success(&p.agent_log)
        .iter()
        .filter(|l| l.contains(FAILURE))
        .collect();
    let last = *failures.last()?;
    let unusable = cert_unusable(p);
    let mut evidence = vec![
        format!(
            "{} istio-agent: {} failed CSR(s) and no certificate since",
            p.proxy,
            failures.len()
        ),
        format!("{} istio-agent: {last}", p.proxy),
    ];
    evidence.push(match p.chain.first().map(|d| inspect(d)) {
        Some(Ok(leaf)) => format!(
            "{} workload certificate notAfter {} (clock {})",
            p.proxy, leaf.not_after, p.clock
        ),
        _ if !p.secrets_shown => format!("{}'s secrets were not shown", p.proxy),
        _ => format!("{} holds no workload certificate", p.proxy),
    });
    let istiod = |needle: &str| -> Option<String> {
        ev.istiod_log
            .iter()
            .rev()
            .find(|l| l.contains(needle))
            .map(|l| format!("istiod: {l}"))
    };
    let (code, message, remedy) = if last.contains("code = Unavailable") {
        (
            FindingCode::ControlPlaneUnavailable,
            format!("{} cannot reach istiod: its CSRs fail with Unavailable", p.proxy),
            "restore istiod (check its Deployment, Service and the network path to port 15012); certificates expire once their remaining life runs out",
        )
    } else if last.contains("code = ResourceExhausted") {
        evidence.extend(istiod("CSR rate limit exceeded"));
        (
            FindingCode::CsrRateLimited,
            format!("istiod rate-limits {}'s CSRs", p.proxy),
            "stagger the rollout, or raise istiod's CSR rate limit",
        )
    } else if last.contains("code = Unauthenticated") {
        let rbac = istiod("tokenreviews");
        let token = istiod("the token is not authenticated");
        let sa_missing = missing_service_account(ev, &p.proxy);
        if let Some(line) = rbac {
            evidence.push(line);
            (
                FindingCode::CsrRbacDenied,
                "istiod may not create TokenReviews, so it cannot authenticate any CSR".to_string(),
                "restore istiod's ClusterRole (create on tokenreviews.authentication.k8s.io) and its binding",
            )
        } else if let (Some(line), Some(sa)) = (token, sa_missing) {
            evidence.push(line);
            evidence.push(format!(
                "ServiceAccount/{sa} is absent from the cluster, but {} runs as it",
                p.proxy
            ));
            (
                FindingCode::CsrServiceAccountMissing,
                format!(
                    "{}'s service account {sa} no longer exists, so istiod rejects its token",
                    p.proxy
                ),
                "recreate the ServiceAccount, then restart the pod",
            )
        } else {
            return None;
        }
    } else if last.contains("CA signing certificate expired") {
        evidence.extend(istiod("CSR signing error"));
        (
            FindingCode::CaCertExpired,
            "istiod's CA signing certificate has expired, so no CSR can be signed".to_string(),
            "renew the CA signing certificate (istio-ca-secret or cacerts), then restart istiod",
        )
    } else {
        return None;
    };
    Some(Finding {
        code,
        severity: if unusable {
            Severity::Error
        } else {
            Severity::Warning
        },
        message,
        evidence,
        remedy: remedy.into(),
    })
}

/// `NS/NAME` of the proxy's service account when the resources no longer hold it (`default`
/// always exists).
fn missing_service_account(ev: &Evidence, proxy: &str) -> Option<String> {
    let (ns, name) = proxy.split_once('/')?;
    let w = ev.resources.workload(ns, name)?;
    let sa = &w.service_account;
    (sa != "default" && ev.resources.service_account(ns, sa).is_none())
        .then(|| format!("{ns}/{sa}"))
}
