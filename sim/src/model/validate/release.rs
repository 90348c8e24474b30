//! The AuthorizationPolicy keys that exist only in some Istio releases. The static validator
//! (`authorization_policy`) runs while a file is read, before the release is known; this check
//! runs once the configuration is complete and the release is set.
//!
//! Sources: `ValidateAttribute` in `pkg/config/security/security.go` (`attrSrcServiceAccount`,
//! `source.serviceAccount`, was added in 1.25; no release up to 1.28 knows `source.trustDomain`),
//! and the `Source` message of `istio/api` as the CRD schema of each release has it
//! (`serviceAccounts`/`notServiceAccounts` from 1.25, read by `srcServiceAccountGenerator` in
//! `pilot/pkg/security/authz/model/generator.go`; `trustDomains` is in no release up to 1.28).

use super::super::{AuthorizationPolicy, Resources};
use super::Invalid;
use crate::model::locate::FieldPath;
use crate::vocab::IstioRelease;

/// The first release that has `source.serviceAccount` and `serviceAccounts`.
const SERVICE_ACCOUNTS_SINCE: IstioRelease = IstioRelease::V1_25;

/// Every AuthorizationPolicy field or `when` key the configured release does not have, as
/// `AuthorizationPolicy ns/name: path: message` lines in resource order.
pub fn release_problems(res: &Resources) -> Vec<String> {
    let release = res.mesh_config.release();
    let mut out = Vec::new();
    for ap in &res.authorization_policies {
        for p in authorization_policy(ap, release) {
            out.push(format!(
                "AuthorizationPolicy {}/{}: {}: {}",
                ap.meta.namespace, ap.meta.name, p.path, p.message
            ));
        }
    }
    out
}

/// The problems of one policy under `release`.
fn authorization_policy(ap: &AuthorizationPolicy, release: IstioRelease) -> Vec<Invalid> {
    let mut out = Vec::new();
    let mut push = |path: FieldPath, message: String| out.push(Invalid { path, message });
    let unknown_field = |name: &str, since: Option<IstioRelease>| match since {
        Some(since) => format!(
            "unknown field \"{name}\" in Istio {release} (the field exists from Istio {since})"
        ),
        None => format!("unknown field \"{name}\" (no Istio release up to 1.28 has it)"),
    };
    for (i, rule) in ap.spec.rules.iter().flatten().enumerate() {
        let rp = FieldPath::root().key("spec").key("rules").index(i);
        for (j, from) in rule.from.iter().flatten().enumerate() {
            let Some(src) = &from.source else { continue };
            let sp = rp.key("from").index(j).key("source");
            let fields = [
                (
                    "serviceAccounts",
                    &src.service_accounts,
                    Some(SERVICE_ACCOUNTS_SINCE),
                ),
                (
                    "notServiceAccounts",
                    &src.not_service_accounts,
                    Some(SERVICE_ACCOUNTS_SINCE),
                ),
                ("trustDomains", &src.trust_domains, None),
                ("notTrustDomains", &src.not_trust_domains, None),
            ];
            for (name, values, since) in fields {
                let exists = since.is_some_and(|s| release >= s);
                if values.is_some() && !exists {
                    push(sp.key(name), unknown_field(name, since));
                }
            }
        }
        for (j, when) in rule.when.iter().flatten().enumerate() {
            let exists = match when.key.as_str() {
                "source.serviceAccount" => release >= SERVICE_ACCOUNTS_SINCE,
                "source.trustDomain" | "source.trustDomains" => false,
                _ => true,
            };
            if !exists {
                push(
                    rp.key("when").index(j).key("key"),
                    format!("unknown attribute: {} (Istio {release})", when.key),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuthorizationPolicySpec;

    fn policy(rule: &str) -> AuthorizationPolicy {
        let spec: AuthorizationPolicySpec =
            serde_yaml::from_str(&format!("rules:\n- {rule}\n")).expect("spec");
        AuthorizationPolicy {
            meta: crate::model::Meta::default(),
            spec,
        }
    }

    #[test]
    fn service_accounts_exist_from_1_25_and_trust_domains_in_no_modelled_release() {
        use IstioRelease::{V1_22, V1_24, V1_25, V1_28};
        // (rule, releases that accept it)
        let cases: &[(&str, &[IstioRelease])] = &[
            (
                "{when: [{key: source.serviceAccount, values: [foo/sleep]}]}",
                &[V1_25, V1_28],
            ),
            (
                "{from: [{source: {serviceAccounts: [foo/sleep]}}]}",
                &[V1_25, V1_28],
            ),
            (
                "{from: [{source: {notServiceAccounts: [foo/sleep]}}]}",
                &[V1_25, V1_28],
            ),
            ("{when: [{key: source.trustDomain, values: [td]}]}", &[]),
            ("{from: [{source: {trustDomains: [td]}}]}", &[]),
            (
                "{when: [{key: source.namespace, values: [foo]}]}",
                &[V1_22, V1_24, V1_25, V1_28],
            ),
            (
                "{when: [{key: destination.ip, values: [10.244.0.1]}]}",
                &[V1_22, V1_24, V1_25, V1_28],
            ),
        ];
        for (rule, accepted) in cases {
            let ap = policy(rule);
            for r in [V1_22, V1_24, V1_25, V1_28] {
                let problems = authorization_policy(&ap, r);
                assert_eq!(
                    problems.is_empty(),
                    accepted.contains(&r),
                    "{rule} on {r}: {problems:?}"
                );
            }
        }
    }
}
