//! The loader never panics: random text and random edits of valid resources either load or
//! fail with a file and line.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use super::load;

const SEEDS: [&str; 4] = [
    "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: foo}\nspec:\n  action: DENY\n  rules:\n  - from:\n    - source: {principals: [cluster.local/ns/a/sa/b]}\n    to:\n    - operation: {ports: ['80'], paths: ['/x/{*}']}\n    when:\n    - key: source.ip\n      values: [10.0.0.0/8]\n",
    "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d, namespace: n}\n  spec:\n    replicas: 2\n    selector: {matchLabels: {app: d}}\n    template:\n      metadata: {labels: {app: d}}\n      spec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}\n",
    "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: r.ns.svc.cluster.local\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n    portLevelSettings:\n    - port: {number: 80}\n      tls: {mode: DISABLE}\n  subsets:\n  - {name: v1, labels: {version: v1}}\n",
    "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: foo}\nspec:\n  selector: {matchLabels: {app: a}}\n  mtls: {mode: STRICT}\n  portLevelMtls:\n    \"8080\": {mode: DISABLE}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    trustDomain: td\n",
];

fn check(text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = load(text) {
        prop_assert!(!e.message.is_empty());
        prop_assert!(
            e.origin.line > 0 || text.trim().is_empty(),
            "no line: {}",
            e
        );
        prop_assert!(
            e.origin.line <= text.lines().count().max(1),
            "line past the end: {}",
            e
        );
    }
    Ok(())
}

proptest! {
    // A fixed seed keeps the suite deterministic; widen `cases` locally to search further.
    #![proptest_config(ProptestConfig { cases: 300, rng_seed: RngSeed::Fixed(0x6d65_7368), ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "[a-z:{}\\[\\]\\-' \"#0-9\n]{0,200}") {
        check(&text)?;
    }

    #[test]
    fn edited_resources_never_panic(seed in 0usize..4, at in 0usize..400, len in 0usize..12, insert in "[a-z:{}\\[\\]\\-' \n0-9~*]{0,6}") {
        let base = SEEDS[seed];
        let mut start = at.min(base.len());
        while !base.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + len).min(base.len());
        while !base.is_char_boundary(end) {
            end -= 1;
        }
        let text = format!("{}{}{}", &base[..start], insert, &base[end..]);
        check(&text)?;
    }
}
