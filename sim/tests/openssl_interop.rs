//! A STRICT inbound sidecar listener on a real loopback socket, driven by the real `openssl
//! s_client`: with the workload certificate the mTLS handshake completes and an HTTP answer comes
//! back; without `-cert` the server refuses (certificate required). Skipped, with a note, when
//! `openssl` is not installed. Everything is bounded by timeouts.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sim::model::MtlsMode;
use sim::proxy::testing::{pem_block, TestCa};
use sim::proxy::{
    serve_stream, App, AuthzInput, AuthzVerdict, ServerSide, ServerSidecar, SidecarTls, TlsStats,
};
use sim::vocab::PortProtocol;
use sim::SimTime;

const SLEEP: &str = "spiffe://cluster.local/ns/default/sa/sleep";
const HTTPBIN: &str = "spiffe://cluster.local/ns/foo/sa/httpbin";

fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    // .ci/run installs openssl: in CI a missing binary is a failure, never a silent skip.
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "openssl is not on PATH in CI"
    );
    ok
}

fn allow(_: AuthzInput) -> AuthzVerdict {
    AuthzVerdict::Allow
}

/// What the server saw on one accepted connection.
type ServerSaw = (Vec<String>, TlsStats, Option<String>);

/// Binds 127.0.0.1:0 and serves exactly one connection on a background thread.
fn serve_one_connection(
    server: ServerSide,
    now: SimTime,
) -> (u16, std::sync::mpsc::Receiver<ServerSaw>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        rt.block_on(async move {
            let accepted = tokio::time::timeout(Duration::from_secs(20), listener.accept()).await;
            if let Ok(Ok((stream, addr))) = accepted {
                let addr: SocketAddr = addr;
                let served = tokio::time::timeout(
                    Duration::from_secs(20),
                    serve_stream(&server, &allow, now, addr, stream),
                )
                .await;
                if let Ok(saw) = served {
                    let _ = tx.send(saw);
                }
            }
        });
    });
    (port, rx)
}

/// Runs `openssl s_client` with `stdin` and a hard timeout; returns stdout + stderr.
// A real openssl process runs on wall-clock time; the deadline only bounds a hung child.
#[allow(clippy::disallowed_methods)]
fn s_client(args: &[String], stdin: &str) -> String {
    let mut child = Command::new("openssl")
        .arg("s_client")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("openssl output");
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

struct Setup {
    server: ServerSide,
    now: SimTime,
    dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let now = SimTime::EPOCH.offset(3600);
    let ca = TestCa::mesh_root("cluster.local");
    let server_cert = ca.workload(HTTPBIN, now);
    let client_cert = ca.workload(SLEEP, now);
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: String| {
        std::fs::write(dir.path().join(name), text).expect("write PEM");
    };
    write(
        "cert-chain.pem",
        pem_block("CERTIFICATE", client_cert.chain[0].as_ref()),
    );
    write("key.pem", pem_block("PRIVATE KEY", &client_cert.key_pkcs8));
    write("root-cert.pem", ca.root_pem());
    let server = ServerSide::Sidecar(Box::new(ServerSidecar {
        name: "httpbin-1.foo".into(),
        ip: "127.0.0.1".into(),
        port: 8080,
        tls: SidecarTls::new(Some(server_cert), ca.bundle(), "cluster.local", now),
        mode: MtlsMode::Strict,
        port_protocol: PortProtocol::Http,
        app: App::Httpbin,
    }));
    Setup { server, now, dir }
}

fn base_args(port: u16, s: &Setup) -> Vec<String> {
    vec![
        "-connect".into(),
        format!("127.0.0.1:{port}"),
        "-CAfile".into(),
        s.dir.path().join("root-cert.pem").display().to_string(),
        // Verify at the mesh's virtual time, like the sidecars do.
        "-attime".into(),
        s.now.unix_secs().to_string(),
        "-ign_eof".into(),
    ]
}

const REQUEST: &str =
    "GET /headers HTTP/1.1\r\nHost: httpbin.foo:8000\r\nConnection: close\r\n\r\n";

#[test]
fn openssl_client_with_workload_cert_completes_mtls_with_strict_listener() {
    if !openssl_available() {
        eprintln!("note: openssl not found; skipping the interop test");
        return;
    }
    let s = setup();
    let (port, saw) = serve_one_connection(s.server.clone(), s.now);
    let mut args = base_args(port, &s);
    args.extend([
        "-cert".into(),
        s.dir.path().join("cert-chain.pem").display().to_string(),
        "-key".into(),
        s.dir.path().join("key.pem").display().to_string(),
    ]);
    let out = s_client(&args, REQUEST);
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    assert!(out.contains("HTTP/1.1 200 OK"), "{out}");
    assert!(
        out.contains(&format!("URI={SLEEP}")),
        "XFCC names the openssl client: {out}"
    );
    let (logs, stats, failure) = saw
        .recv_timeout(Duration::from_secs(20))
        .expect("server finished");
    assert_eq!(stats.handshake, 1);
    assert_eq!(failure, None);
    assert!(
        logs.iter().any(|l| l.contains(" 200 - via_upstream")),
        "{logs:?}"
    );
}

#[test]
fn openssl_client_without_cert_is_refused_by_strict_listener() {
    if !openssl_available() {
        eprintln!("note: openssl not found; skipping the interop test");
        return;
    }
    let s = setup();
    let (port, saw) = serve_one_connection(s.server.clone(), s.now);
    let out = s_client(&base_args(port, &s), REQUEST);
    assert!(!out.contains("HTTP/1.1 200"), "{out}");
    assert!(out.contains("certificate required"), "{out}");
    let (_, stats, failure) = saw
        .recv_timeout(Duration::from_secs(20))
        .expect("server finished");
    assert_eq!(stats.fail_verify_no_cert, 1);
    assert_eq!(stats.handshake, 0);
    assert_eq!(
        failure.as_deref(),
        Some("PEER_DID_NOT_RETURN_A_CERTIFICATE")
    );
}
