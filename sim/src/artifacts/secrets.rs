//! `istioctl proxy-config secret POD.NAMESPACE -o json`: the Envoy admin `SecretsConfigDump`
//! (`envoy/admin/v3/config_dump_shared.proto`), printed by istioctl's
//! `ConfigWriter.PrintSecretDump` (`istioctl/pkg/writer/envoy/configdump/configdump.go`) with
//! `protomarshal.ToJSONWithIndent`, i.e. jsonpb's lowerCamelCase names (`dynamicActiveSecrets`,
//! `tlsCertificate.certificateChain.inlineBytes`); Envoy's own `/config_dump` spells them
//! snake_case, and both are read. Each secret's bytes are base64 of PEM. Private keys arrive as
//! `[redacted]`, so only certificates are kept. A whole `/config_dump` (`{"configs": [...]}`)
//! is accepted too: its `SecretsConfigDump` entry is read.

use base64::Engine;
use rustls_pki_types::CertificateDer;
use serde_json::Value;

use super::{line_of, ArtifactError};
use crate::SimTime;

const EXPECTED: &str = "the JSON `istioctl proxy-config secret POD.NAMESPACE -o json` prints \
                        (an object with dynamicActiveSecrets)";

/// What one proxy's SDS holds, as the secret dump shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretDump {
    /// Active `default`: the workload certificate chain, leaf first (empty when none).
    pub chain: Vec<CertificateDer<'static>>,
    /// Active `ROOTCA`: the trusted roots.
    pub roots: Vec<CertificateDer<'static>>,
    /// When the active `default` was last updated (`lastUpdated`).
    pub chain_updated: Option<SimTime>,
    /// Names of secrets Envoy requested but SDS has not delivered (`dynamicWarmingSecrets`).
    pub warming: Vec<String>,
    /// Names of other active secrets (e.g. `file-cert:...` from a DestinationRule), not modelled.
    pub other: Vec<String>,
}

/// Reads one secret dump; `file` names it in errors.
pub fn parse_secret_dump(file: &str, text: &str) -> Result<SecretDump, ArtifactError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ArtifactError::Malformed {
        file: file.into(),
        line: e.line().max(1),
        problem: format!("not JSON: {e}"),
        expected: EXPECTED,
    })?;
    let dump = secrets_dump_of(&value).ok_or_else(|| ArtifactError::WrongShape {
        file: file.into(),
        problem: "no dynamicActiveSecrets or dynamicWarmingSecrets".into(),
        expected: EXPECTED,
    })?;
    let mut out = SecretDump::default();
    for entry in array(dump, "dynamicActiveSecrets", "dynamic_active_secrets") {
        read_active(file, text, entry, &mut out)?;
    }
    for entry in array(dump, "dynamicWarmingSecrets", "dynamic_warming_secrets") {
        if let Some(name) = entry.get("name").and_then(Value::as_str) {
            out.warming.push(name.to_string());
        }
    }
    Ok(out)
}

/// The `SecretsConfigDump` object: the value itself, or the matching entry of `configs`.
fn secrets_dump_of(v: &Value) -> Option<&Value> {
    let is_dump = |v: &Value| {
        [
            "dynamicActiveSecrets",
            "dynamic_active_secrets",
            "dynamicWarmingSecrets",
            "dynamic_warming_secrets",
        ]
        .iter()
        .any(|k| v.get(k).is_some())
            || v.get("@type").and_then(Value::as_str)
                == Some("type.googleapis.com/envoy.admin.v3.SecretsConfigDump")
    };
    if is_dump(v) {
        return Some(v);
    }
    v.get("configs")?.as_array()?.iter().find(|c| is_dump(c))
}

/// `v[camel]` or `v[snake]`.
fn field<'v>(v: &'v Value, camel: &str, snake: &str) -> Option<&'v Value> {
    v.get(camel).or_else(|| v.get(snake))
}

