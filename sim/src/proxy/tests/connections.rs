//! The connection pool: reuse without a new handshake, a new handshake after a certificate
//! change, established connections outliving certificate expiry, and determinism.

use super::*;

#[test]
fn pooled_connection_is_reused_without_a_new_handshake() {
    let m = Mesh::new();
    let mut pool = ConnectionPool::new();
    let client = mesh_client(&m);
    let server = strict(&m);
    let first = m.run_in(&client, &server, &get(), &mut pool, &allow);
    assert_eq!(stats(&first, "client").handshake, 1);
    let second = m.run_in(&client, &server, &get(), &mut pool, &allow);
    assert_eq!(second.status, Status::Http(200));
    assert!(second.mtls);
    assert_eq!(
        second.peer_principal.as_deref(),
        Some("cluster.local/ns/default/sa/sleep")
    );
    assert_eq!(stats(&second, "client").handshake, 0);
    assert_eq!(stats(&second, "server").handshake, 0);
    assert_eq!(pool.reused_requests(), 1);
    assert_eq!(pool.opened_connections(), 1);
}

#[test]
fn certificate_change_forces_a_new_handshake() {
    let m = Mesh::new();
    let mut pool = ConnectionPool::new();
    let client = mesh_client(&m);
    m.run_in(&client, &strict(&m), &get(), &mut pool, &allow);
    // httpbin's sidecar got a new certificate (rotation): generation changes.
    let rotated = strict(&m);
    let o = m.run_in(&client, &rotated, &get(), &mut pool, &allow);
    assert_eq!(o.status, Status::Http(200));
    assert_eq!(stats(&o, "client").handshake, 1);
    assert_eq!(stats(&o, "server").handshake, 1);
    assert_eq!(pool.reused_requests(), 0);
    assert_eq!(pool.opened_connections(), 2);
}

#[test]
fn established_connection_survives_certificate_expiry() {
    // Envoy does not re-verify an established connection: time passing keeps the generation.
    let m = Mesh::new();
    let mut pool = ConnectionPool::new();
    let cert = m.ca.issue(HTTPBIN, now().offset(-60), now().offset(60));
    let server_at = |t: SimTime| {
        let mut tls = m.tls(cert.clone());
        tls.now = t;
        sidecar_server(tls, MtlsMode::Strict, PortProtocol::Http, App::Httpbin)
    };
    let sleep_tls = m.sleep_tls();
    let client_at = |t: SimTime| {
        let mut tls = sleep_tls.clone();
        tls.now = t;
        sidecar_client(tls, istio_mutual())
    };
    let o = m.run_in(
        &client_at(now()),
        &server_at(now()),
        &get(),
        &mut pool,
        &allow,
    );
    assert_eq!(o.status, Status::Http(200));
    let later = now().offset(3600);
    let o = m.run_in(
        &client_at(later),
        &server_at(later),
        &get(),
        &mut pool,
        &allow,
    );
    assert_eq!(o.status, Status::Http(200));
    assert_eq!(pool.reused_requests(), 1);
    pool.clear();
    let o = m.run_in(
        &client_at(later),
        &server_at(later),
        &get(),
        &mut pool,
        &allow,
    );
    assert_connect_failure(&o, "CERTIFICATE_VERIFY_FAILED");
}

#[test]
fn same_inputs_give_identical_outcomes() {
    let m = Mesh::new();
    let client = mesh_client(&m);
    let server = strict(&m);
    let a = m.run(&client, &server, &get());
    let b = m.run(&client, &server, &get());
    assert_eq!(a, b);
}
