//! The failure-mode catalogue (`failure-modes.md`) as a type: a rule can only report a code the
//! catalogue has, and a scenario's `diagnosis:` can only expect one.

string_enum! {
    /// A stable failure-mode code. Declared in alphabetical order, so sorting findings by code
    /// orders them as the strings would (the JSON output's order depends on it).
    pub enum FindingCode ("finding code") {
        /// §E: an ALLOW rule can never take effect because a DENY matches a superset.
        AllowShadowedByDeny = "AllowShadowedByDeny",
        /// §E: an AuthorizationPolicy's selector matches no pod.
        AuthorizationPolicySelectsNothing = "AuthorizationPolicySelectsNothing",
        /// §B: auto mTLS inferred plaintext for the whole cluster (`enableAutoMtls: false`, the
        /// service namespace's DISABLE, or a headless / PASSTHROUGH service with an endpoint
        /// without sidecar) towards a STRICT endpoint.
        AutoMtlsPlaintextToStrict = "AutoMtlsPlaintextToStrict",
        /// §C: istiod's CA signing certificate expired.
        CaCertExpired = "CaCertExpired",
        /// §F: connection-pool limits exceeded (`503 UO`).
        CircuitBreakerOpen = "CircuitBreakerOpen",
        /// §D: a proxy NACKs configuration.
        ConfigRejected = "ConfigRejected",
        /// §A: two PeerAuthentications of the same scope; only the oldest applies.
        ConflictingPeerAuthentications = "ConflictingPeerAuthentications",
        /// §D: istiod is down or unreachable.
        ControlPlaneUnavailable = "ControlPlaneUnavailable",
        /// §D: more CSRs than the CA accepts per second.
        CsrRateLimited = "CsrRateLimited",
        /// §D: istiod may not review tokens.
        CsrRbacDenied = "CsrRbacDenied",
        /// §D: the pod's service account no longer exists.
        CsrServiceAccountMissing = "CsrServiceAccountMissing",
        /// §E: the CUSTOM (external authorization) provider denied the request.
        CustomAuthorizationDenied = "CustomAuthorizationDenied",
        /// §D: a plug-in CA's root is missing from the proxies' trust bundle.
        CustomCaTrustBundleMissing = "CustomCaTrustBundleMissing",
        /// §E: a DENY policy matched.
        DenyPolicyMatched = "DenyPolicyMatched",
        /// §B: a DestinationRule's host or exportTo keeps it from applying.
        DestinationRuleNotApplied = "DestinationRuleNotApplied",
        /// §B: DestinationRule `tls.mode: DISABLE` towards a STRICT destination (or a SIMPLE/MUTUAL
        /// `credentialName` rule a sidecar ignores, which leaves it sending plaintext).
        DestinationRuleTlsDisable = "DestinationRuleTlsDisable",
        /// §B: DestinationRule `MUTUAL` with a certificate the mesh does not trust.
        DestinationRuleTlsMutualExternal = "DestinationRuleTlsMutualExternal",
        /// §B: DestinationRule `SIMPLE` towards a STRICT destination.
        DestinationRuleTlsSimple = "DestinationRuleTlsSimple",
        /// §E: an AuthorizationPolicy rule with HTTP-only fields applies to a TCP port, where
        /// istiod skips it (ALLOW) or drops those fields (DENY, AUDIT).
        HttpOnlyRuleOnTcpPort = "HttpOnlyRuleOnTcpPort",
        /// §A: TLS towards a workload whose PeerAuthentication is DISABLE.
        MtlsToDisabledServer = "MtlsToDisabledServer",
        /// §B: ISTIO_MUTUAL towards endpoints without a sidecar (or whose sidecar does not
        /// capture the target port).
        MtlsToNonMeshWorkload = "MtlsToNonMeshWorkload",
        /// §E: ALLOW policies select the workload and none matches.
        NoAllowPolicyMatched = "NoAllowPolicyMatched",
        /// §F: no ready endpoints (`503 UH`).
        NoHealthyUpstream = "NoHealthyUpstream",
        /// §B: no TLS version or cipher suite both sides accept.
        NoSharedCipher = "NoSharedCipher",
        /// Loader: the inputs hold no object meshsim reads (`check` only).
        NothingLoaded = "NothingLoaded",
        /// Loader: an object was replaced by a later one with the same kind, namespace and name.
        ObjectReplaced = "ObjectReplaced",
        /// Loader: a document or object of a kind meshsim does not read was skipped.
        ObjectSkipped = "ObjectSkipped",
        /// §B: the destination is outside the client's `Sidecar` egress scope: its traffic
        /// takes PassthroughCluster in plaintext (ALLOW_ANY) or BlackHoleCluster
        /// (REGISTRY_ONLY).
        OutsideSidecarEgressScope = "OutsideSidecarEgressScope",
        /// §A: a workload PeerAuthentication's selector matches no pod.
        PeerAuthenticationSelectsNothing = "PeerAuthenticationSelectsNothing",
        /// §A: a client without a sidecar (or whose sidecar does not capture the connection)
        /// calls a STRICT port.
        PlaintextToStrict = "PlaintextToStrict",
        /// §G: `portLevelMtls` names a port no selected container exposes.
        PortLevelMtlsPortUnused = "PortLevelMtlsPortUnused",
        /// §A: `portLevelMtls` on a policy without a selector.
        PortLevelMtlsWithoutSelector = "PortLevelMtlsWithoutSelector",
        /// §E: a policy matches on identity, but the request arrived in plaintext.
        PrincipalRequiresMtls = "PrincipalRequiresMtls",
        /// §E: an ALLOW principal names another service account than the caller's.
        PrincipalServiceAccountMismatch = "PrincipalServiceAccountMismatch",
        /// §C: the root CA is past its validity.
        RootCertExpired = "RootCertExpired",
        /// §C: the two proxies trust different roots.
        RootCertMismatch = "RootCertMismatch",
        /// §B: the server runs as a service account the client does not expect.
        ServerIdentityMismatch = "ServerIdentityMismatch",
        /// §C: workload certificate TTL under an hour.
        ShortCertLifetime = "ShortCertLifetime",
        /// §A: mesh-wide STRICT overridden by a narrower PERMISSIVE/DISABLE.
        StrictOverridden = "StrictOverridden",
        /// §E: a principal's trust domain is neither the mesh's nor an alias.
        TrustDomainMismatch = "TrustDomainMismatch",
        /// Loader: a field the object's schema does not have (a typo the API server prunes).
        UnknownField = "UnknownField",
        /// §G: the answer depends on something meshsim reads but does not model.
        UnmodelledField = "UnmodelledField",
        /// §C: a chain that does not verify to the peer's roots.
        UntrustedPeerCertificate = "UntrustedPeerCertificate",
        /// Loader: a value Istio's validation accepts with a warning.
        ValidationWarning = "ValidationWarning",
        /// §C: workload certificate past notAfter.
        WorkloadCertExpired = "WorkloadCertExpired",
        /// §C: the sidecar never received a certificate.
        WorkloadCertMissing = "WorkloadCertMissing",
        /// §C: workload certificate notBefore in the verifier's future (clock skew).
        WorkloadCertNotYetValid = "WorkloadCertNotYetValid",
    }
}

