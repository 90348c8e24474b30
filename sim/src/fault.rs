//! The fault vocabulary of failure-modes.md: state that plain YAML cannot express. A fault only
//! changes simulator state; the diagnosis never reads this list.

use std::collections::BTreeMap;
use std::fmt;

use crate::clock::parse_duration;
use crate::model::TlsVersion;
use crate::tls_params::{CipherSuite, TlsParamsOverride, UnknownCipherSuite};

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The workload's sidecar never receives a certificate.
    MissingCert {
        /// `NS/WORKLOAD`.
        workload: String,
    },
    /// The workload's current certificate is replaced by one already past notAfter.
    ExpiredCert {
        /// `NS/WORKLOAD`.
        workload: String,
    },
    /// The workload's clock is off by `offset_secs` (positive: ahead).
    ClockSkew {
        /// `NS/WORKLOAD`.
        workload: String,
        /// Signed offset in seconds.
        offset_secs: i64,
    },
    /// istiod is down: no CSR is signed until it is back.
    IstiodDown,
    /// istiod lacks permission to review tokens: every CSR fails authentication.
    IstiodRbacDenied,
    /// The CA signs at most this many CSRs per virtual second.
    CsrRateLimit {
        /// Accepted CSRs per second.
        per_second: u32,
    },
    /// The service account is deleted after its pods started.
    DeleteServiceAccount {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// istiod switches to a new root; only the listed workloads restart and pick it up.
    RotateRoot {
        /// `NS/WORKLOAD` entries restarted after the rotation.
        restart: Vec<String>,
    },
    /// A plug-in CA (`cacerts`) signs through an intermediate; `trust_bundle: false` leaves its
    /// root out of the distributed bundle.
    PluginCa {
        /// Whether the plug-in root is distributed to proxies.
        trust_bundle: bool,
    },
    /// The CA's signing certificate is expired.
    ExpireCaCert,
    /// The root certificate is expired.
    ExpireRoot,
    /// The workload's sidecar uses these TLS parameters.
    TlsParams {
        /// `NS/WORKLOAD`.
        workload: String,
        /// What changes from the mesh's parameters.
        params: TlsParamsOverride,
    },
}

/// Every fault type name, as `--fault` and scenario `faults:` spell them.
pub const FAULT_TYPES: &[&str] = &[
    "missing-cert",
    "expired-cert",
    "clock-skew",
    "istiod-down",
    "istiod-rbac-denied",
    "csr-rate-limit",
    "delete-service-account",
    "rotate-root",
    "plugin-ca",
    "expire-ca-cert",
    "expire-root",
    "tls-params",
];

/// Why a fault spec or map was rejected; the variants callers act on (a "did you mean" for a
/// misspelt type or key) carry the words, the rest only a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// The type is not in `FAULT_TYPES`.
    #[error("unknown fault type {ty:?}; expected one of: {}", FAULT_TYPES.join(", "))]
    UnknownType {
        /// The type as written.
        ty: String,
    },
    /// A key the fault type does not take.
    #[error("fault {ty}: unknown key {key:?}")]
    UnknownKey {
        /// The fault type.
        ty: String,
        /// The key as written.
        key: String,
        /// The keys this fault type takes.
        expected: Vec<&'static str>,
    },
    /// A key the fault type requires is absent.
    #[error("fault {ty}: missing {key}=...")]
    MissingKey {
        /// The fault type.
        ty: String,
        /// The required key.
        key: &'static str,
    },
    /// Any other malformed input (a bad value, a malformed spec).
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> FaultError {
    FaultError::Invalid(message.into())
}

/// Parameters as written (`key -> one or more values`), and the keys the fault type's parser
/// asked for: the keys it takes, so an unknown key's error lists them without a second list.
#[derive(Debug, Default)]
struct Params {
    given: BTreeMap<String, Vec<String>>,
    asked: Vec<&'static str>,
}

impl Params {
    /// The values written for `key`, recording that this fault type takes it.
    fn take(&mut self, key: &'static str) -> Option<Vec<String>> {
        if !self.asked.contains(&key) {
            self.asked.push(key);
        }
        self.given.remove(key)
    }
}

