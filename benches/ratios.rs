//! Ratios measured side by side in one process (`cargo bench --bench ratios`): competing
//! variants run in alternating rounds, so whatever else the machine does slows both alike, and
//! each line is `name: value (detail)`. A ratio is the median over rounds of the two variants'
//! ratio within one round (they ran within a second of each other). `MESHSIM_RATIOS_ROUNDS` sets the rounds (default 9: on
//! a shared 2-core VM five rounds' median of one binary still moved by ±3 %).
//!
//! - `handshake_vs_bare_rustls`: meshsim's fresh mTLS request (the whole data path: client
//!   sidecar, handshake, HTTP exchange, server sidecar, authorization, access logs) ÷ a bare
//!   rustls mutual handshake with the same certificates, the sidecars' ring provider (suites in
//!   BoringSSL's order), SPIFFE verifiers and in-memory duplex transport.
//! - `handshake_vs_crypto_ceiling`: meshsim's fresh request rate ÷ the rate of only the
//!   public-key operations of one mutual handshake (two X25519 key pairs and agreements, two
//!   ECDSA P-256 CertificateVerify signatures, their two verifications and the two RSA-2048
//!   verifications of the leaves' CA signatures) with ring.
//! - `authz_eval_p50_ns`, `authz_eval_growth_10_to_10k`: one AuthorizationPolicy decision at
//!   one sidecar of a 10 000-workload mesh, with the trace off (`AuthzIndex::decide`, the
//!   verdict the data path uses; `tests/properties.rs` proves it equals the traced one).
//! - `issuance_vs_crypto_ceiling`: workload certificates issued per second (key, CSR, CA
//!   signature) ÷ (a P-256 key generation + one RSA-2048 signature) per second.
//! - without goals: pooled vs fresh speed-up, analysis-matrix flows per second at 1 000
//!   workloads (a 20 000-flow sample), wall time of the scenario library, peak memory.
//!
//! `MESHSIM_RATIOS_ONLY=handshake,pooled,authz,issuance,matrix,library,memory` runs a subset;
//! `MESHSIM_RATIOS_PROFILE=fresh|pooled|bare|bare-default|crypto|issue|authz` runs one variant
//! alone, for a profiler; `MESHSIM_RATIOS_SLICE_MS` sets how long each variant runs in a round
//! (default 400) and `MESHSIM_RATIOS_VERBOSE=1` prints every round's ratio to stderr.

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{
    load_scenarios, run_scenarios, scenario_files, RunOptions, Tree, Verdict as ScenarioVerdict,
};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey};
use rustls::crypto::ring::default_provider;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use sim::analysis::Matrix;
use sim::mesh::{Mesh, IDLE_TIMEOUT};
use sim::pki::{CertificateAuthority, KeyType, WorkloadCert};
use sim::policy::AuthzIndex;
use sim::proxy::{crypto_provider, SidecarTls, SpiffeClientVerifier, SpiffeServerVerifier};
use sim::vocab::SpiffeId;
use sim::SimTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;

/// The `meshsim` binary's allocator, for every variant alike (the bare handshake included).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rounds() -> usize {
    std::env::var("MESHSIM_RATIOS_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(9)
}

/// Runs `op` repeatedly for about `budget` and returns operations per second at the median
/// operation: on a machine shared with other builds an operation that lost the CPU to another
/// process is an outlier, which the median ignores and a mean would not.
fn rate(budget: Duration, mut op: impl FnMut() -> Duration) -> f64 {
    let mut spent = Duration::ZERO;
    let mut each = Vec::new();
    while spent < budget {
        let d = op();
        spent += d;
        each.push(d.as_secs_f64());
    }
    each.sort_by(f64::total_cmp);
    1.0 / each[each.len() / 2]
}

/// Times `f` alone.
fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Each variant's rate in each of the alternating rounds.
struct Rounds<const N: usize>(Vec<[f64; N]>);

impl<const N: usize> Rounds<N> {
    /// The median of variant `i`'s rounds.
    fn rate(&self, i: usize) -> f64 {
        median(self.0.iter().map(|r| r[i]).collect())
    }

    /// The median over rounds of `a`'s rate ÷ `b`'s rate *in the same round*: the two ran
    /// within a second of each other, so a machine that speeds up or slows down between rounds
    /// (this VM moves by a third within a minute) cancels out of each round's ratio, where a
    /// ratio of the two medians would keep it.
    fn ratio(&self, a: usize, b: usize) -> f64 {
        if std::env::var_os("MESHSIM_RATIOS_VERBOSE").is_some() {
            let each: Vec<String> = self
                .0
                .iter()
                .map(|r| format!("{:.3}", r[a] / r[b]))
                .collect();
            eprintln!("rounds {a}/{b}: {}", each.join(" "));
        }
        median(self.0.iter().map(|r| r[a] / r[b]).collect())
    }
}

