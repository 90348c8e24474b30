//! Certificates on the proxies (failure-modes.md §B `NoSharedCipher`, §C, and the trust part of
//! §D), read from each proxy's SDS inventory as DER — parsed back with `pki::inspect` and
//! verified with webpki at the verifying proxy's own clock, exactly as its handshake would.
//! Only consulted when the request's connection failed.

use crate::diagnose::{Finding, Severity};
use crate::evidence::{Evidence, ProxyEvidence};
use crate::pki::verify::Usage;
use crate::pki::{fingerprint, inspect, key_type, verify_chain, CertInfo, KeyType, TrustBundle};
use crate::tls_params::{negotiate, Negotiation};
use crate::vocab::FindingCode;

use super::config::observed;
use super::{is_connect_failure, Ctx};

/// Istio's advice: a `SECRET_TTL` under an hour makes rotation race expiry.
const SHORT_LIFETIME_SECS: u64 = 3600;

pub(super) fn findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let ev = ctx.ev;
    let mut out: Vec<Finding> = ev.proxies.iter().filter_map(short_lifetime).collect();
    if !is_connect_failure(&ev.outcome) {
        return out;
    }
    out.extend(connection_findings(ctx));
    out
}

/// A leaf whose whole validity is under an hour (a warning whatever the outcome).
fn short_lifetime(p: &ProxyEvidence) -> Option<Finding> {
    let leaf = inspect(p.chain.first()?).ok()?;
    let life = leaf.not_after.0.saturating_sub(leaf.not_before.0);
    (life < SHORT_LIFETIME_SECS).then(|| Finding {
        code: FindingCode::ShortCertLifetime,
        severity: Severity::Warning,
        message: format!(
            "{}'s workload certificate lives {}s (under an hour): rotation races expiry",
            p.proxy, life
        ),
        evidence: vec![describe(&p.proxy, "workload certificate", &leaf)],
        remedy: "raise SECRET_TTL (the workload certificate TTL) to at least an hour; Istio's default is 24h".into(),
    })
}

fn connection_findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let ev = ctx.ev;
    // Certificates are judged only where the secrets were shown (a cluster's artifacts may
    // lack some proxies' `istioctl proxy-config secret`).
    let Some(src) = ev.source().filter(|s| s.has_sidecar && s.secrets_shown) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for dst in ev
        .destinations()
        .filter(|d| d.has_sidecar && d.secrets_shown)
    {
        let base = observed(ctx);
        for p in [src, dst] {
            if p.chain.is_empty() {
                out.push(missing(p, &base));
            }
        }
        // The client verifies the server's chain (server auth); the server the client's.
        for (verifier, peer, client_auth) in [(src, dst, false), (dst, src, true)] {
            out.extend(check_chain(ev, verifier, peer, client_auth, &base));
        }
        out.extend(no_shared_cipher(src, dst, &base));
    }
    out
}

fn missing(p: &ProxyEvidence, base: &str) -> Finding {
    let mut evidence = vec![
        base.to_string(),
        format!(
            "istioctl proxy-config secret {}: no `default` certificate (ROOTCA holds {} root(s))",
            p.proxy,
            p.roots.len()
        ),
    ];
    evidence.extend(last_lines(&p.agent_log, 2, &p.proxy));
    Finding::error(
        FindingCode::WorkloadCertMissing,
        format!(
            "{} has no workload certificate: SDS never delivered one, so it cannot take part in mTLS",
            p.proxy
        ),
        evidence,
        "find why issuance failed (istiod and istio-agent logs), fix it, then restart the pod",
    )
}

/// The last `n` agent log lines, quoted.
pub(super) fn last_lines(log: &[String], n: usize, proxy: &str) -> Vec<String> {
    log.iter()
        .skip(log.len().saturating_sub(n))
        .map(|l| format!("{proxy} istio-agent: {l}"))
        .collect()
}

fn describe(proxy: &str, what: &str, c: &CertInfo) -> String {
    format!(
        "{proxy} {what}: subject [{}] uri {} issuer [{}] notBefore {} notAfter {} sha256 {}",
        c.subject,
        c.uri_sans.join(","),
        c.issuer,
        c.not_before,
        c.not_after,
        &c.fingerprint[..16.min(c.fingerprint.len())]
    )
}

