//! The server sidecar's inbound listener under each PeerAuthentication mode: which filter chain
//! takes plaintext, TLS and mTLS bytes, as Istio's `TestInbound` matrix pins it.

use super::*;

#[test]
fn strict_server_accepts_istio_mutual_client() {
    let m = Mesh::new();
    let o = m.run(&mesh_client(&m), &strict(&m), &get());
    assert_eq!(o.status, Status::Http(200), "{o:#?}");
    assert!(o.mtls);
    assert_eq!(o.details, "via_upstream");
    assert_eq!(
        o.peer_principal.as_deref(),
        Some("cluster.local/ns/default/sa/sleep")
    );
    assert!(o.body.contains(&format!("URI={SLEEP}")), "{}", o.body);
    assert!(o.body.contains(&format!("By={HTTPBIN}")), "{}", o.body);
    assert_eq!(stats(&o, "client").handshake, 1);
    assert_eq!(stats(&o, "server").handshake, 1);
    let server_log = o.server_log.clone().unwrap();
    assert!(
        server_log.contains("\"GET /headers HTTP/1.1\" 200 - via_upstream"),
        "{server_log}"
    );
    assert!(
        server_log.contains(&istio_sni(8000, None, FQDN)),
        "{server_log}"
    );
    let client_log = o.client_log.clone().unwrap();
    assert!(
        client_log.contains(&format!("outbound|8000||{FQDN}")),
        "{client_log}"
    );
}

#[test]
fn strict_server_rejects_plaintext_client_without_sidecar() {
    let m = Mesh::new();
    let o = m.run(&bare_client(), &strict(&m), &get());
    assert_eq!(o.status, Status::Reset);
    assert!(o.client_log.is_none());
    assert!(!o.mtls);
    let log = o.server_log.clone().unwrap();
    assert!(
        log.contains("\"- - -\" 0 NR filter_chain_not_found"),
        "{log}"
    );
    assert_eq!(stats(&o, "server").no_filter_chain_match, 1);
    assert_eq!(stats(&o, "server").handshake, 0);
}

#[test]
fn strict_server_resets_sidecar_sending_plaintext_as_503_uc() {
    let m = Mesh::new();
    let o = m.run(
        &sidecar_client(m.sleep_tls(), UpstreamTls::Plaintext),
        &strict(&m),
        &get(),
    );
    assert_eq!(o.status, Status::Http(503));
    assert_eq!(o.response_flags, [UC]);
    assert_eq!(
        o.body,
        "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
    );
    assert_eq!(o.tls_error, None);
    assert!(o
        .server_log
        .clone()
        .unwrap()
        .contains("NR filter_chain_not_found"));
    assert_eq!(stats(&o, "server").no_filter_chain_match, 1);
    assert!(o.client_log.clone().unwrap().contains(" 503 UC "));
}

#[test]
fn permissive_server_accepts_mtls_and_plaintext() {
    let m = Mesh::new();
    let server = httpbin_server(&m, MtlsMode::Permissive);
    let mtls = m.run(&mesh_client(&m), &server, &get());
    assert_eq!(mtls.status, Status::Http(200));
    assert!(mtls.mtls);
    assert_eq!(stats(&mtls, "server").handshake, 1);
    let plain = m.run(&bare_client(), &server, &get());
    assert_eq!(plain.status, Status::Http(200));
    assert!(!plain.mtls);
    assert_eq!(plain.peer_principal, None);
    assert!(
        !plain.body.contains("X-Forwarded-Client-Cert"),
        "{}",
        plain.body
    );
    assert_eq!(stats(&plain, "server"), &TlsStats::default());
    assert!(plain
        .server_log
        .clone()
        .unwrap()
        .contains(" 200 - via_upstream"));
}

#[test]
fn unset_mode_behaves_as_permissive() {
    let m = Mesh::new();
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Unset,
        PortProtocol::Auto,
        App::Httpbin,
    );
    assert_eq!(
        m.run(&bare_client(), &server, &get()).status,
        Status::Http(200)
    );
    let o = m.run(&mesh_client(&m), &server, &get());
    assert_eq!(o.status, Status::Http(200));
    assert!(o.mtls);
}

