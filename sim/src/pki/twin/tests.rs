use std::time::Duration;

use super::*;
use crate::pki::verify::Usage;
use crate::pki::{inspect, verify_chain, CertificateAuthority};
use crate::vocab::SpiffeId;

const DAY: Duration = Duration::from_secs(86400);

fn issue(ca: &mut CertificateAuthority, sa: &str, at: SimTime) -> Vec<CertificateDer<'static>> {
    let id = SpiffeId::new("cluster.local", "foo", sa);
    ca.issue_workload(&id, KeyType::EcdsaP256, DAY, at, sa)
        .unwrap()
        .chain
}

#[test]
fn twins_keep_names_dates_and_sans_and_verify_like_the_real_chain() {
    let t0 = SimTime::EPOCH;
    let mut ca = CertificateAuthority::self_signed(1, "cluster.local", t0).unwrap();
    let chain = issue(&mut ca, "httpbin", t0);
    let roots = ca.root_bundle().roots;
    let mut pki = TwinPki::build(0, [(chain.as_slice(), roots.as_slice())]).unwrap();
    let twin = pki.chain(&chain, "foo/httpbin").unwrap().unwrap();
    let (real, copy) = (
        inspect(&chain[0]).unwrap(),
        inspect(&twin.chain[0]).unwrap(),
    );
    assert_eq!(copy.uri_sans, real.uri_sans);
    assert_eq!(copy.issuer, real.issuer);
    assert_eq!(copy.serial, real.serial);
    assert_eq!(
        (copy.not_before, copy.not_after),
        (real.not_before, real.not_after)
    );
    assert_ne!(copy.fingerprint, real.fingerprint);
    let bundle = pki.bundle(&roots);
    assert_eq!(
        inspect(&bundle.roots[0]).unwrap().subject,
        inspect(&roots[0]).unwrap().subject
    );
    let at = t0.plus(Duration::from_secs(3600));
    assert!(verify_chain(&twin.chain, &bundle, at, Usage::Server).is_ok());
    // Expired in reality, expired as a twin.
    assert!(verify_chain(&twin.chain, &bundle, t0.plus(2 * DAY), Usage::Server).is_err());
}

#[test]
fn a_root_rotated_under_the_same_name_gets_its_own_twin() {
    let t0 = SimTime::EPOCH;
    let mut ca = CertificateAuthority::self_signed(1, "cluster.local", t0).unwrap();
    let old_root = ca.root_bundle().roots;
    let old_chain = issue(&mut ca, "sleep", t0);
    ca.rotate_root(t0).unwrap();
    let new_root = ca.root_bundle().roots;
    let new_chain = issue(&mut ca, "httpbin", t0);
    assert_eq!(
        inspect(&old_root[0]).unwrap().subject,
        inspect(&new_root[0]).unwrap().subject
    );
    let mut pki = TwinPki::build(
        0,
        [
            (old_chain.as_slice(), old_root.as_slice()),
            (new_chain.as_slice(), new_root.as_slice()),
        ],
    )
    .unwrap();
    let twin_new = pki.chain(&new_chain, "foo/httpbin").unwrap().unwrap();
    let twin_old = pki.chain(&old_chain, "foo/sleep").unwrap().unwrap();
    let at = t0.plus(Duration::from_secs(60));
    let old_bundle = pki.bundle(&old_root);
    let new_bundle = pki.bundle(&new_root);
    assert!(verify_chain(&twin_old.chain, &old_bundle, at, Usage::Client).is_ok());
    assert!(verify_chain(&twin_new.chain, &new_bundle, at, Usage::Server).is_ok());
    assert!(verify_chain(&twin_new.chain, &old_bundle, at, Usage::Server).is_err());
}

#[test]
fn an_empty_chain_has_no_twin() {
    let mut pki = TwinPki::build(0, []).unwrap();
    assert!(pki.chain(&[], "foo/x").unwrap().is_none());
}
