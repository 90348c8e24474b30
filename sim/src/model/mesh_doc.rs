//! The MeshConfig fields meshsim models, as written (the `mesh` key of the `istio` ConfigMap, or
//! a scenario's `mesh:` block), and the one rule that turns them into the effective
//! `MeshConfig`. Both inputs go through this module so they cannot drift apart.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::{ExtAuthzApi, ExtAuthzProvider, MeshConfig, Origin, OutboundTrafficMode, TlsVersion};
use crate::vocab::{IstioRelease, PathNormalization};

/// The modelled MeshConfig keys, in Istio's spelling, followed by any extra keys: one list for
/// both the ConfigMap's key set and the scenario block's (serde's `unknown_field` wants a static
/// slice, so the second list is spelled by the same macro rather than built at run time).
macro_rules! mesh_fields {
    ($($extra:expr),*) => {
        &[
            "trustDomain",
            "trustDomainAliases",
            "rootNamespace",
            "enableAutoMtls",
            "meshMTLS",
            "extensionProviders",
            "pathNormalization",
            "outboundTrafficPolicy",
            $($extra),*
        ]
    };
}

/// The modelled MeshConfig keys, in Istio's spelling.
pub(crate) const MESH_FIELDS: &[&str] = mesh_fields!();

/// meshsim's own key of a scenario's `mesh:` block: the Istio release to follow. It is not a
/// MeshConfig field, so the `istio` ConfigMap ignores it like any key meshsim does not model.
const ISTIO_VERSION: &str = "istioVersion";

/// The keys a scenario's `mesh:` block accepts (the MeshConfig keys and `istioVersion`).
const STRICT_FIELDS: &[&str] = mesh_fields!(ISTIO_VERSION);

/// The modelled `meshMTLS` keys.
const MTLS_FIELDS: &[&str] = &["minProtocolVersion", "cipherSuites"];

/// `meshMTLS.minProtocolVersion` as written: `TLS_AUTO` (the proto default, "Istio's default",
/// TLS 1.2) or an explicit version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinProtocolVersion {
    /// `TLS_AUTO` (or an empty string).
    Auto,
    /// `TLSV1_2` or `TLSV1_3`.
    Version(TlsVersion),
}

/// `meshMTLS`, as written (`pkg/config/mesh/mesh.go` reads `MeshConfig.MeshMTLS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeshMtlsDoc {
    /// `minProtocolVersion`.
    pub min_protocol_version: Option<MinProtocolVersion>,
    /// `cipherSuites`.
    pub cipher_suites: Option<Vec<String>>,
}

/// The modelled subset of a MeshConfig document; `None` is "not written". Deserialising it
/// ignores every other MeshConfig key, as istiod ignores what a component does not use; wrap it
/// in [`StrictMeshConfigDoc`] to reject them instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeshConfigDoc {
    /// `trustDomain`.
    pub trust_domain: Option<String>,
    /// `trustDomainAliases`.
    pub trust_domain_aliases: Option<Vec<String>>,
    /// `rootNamespace`.
    pub root_namespace: Option<String>,
    /// `enableAutoMtls`.
    pub enable_auto_mtls: Option<bool>,
    /// `meshMTLS`.
    pub mesh_mtls: Option<MeshMtlsDoc>,
    /// `extensionProviders` (only the ext_authz kinds are kept).
    pub extension_providers: Option<Vec<ExtAuthzProvider>>,
    /// `pathNormalization.normalization`.
    pub path_normalization: Option<PathNormalization>,
    /// `istioVersion` (scenario `mesh:` block only).
    pub istio_version: Option<IstioRelease>,
    /// `outboundTrafficPolicy.mode`.
    pub outbound_traffic_policy: Option<OutboundTrafficMode>,
}

/// `outboundTrafficPolicy:` as written: one key, `mode`. The YAML replaces the default message
/// whole (`protomarshal.ApplyYAML`), so a policy without `mode` is the proto's zero value,
/// `REGISTRY_ONLY`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboundTrafficPolicyDoc {
    #[serde(default)]
    mode: OutboundTrafficMode,
}

/// `pathNormalization:` as written: one key, `normalization`, a proto enum name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathNormalizationDoc {
    #[serde(default)]
    normalization: Option<NormalizationName>,
}

/// `MeshConfig.ProxyPathNormalization.NormalizationType`, spelled as the proto names it.
#[derive(Debug, Clone, Copy, Deserialize)]
enum NormalizationName {
    #[serde(rename = "DEFAULT")]
    Default,
    #[serde(rename = "NONE")]
    None,
    #[serde(rename = "BASE")]
    Base,
    #[serde(rename = "MERGE_SLASHES")]
    MergeSlashes,
    #[serde(rename = "DECODE_AND_MERGE_SLASHES")]
    DecodeAndMergeSlashes,
}