fn roots_line(p: &ProxyEvidence) -> String {
    let fps: Vec<String> = p
        .roots
        .iter()
        .map(|r| fingerprint(r)[..16].to_string())
        .collect();
    format!("{} ROOTCA sha256: [{}]", p.proxy, fps.join(", "))
}

fn sorted_fingerprints(p: &ProxyEvidence) -> Vec<String> {
    let mut v: Vec<String> = p.roots.iter().map(|r| fingerprint(r)).collect();
    v.sort();
    v
}

/// Dates, roots and trust of `peer`'s chain as `verifier` sees it.
fn check_chain(
    ev: &Evidence,
    verifier: &ProxyEvidence,
    peer: &ProxyEvidence,
    client_auth: bool,
    base: &str,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let Ok(infos) = peer
        .chain
        .iter()
        .map(|d| inspect(d))
        .collect::<Result<Vec<CertInfo>, _>>()
    else {
        return out;
    };
    let Some(leaf) = infos.first() else {
        return out;
    };
    let now = verifier.clock;
    let clock_line = format!(
        "{} clock: {now} (mesh time {})",
        verifier.proxy, ev.mesh_time
    );
    let leaf_line = describe(&peer.proxy, "workload certificate", leaf);
    let ev_lines = |extra: Vec<String>| {
        let mut v = vec![base.to_string(), leaf_line.clone(), clock_line.clone()];
        v.extend(extra);
        v
    };
    if leaf.not_after < now {
        out.push(Finding::error(
            FindingCode::WorkloadCertExpired,
            format!(
                "{}'s workload certificate expired at {} and {} verifies it at {now}",
                peer.proxy, leaf.not_after, verifier.proxy
            ),
            ev_lines(last_lines(&peer.agent_log, 1, &peer.proxy)),
            "restore certificate issuance (see the control-plane findings), then restart the pod so it gets a fresh certificate",
        ));
    }
    if leaf.not_before > now {
        out.push(Finding::error(
            FindingCode::WorkloadCertNotYetValid,
            format!(
                "{}'s workload certificate is valid from {}, but {}'s clock reads {now}: the clocks are skewed",
                peer.proxy, leaf.not_before, verifier.proxy
            ),
            ev_lines(Vec::new()),
            "fix time synchronisation (NTP) on the node whose clock is off",
        ));
    }
    let top_issuer = infos.last().map(|c| c.issuer.clone()).unwrap_or_default();
    for root in &verifier.roots {
        let Ok(r) = inspect(root) else { continue };
        if r.subject == top_issuer && r.not_after < now {
            out.push(Finding::error(
                FindingCode::RootCertExpired,
                format!(
                    "the root CA [{}] that {}'s chain leads to expired at {}",
                    r.subject, peer.proxy, r.not_after
                ),
                ev_lines(vec![describe(&verifier.proxy, "ROOTCA root", &r)]),
                "rotate the root CA: distribute a bundle with a new root alongside the old, re-issue, then remove the old root",
            ));
        }
    }
    let bundle = TrustBundle::from_roots(verifier.roots.clone());
    let usage = if client_auth {
        Usage::Client
    } else {
        Usage::Server
    };
    let Err(err) = verify_chain(&peer.chain, &bundle, now, usage) else {
        return out;
    };
    if !out.is_empty() {
        // The dates already explain the failure.
        return out;
    }
    let mut extra = vec![
        format!("webpki: {err:?}"),
        roots_line(verifier),
        roots_line(peer),
    ];
    for (i, c) in infos.iter().enumerate().skip(1) {
        extra.push(describe(&peer.proxy, &format!("chain[{i}]"), c));
    }
    let src_roots = ev.source().map(sorted_fingerprints).unwrap_or_default();
    let differing = ev
        .proxies
        .iter()
        .filter(|p| p.has_sidecar && p.secrets_shown)
        .any(|p| sorted_fingerprints(p) != src_roots);
    if differing {
        out.push(Finding::error(
            FindingCode::RootCertMismatch,
            format!(
                "{}'s chain does not verify against {}'s trust bundle, and the two proxies trust different roots (a root rotation reached only some pods)",
                peer.proxy, verifier.proxy
            ),
            ev_lines(extra),
            "kubectl rollout restart the workloads still on the old bundle, or distribute a bundle holding both roots before rotating",
        ));
        return out;
    }
    let all_subjects: Vec<String> = ev
        .proxies
        .iter()
        .flat_map(|p| p.roots.iter())
        .filter_map(|r| inspect(r).ok())
        .map(|r| r.subject)
        .collect();
    let orphan = infos
        .iter()
        .skip(1)
        .find(|c| !all_subjects.contains(&c.issuer));
    if let Some(inter) = orphan {
        out.push(Finding::error(
            FindingCode::CustomCaTrustBundleMissing,
            format!(
                "{}'s chain goes through the intermediate [{}], issued by [{}], which is in no proxy's trust bundle (istio-ca-root-cert lacks the plug-in CA's root)",
                peer.proxy, inter.subject, inter.issuer
            ),
            ev_lines(extra),
            "add the plug-in CA's root (cacerts root-cert.pem) to the distributed trust bundle, then restart the workloads",
        ));
        return out;
    }
    out.push(Finding::error(
        FindingCode::UntrustedPeerCertificate,
        format!(
            "{}'s chain does not verify against {}'s trust bundle ({err:?})",
            peer.proxy, verifier.proxy
        ),
        ev_lines(extra),
        "re-issue the certificate from the mesh CA (restart the pod)",
    ));
    out
}

