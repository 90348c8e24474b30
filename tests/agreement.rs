//! The two paths agree: for the configuration of every scenario in the library (healthy
//! certificates, time zero), the analysis path's connectivity matrix and the data path's real
//! exchanges give the same status, mTLS, response flags and TLS error for every flow, and the
//! analysis path's prediction of each flow has the data path's `response_code_details` and peer
//! principal.

use std::path::PathBuf;

use harness::{parse_scenario, scenario_files, Scenario, Tree};
use sim::analysis::{flow_requests, matrix, Analyzer};
use sim::mesh::matrix_handshake;
use sim::mesh::{Mesh, MeshOptions};

/// Every scenario of the library, parsed.
fn library() -> Vec<Scenario> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    scenario_files(&Tree::Fs, &[root])
        .expect("library lists")
        .iter()
        .map(|f| parse_scenario(&Tree::Fs, &f.file, &f.text).expect("scenario parses"))
        .collect()
}

#[test]
fn analysis_and_data_path_agree_on_every_library_configuration() {
    let scenarios = library();
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for scenario in &scenarios {
        let res = scenario.resources.clone();
        let predicted = matrix(&res).expect("analysis matrix");
        let mut mesh = Mesh::build(res.clone(), &[], MeshOptions::default()).expect("mesh builds");
        let observed = matrix_handshake(&mut mesh).expect("data path matrix");
        let analyzer = Analyzer::new(&res);
        // A fresh mesh: each flow's first request goes to the first endpoint, as predicted.
        let mut mesh = Mesh::build(res.clone(), &[], MeshOptions::default()).expect("mesh builds");
        for req in flow_requests(&res) {
            let p = analyzer.predict(&req).expect("predicts");
            let o = mesh
                .request(&req)
                .expect("data path")
                .into_first()
                .expect("one outcome");
            if (&p.details, &p.peer_principal) != (&o.details, &o.peer_principal) {
                disagreements.push(format!(
                    "{}: {} -> {}\n  analysis:  details={:?} principal={:?}\n  data path: details={:?} principal={:?}",
                    scenario.file.display(), req.from, req.to,
                    p.details, p.peer_principal, o.details, o.peer_principal
                ));
            }
        }
        assert_eq!(predicted.len(), observed.len());
        for (p, o) in predicted.iter().zip(&observed) {
            compared += 1;
            let mut pf = p.response_flags.clone();
            let mut of = o.response_flags.clone();
            pf.sort();
            of.sort();
            if (p.status, p.mtls, &pf, &p.tls_error) != (o.status, o.mtls, &of, &o.tls_error) {
                disagreements.push(format!(
                    "{}: {} -> {}\n  analysis:  {} mtls={} flags={:?} tls_error={:?} codes={:?}\n  data path: {} mtls={} flags={:?} tls_error={:?}",
                    scenario.file.display(), p.from, p.to,
                    p.status, p.mtls, p.response_flags, p.tls_error, p.codes,
                    o.status, o.mtls, o.response_flags, o.tls_error
                ));
            }
        }
    }
    assert!(compared > 100, "too few flows compared: {compared}");
    assert!(
        disagreements.is_empty(),
        "{} of {compared} flows disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

#[test]
fn matrix_and_probe_name_the_same_codes_for_every_library_flow() {
    use sim::diagnose::{diagnose, Severity};
    let scenarios = library();
    let mut differences = Vec::new();
    let mut compared = 0;
    for scenario in &scenarios {
        let res = scenario.resources.clone();
        let predicted = matrix(&res).expect("analysis matrix");
        let mut mesh = Mesh::build(res.clone(), &[], MeshOptions::default()).expect("mesh builds");
        for (req, flow) in flow_requests(&res).iter().zip(&predicted) {
            compared += 1;
            let outcome = mesh
                .request(req)
                .expect("request runs")
                .into_first()
                .expect("an outcome");
            // The matrix names what makes a flow fail; probe adds configuration-wide warnings
            // (a conflict, a selector that matches nothing) and Info notes to every flow, which
            // are not causes of this one.
            let mut probe: Vec<_> = diagnose(&mesh.evidence(req, &outcome))
                .into_iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| f.code)
                .collect();
            probe.sort();
            probe.dedup();
            let mut codes = flow.codes.clone();
            codes.sort();
            codes.dedup();
            if codes != probe {
                differences.push(format!(
                    "{}: {} -> {} ({}): matrix {:?}, probe {:?}",
                    scenario.file.display(),
                    flow.from,
                    flow.to,
                    outcome.status,
                    codes,
                    probe
                ));
            }
        }
    }
    assert!(compared > 100, "too few flows compared: {compared}");
    assert!(
        differences.is_empty(),
        "{} of {compared} flows differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