#[test]
fn disabled_server_answers_istio_mutual_client_with_wrong_version_number() {
    let m = Mesh::new();
    let server = httpbin_server(&m, MtlsMode::Disable);
    let o = m.run(&mesh_client(&m), &server, &get());
    assert_connect_failure(&o, "WRONG_VERSION_NUMBER");
    assert!(o.body.contains("268435703"));
    assert_eq!(
        stats(&o, "client").connection_error,
        3,
        "three real attempts"
    );
    let log = o.server_log.clone().unwrap();
    assert_eq!(log.lines().count(), 3);
    assert!(log.contains("400 DPE http1.codec_error"), "{log}");
    assert_eq!(stats(&o, "server").handshake, 0);
}

#[test]
fn istio_mutual_to_workload_without_sidecar_fails_with_wrong_version_number() {
    let m = Mesh::new();
    let server = ServerSide::NoSidecar {
        ip: "10.0.0.9".into(),
        port: 8080,
        app: App::Httpbin,
        certificate: None,
    };
    let o = m.run(&mesh_client(&m), &server, &get());
    assert_connect_failure(&o, "WRONG_VERSION_NUMBER");
    assert!(o.server_log.is_none());
    assert!(!o.stats.contains_key("server"));
}

#[test]
fn sidecar_plaintext_into_permissive_is_accepted_without_mtls() {
    let m = Mesh::new();
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Permissive,
        PortProtocol::Auto,
        App::Httpbin,
    );
    let o = m.run(
        &sidecar_client(m.sleep_tls(), UpstreamTls::Plaintext),
        &server,
        &get(),
    );
    assert_eq!(o.status, Status::Http(200));
    assert!(!o.mtls);
    assert_eq!(o.peer_principal, None);
    assert_eq!(stats(&o, "client").handshake, 0);
}

#[test]
fn bare_pods_talk_plaintext_without_any_proxy_view() {
    let m = Mesh::new();
    let server = ServerSide::NoSidecar {
        ip: "10.0.0.9".into(),
        port: 8080,
        app: App::Httpbin,
        certificate: None,
    };
    let o = m.run(&bare_client(), &server, &get());
    assert_eq!(o.status, Status::Http(200));
    assert!(o.client_log.is_none() && o.server_log.is_none());
    assert!(o.stats.is_empty());
    let o = m.run(
        &bare_client(),
        &server,
        &AppRequest::http_get("x", "/status/418"),
    );
    assert_eq!(o.status, Status::Http(418));
}

#[test]
fn disabled_tcp_port_passes_mtls_bytes_to_the_app() {
    // TestInbound "mtls → tcp 70 under DISABLE": the bytes reach the app raw; an echo app
    // reflects the ClientHello, which the client's TLS stack rejects.
    let m = Mesh::new();
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Disable,
        PortProtocol::Tcp,
        App::TcpEcho,
    );
    let req = AppRequest::tcp("echo.foo:9000", b"ping");
    let o = m.run(&mesh_client(&m), &server, &req);
    assert_eq!(o.status, Status::Reset);
    assert_eq!(o.response_flags, [UF]);
    assert_eq!(o.tls_error.as_deref(), Some("UNEXPECTED_MESSAGE"));
    assert_eq!(stats(&o, "server").handshake, 0);
}

#[test]
fn permissive_http_port_has_no_chain_for_non_istio_tls() {
    let m = Mesh::new();
    let server = httpbin_server(&m, MtlsMode::Permissive);
    let o = m.run(
        &sidecar_client(m.sleep_tls(), simple_with_ca(&m)),
        &server,
        &get(),
    );
    assert_eq!(o.status, Status::Http(503));
    assert_eq!(o.response_flags, [UF, URX]);
    assert_eq!(o.tls_error, None);
    assert_eq!(stats(&o, "server").no_filter_chain_match, 3);
}

/// Listener-level result, in the vocabulary of Istio's `sidecar_simulation_test.go`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inbound {
    Ok,
    NoFilterChain,
    MtlsError,
    ProtocolError,
}