/// Whether the two proxies can agree on a version and, for TLS 1.2, a cipher suite: the same
/// rule ([`negotiate`]) on the same suite lists the data path hands rustls, with the server's
/// certificate key type read from its chain.
fn no_shared_cipher(src: &ProxyEvidence, dst: &ProxyEvidence, base: &str) -> Vec<Finding> {
    let (a, b) = (&src.tls_params, &dst.tls_params);
    let params = |p: &ProxyEvidence| {
        let names: Vec<String> = p
            .tls_params
            .configured_tls12_suites()
            .iter()
            .map(ToString::to_string)
            .collect();
        format!(
            "{} tlsParams: {}..{} cipherSuites [{}]",
            p.proxy,
            p.tls_params.min_version.as_str(),
            p.tls_params.max_version.as_str(),
            names.join(", ")
        )
    };
    let evidence = vec![base.to_string(), params(src), params(dst)];
    let remedy = "align the proxies' TLS versions (meshMTLS.minProtocolVersion, per-proxy tlsParams) and cipher suites";
    let server_key = dst.chain.first().and_then(|leaf| key_type(leaf));
    let message = match negotiate(a, b, server_key) {
        Negotiation::Tls13 | Negotiation::Tls12 => return Vec::new(),
        Negotiation::NoCommonVersion => format!(
            "{} and {} support no common TLS version",
            src.proxy, dst.proxy
        ),
        Negotiation::NoSharedCipher { unusable_overlap } if unusable_overlap.is_empty() => format!(
            "{} and {} can only speak TLS 1.2 and their cipher suites do not overlap",
            src.proxy, dst.proxy
        ),
        Negotiation::NoSharedCipher { unusable_overlap } => {
            let names: Vec<String> = unusable_overlap.iter().map(ToString::to_string).collect();
            format!(
                "{} and {} can only speak TLS 1.2 and share only [{}], which {}'s {} certificate \
                 cannot authenticate or meshsim's TLS stack does not implement (static-RSA and \
                 CBC suites)",
                src.proxy,
                dst.proxy,
                names.join(", "),
                dst.proxy,
                server_key.map_or("unknown", key_name)
            )
        }
    };
    vec![Finding::error(
        FindingCode::NoSharedCipher,
        message,
        evidence,
        remedy,
    )]
}

fn key_name(k: KeyType) -> &'static str {
    match k {
        KeyType::EcdsaP256 => "ECDSA",
        KeyType::Rsa2048 => "RSA",
    }
}
