//! istiod's CA metrics and each istio-agent's, read from the control plane at the sampling
//! instant.
//!
//! - Counters (`citadel_server_*_count`, `istio_agent_num_*outgoing_requests`) are counted where
//!   the CA server and the agent count them (`control::istiod::Istiod::admit`,
//!   `ControlPlane::process_csr`). Like Istio's OpenTelemetry counters, a series exists once it
//!   has been incremented.
//! - `citadel_server_root_cert_expiry_*` follow `RecordCertsExpiry` (`security/pkg/server/ca/
//!   server.go`): the first root of the CA's bundle; `*_seconds` is the derived gauge
//!   `time.Until(expiry)`, which Istio has from 1.23 on. `citadel_server_cert_chain_expiry_*`
//!   exist only when the CA has a cert chain (plug-in `cacerts`); istiod's self-signed
//!   `istio-ca-secret` has none, and `RecordCertsExpiry` returns before recording it.
//! - `istio_agent_cert_expiry_seconds{resource_name="default"}` is registered by
//!   `registerSecret` (`secretcache.go`) once the agent holds a workload certificate, and reads
//!   `time.Until(ExpireTime)` on the agent's own clock (so a `clock-skew` fault shifts it).

use super::catalog::name;
use super::{labels, target, Labels, Sample};
use crate::pki::{inspect, CaMode};
use crate::vocab::IstioRelease;
use crate::{Mesh, SimTime};

/// The target labels of istiod's pod.
fn istiod() -> Labels {
    labels(&[("namespace", "istio-system"), ("pod", "istiod")])
}

/// The control plane's series at the mesh's current time.
pub(super) fn samples(mesh: &Mesh) -> Vec<Sample> {
    let control = mesh.control();
    let now = mesh.now();
    let release = mesh
        .resources()
        .mesh_config
        .istio_release
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut push = |n: &'static str, labels: Labels, value: f64| {
        out.push(Sample {
            name: name(n),
            labels,
            value,
        })
    };

    let counts = control.istiod().counts();
    let counters = [
        ("citadel_server_csr_count", counts.csr),
        (
            "citadel_server_authentication_failure_count",
            counts.authentication_failure,
        ),
        ("citadel_server_success_cert_issuance_count", counts.success),
    ];
    for (n, v) in counters {
        if v > 0 {
            push(n, istiod(), v as f64);
        }
    }
    for (error, v) in &counts.sign_errors {
        let mut l = istiod();
        l.insert("error".into(), (*error).into());
        push("citadel_server_csr_sign_err_count", l, *v as f64);
    }

    let ca = control.ca();
    let derived = release >= IstioRelease::V1_23;
    if let Ok(root) = inspect(ca.root()) {
        push(
            "citadel_server_root_cert_expiry_timestamp",
            istiod(),
            root.not_after.unix_secs() as f64,
        );
        if derived {
            push(
                "citadel_server_root_cert_expiry_seconds",
                istiod(),
                remaining(root.not_after, now),
            );
        }
    }
    if ca.mode() == CaMode::Plugin {
        let chain_end = ca.signing_not_after();
        push(
            "citadel_server_cert_chain_expiry_timestamp",
            istiod(),
            chain_end.unix_secs() as f64,
        );
        if derived {
            push(
                "citadel_server_cert_chain_expiry_seconds",
                istiod(),
                remaining(chain_end, now),
            );
        }
    }

    for proxy in control.proxies() {
        let (sent, failed) = control.csr_counts(proxy);
        let csr = |mut l: Labels| {
            l.insert("request_type".into(), "csr".into());
            l
        };
        if sent > 0 {
            push(
                "istio_agent_num_outgoing_requests",
                csr(target(proxy)),
                sent as f64,
            );
        }
        if failed > 0 {
            push(
                "istio_agent_num_failed_outgoing_requests",
                csr(target(proxy)),
                failed as f64,
            );
        }
        if let (Some(cert), _) = control.credentials(proxy) {
            let agent_now = now.offset(control.clock_offset(proxy));
            let mut l = target(proxy);
            l.insert("resource_name".into(), "default".into());
            push(
                "istio_agent_cert_expiry_seconds",
                l,
                remaining(cert.not_after, agent_now),
            );
        }
    }
    out
}

/// Seconds from `now` to `end`, negative once past.
fn remaining(end: SimTime, now: SimTime) -> f64 {
    end.unix_secs() as f64 - now.unix_secs() as f64
}
