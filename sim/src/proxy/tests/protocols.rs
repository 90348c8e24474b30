//! HTTP and TCP through the sidecars' chains (HCM, tcp_proxy, the passthrough chain) and where
//! authorization runs on each.

use super::*;

fn deny(details: &'static str) -> impl Fn(AuthzInput) -> AuthzVerdict {
    move |_| AuthzVerdict::Deny {
        details: details.into(),
    }
}

#[test]
fn authz_deny_over_http_is_403_with_policy_details() {
    let m = Mesh::new();
    let details = "rbac_access_denied_matched_policy[ns[foo]-policy[deny-sleep]-rule[0]]";
    let seen = std::cell::RefCell::new(None);
    let authz = |input: AuthzInput| {
        *seen.borrow_mut() = Some(input.clone());
        deny(details)(input)
    };
    let mut pool = ConnectionPool::new();
    let client = mesh_client(&m);
    let o = m.run_in(&client, &strict(&m), &get(), &mut pool, &authz);
    assert_eq!(o.status, Status::Http(403));
    assert_eq!(o.body, "RBAC: access denied");
    assert_eq!(o.details, details);
    assert!(o.response_flags.is_empty());
    assert!(o.mtls);
    assert!(o
        .server_log
        .clone()
        .unwrap()
        .contains(&format!(" 403 - {details} ")));
    // The client's HCM proxied the destination's 403 as it came: `via_upstream` in its line.
    let client_log = o.client_log.clone().unwrap();
    assert!(client_log.contains(" 403 - via_upstream "), "{client_log}");
    let input = seen.into_inner().unwrap();
    assert_eq!(
        input.principal.as_deref(),
        Some("cluster.local/ns/default/sa/sleep")
    );
    assert_eq!(input.port, 8080);
    let http = input.http.unwrap();
    assert_eq!(
        (http.method.as_str(), http.path.as_str()),
        ("GET", "/headers")
    );
    assert_eq!(http.host, "httpbin.foo:8000");
}

#[test]
fn authz_deny_over_tcp_resets_the_connection() {
    let m = Mesh::new();
    let details = "rbac_access_denied_matched_policy[none]";
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Strict,
        PortProtocol::Tcp,
        App::TcpEcho,
    );
    let client = mesh_client(&m);
    let req = AppRequest::tcp("httpbin.foo:9000", b"ping");
    let mut pool = ConnectionPool::new();
    let o = m.run_in(&client, &server, &req, &mut pool, &deny(details));
    assert_eq!(o.status, Status::Reset);
    assert_eq!(o.details, details);
    assert!(o.mtls, "denied after a successful handshake");
    assert!(o.server_log.clone().unwrap().contains(details));
    let allowed = m.run(&client, &server, &req);
    assert_eq!(allowed.status, Status::Http(200));
    assert_eq!(allowed.body, "ping");
    assert!(allowed.mtls);
}

/// A sidecar client whose outbound listener is the one istiod builds for a `port` port.
fn sidecar_client_for(tls: SidecarTls, port: IstioProtocol) -> ClientSide {
    let ClientSide::Sidecar(mut c) = sidecar_client(tls, istio_mutual()) else {
        unreachable!("sidecar_client builds a sidecar")
    };
    c.port_protocol = port;
    ClientSide::Sidecar(c)
}