impl From<NormalizationName> for PathNormalization {
    fn from(name: NormalizationName) -> PathNormalization {
        match name {
            NormalizationName::Default | NormalizationName::Base => PathNormalization::Base,
            NormalizationName::None => PathNormalization::None,
            NormalizationName::MergeSlashes => PathNormalization::MergeSlashes,
            NormalizationName::DecodeAndMergeSlashes => PathNormalization::DecodeAndMergeSlashes,
        }
    }
}

/// One `extensionProviders` entry as written; only the ext_authz kinds are read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExtensionProviderDoc {
    #[serde(default)]
    name: String,
    #[serde(default)]
    envoy_ext_authz_http: Option<ExtAuthzDoc>,
    #[serde(default)]
    envoy_ext_authz_grpc: Option<ExtAuthzDoc>,
}

/// `envoyExtAuthzHttp` / `envoyExtAuthzGrpc`: where the authorizer runs.
#[derive(Debug, Default, Deserialize)]
struct ExtAuthzDoc {
    #[serde(default)]
    service: String,
    #[serde(default)]
    port: u32,
}

/// The provider kinds of `MeshConfig.ExtensionProvider` (a proto oneof), as `istio/api` spells
/// them; an entry names one of them besides `name`.
const PROVIDER_KINDS: &[&str] = &[
    "envoyExtAuthzHttp",
    "envoyExtAuthzGrpc",
    "zipkin",
    "lightstep",
    "datadog",
    "stackdriver",
    "opencensus",
    "skywalking",
    "opentelemetry",
    "prometheus",
    "envoyFileAccessLog",
    "envoyHttpAls",
    "envoyTcpAls",
    "envoyOtelAls",
    "sds",
];

/// The ext_authz providers of `extensionProviders`. In a scenario's `mesh:` block (`strict`) an
/// entry must be `name` plus exactly one provider kind, so a misspelt kind fails with a
/// suggestion instead of turning the provider into an undefined one.
fn provider_entries<E: de::Error>(
    entries: Vec<serde_yaml::Mapping>,
    strict: bool,
) -> Result<Vec<ExtAuthzProvider>, E> {
    let mut out = Vec::new();
    for entry in entries {
        if strict {
            let mut kinds = 0;
            for key in entry.keys() {
                let key = key.as_str().unwrap_or_default();
                if key == "name" {
                    continue;
                }
                if !PROVIDER_KINDS.contains(&key) {
                    return Err(E::unknown_field(key, PROVIDER_KINDS));
                }
                kinds += 1;
            }
            if kinds != 1 {
                return Err(E::custom(format!(
                    "an extensionProviders entry names exactly one provider kind, found {kinds}"
                )));
            }
        }
        let parsed: ExtensionProviderDoc =
            serde_yaml::from_value(serde_yaml::Value::Mapping(entry))
                .map_err(|e| E::custom(format!("extensionProviders: {e}")))?;
        out.extend(parsed.ext_authz());
    }
    Ok(out)
}

impl ExtensionProviderDoc {
    fn ext_authz(self) -> Option<ExtAuthzProvider> {
        let (api, doc) = match (self.envoy_ext_authz_http, self.envoy_ext_authz_grpc) {
            (Some(doc), _) => (ExtAuthzApi::Http, doc),
            (None, Some(doc)) => (ExtAuthzApi::Grpc, doc),
            (None, None) => return None,
        };
        Some(ExtAuthzProvider {
            name: self.name,
            api,
            service: doc.service,
            port: doc.port,
        })
    }
}

/// A [`MeshConfigDoc`] that rejects keys meshsim does not model: a scenario's `mesh:` block is
/// written for meshsim, so an unknown key there is a typo, not another component's setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrictMeshConfigDoc(pub MeshConfigDoc);