#[cfg(test)]
mod tests {
    use super::FindingCode;
    use crate::vocab::names::assert_closed_set;

    #[test]
    fn codes_round_trip_and_malformed_ones_are_rejected() {
        let malformed = ["", "plaintextToStrict", "PlaintextToStrict ", "Nope", "UF"];
        assert_closed_set(
            FindingCode::ALL,
            "finding code",
            FindingCode::NAMES,
            &malformed,
        );
    }

    #[test]
    fn codes_sort_as_their_names_do() {
        let mut names: Vec<&str> = FindingCode::NAMES.to_vec();
        names.sort_unstable();
        assert_eq!(names, FindingCode::NAMES);
    }

    #[test]
    fn every_code_the_diagnosis_docs_list_is_a_variant() {
        let doc = include_str!("../../../docs/diagnosis.md");
        let first_columns = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split(" |").next());
        let mut seen = 0;
        for column in first_columns {
            for code in column
                .split('`')
                .step_by(2)
                .map(|c| c.trim_matches([',', ' ']))
            {
                if code.starts_with(|c: char| c.is_ascii_uppercase()) && code.len() > 8 {
                    assert!(code.parse::<FindingCode>().is_ok(), "{code} is documented");
                    seen += 1;
                }
            }
        }
        assert!(seen > 30, "the doc's tables were read ({seen} codes)");
    }

    /// The derived order is the declaration order; findings and `ObjectRef`s are sorted by it
    /// and must sort as their strings do, so the declaration stays alphabetical.
    #[test]
    fn declaration_order_is_alphabetical() {
        assert!(
            FindingCode::NAMES.windows(2).all(|w| w[0] < w[1]),
            "{:?}",
            FindingCode::NAMES
        );
        let mut sorted = FindingCode::ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, FindingCode::ALL);
    }
}