impl Fault {
    /// Parses the CLI form `TYPE[:KEY=VALUE[,KEY=VALUE]...]`. A key may repeat to give a list
    /// (`rotate-root:restart=foo/a,restart=foo/b`); lists may also be `;`-separated.
    pub fn parse_spec(spec: &str) -> Result<Fault, FaultError> {
        let (ty, rest) = match spec.split_once(':') {
            Some((t, r)) => (t.trim(), r),
            None => (spec.trim(), ""),
        };
        let mut params = Params::default();
        for pair in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| invalid(format!("fault {ty}: expected KEY=VALUE, got {pair:?}")))?;
            let entry = params.given.entry(k.trim().to_string()).or_default();
            entry.extend(
                v.split(';')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
            );
        }
        Fault::from_params(ty, params)
    }

    /// Parses the scenario form: a map with `type:` and the fault's keys.
    pub fn from_yaml(value: &serde_yaml::Value) -> Result<Fault, FaultError> {
        let map = value
            .as_mapping()
            .ok_or_else(|| invalid("a fault must be a map like {type: istiod-down}"))?;
        let mut ty = None;
        let mut params = Params::default();
        for (k, v) in map {
            let key = k
                .as_str()
                .ok_or_else(|| invalid("fault keys must be strings"))?
                .to_string();
            if key == "type" {
                ty = Some(scalar(v).ok_or_else(|| invalid("fault `type` must be a string"))?);
                continue;
            }
            let values = match v {
                serde_yaml::Value::Sequence(items) => items
                    .iter()
                    .map(|i| {
                        scalar(i).ok_or_else(|| {
                            invalid(format!("fault key {key}: list items must be scalars"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                other => vec![scalar(other).ok_or_else(|| {
                    invalid(format!("fault key {key}: expected a scalar or a list"))
                })?],
            };
            params.given.insert(key, values);
        }
        let ty =
            ty.ok_or_else(|| invalid("a fault needs `type:` (one of the fault vocabulary)"))?;
        Fault::from_params(&ty, params)
    }

    fn from_params(ty: &str, mut p: Params) -> Result<Fault, FaultError> {
        let fault = match ty {
            "missing-cert" => Fault::MissingCert {
                workload: workload(ty, &mut p)?,
            },
            "expired-cert" => Fault::ExpiredCert {
                workload: workload(ty, &mut p)?,
            },
            "clock-skew" => {
                let workload = workload(ty, &mut p)?;
                let raw = one(ty, &mut p, "offset")?;
                let (neg, body) = match raw.strip_prefix('-') {
                    Some(b) => (true, b),
                    None => (false, raw.strip_prefix('+').unwrap_or(&raw)),
                };
                let secs = parse_duration(body)
                    .map_err(|e| invalid(format!("fault {ty}: {e}")))?
                    .as_secs() as i64;
                Fault::ClockSkew {
                    workload,
                    offset_secs: if neg { -secs } else { secs },
                }
            }
            "istiod-down" => Fault::IstiodDown,
            "istiod-rbac-denied" => Fault::IstiodRbacDenied,
            "csr-rate-limit" => {
                let raw = one(ty, &mut p, "per_second")?;
                let per_second = raw.parse().map_err(|_| {
                    invalid(format!(
                        "fault {ty}: per_second must be a whole number, got {raw:?}"
                    ))
                })?;
                Fault::CsrRateLimit { per_second }
            }
            "delete-service-account" => Fault::DeleteServiceAccount {
                namespace: one(ty, &mut p, "namespace")?,
                name: one(ty, &mut p, "name")?,
            },
            "rotate-root" => {
                let restart = p.take("restart").unwrap_or_default();
                for w in &restart {
                    check_workload(ty, w)?;
                }
                Fault::RotateRoot { restart }
            }
            "plugin-ca" => {
                let trust_bundle = match p.take("trust_bundle").as_deref() {
                    None => true,
                    Some([v]) if v == "true" => true,
                    Some([v]) if v == "false" => false,
                    Some(other) => {
                        return Err(invalid(format!(
                            "fault {ty}: trust_bundle must be true or false, got {other:?}"
                        )))
                    }
                };
                Fault::PluginCa { trust_bundle }
            }
            "expire-ca-cert" => Fault::ExpireCaCert,
            "expire-root" => Fault::ExpireRoot,
            "tls-params" => {
                let workload = workload(ty, &mut p)?;
                let version =
                    |p: &mut Params, key: &'static str| -> Result<Option<TlsVersion>, FaultError> {
                        match p.take(key).as_deref() {
                            None => Ok(None),
                            Some([v]) => TlsVersion::parse(v).map(Some).ok_or_else(|| {
                                invalid(format!(
                                    "fault {ty}: {key} must be TLSV1_2 or TLSV1_3, got {v:?}"
                                ))
                            }),
                            Some(_) => Err(invalid(format!("fault {ty}: {key} takes one value"))),
                        }
                    };
                let min_version = version(&mut p, "min_version")?;
                let max_version = version(&mut p, "max_version")?;
                // Strict here: a fault names suites on purpose, so a typo is an input error.
                let cipher_suites = p
                    .take("cipher_suites")
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|c| CipherSuite::parse_entry(c))
                    .map(|c| match c {
                        CipherSuite::Unknown(name) => {
                            Err(invalid(format!("fault {ty}: {}", UnknownCipherSuite(name))))
                        }
                        known => Ok(known),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Fault::TlsParams {
                    workload,
                    params: TlsParamsOverride {
                        min_version,
                        max_version,
                        cipher_suites,
                    },
                }
            }
            other => {
                return Err(FaultError::UnknownType {
                    ty: other.to_string(),
                })
            }
        };
        if let Some(extra) = p.given.keys().next() {
            return Err(FaultError::UnknownKey {
                ty: ty.to_string(),
                key: extra.clone(),
                expected: p.asked.clone(),
            });
        }
        Ok(fault)
    }

    /// The vocabulary name of this fault.
    pub fn type_name(&self) -> &'static str {
        match self {
            Fault::MissingCert { .. } => "missing-cert",
            Fault::ExpiredCert { .. } => "expired-cert",
            Fault::ClockSkew { .. } => "clock-skew",
            Fault::IstiodDown => "istiod-down",
            Fault::IstiodRbacDenied => "istiod-rbac-denied",
            Fault::CsrRateLimit { .. } => "csr-rate-limit",
            Fault::DeleteServiceAccount { .. } => "delete-service-account",
            Fault::RotateRoot { .. } => "rotate-root",
            Fault::PluginCa { .. } => "plugin-ca",
            Fault::ExpireCaCert => "expire-ca-cert",
            Fault::ExpireRoot => "expire-root",
            Fault::TlsParams { .. } => "tls-params",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())?;
        let mut kv: Vec<String> = Vec::new();
        match self {
            Fault::MissingCert { workload } | Fault::ExpiredCert { workload } => {
                kv.push(format!("workload={workload}"))
            }
            Fault::ClockSkew {
                workload,
                offset_secs,
            } => {
                kv.push(format!("workload={workload}"));
                kv.push(format!("offset={offset_secs}s"));
            }
            Fault::CsrRateLimit { per_second } => kv.push(format!("per_second={per_second}")),
            Fault::DeleteServiceAccount { namespace, name } => {
                kv.push(format!("namespace={namespace}"));
                kv.push(format!("name={name}"));
            }
            Fault::RotateRoot { restart } => {
                kv.extend(restart.iter().map(|w| format!("restart={w}")))
            }
            Fault::PluginCa { trust_bundle } => kv.push(format!("trust_bundle={trust_bundle}")),
            Fault::TlsParams { workload, params } => {
                kv.push(format!("workload={workload}"));
                if let Some(v) = params.min_version {
                    kv.push(format!("min_version={}", v.as_str()));
                }
                if let Some(v) = params.max_version {
                    kv.push(format!("max_version={}", v.as_str()));
                }
                kv.extend(
                    params
                        .cipher_suites
                        .iter()
                        .map(|c| format!("cipher_suites={c}")),
                );
            }
            Fault::IstiodDown
            | Fault::IstiodRbacDenied
            | Fault::ExpireCaCert
            | Fault::ExpireRoot => {}
        }
        if !kv.is_empty() {
            write!(f, ":{}", kv.join(","))?;
        }
        Ok(())
    }
}

fn scalar(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn one(ty: &str, p: &mut Params, key: &'static str) -> Result<String, FaultError> {
    match p.take(key).as_deref() {
        Some([v]) => Ok(v.clone()),
        Some(_) => Err(invalid(format!(
            "fault {ty}: {key} takes exactly one value"
        ))),
        None => Err(FaultError::MissingKey {
            ty: ty.to_string(),
            key,
        }),
    }
}

fn workload(ty: &str, p: &mut Params) -> Result<String, FaultError> {
    let w = one(ty, p, "workload")?;
    check_workload(ty, &w)?;
    Ok(w)
}

fn check_workload(ty: &str, w: &str) -> Result<(), FaultError> {
    match w.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => Ok(()),
        _ => Err(invalid(format!(
            "fault {ty}: workload must be NAMESPACE/WORKLOAD, got {w:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_spec_and_display_round_trip() {
        for spec in [
            "istiod-down",
            "expired-cert:workload=foo/httpbin",
            "rotate-root:restart=foo/a,restart=foo/b",
            "clock-skew:workload=foo/a,offset=-3600s",
            "tls-params:workload=foo/a,min_version=TLSV1_3",
        ] {
            let f = Fault::parse_spec(spec).unwrap();
            assert_eq!(Fault::parse_spec(&f.to_string()).unwrap(), f, "{spec}");
        }
    }

    #[test]
    fn unknown_fault_type_lists_the_vocabulary() {
        let e = Fault::parse_spec("istiod-sad").unwrap_err();
        assert_eq!(
            e,
            FaultError::UnknownType {
                ty: "istiod-sad".into()
            }
        );
        assert!(e.to_string().contains("istiod-down"), "{e}");
    }

    #[test]
    fn yaml_fault_reads_lists_and_rejects_unknown_keys() {
        let v: serde_yaml::Value =
            serde_yaml::from_str("{type: rotate-root, restart: [default/httpbin]}").unwrap();
        assert_eq!(
            Fault::from_yaml(&v).unwrap(),
            Fault::RotateRoot {
                restart: vec!["default/httpbin".into()]
            }
        );
        let v: serde_yaml::Value = serde_yaml::from_str("{type: istiod-down, when: now}").unwrap();
        assert_eq!(
            Fault::from_yaml(&v).unwrap_err(),
            FaultError::UnknownKey {
                ty: "istiod-down".into(),
                key: "when".into(),
                expected: vec![],
            }
        );
    }

    #[test]
    fn clock_skew_accepts_signed_durations() {
        let f = Fault::parse_spec("clock-skew:workload=a/b,offset=-2h").unwrap();
        assert_eq!(
            f,
            Fault::ClockSkew {
                workload: "a/b".into(),
                offset_secs: -7200
            }
        );
    }
}
