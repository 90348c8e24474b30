//! BoringSSL's error vocabulary as Envoy prints it: reason names, their packed error codes
//! (`ERR_PACK(ERR_LIB_SSL, reason)` = `0x10000000 + reason`; a received alert is reason
//! `1000 + alert`) and the `TLS_error:|...:TLS_error_end` transport failure string. The data
//! path names what rustls saw with it (`proxy::tls_error`), the analysis path names what it
//! predicts, so both print the same `response_code_details`.

/// `ERR_LIB_SSL << 24`.
pub const SSL_LIB: u32 = 0x1000_0000;

/// Reasons a TLS peer detects itself (`SSL_R_*` in BoringSSL's `ssl.h`), with their numbers.
const LOCAL_REASONS: &[(&str, u32)] = &[
    ("CERTIFICATE_VERIFY_FAILED", 125),
    ("DECODE_ERROR", 137),
    ("DECRYPTION_FAILED_OR_BAD_RECORD_MAC", 139),
    ("HANDSHAKE_FAILURE_ON_CLIENT_HELLO", 154),
    ("NO_SHARED_CIPHER", 184),
    ("PEER_DID_NOT_RETURN_A_CERTIFICATE", 192),
    ("SSL_HANDSHAKE_FAILURE", 215),
    ("UNEXPECTED_MESSAGE", 223),
    ("UNSUPPORTED_PROTOCOL", 240),
    ("WRONG_VERSION_NUMBER", 247),
    ("NO_COMMON_SIGNATURE_ALGORITHMS", 253),
    ("NO_SHARED_GROUP", 266),
    ("CANNOT_PARSE_LEAF_CERT", 272),
    ("NO_APPLICATION_PROTOCOL", 307),
];

/// BoringSSL's `SSL_R_*_ALERT_*` name for a received alert number.
pub fn alert_reason(n: u8) -> &'static str {
    match n {
        0 => "SSLV3_ALERT_CLOSE_NOTIFY",
        10 => "SSLV3_ALERT_UNEXPECTED_MESSAGE",
        20 => "SSLV3_ALERT_BAD_RECORD_MAC",
        21 => "TLSV1_ALERT_DECRYPTION_FAILED",
        22 => "TLSV1_ALERT_RECORD_OVERFLOW",
        30 => "SSLV3_ALERT_DECOMPRESSION_FAILURE",
        40 => "SSLV3_ALERT_HANDSHAKE_FAILURE",
        41 => "SSLV3_ALERT_NO_CERTIFICATE",
        42 => "SSLV3_ALERT_BAD_CERTIFICATE",
        43 => "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        44 => "SSLV3_ALERT_CERTIFICATE_REVOKED",
        45 => "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        46 => "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        47 => "SSLV3_ALERT_ILLEGAL_PARAMETER",
        48 => "TLSV1_ALERT_UNKNOWN_CA",
        49 => "TLSV1_ALERT_ACCESS_DENIED",
        50 => "TLSV1_ALERT_DECODE_ERROR",
        51 => "TLSV1_ALERT_DECRYPT_ERROR",
        60 => "TLSV1_ALERT_EXPORT_RESTRICTION",
        70 => "TLSV1_ALERT_PROTOCOL_VERSION",
        71 => "TLSV1_ALERT_INSUFFICIENT_SECURITY",
        80 => "TLSV1_ALERT_INTERNAL_ERROR",
        86 => "TLSV1_ALERT_INAPPROPRIATE_FALLBACK",
        90 => "TLSV1_ALERT_USER_CANCELLED",
        100 => "TLSV1_ALERT_NO_RENEGOTIATION",
        110 => "TLSV1_ALERT_UNSUPPORTED_EXTENSION",
        111 => "TLSV1_ALERT_CERTIFICATE_UNOBTAINABLE",
        112 => "TLSV1_ALERT_UNRECOGNIZED_NAME",
        113 => "TLSV1_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE",
        114 => "TLSV1_ALERT_BAD_CERTIFICATE_HASH_VALUE",
        115 => "TLSV1_ALERT_UNKNOWN_PSK_IDENTITY",
        116 => "TLSV1_ALERT_CERTIFICATE_REQUIRED",
        120 => "TLSV1_ALERT_NO_APPLICATION_PROTOCOL",
        121 => "TLSV1_ALERT_ECH_REQUIRED",
        _ => "UNKNOWN_ALERT_TYPE",
    }
}

/// The packed error code of a reason name (a local reason, or a received alert's name), `None`
/// for a name BoringSSL does not have.
pub fn error_code(reason: &str) -> Option<u32> {
    if let Some((_, n)) = LOCAL_REASONS.iter().find(|(r, _)| *r == reason) {
        return Some(SSL_LIB + n);
    }
    (0..=u8::MAX)
        .find(|&n| alert_reason(n) == reason && reason != "UNKNOWN_ALERT_TYPE")
        .map(|n| SSL_LIB + 1000 + u32::from(n))
}

/// Envoy's transport failure reason for a packed code and its reason:
/// `TLS_error:|<code>:SSL routines:OPENSSL_internal:<REASON>:TLS_error_end`.
pub fn transport_failure(code: u32, reason: &str) -> String {
    format!("TLS_error:|{code}:SSL routines:OPENSSL_internal:{reason}:TLS_error_end")
}

/// [`transport_failure`] of a reason name, its code looked up ([`error_code`]).
pub fn transport_failure_of(reason: &str) -> String {
    transport_failure(error_code(reason).unwrap_or(SSL_LIB), reason)
}

/// The BoringSSL reason a transport failure string ends with (the inverse of
/// [`transport_failure`]): `TLS_error:|...:OPENSSL_internal:<REASON>:TLS_error_end` gives
/// `<REASON>`, the last one when Envoy lists several. `None` for a non-TLS failure.
pub fn reason_of_transport_failure(text: &str) -> Option<&str> {
    let body = text.split("TLS_error:|").nth(1)?;
    let body = body.rsplit_once(":TLS_error_end").map_or(body, |(b, _)| b);
    body.rsplit(':').next().filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_read_back_their_reason() {
        for reason in [
            "CERTIFICATE_VERIFY_FAILED",
            "TLSV1_ALERT_UNKNOWN_CA",
            "WRONG_VERSION_NUMBER",
        ] {
            assert_eq!(
                reason_of_transport_failure(&transport_failure_of(reason)),
                Some(reason)
            );
        }
        assert_eq!(reason_of_transport_failure("-"), None);
        assert_eq!(
            reason_of_transport_failure("Secret is not supplied by SDS"),
            None
        );
    }

    #[test]
    fn reasons_and_alerts_pack_to_boringssl_codes() {
        let cases = [
            ("CERTIFICATE_VERIFY_FAILED", 268_435_581),
            ("WRONG_VERSION_NUMBER", 268_435_703),
            ("UNEXPECTED_MESSAGE", 268_435_679),
            ("TLSV1_ALERT_UNKNOWN_CA", 268_436_504),
            ("TLSV1_ALERT_CERTIFICATE_REQUIRED", 268_436_572),
            ("SSLV3_ALERT_HANDSHAKE_FAILURE", 268_436_496),
        ];
        for (reason, code) in cases {
            assert_eq!(error_code(reason), Some(code), "{reason}");
        }
        assert_eq!(error_code("NOT_A_REASON"), None);
        assert_eq!(
            transport_failure_of("CERTIFICATE_VERIFY_FAILED"),
            "TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end"
        );
    }
}
