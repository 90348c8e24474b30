//! Behaviour tests of the data path: every test runs real rustls handshakes over in-process
//! streams and asserts both the client's and the server's view. One file per concern:
//! listener modes (PeerAuthentication at the server's listener), failing handshakes (a table),
//! trust (trust domains, CAs, keys, TLS parameters, verifiers), protocols (HTTP/TCP chains and
//! authorization) and connections (pooling and reuse); the fixtures below are shared.

mod connections;
mod handshake_failures;
mod listener_modes;
mod protocols;
mod trust;

use super::testing::TestCa;
use super::*;
use crate::model::{MtlsMode, TlsVersion};
use crate::pki::WorkloadCert;
use crate::tls_params::CipherSuite;
use crate::vocab::ResponseFlag::{
    DownstreamProtocolError, UpstreamConnectionFailure as UF, UpstreamConnectionTermination as UC,
    UpstreamRetryLimitExceeded as URX,
};
use crate::vocab::{IstioProtocol, PortProtocol, Status};
use crate::SimTime;

const SLEEP: &str = "spiffe://cluster.local/ns/default/sa/sleep";
const HTTPBIN: &str = "spiffe://cluster.local/ns/foo/sa/httpbin";
const FQDN: &str = "httpbin.foo.svc.cluster.local";

fn now() -> SimTime {
    SimTime::EPOCH.offset(3600)
}

struct Mesh {
    ca: TestCa,
    rt: tokio::runtime::Runtime,
}

impl Mesh {
    fn new() -> Mesh {
        Mesh {
            ca: TestCa::mesh_root("cluster.local"),
            rt: data_path_runtime().unwrap(),
        }
    }

    fn tls(&self, cert: WorkloadCert) -> SidecarTls {
        SidecarTls::new(Some(cert), self.ca.bundle(), "cluster.local", now())
    }

    fn sleep_tls(&self) -> SidecarTls {
        self.tls(self.ca.workload(SLEEP, now()))
    }

    fn httpbin_tls(&self) -> SidecarTls {
        self.tls(self.ca.workload(HTTPBIN, now()))
    }

    fn run(&self, client: &ClientSide, server: &ServerSide, req: &AppRequest) -> Outcome {
        let mut pool = ConnectionPool::new();
        self.run_in(client, server, req, &mut pool, &allow)
    }

    fn run_in(
        &self,
        client: &ClientSide,
        server: &ServerSide,
        req: &AppRequest,
        pool: &mut ConnectionPool,
        authz: &dyn Fn(AuthzInput) -> AuthzVerdict,
    ) -> Outcome {
        exchange(&self.rt, client, server, req, authz, pool, now())
    }
}

fn allow(_: AuthzInput) -> AuthzVerdict {
    AuthzVerdict::Allow
}

fn istio_mutual() -> UpstreamTls {
    UpstreamTls::IstioMutual {
        expected_sans: vec![HTTPBIN.to_string()],
        sni: istio_sni(8000, None, FQDN),
    }
}

fn sidecar_client(tls: SidecarTls, upstream: UpstreamTls) -> ClientSide {
    ClientSide::Sidecar(Box::new(ClientSidecar {
        name: "sleep-1.default".into(),
        ip: "10.0.0.1".into(),
        tls,
        upstream,
        cluster: format!("outbound|8000||{FQDN}"),
        // A sniffed port: the chain follows the request's bytes, as the tests below expect.
        port_protocol: IstioProtocol::Unsupported,
        limits: ClusterLimits::default(),
        egress: crate::vocab::Egress::default(),
    }))
}

fn bare_client() -> ClientSide {
    ClientSide::NoSidecar {
        ip: "10.0.1.1".into(),
    }
}

fn sidecar_server(tls: SidecarTls, mode: MtlsMode, proto: PortProtocol, app: App) -> ServerSide {
    ServerSide::Sidecar(Box::new(ServerSidecar {
        name: "httpbin-1.foo".into(),
        ip: "10.0.0.2".into(),
        port: 8080,
        tls,
        mode,
        port_protocol: proto,
        app,
    }))
}

/// httpbin's sidecar on an HTTP port under `mode`.
fn httpbin_server(m: &Mesh, mode: MtlsMode) -> ServerSide {
    sidecar_server(m.httpbin_tls(), mode, PortProtocol::Http, App::Httpbin)
}

/// sleep's sidecar sending ISTIO_MUTUAL, as auto mTLS does towards a sidecar.
fn mesh_client(m: &Mesh) -> ClientSide {
    sidecar_client(m.sleep_tls(), istio_mutual())
}

fn get() -> AppRequest {
    AppRequest::http_get("httpbin.foo:8000", "/headers")
}

fn stats<'a>(o: &'a Outcome, side: &str) -> &'a TlsStats {
    o.stats.get(side).expect("stats for side")
}

fn strict(m: &Mesh) -> ServerSide {
    httpbin_server(m, MtlsMode::Strict)
}

fn assert_connect_failure(o: &Outcome, reason: &str) {
    assert_eq!(o.status, Status::Http(503), "{o:#?}");
    assert_eq!(o.response_flags, [UF, URX]);
    assert_eq!(o.tls_error.as_deref(), Some(reason));
    assert!(
        o.body.starts_with(
            "upstream connect error or disconnect/reset before headers. retried and the latest \
             reset reason: remote connection failure, transport failure reason: TLS_error:|"
        ),
        "{}",
        o.body
    );
    assert!(
        o.body.ends_with(&format!(
            ":SSL routines:OPENSSL_internal:{reason}:TLS_error_end"
        )),
        "{}",
        o.body
    );
    assert!(!o.mtls);
}

fn simple_with_ca(m: &Mesh) -> UpstreamTls {
    UpstreamTls::Simple {
        ca: Some(m.ca.bundle()),
        subject_alt_names: vec![],
        sni: Some(FQDN.into()),
        insecure_skip_verify: false,
    }
}