impl MeshConfigDoc {
    /// The effective MeshConfig: this document applied over `base`, as Istio's
    /// `ApplyMeshConfig(yaml, defaultConfig)` (`pkg/config/mesh/mesh.go`) applies the ConfigMap
    /// over `DefaultMeshConfig()`. A written field replaces the base's; an empty string is
    /// proto3's "unset", so an empty `trustDomain` or `rootNamespace` keeps the base
    /// (`cluster.local`, `istio-system` by default); `trustDomainAliases` become the sorted
    /// union of the written and the base aliases (`sets.New(...).SortedList()`).
    pub fn apply(&self, base: &MeshConfig, origin: Origin) -> MeshConfig {
        let mut mesh = MeshConfig {
            origin,
            ..base.clone()
        };
        if let Some(td) = self.trust_domain.as_ref().filter(|t| !t.is_empty()) {
            mesh.trust_domain = td.clone();
        }
        if let Some(aliases) = &self.trust_domain_aliases {
            mesh.trust_domain_aliases.extend(aliases.iter().cloned());
        }
        mesh.trust_domain_aliases.sort();
        mesh.trust_domain_aliases.dedup();
        if let Some(root) = self.root_namespace.as_ref().filter(|r| !r.is_empty()) {
            mesh.root_namespace = root.clone();
        }
        if let Some(auto) = self.enable_auto_mtls {
            mesh.enable_auto_mtls = auto;
        }
        if let Some(mtls) = &self.mesh_mtls {
            match mtls.min_protocol_version {
                Some(MinProtocolVersion::Auto) => mesh.min_protocol_version = None,
                Some(MinProtocolVersion::Version(v)) => mesh.min_protocol_version = Some(v),
                None => {}
            }
            if let Some(suites) = &mtls.cipher_suites {
                mesh.cipher_suites = suites.clone();
            }
        }
        if let Some(providers) = &self.extension_providers {
            mesh.ext_authz_providers = providers.clone();
        }
        if let Some(normalization) = self.path_normalization {
            mesh.path_normalization = normalization;
        }
        if let Some(mode) = self.outbound_traffic_policy {
            mesh.outbound_traffic_policy = mode;
        }
        if let Some(release) = self.istio_version {
            mesh.istio_release = Some(release);
        }
        mesh
    }
}

impl<'de> Deserialize<'de> for MeshConfigDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DocVisitor { strict: false })
    }
}

impl<'de> Deserialize<'de> for StrictMeshConfigDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DocVisitor { strict: true })
            .map(StrictMeshConfigDoc)
    }
}

/// Reads the MeshConfig map; `strict` rejects unmodelled keys with serde's "unknown field"
/// error (so callers can suggest the closest key), otherwise they are skipped.
struct DocVisitor {
    strict: bool,
}

/// Rejects a key seen twice, as a derived `Deserialize` would.
fn once<T, E: de::Error>(slot: &Option<T>, name: &'static str) -> Result<(), E> {
    match slot {
        Some(_) => Err(E::duplicate_field(name)),
        None => Ok(()),
    }
}

impl<'de> Visitor<'de> for DocVisitor {
    type Value = MeshConfigDoc;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a map of MeshConfig fields (trustDomain, trustDomainAliases, rootNamespace, \
             enableAutoMtls, meshMTLS, extensionProviders, pathNormalization, outboundTrafficPolicy; \
             istioVersion in a \
             scenario)",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MeshConfigDoc, A::Error> {
        let mut doc = MeshConfigDoc::default();
        let mut seen = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.strict && key == ISTIO_VERSION {
                once(&doc.istio_version, ISTIO_VERSION)?;
                doc.istio_version = Some(map.next_value()?);
                continue;
            }
            let Some(name) = MESH_FIELDS.iter().copied().find(|f| *f == key) else {
                if self.strict {
                    return Err(de::Error::unknown_field(&key, STRICT_FIELDS));
                }
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if seen.contains(&name) {
                return Err(de::Error::duplicate_field(name));
            }
            seen.push(name);
            match name {
                "trustDomain" => doc.trust_domain = map.next_value()?,
                "trustDomainAliases" => doc.trust_domain_aliases = map.next_value()?,
                "rootNamespace" => doc.root_namespace = map.next_value()?,
                "outboundTrafficPolicy" => {
                    let written: Option<OutboundTrafficPolicyDoc> = map.next_value()?;
                    doc.outbound_traffic_policy =
                        Some(written.map_or(OutboundTrafficMode::RegistryOnly, |w| w.mode));
                }
                "enableAutoMtls" => doc.enable_auto_mtls = map.next_value()?,
                "pathNormalization" => {
                    let written: Option<PathNormalizationDoc> = map.next_value()?;
                    doc.path_normalization = Some(
                        written
                            .and_then(|w| w.normalization)
                            .map_or(PathNormalization::Base, PathNormalization::from),
                    );
                }
                "extensionProviders" => {
                    let entries: Option<Vec<serde_yaml::Mapping>> = map.next_value()?;
                    doc.extension_providers = entries
                        .map(|e| provider_entries(e, self.strict))
                        .transpose()?;
                }
                _ => {
                    doc.mesh_mtls = map.next_value_seed(OptionalMtls {
                        strict: self.strict,
                    })?
                }
            }
        }
        Ok(doc)
    }
}

/// `meshMTLS:` (null is "not written").
struct OptionalMtls {
    strict: bool,
}