#[test]
fn an_http_request_to_a_tcp_port_is_proxied_raw_and_a_denial_resets_it() {
    let m = Mesh::new();
    let details = "rbac_access_denied_matched_policy[ns[foo]-policy[deny]-rule[0]]";
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Strict,
        PortProtocol::Tcp,
        App::Httpbin,
    );
    let client = sidecar_client_for(m.sleep_tls(), IstioProtocol::Tcp);
    let seen = std::sync::Mutex::new(None);
    let deny = |input: AuthzInput| {
        *seen.lock().unwrap() = Some(input.clone());
        AuthzVerdict::Deny {
            details: details.into(),
        }
    };
    let mut pool = ConnectionPool::new();
    let o = m.run_in(&client, &server, &get(), &mut pool, &deny);
    assert_eq!(o.status, Status::Reset, "{o:#?}");
    assert!(
        o.response_flags.is_empty(),
        "no UC: tcp_proxy, not the router"
    );
    assert_eq!(o.details, details);
    assert!(o.mtls, "denied after a successful handshake");
    assert!(o.client_log.unwrap().contains(r#""- - -""#), "a TCP line");
    let input = seen.into_inner().unwrap().expect("network RBAC ran");
    assert!(input.http.is_none(), "network RBAC sees no HTTP attributes");
    // Allowed, the HTTP answer comes back through the TCP proxy, one attempt, one handshake.
    let ok = m.run(&client, &server, &get());
    assert_eq!(ok.status, Status::Http(200));
    assert_eq!(stats(&ok, "client").handshake, 1);
    // tcp_proxy logs no response code, whatever bytes came back.
    let line = ok.client_log.unwrap();
    assert!(line.contains(r#""- - -" 0 "#), "{line}");
}

#[test]
fn a_tcp_payload_to_an_http_port_leaves_through_the_passthrough_chain_in_plaintext() {
    let m = Mesh::new();
    let client = sidecar_client_for(m.sleep_tls(), IstioProtocol::Http);
    let req = AppRequest::tcp("httpbin.foo:8000", b"hello meshsim\n");
    let permissive = httpbin_server(&m, MtlsMode::Permissive);
    let o = m.run(&client, &permissive, &req);
    assert_eq!(o.status, Status::Http(400), "{o:#?}");
    assert!(!o.mtls, "PassthroughCluster has no TLS");
    assert!(
        o.response_flags.is_empty(),
        "the client's tcp_proxy sets no flag"
    );
    assert_eq!(
        o.details, "http1.codec_error",
        "the server sidecar's codec answered"
    );
    assert_eq!(stats(&o, "client").handshake, 0);
    assert!(o.client_log.unwrap().contains(" PassthroughCluster "));
    assert!(o
        .server_log
        .unwrap()
        .contains(" 400 DPE http1.codec_error "));
    let o = m.run(&client, &strict(&m), &req);
    assert_eq!(o.status, Status::Reset);
    assert!(o.server_log.unwrap().contains("filter_chain_not_found"));
    // HTTP bytes on the same port take the HCM over mTLS.
    let o = m.run(&client, &strict(&m), &get());
    assert_eq!(o.status, Status::Http(200));
    assert!(o.mtls);
}

#[test]
fn an_http_proxy_port_answers_a_tcp_payload_with_the_clients_own_codec_error() {
    let m = Mesh::new();
    let client = sidecar_client_for(m.sleep_tls(), IstioProtocol::HttpProxy);
    let req = AppRequest::tcp("httpbin.foo:8000", b"hello meshsim\n");
    let o = m.run(&client, &strict(&m), &req);
    assert_eq!(o.status, Status::Http(400), "{o:#?}");
    assert_eq!(o.response_flags, [DownstreamProtocolError]);
    assert_eq!(o.details, "http1.codec_error");
    assert_eq!(o.body, "Bad Request");
    assert!(o.server_log.is_none(), "nothing left the pod");
    assert!(o
        .client_log
        .unwrap()
        .contains(" 400 DPE http1.codec_error "));
}

#[test]
fn tcp_echo_works_over_mtls_and_through_auto_ports() {
    let m = Mesh::new();
    let req = AppRequest::tcp("echo.foo:9000", b"hello mesh");
    for proto in [PortProtocol::Tcp, PortProtocol::Auto] {
        let server = sidecar_server(m.httpbin_tls(), MtlsMode::Strict, proto, App::TcpEcho);
        let o = m.run(&mesh_client(&m), &server, &req);
        assert_eq!(o.status, Status::Http(200), "{proto:?} {o:#?}");
        assert_eq!(o.body, "hello mesh");
        assert!(o.mtls);
        assert!(
            o.server_log.clone().unwrap().contains(" 10 10 0 "),
            "bytes counted"
        );
    }
}

#[test]
fn permissive_tcp_passthrough_of_non_istio_tls_is_still_authorized() {
    let m = Mesh::new();
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Permissive,
        PortProtocol::Tcp,
        App::TcpEcho,
    );
    let tls = UpstreamTls::Simple {
        ca: None,
        subject_alt_names: vec![],
        sni: Some(FQDN.into()),
        insecure_skip_verify: true,
    };
    let seen = std::cell::RefCell::new(None);
    let authz = |input: AuthzInput| {
        *seen.borrow_mut() = Some(input.clone());
        AuthzVerdict::Deny {
            details: "rbac_access_denied_matched_policy[none]".into(),
        }
    };
    let mut pool = ConnectionPool::new();
    let req = AppRequest::tcp("echo.foo:9000", b"ping");
    let o = m.run_in(
        &sidecar_client(m.sleep_tls(), tls),
        &server,
        &req,
        &mut pool,
        &authz,
    );
    assert_eq!(o.status, Status::Reset);
    assert!(o
        .server_log
        .unwrap()
        .contains("rbac_access_denied_matched_policy[none]"));
    let input = seen
        .into_inner()
        .expect("authz ran on the passthrough chain");
    assert_eq!(
        input.principal, None,
        "TLS was not terminated, so there is no peer identity"
    );
    assert!(!input.mtls);
    assert!(input.http.is_none());
}
