//! The scenario reader and `sim`'s loader read the same inputs the same way: a MeshConfig given
//! as a scenario `mesh:` block and as the `istio` ConfigMap, and a folder given to `include:`
//! and to `load_paths`. Each case here once differed between two copies of the code.

use std::path::{Path, PathBuf};

use sim::model::{load_paths, load_str, MeshConfig, Origin, Resources, TlsVersion};

use super::*;
use crate::tree::Tree;

/// The effective MeshConfig of `fields` (a MeshConfig document, indented by four spaces)
/// written as a scenario `mesh:` block and as the `istio` ConfigMap, origins dropped.
fn both_ways(fields: &str) -> (MeshConfig, MeshConfig) {
    let scenario = format!("name: n\nmesh:\n{}\nsteps: []\n", indent(fields, "  "));
    let from_scenario = parse_scenario(&Tree::Fs, Path::new("s.yaml"), &scenario)
        .unwrap_or_else(|e| panic!("scenario with\n{fields}\n: {e}"))
        .resources
        .mesh_config;
    let config_map = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio, namespace: istio-system}}\n\
         data:\n  mesh: |\n{}\n",
        indent(fields, "    ")
    );
    let from_config_map = load_str(&config_map, Path::new("cm.yaml"))
        .unwrap_or_else(|e| panic!("ConfigMap with\n{fields}\n: {e}"))
        .mesh_config;
    let no_origin = |m: MeshConfig| MeshConfig {
        origin: Origin::default(),
        ..m
    };
    (no_origin(from_scenario), no_origin(from_config_map))
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| format!("{by}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_mesh_block_and_the_istio_config_map_give_the_same_mesh_config() {
    let defaults = MeshConfig::default();
    let aliases = |a: &[&str]| a.iter().map(ToString::to_string).collect::<Vec<_>>();
    let cases: Vec<(&str, MeshConfig)> = vec![
        (
            "meshMTLS: {minProtocolVersion: TLS_AUTO}",
            MeshConfig {
                min_protocol_version: None,
                ..defaults.clone()
            },
        ),
        (
            "meshMTLS: {minProtocolVersion: TLSV1_3, cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256]}",
            MeshConfig {
                min_protocol_version: Some(TlsVersion::Tls13),
                cipher_suites: aliases(&["ECDHE-RSA-AES128-GCM-SHA256"]),
                ..defaults.clone()
            },
        ),
        ("trustDomain: \"\"", defaults.clone()),
        ("trustDomain:", defaults.clone()),
        ("rootNamespace: \"\"", defaults.clone()),
        (
            "trustDomain: example.org\ntrustDomainAliases: [old.org, cluster.local, old.org]",
            MeshConfig {
                trust_domain: "example.org".into(),
                trust_domain_aliases: aliases(&["cluster.local", "old.org"]),
                ..defaults.clone()
            },
        ),
        (
            "enableAutoMtls: false\nrootNamespace: mesh-root",
            MeshConfig {
                enable_auto_mtls: false,
                root_namespace: "mesh-root".into(),
                ..defaults.clone()
            },
        ),
    ];
    for (fields, want) in cases {
        let (scenario, config_map) = both_ways(fields);
        assert_eq!(scenario, want, "scenario mesh: block with {fields:?}");
        assert_eq!(config_map, want, "istio ConfigMap with {fields:?}");
    }
}

#[test]
fn an_invalid_min_protocol_version_is_rejected_the_same_way_by_both() {
    let scenario = parse_scenario(
        &Tree::Fs,
        Path::new("s.yaml"),
        "name: n\nmesh:\n  meshMTLS: {minProtocolVersion: TLSV1_1}\nsteps: []\n",
    )
    .expect_err("TLSV1_1");
    let config_map = load_str(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n\
         data:\n  mesh: 'meshMTLS: {minProtocolVersion: TLSV1_1}'\n",
        Path::new("cm.yaml"),
    )
    .expect_err("TLSV1_1");
    let reason = "invalid minProtocolVersion `TLSV1_1`, expected one of TLS_AUTO, TLSV1_2, TLSV1_3";
    assert!(scenario.message.ends_with(reason), "{scenario}");
    assert!(config_map.message.ends_with(reason), "{config_map}");
}

#[test]
fn a_folder_stands_for_the_same_files_to_include_and_to_the_loader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir(root.join("nested")).expect("mkdir");
    std::fs::write(
        root.join("nested/ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
    )
    .expect("write");
    std::fs::write(
        root.join("a.json"),
        r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}"#,
    )
    .expect("write");
    std::fs::write(root.join("notes.md"), "not a manifest").expect("write");
    // A dangling link is no manifest: neither reader may trip over it.
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("gone.yaml"), root.join("dangling.yaml"))
        .expect("symlink");
    let folder = vec![PathBuf::from(root)];
    let loaded = load_paths(&folder).expect("load_paths");
    let (included, _) = load_configuration(&Tree::Fs, &folder).expect("load_configuration");
    let names = |r: &Resources| {
        r.namespaces
            .iter()
            .map(|n| n.meta.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&loaded), ["a", "b"]);
    assert_eq!(names(&included), names(&loaded));
}