fn array<'v>(v: &'v Value, camel: &str, snake: &str) -> impl Iterator<Item = &'v Value> {
    field(v, camel, snake)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn read_active(
    file: &str,
    text: &str,
    entry: &Value,
    out: &mut SecretDump,
) -> Result<(), ArtifactError> {
    let Some(secret) = entry.get("secret") else {
        return Ok(());
    };
    let name = entry
        .get("name")
        .or_else(|| secret.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    fn inline(holder: Option<&Value>) -> Option<&str> {
        holder
            .and_then(|h| field(h, "inlineBytes", "inline_bytes"))
            .and_then(Value::as_str)
    }
    if let Some(tls) = field(secret, "tlsCertificate", "tls_certificate") {
        let chain = inline(field(tls, "certificateChain", "certificate_chain"));
        if name == "default" {
            if let Some(b64) = chain {
                out.chain = certificates(file, text, b64)?;
            }
            out.chain_updated = field(entry, "lastUpdated", "last_updated")
                .and_then(Value::as_str)
                .and_then(super::parse_rfc3339);
            return Ok(());
        }
    }
    if let Some(vc) = field(secret, "validationContext", "validation_context") {
        if name == "ROOTCA" {
            if let Some(b64) = inline(field(vc, "trustedCa", "trusted_ca")) {
                out.roots = certificates(file, text, b64)?;
            }
            return Ok(());
        }
    }
    if !name.is_empty() {
        out.other.push(name.to_string());
    }
    Ok(())
}

/// The certificates of one `inlineBytes` value: base64 of one or more PEM `CERTIFICATE` blocks.
fn certificates(
    file: &str,
    text: &str,
    b64: &str,
) -> Result<Vec<CertificateDer<'static>>, ArtifactError> {
    let line = text.find(b64).map_or(1, |at| line_of(text, at));
    let bad = |problem: String| ArtifactError::Malformed {
        file: file.into(),
        line,
        problem,
        expected: "inlineBytes holding base64 of PEM CERTIFICATE blocks",
    };
    let pem = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| bad(format!("inlineBytes is not base64: {e}")))?;
    let mut out = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(&pem) {
        let block = block.map_err(|e| bad(format!("inlineBytes is not PEM: {e}")))?;
        if block.label != "CERTIFICATE" {
            continue;
        }
        crate::pki::inspect(&block.contents)
            .map_err(|e| bad(format!("a CERTIFICATE block does not parse: {e}")))?;
        out.push(CertificateDer::from(block.contents));
    }
    if out.is_empty() {
        return Err(bad("inlineBytes holds no CERTIFICATE block".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

/// The dump `istioctl proxy-config secret -o json` prints for a proxy holding `chain` (SDS
/// `default`, none when empty) and `roots` (`ROOTCA`), updated at `at`: what a simulated mesh
/// exports so its proxies can be diagnosed like a real cluster's. Keys print redacted, as
/// istioctl prints them.
pub fn render_secret_dump(
    chain: &[CertificateDer<'_>],
    roots: &[CertificateDer<'_>],
    at: SimTime,
) -> String {
    let b64 = |ders: &[CertificateDer<'_>]| {
        let pem = crate::pki::pem::certs_pem(ders.iter().map(|d| d.as_ref()));
        base64::engine::general_purpose::STANDARD.encode(pem)
    };
    let stamp = |t: SimTime| {
        let st = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.unix_secs());
        humantime::format_rfc3339_millis(st).to_string()
    };
    let mut active = Vec::new();
    let mut warming = Vec::new();
    let default = |secret: Value| serde_json::json!({"name": "default", "versionInfo": stamp(at), "lastUpdated": stamp(at), "secret": secret});
    if chain.is_empty() {
        warming.push(serde_json::json!({
            "name": "default", "versionInfo": "uninitialized", "lastUpdated": stamp(at),
            "secret": {"@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret", "name": "default"}
        }));
    } else {
        active.push(default(serde_json::json!({
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
            "name": "default",
            "tlsCertificate": {
                "certificateChain": {"inlineBytes": b64(chain)},
                "privateKey": {"inlineBytes": "W3JlZGFjdGVkXQ=="}
            }
        })));
    }
    if !roots.is_empty() {
        active.push(serde_json::json!({
            "name": "ROOTCA", "versionInfo": stamp(at), "lastUpdated": stamp(at),
            "secret": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
                "name": "ROOTCA",
                "validationContext": {"trustedCa": {"inlineBytes": b64(roots)}}
            }
        }));
    }
    let mut dump = serde_json::Map::new();
    if !active.is_empty() {
        dump.insert("dynamicActiveSecrets".into(), Value::Array(active));
    }
    if !warming.is_empty() {
        dump.insert("dynamicWarmingSecrets".into(), Value::Array(warming));
    }
    let mut s = serde_json::to_string_pretty(&Value::Object(dump)).unwrap_or_default();
    s.push('\n');
    s
}
