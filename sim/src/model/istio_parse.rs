//! Istio custom resources: the shared object shape, explicit-null and string-type checks the
//! CRD schemas enforce, and `portLevelMtls` keys as `kubectl` prints them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml::Value;

use super::k8s_convert;
use super::load::LoadError;
use super::locate::FieldPath;
use super::parse::{require_name, typed, typed_impl, Rejection, Source};
use super::{Meta, Warning};

/// The shape shared by Istio custom resources.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IstioResource<S> {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: Option<S>,
    #[serde(default)]
    #[allow(dead_code)]
    status: Option<Value>,
}

/// Metadata and spec of an Istio resource, after the null and string-type checks.
pub(crate) fn istio_object<S: DeserializeOwned + Default>(
    value: &Value,
    src: &Source<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<(Meta, S), Rejection> {
    // Its messages name the object, as the CRD schema's do.
    check_nulls(value, src).map_err(Rejection::Object)?;
    let normalised = normalise_port_keys(value, src)?;
    let res: IstioResource<S> = match &normalised {
        // Port keys were rewritten: deserialise the rewritten value, locating errors by path.
        Some(v) => typed_impl(v, src, warnings, false)?,
        None => typed(value, src, warnings)?,
    };
    require_name(&res.metadata, src)?;
    let meta = k8s_convert::meta(&res.metadata, true, src.origin(), src.default_namespace());
    Ok((meta, res.spec.unwrap_or_default()))
}

/// Kubernetes serialises map keys as strings, so a dump holds `portLevelMtls: {"8080": ...}`;
/// turn numeric string keys into integers. A key that is no port number is rejected with
/// Istio's message.
fn normalise_port_keys(value: &Value, src: &Source<'_>) -> Result<Option<Value>, LoadError> {
    let Some(plm) = value
        .get("spec")
        .and_then(|s| s.get("portLevelMtls"))
        .and_then(|p| p.as_mapping())
    else {
        return Ok(None);
    };
    let path = FieldPath::root().key("spec").key("portLevelMtls");
    let mut out = serde_yaml::Mapping::new();
    let mut changed = false;
    for (k, v) in plm {
        let number = match k {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => {
                changed = true;
                s.trim().parse::<u64>().ok()
            }
            _ => None,
        };
        let Some(n) = number.filter(|n| *n <= u64::from(u32::MAX)) else {
            let shown = serde_yaml::to_string(k).unwrap_or_default();
            return Err(src.error(
                &path,
                format!(
                    "spec.portLevelMtls: port must be in range 1..65535, found key `{}`",
                    shown.trim()
                ),
            ));
        };
        out.insert(Value::Number(n.into()), v.clone());
    }
    if !changed {
        return Ok(None);
    }
    let mut copy = value.clone();
    if let Some(spec) = copy.get_mut("spec").and_then(|s| s.as_mapping_mut()) {
        spec.insert(Value::String("portLevelMtls".into()), Value::Mapping(out));
    }
    Ok(Some(copy))
}

/// Istio's CRD schemas declare no nullable field in these specs except the `enabled` wrappers,
/// so an explicit null is a schema violation. Kubernetes would prune it silently (turning, for
/// example, a `from:` restriction into a wildcard); meshsim rejects it so the author notices.
fn check_nulls(value: &Value, src: &Source<'_>) -> Result<(), LoadError> {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("object");
    let meta = value.get("metadata");
    let field = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_str);
    let object = format!(
        "{kind} {}/{}",
        field("namespace").unwrap_or("default"),
        field("name").unwrap_or("(unnamed)")
    );
    fn walk(v: &Value, path: &FieldPath, found: &mut Option<FieldPath>) {
        if found.is_some() {
            return;
        }
        match v {
            Value::Mapping(m) => {
                for (k, child) in m {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => serde_yaml::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    let child_path = path.key(&key);
                    if child.is_null() && key != "enabled" {
                        *found = Some(child_path);
                        return;
                    }
                    walk(child, &child_path, found);
                }
            }
            Value::Sequence(items) => {
                for (i, child) in items.iter().enumerate() {
                    let child_path = path.index(i);
                    if child.is_null() {
                        *found = Some(child_path);
                        return;
                    }
                    walk(child, &child_path, found);
                }
            }
            _ => {}
        }
    }
    let Some(spec) = value.get("spec") else {
        return Ok(());
    };
    let mut found = None;
    walk(spec, &FieldPath::root().key("spec"), &mut found);
    if found.is_none() {
        if let Some(rules) = spec.get("rules") {
            if let Some(path) =
                non_string_scalar(rules, &FieldPath::root().key("spec").key("rules"))
            {
                return Err(src.error(
                    &path,
                    format!(
                        "invalid {object}: {path}: must be of type string (the CRD schema \
                         rejects numbers and booleans here; quote the value)"
                    ),
                ));
            }
        }
    }
    match found {
        None => Ok(()),
        Some(path) => Err(src.error(
            &path,
            format!(
                "invalid {object}: {path}: must not be null; write a value or remove the key \
                 (Kubernetes would drop the null silently and change what the policy means)"
            ),
        )),
    }
}

/// Every list under an AuthorizationPolicy's `rules` holds strings (`ports: ["8080"]`); a bare
/// number is a schema error the API server reports, though YAML parsers would coerce it.
fn non_string_scalar(v: &Value, path: &FieldPath) -> Option<FieldPath> {
    match v {
        Value::Mapping(m) => m.iter().find_map(|(k, child)| {
            let key = k.as_str().unwrap_or_default();
            non_string_scalar(child, &path.key(key))
        }),
        Value::Sequence(items) => items.iter().enumerate().find_map(|(i, child)| match child {
            Value::Number(_) | Value::Bool(_) => Some(path.index(i)),
            other => non_string_scalar(other, &path.index(i)),
        }),
        _ => None,
    }
}