/// Runs the variants in alternating rounds.
fn side_by_side<const N: usize>(variants: &mut [&mut dyn FnMut() -> f64; N]) -> Rounds<N> {
    let mut out = Vec::new();
    for _ in 0..rounds() {
        let mut round = [0.0; N];
        for (i, v) in variants.iter_mut().enumerate() {
            round[i] = v();
        }
        out.push(round);
    }
    Rounds(out)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// The certificates of `foo/sleep` and `foo/httpbin` as the mesh issued them, with its bundle.
fn mesh_credentials(mesh: &Mesh) -> (WorkloadCert, WorkloadCert, sim::pki::TrustBundle) {
    let control = mesh.control();
    let of = |prefix: &str| {
        let id = control
            .proxies()
            .find(|p| p.starts_with(prefix))
            .unwrap_or_else(|| panic!("a proxy of {prefix}"));
        let (cert, bundle) = control.credentials(id);
        (cert.expect("issued").clone(), bundle.clone())
    };
    let (client, bundle) = of("foo/sleep");
    let (server, _) = of("foo/httpbin");
    (client, server, bundle)
}

/// A bare rustls mutual handshake (TLS 1.3, ring) over a tokio duplex, with meshsim's SPIFFE
/// verifiers on both sides, then one byte each way so both sides have finished.
struct Bare {
    rt: tokio::runtime::Runtime,
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
}

impl Bare {
    fn new(
        client: &WorkloadCert,
        server: &WorkloadCert,
        bundle: &sim::pki::TrustBundle,
        now: SimTime,
        provider: Arc<CryptoProvider>,
    ) -> Bare {
        let key =
            |c: &WorkloadCert| PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(c.key_pkcs8.clone()));
        let server_verifier = SpiffeServerVerifier::new(
            bundle,
            vec!["spiffe://cluster.local/ns/foo/sa/httpbin".into()],
            now,
            provider.clone(),
        )
        .expect("server verifier");
        let client_verifier =
            SpiffeClientVerifier::new(bundle, vec!["cluster.local".into()], now, provider.clone())
                .expect("client verifier");
        // Every handshake is a full one, as a fresh meshsim connection is: no session resumption.
        let mut client = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(server_verifier))
            .with_client_auth_cert(client.chain.clone(), key(client))
            .expect("client config");
        client.resumption = rustls::client::Resumption::disabled();
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(Arc::new(client_verifier))
            .with_single_cert(server.chain.clone(), key(server))
            .expect("server config");
        server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        server.send_tls13_tickets = 0;
        Bare {
            rt: sim::proxy::data_path_runtime().expect("runtime"),
            client: Arc::new(client),
            server: Arc::new(server),
        }
    }

    fn handshake(&self) -> Duration {
        let (client, server) = (self.client.clone(), self.server.clone());
        timed(|| {
            self.rt.block_on(async move {
                let (c, s) = tokio::io::duplex(64 * 1024);
                let accept = async move {
                    let mut tls = tokio_rustls::TlsAcceptor::from(server)
                        .accept(s)
                        .await
                        .expect("accept");
                    let mut b = [0u8; 1];
                    tls.read_exact(&mut b).await.expect("read");
                    tls.write_all(&b).await.expect("write");
                    tls.flush().await.expect("flush");
                };
                let connect = async move {
                    let name =
                        ServerName::try_from("outbound_.8000_._.httpbin.foo.svc.cluster.local")
                            .expect("sni")
                            .to_owned();
                    let mut tls = tokio_rustls::TlsConnector::from(client)
                        .connect(name, c)
                        .await
                        .expect("connect");
                    tls.write_all(b"x").await.expect("write");
                    tls.flush().await.expect("flush");
                    let mut b = [0u8; 1];
                    tls.read_exact(&mut b).await.expect("read");
                };
                tokio::join!(accept, connect);
            })
        })
    }
}

/// Only the public-key operations of one mutual TLS 1.3 handshake, with ring.
struct Ceiling {
    rng: SystemRandom,
    ecdsa: EcdsaKeyPair,
    rsa_public: Vec<u8>,
    leaf_tbs: Vec<u8>,
    leaf_signature: Vec<u8>,
}