fn listener_result(o: &Outcome) -> Inbound {
    let server = stats(o, "server");
    if server.no_filter_chain_match > 0 {
        Inbound::NoFilterChain
    } else if o.server_tls_error.is_some() || server.fail_verify_no_cert > 0 {
        Inbound::MtlsError
    } else if o.server_log.as_deref().is_some_and(|l| l.contains(" DPE ")) {
        Inbound::ProtocolError
    } else {
        Inbound::Ok
    }
}

/// istio-semantics §2.3, the `TestInbound` matrix: plaintext / TLS / mTLS × TCP / HTTP / auto
/// ports × DISABLE / PERMISSIVE / STRICT, decided by real bytes at the listener.
#[test]
fn inbound_filter_chains_follow_istios_test_inbound_matrix() {
    use Inbound::*;
    let m = Mesh::new();
    let plain_http = (bare_client(), get());
    let plain_tcp = (bare_client(), AppRequest::tcp("svc:70", b"ping"));
    let tls = UpstreamTls::Simple {
        ca: None,
        subject_alt_names: vec![],
        sni: Some(FQDN.into()),
        insecure_skip_verify: false,
    };
    let tls_http = (sidecar_client(m.sleep_tls(), tls.clone()), get());
    let tls_tcp = (
        sidecar_client(m.sleep_tls(), tls),
        AppRequest::tcp("svc:70", b"ping"),
    );
    let mtls_http = (mesh_client(&m), get());
    let mtls_tcp = (mesh_client(&m), AppRequest::tcp("svc:70", b"ping"));
    let (tcp, http, auto) = (PortProtocol::Tcp, PortProtocol::Http, PortProtocol::Auto);
    #[rustfmt::skip]
    let table = [
        ("tcp 70 plain",       &plain_tcp,  tcp,  App::TcpEcho, [Ok, Ok, NoFilterChain]),
        ("http→tcp 70 plain",  &plain_http, tcp,  App::TcpEcho, [Ok, Ok, NoFilterChain]),
        ("tls→tcp 70",         &tls_tcp,    tcp,  App::TcpEcho, [Ok, Ok, MtlsError]),
        ("https→tcp 70",       &tls_http,   tcp,  App::TcpEcho, [Ok, Ok, MtlsError]),
        ("mtls tcp→70",        &mtls_tcp,   tcp,  App::TcpEcho, [Ok, Ok, Ok]),
        ("mtls http→70",       &mtls_http,  tcp,  App::TcpEcho, [Ok, Ok, Ok]),
        ("http 80 plain",      &plain_http, http, App::Httpbin, [Ok, Ok, NoFilterChain]),
        ("tls→http 80",        &tls_tcp,    http, App::Httpbin, [ProtocolError, NoFilterChain, MtlsError]),
        ("https→http 80",      &tls_http,   http, App::Httpbin, [ProtocolError, NoFilterChain, MtlsError]),
        ("mtls→http 80",       &mtls_http,  http, App::Httpbin, [ProtocolError, Ok, Ok]),
        ("tcp→http 80 plain",  &plain_tcp,  http, App::Httpbin, [ProtocolError, ProtocolError, NoFilterChain]),
        ("auto 81 http plain", &plain_http, auto, App::Httpbin, [Ok, Ok, NoFilterChain]),
        ("auto 81 tcp plain",  &plain_tcp,  auto, App::Httpbin, [Ok, Ok, NoFilterChain]),
        ("tls→auto 81",        &tls_tcp,    auto, App::Httpbin, [Ok, Ok, MtlsError]),
        ("https→auto 81",      &tls_http,   auto, App::Httpbin, [Ok, Ok, MtlsError]),
        ("mtls tcp→auto 81",   &mtls_tcp,   auto, App::Httpbin, [Ok, Ok, Ok]),
        ("mtls http→auto 81",  &mtls_http,  auto, App::Httpbin, [Ok, Ok, Ok]),
    ];
    let modes = [MtlsMode::Disable, MtlsMode::Permissive, MtlsMode::Strict];
    for (name, (client, req), proto, app, want) in table {
        for (mode, want) in modes.iter().zip(want) {
            let server = sidecar_server(m.httpbin_tls(), *mode, proto, app);
            let o = m.run(client, &server, req);
            assert_eq!(listener_result(&o), want, "{name} under {mode:?}: {o:#?}");
        }
    }
}