impl<'de> DeserializeSeed<'de> for OptionalMtls {
    type Value = Option<MeshMtlsDoc>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalMtls {
    type Value = Option<MeshMtlsDoc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map with minProtocolVersion and/or cipherSuites")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut mtls = MeshMtlsDoc::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "minProtocolVersion" => {
                    once(&mtls.min_protocol_version, "minProtocolVersion")?;
                    let text: Option<String> = map.next_value()?;
                    mtls.min_protocol_version = text
                        .map(|t| min_protocol_version(&t).map_err(de::Error::custom))
                        .transpose()?;
                }
                "cipherSuites" => {
                    once(&mtls.cipher_suites, "cipherSuites")?;
                    mtls.cipher_suites = map.next_value()?;
                }
                other if self.strict => return Err(de::Error::unknown_field(other, MTLS_FIELDS)),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(mtls))
    }
}

/// `minProtocolVersion` is not one of the `TLSProtocol` values Istio accepts for the mesh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid minProtocolVersion `{0}`, expected one of TLS_AUTO, TLSV1_2, TLSV1_3")]
pub struct InvalidMinProtocolVersion(pub String);

/// Parses `meshMTLS.minProtocolVersion`: `TLS_AUTO` (the proto default, also written as an
/// empty string) leaves the choice to Istio (TLS 1.2).
pub fn min_protocol_version(text: &str) -> Result<MinProtocolVersion, InvalidMinProtocolVersion> {
    match text.trim() {
        "" | "TLS_AUTO" => Ok(MinProtocolVersion::Auto),
        other => TlsVersion::parse(other)
            .map(MinProtocolVersion::Version)
            .ok_or_else(|| InvalidMinProtocolVersion(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(yaml: &str) -> Result<MeshConfigDoc, serde_yaml::Error> {
        serde_yaml::from_str::<StrictMeshConfigDoc>(yaml).map(|d| d.0)
    }

    fn lenient(yaml: &str) -> Result<MeshConfigDoc, serde_yaml::Error> {
        serde_yaml::from_str::<MeshConfigDoc>(yaml)
    }

    #[test]
    fn istio_version_is_read_from_a_scenario_block_and_ignored_in_the_configmap() {
        let doc = strict("istioVersion: \"1.24\"").expect("valid");
        assert_eq!(doc.istio_version, Some(IstioRelease::V1_24));
        let mesh = doc.apply(&MeshConfig::default(), Origin::default());
        assert_eq!(mesh.release(), IstioRelease::V1_24);
        assert_eq!(MeshConfig::default().release(), IstioRelease::V1_28);
        let e = strict("istioVersion: \"1.21\"").expect_err("not modelled");
        assert!(e.to_string().contains("supported: 1.22, 1.23"), "{e}");
        assert!(strict("istioVersion: \"1.24\"\nistioVersion: \"1.25\"").is_err());
        let cm = lenient("istioVersion: \"1.21\"").expect("not a MeshConfig field");
        assert_eq!(cm.istio_version, None);
    }

    #[test]
    fn ext_authz_providers_are_read_and_other_kinds_ignored() {
        let yaml = "extensionProviders:\n\
                    - {name: a, envoyExtAuthzGrpc: {service: a.foo.svc.cluster.local, port: 9000}}\n\
                    - {name: b, envoyExtAuthzHttp: {service: foo/b.foo.svc.cluster.local, port: 8000}}\n\
                    - {name: tracer, zipkin: {service: z.istio-system.svc.cluster.local, port: 9411}}\n";
        for doc in [strict(yaml), lenient(yaml)] {
            let providers = doc.expect("valid").extension_providers.expect("written");
            let got: Vec<(&str, ExtAuthzApi, &str, u32)> = providers
                .iter()
                .map(|p| (p.name.as_str(), p.api, p.service.as_str(), p.port))
                .collect();
            assert_eq!(
                got,
                [
                    ("a", ExtAuthzApi::Grpc, "a.foo.svc.cluster.local", 9000),
                    ("b", ExtAuthzApi::Http, "foo/b.foo.svc.cluster.local", 8000),
                ]
            );
        }
    }

    /// A misspelt provider kind in a scenario would otherwise make the provider "undefined" and
    /// every matching CUSTOM request a bad-provider deny.
    #[test]
    fn a_misspelt_provider_kind_is_rejected_in_a_scenario_but_ignored_in_the_configmap() {
        let yaml = "extensionProviders:\n- {name: a, envoyExtAuthzHtp: {service: a, port: 1}}\n";
        let e = strict(yaml).expect_err("strict rejects the typo");
        assert!(
            e.to_string().contains("unknown field `envoyExtAuthzHtp`"),
            "{e}"
        );
        let doc = lenient(yaml).expect("the ConfigMap ignores what it does not model");
        assert_eq!(doc.extension_providers, Some(Vec::new()));
        let two = "extensionProviders:\n- {name: a, zipkin: {}, sds: {}}\n";
        assert!(strict(two).is_err());
    }
}