impl Ceiling {
    fn new(leaf: &WorkloadCert, root_der: &[u8]) -> Ceiling {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .expect("P-256 key");
        let ecdsa = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8.as_ref(),
            &rng,
        )
        .expect("P-256 key loads");
        let (_, root) = x509_parser::parse_x509_certificate(root_der).expect("root parses");
        let (_, cert) = x509_parser::parse_x509_certificate(&leaf.chain[0]).expect("leaf parses");
        Ceiling {
            rsa_public: root.public_key().subject_public_key.data.to_vec(),
            leaf_tbs: cert.tbs_certificate.as_ref().to_vec(),
            leaf_signature: cert.signature_value.data.to_vec(),
            rng,
            ecdsa,
        }
    }

    fn one_handshake(&self) -> Duration {
        timed(|| {
            for _ in 0..2 {
                let mine = ring::agreement::EphemeralPrivateKey::generate(
                    &ring::agreement::X25519,
                    &self.rng,
                )
                .expect("x25519");
                let theirs = ring::agreement::EphemeralPrivateKey::generate(
                    &ring::agreement::X25519,
                    &self.rng,
                )
                .expect("x25519")
                .compute_public_key()
                .expect("public");
                ring::agreement::agree_ephemeral(
                    mine,
                    &ring::agreement::UnparsedPublicKey::new(
                        &ring::agreement::X25519,
                        theirs.as_ref(),
                    ),
                    |k| k.len(),
                )
                .expect("agree");
            }
            let verifier = UnparsedPublicKey::new(
                &signature::ECDSA_P256_SHA256_ASN1,
                self.ecdsa.public_key().as_ref(),
            );
            let rsa =
                UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.rsa_public);
            for msg in [
                &b"client CertificateVerify"[..],
                b"server CertificateVerify",
            ] {
                let sig = self.ecdsa.sign(&self.rng, msg).expect("sign");
                verifier.verify(msg, sig.as_ref()).expect("ECDSA verifies");
                rsa.verify(&self.leaf_tbs, &self.leaf_signature)
                    .expect("CA signature verifies");
            }
        })
    }

    /// A P-256 key generation and one RSA-2048 signature: what issuing a certificate cannot
    /// avoid.
    fn issuance(&self, ca_key: &RsaKeyPair) -> Duration {
        timed(|| {
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &self.rng)
                .expect("P-256 key");
            let mut sig = vec![0; ca_key.public().modulus_len()];
            ca_key
                .sign(
                    &signature::RSA_PKCS1_SHA256,
                    &self.rng,
                    &self.leaf_tbs,
                    &mut sig,
                )
                .expect("RSA sign");
        })
    }
}

/// An RSA-2048 key ring can sign with (ring cannot generate RSA keys).
fn rsa_key() -> RsaKeyPair {
    use rand_chacha::rand_core::SeedableRng;
    use rsa::pkcs8::EncodePrivateKey;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key");
    let der = private.to_pkcs8_der().expect("PKCS#8");
    RsaKeyPair::from_pkcs8(der.as_bytes()).expect("ring loads it")
}

/// The mesh CA issuing workload certificates (key, CSR, signature), one per call.
struct Issuer {
    ca: CertificateAuthority,
    spiffe: SpiffeId,
    n: u64,
}

impl Issuer {
    fn new() -> Issuer {
        Issuer {
            ca: CertificateAuthority::self_signed(1, "cluster.local", SimTime::EPOCH).expect("CA"),
            spiffe: "spiffe://cluster.local/ns/foo/sa/bench"
                .parse()
                .expect("id"),
            n: 0,
        }
    }

    fn issue(&mut self) -> Duration {
        self.n += 1;
        let requester = format!("bench/{}", self.n);
        timed(|| {
            self.ca
                .issue_workload(
                    &self.spiffe,
                    KeyType::EcdsaP256,
                    Duration::from_secs(86_400),
                    SimTime::EPOCH,
                    &requester,
                )
                .expect("issued");
        })
    }
}

