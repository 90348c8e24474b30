use super::*;

#[test]
fn every_named_suite_prints_as_it_parses() {
    for (suite, name) in NAMES {
        assert_eq!(name.parse::<CipherSuite>().as_ref(), Ok(suite), "{name}");
        assert_eq!(suite.to_string(), *name);
    }
    assert_eq!(
        "ECDHE-FANCY".parse::<CipherSuite>(),
        Err(UnknownCipherSuite("ECDHE-FANCY".into()))
    );
}

#[test]
fn configured_groups_are_flattened_and_unknown_names_kept() {
    assert_eq!(
        CipherSuite::parse_list(&[
            "[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-RSA-AES128-GCM-SHA256]",
            "X"
        ]),
        vec![
            CipherSuite::EcdheEcdsaAes128GcmSha256,
            CipherSuite::EcdheRsaAes128GcmSha256,
            CipherSuite::Unknown("X".into()),
        ]
    );
}

fn tls12(suites: &[CipherSuite]) -> TlsParams {
    TlsParams {
        max_version: TlsVersion::Tls12,
        cipher_suites: suites.to_vec(),
        ..TlsParams::default()
    }
}

#[test]
fn the_negotiable_tls12_suites_leave_out_what_rustls_does_not_implement() {
    use CipherSuite as C;
    type Case = (&'static str, Vec<C>, Result<Vec<C>, TlsParamsError>);
    let cases: Vec<Case> = vec![
        (
            "Istio's defaults keep only the ECDHE AEAD suites",
            vec![],
            Ok(vec![
                C::EcdheEcdsaAes256GcmSha384,
                C::EcdheRsaAes256GcmSha384,
                C::EcdheEcdsaAes128GcmSha256,
                C::EcdheRsaAes128GcmSha256,
            ]),
        ),
        (
            "static RSA alone leaves nothing",
            vec![C::Aes128GcmSha256],
            Ok(vec![]),
        ),
        (
            "duplicates collapse",
            vec![C::EcdheRsaAes128GcmSha256, C::EcdheRsaAes128GcmSha256],
            Ok(vec![C::EcdheRsaAes128GcmSha256]),
        ),
        (
            "an unknown name invalidates the context",
            vec![C::Unknown("ECDHE-FANCY".into())],
            Err(UnknownCipherSuite("ECDHE-FANCY".into()).into()),
        ),
    ];
    for (name, suites, want) in cases {
        assert_eq!(tls12(&suites).tls12_suites(), want, "{name}");
    }
}

#[test]
fn negotiation_follows_versions_suites_and_the_server_key() {
    use CipherSuite as C;
    let ecdsa = Some(KeyType::EcdsaP256);
    let rsa = Some(KeyType::Rsa2048);
    let cases: Vec<(&str, TlsParams, TlsParams, Option<KeyType>, Negotiation)> = vec![
        (
            "defaults speak TLS 1.3",
            TlsParams::default(),
            TlsParams::default(),
            ecdsa,
            Negotiation::Tls13,
        ),
        (
            "1.3-only server, 1.2-only client",
            tls12(&[]),
            TlsParams {
                min_version: TlsVersion::Tls13,
                ..TlsParams::default()
            },
            ecdsa,
            Negotiation::NoCommonVersion,
        ),
        (
            "disjoint lists",
            tls12(&[C::EcdheEcdsaAes128GcmSha256]),
            tls12(&[C::EcdheEcdsaAes256GcmSha384]),
            ecdsa,
            Negotiation::NoSharedCipher {
                unusable_overlap: vec![],
            },
        ),
        (
            "sharing only static RSA AES128-GCM-SHA256",
            tls12(&[C::Aes128GcmSha256, C::EcdheEcdsaAes128GcmSha256]),
            tls12(&[C::Aes128GcmSha256, C::EcdheEcdsaAes256GcmSha384]),
            rsa,
            Negotiation::NoSharedCipher {
                unusable_overlap: vec![C::Aes128GcmSha256],
            },
        ),
    ];
    for (name, client, server, key, want) in cases {
        assert_eq!(negotiate(&client, &server, key), want, "{name}");
    }
    // The same lists, an RSA-only suite: the server's key type decides.
    let rsa_only = tls12(&[C::EcdheRsaAes128GcmSha256]);
    let no_shared = Negotiation::NoSharedCipher {
        unusable_overlap: vec![C::EcdheRsaAes128GcmSha256],
    };
    for (key, want) in [(ecdsa, no_shared), (rsa, Negotiation::Tls12)] {
        assert_eq!(negotiate(&rsa_only, &rsa_only, key), want, "{key:?}");
    }
}

#[test]
fn an_override_changes_only_what_it_sets() {
    let mut p = TlsParams::default();
    p.apply(&TlsParamsOverride {
        max_version: Some(TlsVersion::Tls12),
        ..TlsParamsOverride::default()
    });
    assert_eq!(
        p,
        TlsParams {
            max_version: TlsVersion::Tls12,
            ..TlsParams::default()
        }
    );
}
