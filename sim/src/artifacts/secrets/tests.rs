use super::*;
use crate::pki::{CertificateAuthority, KeyType};
use crate::vocab::SpiffeId;
use std::time::Duration;

fn material() -> (Vec<CertificateDer<'static>>, Vec<CertificateDer<'static>>) {
    let mut ca = CertificateAuthority::self_signed(7, "cluster.local", SimTime::EPOCH).unwrap();
    let id = SpiffeId::new("cluster.local", "foo", "httpbin");
    let cert = ca
        .issue_workload(
            &id,
            KeyType::EcdsaP256,
            Duration::from_secs(86400),
            SimTime::EPOCH,
            "t",
        )
        .unwrap();
    (cert.chain, ca.root_bundle().roots)
}

#[test]
fn a_rendered_dump_reads_back_chain_and_roots() {
    let (chain, roots) = material();
    let text = render_secret_dump(&chain, &roots, SimTime::EPOCH);
    let dump = parse_secret_dump("s.json", &text).unwrap();
    assert_eq!(dump.chain, chain);
    assert_eq!(dump.roots, roots);
    assert_eq!(dump.chain_updated, Some(SimTime::EPOCH));
    assert!(dump.warming.is_empty());
}

#[test]
fn snake_case_config_dumps_are_read_too() {
    let (chain, roots) = material();
    let camel = render_secret_dump(&chain, &roots, SimTime::EPOCH);
    let snake = camel
        .replace("dynamicActiveSecrets", "dynamic_active_secrets")
        .replace("tlsCertificate", "tls_certificate")
        .replace("certificateChain", "certificate_chain")
        .replace("inlineBytes", "inline_bytes")
        .replace("validationContext", "validation_context")
        .replace("trustedCa", "trusted_ca")
        .replace("lastUpdated", "last_updated");
    let wrapped = format!("{{\"configs\": [{{\"@type\": \"type.googleapis.com/envoy.admin.v3.BootstrapConfigDump\"}}, {snake}]}}");
    let dump = parse_secret_dump("s.json", &wrapped).unwrap();
    assert_eq!(dump.chain, chain);
    assert_eq!(dump.roots, roots);
}

#[test]
fn a_proxy_without_a_certificate_shows_default_warming() {
    let (_, roots) = material();
    let dump =
        parse_secret_dump("s.json", &render_secret_dump(&[], &roots, SimTime::EPOCH)).unwrap();
    assert!(dump.chain.is_empty());
    assert_eq!(dump.warming, vec!["default".to_string()]);
    assert_eq!(dump.roots, roots);
}

#[test]
fn garbage_truncated_and_wrong_shape_dumps_are_errors_naming_the_file() {
    let (chain, roots) = material();
    let good = render_secret_dump(&chain, &roots, SimTime::EPOCH);
    let b64_start = good.find("\"inlineBytes\": \"").unwrap() + 16;
    let not_pem = format!(
        "{}{}",
        &good[..b64_start],
        &good[b64_start..].replacen("LS0t", "QUJD", 1)
    );
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "not JSON"),
        (good[..good.len() / 2].to_string(), "not JSON"),
        ("\u{1}\u{2}garbage".to_string(), "not JSON"),
        ("[1, 2, 3]".to_string(), "no dynamicActiveSecrets"),
        (
            "{\"kind\": \"List\", \"items\": []}".to_string(),
            "no dynamicActiveSecrets",
        ),
        (
            good.replacen("\"inlineBytes\": \"", "\"inlineBytes\": \"!!", 1),
            "not base64",
        ),
        (not_pem, "CERTIFICATE"),
    ];
    for (text, needle) in cases {
        let err = parse_secret_dump("s.json", &text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("s.json"), "{msg}");
        assert!(msg.contains(needle), "{needle}: {msg}");
    }
}

#[test]
fn malformed_bytes_name_the_line_they_are_on() {
    let (chain, roots) = material();
    let good = render_secret_dump(&chain, &roots, SimTime::EPOCH);
    let bad = good.replacen("\"inlineBytes\": \"", "\"inlineBytes\": \"!!", 1);
    let line = bad.lines().position(|l| l.contains("!!")).unwrap() + 1;
    match parse_secret_dump("s.json", &bad).unwrap_err() {
        ArtifactError::Malformed { line: l, .. } => assert_eq!(l, line),
        other => panic!("{other:?}"),
    }
}