/// Median ns of one trace-off decision ([`AuthzIndex::decide`], what the data path runs) at
/// `target` over batches of 1 000 decisions.
fn authz_p50(workloads: usize, policies: usize) -> f64 {
    let res = common::authz_mesh(workloads, policies);
    let index = AuthzIndex::build(&res);
    let facts = common::authz_facts();
    let target = &res.workloads[0];
    let mut samples = Vec::new();
    for _ in 0..(rounds() * 20) {
        let spent = timed(|| {
            for _ in 0..1_000 {
                std::hint::black_box(index.decide(&res, target, &facts));
            }
        });
        samples.push(spent.as_nanos() as f64 / 1_000.0);
    }
    median(samples)
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in MB.
fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `MESHSIM_RATIOS_PROFILE=<variant>`: run only that variant for `MESHSIM_RATIOS_BUDGET_MS`
/// (default 5 000) and print its rate, for `perf record` or `valgrind --tool=callgrind`.
fn profile_only() -> Option<String> {
    std::env::var("MESHSIM_RATIOS_PROFILE").ok()
}

/// `MESHSIM_RATIOS_ONLY=handshake,pooled,authz,issuance,matrix,library,memory` (any subset,
/// comma-separated): run only those sections; unset runs them all.
fn wanted(section: &str) -> bool {
    std::env::var("MESHSIM_RATIOS_ONLY")
        .map(|only| only.split(',').any(|s| s.trim() == section))
        .unwrap_or(true)
}

fn main() {
    let budget = Duration::from_millis(
        std::env::var("MESHSIM_RATIOS_SLICE_MS")
            .ok()
            .and_then(|b| b.parse().ok())
            .unwrap_or(400),
    );
    let req = common::sleep_to_httpbin();
    let mut m = common::handshake_mesh(false);
    common::send_mtls(&mut m, &req);
    let (client, server, bundle) = mesh_credentials(&m);
    // The bare handshake uses the provider meshsim's sidecars use (ring, their suites in
    // BoringSSL's order, so both negotiate TLS_AES_128_GCM_SHA256); `bare_default` uses rustls'
    // default order (TLS13_AES_256_GCM_SHA384 first), to show what the suite order alone moves.
    let sidecar = SidecarTls::new(
        Some(client.clone()),
        bundle.clone(),
        "cluster.local",
        m.now(),
    );
    let provider = crypto_provider(&sidecar).expect("sidecar provider");
    let bare = Bare::new(&client, &server, &bundle, m.now(), provider);
    let bare_default = Bare::new(
        &client,
        &server,
        &bundle,
        m.now(),
        Arc::new(default_provider()),
    );
    let ceiling = Ceiling::new(&server, bundle.roots[0].as_ref());
    if let Some(variant) = profile_only() {
        let budget = Duration::from_millis(
            std::env::var("MESHSIM_RATIOS_BUDGET_MS")
                .ok()
                .and_then(|b| b.parse().ok())
                .unwrap_or(5_000),
        );
        let per_s = match variant.as_str() {
            "fresh" => rate(budget, || {
                m.advance(IDLE_TIMEOUT);
                timed(|| common::send_mtls(&mut m, &req))
            }),
            "pooled" => rate(budget, || timed(|| common::send_mtls(&mut m, &req))),
            "bare" => rate(budget, || bare.handshake()),
            "bare-default" => rate(budget, || bare_default.handshake()),
            "crypto" => rate(budget, || ceiling.one_handshake()),
            "issue" => {
                let mut issuer = Issuer::new();
                rate(budget, || issuer.issue())
            }
            // Decisions per second at 10 000 workloads / 2 000 policies, decisions only.
            "authz" => {
                let res = common::authz_mesh(10_000, 2_000);
                let index = AuthzIndex::build(&res);
                let facts = common::authz_facts();
                let target = &res.workloads[0];
                1_000.0
                    * rate(budget, || {
                        timed(|| {
                            for _ in 0..1_000 {
                                std::hint::black_box(index.decide(&res, target, &facts));
                            }
                        })
                    })
            }
            other => panic!(
                "MESHSIM_RATIOS_PROFILE={other}: expected fresh, pooled, bare, bare-default, crypto, issue or authz"
            ),
        };
        println!("{variant}: {per_s:.0}/s");
        return;
    }

    if wanted("handshake") {
        let mut fresh = || {
            rate(budget, || {
                m.advance(IDLE_TIMEOUT);
                timed(|| common::send_mtls(&mut m, &req))
            })
        };
        let mut bare_rate = || rate(budget, || bare.handshake());
        let mut bare_default_rate = || rate(budget, || bare_default.handshake());
        let mut crypto = || rate(budget, || ceiling.one_handshake());
        let rounds = side_by_side(&mut [
            &mut fresh,
            &mut bare_rate,
            &mut bare_default_rate,
            &mut crypto,
        ]);
        let [fresh_rate, bare_rate, bare_default_rate, crypto_rate] =
            [0, 1, 2, 3].map(|i| rounds.rate(i));
        println!(
            "handshake_vs_bare_rustls: {:.2} (median of per-round ratios; medians: meshsim fresh request {fresh_rate:.0}/s, bare rustls mutual handshake {bare_rate:.0}/s with the sidecars' provider and suite order; with rustls' default order {bare_default_rate:.0}/s; goal >= 0.90)",
            rounds.ratio(0, 1)
        );
        println!(
            "handshake_vs_crypto_ceiling: {:.2} (median of per-round ratios; medians: meshsim fresh request {fresh_rate:.0}/s, public-key operations only {crypto_rate:.0}/s; goal >= 0.65)",
            rounds.ratio(0, 3)
        );
    }

    let m = std::cell::RefCell::new(m);
    let speed = |pooled: bool| {
        rate(budget, || {
            let mut m = m.borrow_mut();
            if !pooled {
                m.advance(IDLE_TIMEOUT);
            }
            timed(|| common::send_mtls(&mut m, &req))
        })
    };
    if wanted("pooled") {
        let (mut pooled, mut fresh_again) = (|| speed(true), || speed(false));
        let rounds = side_by_side(&mut [&mut pooled, &mut fresh_again]);
        println!(
            "pooled_vs_fresh_speedup: {:.2} (median of per-round ratios; medians: pooled {:.0}/s, fresh {:.0}/s)",
            rounds.ratio(0, 1),
            rounds.rate(0),
            rounds.rate(1)
        );
    }

    if wanted("authz") {
        let p50_2000 = authz_p50(10_000, 2_000);
        println!("authz_eval_p50_ns: {p50_2000:.0} (trace-off decision AuthzIndex::decide, 10 000 workloads, 2 000 policies, median of 1 000-decision batches; goal <= 250)");
        let (p50_10, p50_10k) = (authz_p50(10_000, 10), authz_p50(10_000, 10_000));
        println!(
            "authz_eval_growth_10_to_10k: {:.2} (p50 {p50_10:.0} ns at 10 policies, {p50_10k:.0} ns at 10 000; goal <= 2.0)",
            p50_10k / p50_10
        );
    }

    if wanted("issuance") {
        let ca_key = rsa_key();
        let mut issuer = Issuer::new();
        let mut issue = || rate(budget, || issuer.issue());
        let mut floor = || rate(budget, || ceiling.issuance(&ca_key));
        let rounds = side_by_side(&mut [&mut issue, &mut floor]);
        println!(
            "issuance_vs_crypto_ceiling: {:.2} (median of per-round ratios; medians: {:.0} certificates/s; P-256 key + RSA-2048 signature {:.0}/s; goal >= 0.80)",
            rounds.ratio(0, 1),
            rounds.rate(0),
            rounds.rate(1)
        );
    }

    if wanted("memory") {
        let res = common::authz_mesh(10_000, 2_000);
        let index = AuthzIndex::build(&res);
        println!(
            "peak_memory_10k_workloads_mb: {} (this process after building a 10 000-workload, 2 000-policy configuration and its authorization index, before the matrix section)",
            peak_mb().map_or("n/a".to_string(), |mb| format!("{mb:.0}"))
        );
        drop((index, res));
    }

    if wanted("matrix") {
        // Every one of the 1 M flows, as `meshsim matrix` computes them: `analysis::Matrix`
        // (no decision trace, rows in batches on every core), drained without printing.
        let res = common::scale_mesh(1_000, 50);
        let matrix = Matrix::new(&res);
        let mut n = 0u64;
        let spent = timed(|| {
            for flow in matrix.flows(|_| {}) {
                std::hint::black_box(flow.expect("predicts"));
                n += 1;
            }
        });
        println!(
            "matrix_flows_per_s_1k_workloads: {:.0} (all {n} flows of a 1 000-workload, 50-namespace STRICT mesh with one ALLOW per workload, analysis::Matrix on all cores, output not written)",
            n as f64 / spent.as_secs_f64(),
        );
    }

    if wanted("library") {
        let files =
            scenario_files(&Tree::Fs, &[common::root().join("scenarios")]).expect("library");
        let scenarios = load_scenarios(&Tree::Fs, &files).expect("library parses");
        let mut reports = Vec::new();
        let spent = timed(|| reports = run_scenarios(&scenarios, RunOptions::default()));
        assert!(
            reports.iter().all(|r| r.verdict == ScenarioVerdict::Passed),
            "library passes"
        );
        println!(
            "scenario_library_wall_s: {:.1} ({} scenarios, parsed beforehand, run_scenarios on all cores, one run)",
            spent.as_secs_f64(),
            scenarios.len()
        );
    }
}
