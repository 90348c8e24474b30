//! ring vs aws-lc-rs: a rustls mutual TLS 1.3 handshake (ECDSA P-256 leaves with SPIFFE URI
//! SANs signed by an RSA-2048 root, as Istio's CA issues them) over a tokio duplex, the two
//! providers in alternating rounds in one process; median handshake per round.
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{CertificateParams, KeyPair, SanType, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Creds {
    root: CertificateDer<'static>,
    client: (Vec<CertificateDer<'static>>, Vec<u8>),
    server: (Vec<CertificateDer<'static>>, Vec<u8>),
}

fn creds() -> Creds {
    use rand_chacha::rand_core::SeedableRng;
    use rsa::pkcs8::EncodePrivateKey;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
    let rsa = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let der = rsa.to_pkcs8_der().unwrap();
    let ca_key = KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(der.as_bytes().to_vec()),
        &PKCS_RSA_SHA256,
    )
    .unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::OrganizationName, "cluster.local");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let leaf = |sa: &str| {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.subject_alt_names = vec![
            SanType::URI(
                format!("spiffe://cluster.local/ns/foo/sa/{sa}")
                    .try_into()
                    .unwrap(),
            ),
            SanType::DnsName("httpbin.foo.svc.cluster.local".try_into().unwrap()),
        ];
        p.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = p.signed_by(&key, &issuer).unwrap();
        (vec![cert.der().clone()], key.serialize_der())
    };
    Creds {
        root: ca_cert.der().clone(),
        client: leaf("sleep"),
        server: leaf("httpbin"),
    }
}

struct Side {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
}

fn configs(c: &Creds, provider: CryptoProvider) -> Side {
    let provider = Arc::new(provider);
    let mut roots = RootCertStore::empty();
    roots.add(c.root.clone()).unwrap();
    let roots = Arc::new(roots);
    let key = |k: &Vec<u8>| PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(k.clone()));
    let sv = rustls::client::WebPkiServerVerifier::builder_with_provider(
        roots.clone(),
        provider.clone(),
    )
    .build()
    .unwrap();
    let mut client = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_webpki_verifier(sv)
        .with_client_auth_cert(c.client.0.clone(), key(&c.client.1))
        .unwrap();
    client.resumption = rustls::client::Resumption::disabled();
    let cv = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .unwrap();
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(cv)
        .with_single_cert(c.server.0.clone(), key(&c.server.1))
        .unwrap();
    server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    server.send_tls13_tickets = 0;
    Side {
        client: Arc::new(client),
        server: Arc::new(server),
    }
}

fn handshake(rt: &tokio::runtime::Runtime, s: &Side) -> Duration {
    let (client, server) = (s.client.clone(), s.server.clone());
    let t = Instant::now();
    rt.block_on(async move {
        let (c, sv) = tokio::io::duplex(64 * 1024);
        let accept = async move {
            let mut tls = tokio_rustls::TlsAcceptor::from(server)
                .accept(sv)
                .await
                .unwrap();
            let mut b = [0u8; 1];
            tls.read_exact(&mut b).await.unwrap();
            tls.write_all(&b).await.unwrap();
            tls.flush().await.unwrap();
        };
        let connect = async move {
            let name = ServerName::try_from("httpbin.foo.svc.cluster.local")
                .unwrap()
                .to_owned();
            let mut tls = tokio_rustls::TlsConnector::from(client)
                .connect(name, c)
                .await
                .unwrap();
            tls.write_all(b"x").await.unwrap();
            tls.flush().await.unwrap();
            let mut b = [0u8; 1];
            tls.read_exact(&mut b).await.unwrap();
        };
        tokio::join!(accept, connect);
    });
    t.elapsed()
}

fn median_rate(rt: &tokio::runtime::Runtime, s: &Side, budget: Duration) -> f64 {
    let (mut spent, mut each) = (Duration::ZERO, Vec::new());
    while spent < budget {
        let d = handshake(rt, s);
        spent += d;
        each.push(d.as_secs_f64());
    }
    each.sort_by(f64::total_cmp);
    1.0 / each[each.len() / 2]
}

fn main() {
    let c = creds();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ring = configs(&c, rustls::crypto::ring::default_provider());
    let awslc = configs(&c, rustls::crypto::aws_lc_rs::default_provider());
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    let (mut r, mut a) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        r.push(median_rate(&rt, &ring, Duration::from_millis(400)));
        a.push(median_rate(&rt, &awslc, Duration::from_millis(400)));
    }
    r.sort_by(f64::total_cmp);
    a.sort_by(f64::total_cmp);
    let (rm, am) = (r[r.len() / 2], a[a.len() / 2]);
    println!("ring {rm:.0} handshakes/s, aws-lc-rs {am:.0} handshakes/s, aws-lc-rs / ring {:.2} (rounds: ring {:?}, aws-lc-rs {:?})", am / rm,
        r.iter().map(|x| x.round()).collect::<Vec<_>>(), a.iter().map(|x| x.round()).collect::<Vec<_>>());
}
