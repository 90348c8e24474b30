//! The `istio` ConfigMap: its `mesh` key is a MeshConfig document inside a string, read by
//! `mesh_doc` (the same reader as the scenario `mesh:` block) with errors placed on file lines.

use k8s_openapi::api::core::v1 as core;
use serde_yaml::Value;

use super::load::LoadError;
use super::locate::{yaml_message, FieldPath};
use super::mesh_doc::MeshConfigDoc;
use super::parse::{require_name, typed, Rejection, Source};
use super::unmodelled;
use super::{MeshConfig, Object, Origin, Warning, WarningKind};

/// Parses the `mesh` string of the `istio` ConfigMap. `first_line` is the file line where the
/// string's first line sits, so errors inside it point at the right file line.
pub(crate) fn parse_mesh_text(
    text: &str,
    file: &std::path::Path,
    first_line: usize,
    origin: Origin,
) -> Result<MeshConfig, LoadError> {
    if text.trim().is_empty() {
        return Ok(MeshConfig {
            origin,
            ..MeshConfig::default()
        });
    }
    let doc: Option<MeshConfigDoc> = serde_yaml::from_str(text).map_err(|e| {
        let line = e
            .location()
            .map(|l| first_line + l.line().saturating_sub(1))
            .map(|l| l.min(first_line + text.lines().count().saturating_sub(1)))
            .unwrap_or(first_line);
        LoadError {
            origin: Origin {
                file: file.to_path_buf(),
                line,
            },
            message: format!(
                "invalid MeshConfig in ConfigMap istio data.mesh: {}",
                yaml_message(&e)
            ),
        }
    })?;
    Ok(doc
        .unwrap_or_default()
        .apply(&MeshConfig::default(), origin))
}

/// The `istio` ConfigMap carries MeshConfig in `data.mesh`, `istio-ca-root-cert` the roots
/// istiod distributes; every other ConfigMap is skipped.
pub(crate) fn config_map(
    value: &Value,
    src: &Source<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Object>, Rejection> {
    let cm: core::ConfigMap = typed(value, src, warnings)?;
    require_name(&cm.metadata, src)?;
    let name = cm.metadata.name.clone().unwrap_or_default();
    let namespace = cm
        .metadata
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| src.default_namespace().to_string());
    if let Some(wanted) = src.namespace.filter(|w| *w != namespace) {
        return Err(Rejection::Object(src.error(
            &FieldPath::root().key("metadata").key("namespace"),
            format!(
                "ConfigMap {name}: the namespace from the provided object \"{namespace}\" does not \
                 match the namespace \"{wanted}\" given with -n (kubectl apply refuses it too); \
                 drop -n or the object's namespace"
            ),
        )));
    }
    if name == "istio-ca-root-cert" {
        return root_cert(&cm, name, namespace, src).map(Some);
    }
    if name != "istio" {
        warnings.push(Warning {
            kind: WarningKind::Skipped,
            unmodelled: None,
            origin: src.origin(),
            message: format!("skipped ConfigMap {namespace}/{name}: only ConfigMap `istio` (MeshConfig) is modelled"),
        });
        return Ok(None);
    }
    let mesh_text = cm
        .data
        .as_ref()
        .and_then(|d| d.get("mesh"))
        .cloned()
        .unwrap_or_default();
    let mesh_path = FieldPath::root().key("data").key("mesh");
    let key_line = src.at(&mesh_path).line;
    // A block scalar (`mesh: |`) starts on the line after the key.
    let first_line = match src.doc.map(|d| d.text.as_str()) {
        Some(_) if !mesh_text.contains('\n') => key_line,
        Some(_) => key_line + 1,
        None => key_line,
    };
    // Its messages name the ConfigMap.
    let mesh = parse_mesh_text(&mesh_text, src.file, first_line, src.origin())
        .map_err(Rejection::Object)?;
    // Istio reads the mesh config from the root namespace; `istio-system` is the default.
    if namespace != "istio-system" && namespace != mesh.root_namespace {
        warnings.push(Warning {
            kind: WarningKind::Skipped,
            unmodelled: None,
            origin: src.origin(),
            message: format!(
                "skipped ConfigMap {namespace}/istio: MeshConfig is read from the root namespace \
                 ({}), not {namespace}",
                mesh.root_namespace
            ),
        });
        return Ok(None);
    }
    // Valid keys meshsim does not model: warn with what it assumes.
    if let Ok(doc) = serde_yaml::from_str::<Value>(&mesh_text) {
        let line_of = |key: &str| Origin {
            file: src.file.to_path_buf(),
            line: mesh_text
                .lines()
                .position(|l| l.starts_with(key) && l[key.len()..].trim_start().starts_with(':'))
                .map_or(key_line, |i| first_line + i),
        };
        warnings.extend(unmodelled::mesh_fields(
            &doc,
            &format!("{namespace}/istio"),
            line_of,
        ));
    }
    Ok(Some(Object::MeshConfig(mesh)))
}

/// `istio-ca-root-cert`: `data["root-cert.pem"]`, one or more PEM certificates.
fn root_cert(
    cm: &core::ConfigMap,
    name: String,
    namespace: String,
    src: &Source<'_>,
) -> Result<Object, Rejection> {
    let path = FieldPath::root().key("data").key("root-cert.pem");
    let bad = |m: String| Rejection::Object(src.error(&path, m));
    let pem = cm
        .data
        .as_ref()
        .and_then(|d| d.get("root-cert.pem"))
        .ok_or_else(|| {
            bad(format!(
                "ConfigMap {namespace}/{name}: no data.root-cert.pem (expected the PEM roots istiod distributes)"
            ))
        })?;
    let mut roots = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|e| {
            bad(format!(
                "ConfigMap {namespace}/{name}: data.root-cert.pem is not PEM: {e}"
            ))
        })?;
        if block.label == "CERTIFICATE" {
            crate::pki::inspect(&block.contents).map_err(|e| {
                bad(format!(
                    "ConfigMap {namespace}/{name}: a root in data.root-cert.pem does not parse: {e}"
                ))
            })?;
            roots.push(block.contents);
        }
    }
    if roots.is_empty() {
        return Err(bad(format!(
            "ConfigMap {namespace}/{name}: data.root-cert.pem holds no CERTIFICATE"
        )));
    }
    let mut meta =
        super::k8s_convert::meta(&cm.metadata, true, src.origin(), src.default_namespace());
    meta.namespace = namespace;
    Ok(Object::RootCert(super::RootCertConfigMap { meta, roots }))
}
