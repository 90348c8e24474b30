//! Randomised ServiceEntry meshes: the analysis path (`Analyzer::predict`) and the data path
//! (`Mesh::request`, real rustls handshakes against real servers outside the mesh) agree on
//! every request to a ServiceEntry host, whatever its location, resolution, ports, endpoints,
//! the DestinationRule on it and the PeerAuthentication of the pods it may select.
//!
//! The meshes are the scenario library's sleep/httpbin fixture (foo and bar injected, legacy
//! not) plus one random ServiceEntry in bar, rendered as YAML and read by `load_str`.

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;

use sim::analysis::Analyzer;
use sim::mesh::{Mesh, MeshOptions};
use sim::model::load_str;
use sim::request::RequestSpec;
use sim::vocab::{HostPort, Protocol, ResponseFlag, WorkloadRef};

/// The fixture every mesh starts from.
const FIXTURE: &str = include_str!("../scenarios/fixtures/sleep-httpbin.yaml");
/// The entry's host.
const HOST: &str = "api.example.com";
/// Callers: a sidecar in the entry's namespace, one in another, and a pod without sidecar.
const CALLERS: [(&str, &str); 3] = [("foo", "sleep"), ("bar", "sleep"), ("legacy", "sleep")];

/// One random ServiceEntry, the DestinationRule on its host and bar's mTLS mode.
#[derive(Debug, Clone)]
struct Spec {
    location: &'static str,
    /// `Dns` (the host itself), `Endpoint` (one address), `Selector` (bar's httpbin pods).
    endpoints: &'static str,
    /// Port 80's protocol and target port.
    port80: (&'static str, Option<u16>),
    /// Whether port 443 is declared, and as what.
    port443: Option<&'static str>,
    /// The DestinationRule's `tls` on the host: mode and extra fields, `None` without a rule.
    tls: Option<(&'static str, &'static str)>,
    /// bar's PeerAuthentication mode, `None` without one.
    bar_mode: Option<&'static str>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        select(&["MESH_EXTERNAL", "MESH_INTERNAL"][..]),
        select(&["Dns", "Endpoint", "Selector"][..]),
        (
            select(&["HTTP", "TCP", "HTTPS", "TLS"][..]),
            prop::option::of(select(&[443u16, 80, 8443][..])),
        ),
        prop::option::of(select(&["HTTPS", "TLS", "HTTP", "TCP"][..])),
        prop::option::of((
            select(&["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"][..]),
            select(
                &[
                    "",
                    "insecureSkipVerify: true",
                    "caCertificates: /var/run/secrets/istio/root-cert.pem",
                    "subjectAltNames: [www.example.com]",
                    "subjectAltNames: [api.example.com]",
                    "sni: api.example.com",
                ][..],
            ),
        )),
        prop::option::of(select(&["STRICT", "PERMISSIVE", "DISABLE"][..])),
    )
        .prop_map(
            |(location, endpoints, port80, port443, tls, bar_mode)| Spec {
                location,
                endpoints,
                port80,
                port443,
                tls,
                bar_mode,
            },
        )
}

/// The fixture, the entry, its rule and bar's PeerAuthentication as YAML.
fn render(s: &Spec) -> String {
    let mut out = FIXTURE.trim_end().to_string();
    let resolution = match s.endpoints {
        "Selector" | "Endpoint" => "STATIC",
        _ => "DNS",
    };
    let _ = write!(
        out,
        "\n---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: api, \
         namespace: bar}}\nspec:\n  hosts: [{HOST}]\n  location: {}\n  resolution: {resolution}\n  \
         ports:\n",
        s.location
    );
    let (protocol, target) = s.port80;
    let _ = write!(out, "  - {{number: 80, name: p80, protocol: {protocol}");
    if let Some(t) = target {
        let _ = write!(out, ", targetPort: {t}");
    }
    out.push_str("}\n");
    if let Some(p) = s.port443 {
        let _ = writeln!(out, "  - {{number: 443, name: p443, protocol: {p}}}");
    }
    match s.endpoints {
        "Selector" => out.push_str("  workloadSelector:\n    labels: {app: httpbin}\n"),
        "Endpoint" => out.push_str("  endpoints:\n  - address: 203.0.113.7\n"),
        _ => {}
    }
    if let Some((mode, extra)) = s.tls {
        let _ = write!(
            out,
            "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: \
             api, namespace: bar}}\nspec:\n  host: {HOST}\n  trafficPolicy:\n    tls:\n      \
             mode: {mode}\n"
        );
        // DISABLE and ISTIO_MUTUAL take only sni/subjectAltNames (`ValidateDestinationRule`).
        let allowed = matches!(mode, "SIMPLE" | "MUTUAL")
            || extra.starts_with("sni") && mode == "ISTIO_MUTUAL"
            || extra.starts_with("subjectAltNames") && mode == "ISTIO_MUTUAL";
        if !extra.is_empty() && allowed {
            let _ = writeln!(out, "      {extra}");
        }
        if mode == "MUTUAL" {
            out.push_str(
                "      clientCertificate: /etc/certs/client.pem\n      privateKey: \
                 /etc/certs/key.pem\n",
            );
        }
    }
    if let Some(mode) = s.bar_mode {
        let _ = write!(
            out,
            "\n---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: \
             {{name: default, namespace: bar}}\nspec:\n  mtls: {{mode: {mode}}}\n"
        );
    }
    out.push('\n');
    out
}

/// Every caller to every declared port of the host, HTTP and TCP alike.
fn requests(s: &Spec) -> Vec<RequestSpec> {
    let ports = std::iter::once(80).chain(s.port443.map(|_| 443));
    let mut out = Vec::new();
    for port in ports {
        for (ns, name) in CALLERS {
            for protocol in [None, Some(Protocol::Tcp), Some(Protocol::Http)] {
                out.push(RequestSpec {
                    from: WorkloadRef::new(ns, name),
                    to: format!("{HOST}:{port}")
                        .parse::<HostPort>()
                        .expect("host:port"),
                    path: "/headers".into(),
                    protocol,
                    ..RequestSpec::default()
                });
            }
        }
    }
    out
}

type Verdict = (String, bool, Vec<ResponseFlag>, Option<String>, String);

fn verdict(
    status: impl ToString,
    mtls: bool,
    flags: &[ResponseFlag],
    tls: &Option<String>,
    details: &str,
) -> Verdict {
    let mut flags = flags.to_vec();
    flags.sort();
    (
        status.to_string(),
        mtls,
        flags,
        tls.clone(),
        details.to_string(),
    )
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/service_entry_properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// The two paths give the same status, mTLS, response flags, TLS error and
    /// response-code details for every request to the entry's host.
    #[test]
    fn analysis_and_data_path_agree_on_service_entry_hosts(s in spec()) {
        let yaml = render(&s);
        let res = match load_str(&yaml, Path::new("service-entry-mesh.yaml")) {
            Ok(res) => res,
            // A combination Istio's validation rejects is the loader's tests' concern.
            Err(e) => {
                prop_assume!(false, "rejected: {}", e);
                unreachable!()
            }
        };
        let analyzer = Analyzer::new(&res);
        let mut mesh = Mesh::build(res.clone(), &[], MeshOptions::default()).expect("mesh builds");
        for req in requests(&s) {
            let Ok(p) = analyzer.predict(&req) else {
                // A destination the client cannot resolve is refused alike by both paths.
                prop_assert!(mesh.request(&req).is_err(), "{} -> {}", req.from, req.to);
                continue;
            };
            let o = mesh
                .request(&req)
                .unwrap_or_else(|e| panic!("{} -> {}: {e}", req.from, req.to))
                .into_first()
                .expect("one outcome");
            let predicted = verdict(p.status, p.mtls, &p.response_flags, &p.tls_error, &p.details);
            let observed = verdict(o.status, o.mtls, &o.response_flags, &o.tls_error, &o.details);
            prop_assert_eq!(
                &predicted,
                &observed,
                "{} -> {} (codes {:?})\n{}",
                req.from,
                req.to,
                p.codes,
                yaml
            );
        }
    }
}
