//! rustls errors and alerts in Envoy's vocabulary: the BoringSSL reason string, its packed error
//! code (`ERR_PACK(ERR_LIB_SSL, reason)` = `0x10000000 + reason`; a received alert is reason
//! `1000 + alert`), the `TLS_error:|...:TLS_error_end` transport failure string, and which SSL
//! stat Envoy counts. The table is documented in `docs/tls-errors.md`.

use rustls::{CertificateError, Error, InvalidMessage, PeerIncompatible};

use super::verifier::SpiffeCheckError;

/// `ERR_LIB_SSL << 24`.
const SSL_LIB: u32 = 0x1000_0000;

/// Which Envoy SSL counter a failure increments (`ssl_socket.cc`, `default_validator.cc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsStat {
    /// `ssl.connection_error`.
    ConnectionError,
    /// `ssl.fail_verify_error`.
    FailVerifyError,
    /// `ssl.fail_verify_san`.
    FailVerifySan,
    /// `ssl.fail_verify_no_cert`.
    FailVerifyNoCert,
}

/// One side's view of a failed handshake, in BoringSSL terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsFailure {
    /// BoringSSL reason, e.g. `CERTIFICATE_VERIFY_FAILED`.
    pub reason: &'static str,
    /// Packed error code, e.g. 268435581.
    pub code: u32,
    /// The counter Envoy increments.
    pub stat: TlsStat,
    /// rustls's own description (for logs and diagnosis detail).
    pub detail: String,
}

impl TlsFailure {
    /// Envoy's transport failure reason: `TLS_error:|<code>:SSL routines:OPENSSL_internal:<REASON>:TLS_error_end`.
    pub(crate) fn envoy_string(&self) -> String {
        format!(
            "TLS_error:|{}:SSL routines:OPENSSL_internal:{}:TLS_error_end",
            self.code, self.reason
        )
    }

    /// Maps a rustls error (local failure or alert received) to what BoringSSL would report.
    pub(crate) fn from_rustls(err: &Error) -> TlsFailure {
        let (reason, number, stat) = classify(err);
        TlsFailure {
            reason,
            code: SSL_LIB + number,
            stat,
            detail: err.to_string(),
        }
    }
}

fn classify(err: &Error) -> (&'static str, u32, TlsStat) {
    use TlsStat::*;
    match err {
        Error::AlertReceived(alert) => {
            let n = u8::from(*alert);
            (alert_reason(n), 1000 + u32::from(n), ConnectionError)
        }
        Error::InvalidCertificate(_) if SpiffeCheckError::from_rustls(err).is_some() => {
            ("CERTIFICATE_VERIFY_FAILED", 125, FailVerifySan)
        }
        Error::InvalidCertificate(CertificateError::BadEncoding) => {
            ("CANNOT_PARSE_LEAF_CERT", 272, FailVerifyError)
        }
        Error::InvalidCertificate(_) => ("CERTIFICATE_VERIFY_FAILED", 125, FailVerifyError),
        Error::NoCertificatesPresented => {
            ("PEER_DID_NOT_RETURN_A_CERTIFICATE", 192, FailVerifyNoCert)
        }
        Error::PeerIncompatible(p) => match p {
            PeerIncompatible::NoCipherSuitesInCommon => ("NO_SHARED_CIPHER", 184, ConnectionError),
            PeerIncompatible::NoKxGroupsInCommon => ("NO_SHARED_GROUP", 266, ConnectionError),
            PeerIncompatible::NoSignatureSchemesInCommon
            | PeerIncompatible::NoCertificateRequestSignatureSchemesInCommon => {
                ("NO_COMMON_SIGNATURE_ALGORITHMS", 253, ConnectionError)
            }
            PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled
            | PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::ServerDoesNotSupportTls12Or13
            | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig => {
                ("UNSUPPORTED_PROTOCOL", 240, ConnectionError)
            }
            _ => ("HANDSHAKE_FAILURE_ON_CLIENT_HELLO", 154, ConnectionError),
        },
        // Non-TLS bytes where a record header was expected: BoringSSL checks the record version
        // first and reports WRONG_VERSION_NUMBER.
        Error::InvalidMessage(InvalidMessage::InvalidContentType)
        | Error::InvalidMessage(InvalidMessage::UnknownProtocolVersion) => {
            ("WRONG_VERSION_NUMBER", 247, ConnectionError)
        }
        Error::InvalidMessage(_) => ("DECODE_ERROR", 137, ConnectionError),
        Error::InappropriateMessage { .. } | Error::InappropriateHandshakeMessage { .. } => {
            ("UNEXPECTED_MESSAGE", 223, ConnectionError)
        }
        Error::NoApplicationProtocol => ("NO_APPLICATION_PROTOCOL", 307, ConnectionError),
        Error::DecryptError => ("DECRYPTION_FAILED_OR_BAD_RECORD_MAC", 139, ConnectionError),
        _ => ("SSL_HANDSHAKE_FAILURE", 215, ConnectionError),
    }
}

/// BoringSSL's `SSL_R_*_ALERT_*` name for a received alert number.
fn alert_reason(n: u8) -> &'static str {
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

impl TlsFailure {
    /// rustls's server sends `certificate_required` for a missing client certificate in TLS 1.2
    /// too, while BoringSSL sends `handshake_failure` there (`handshake_server.cc`); given the
    /// version the two peers negotiate, report what an Envoy peer would have sent.
    pub(crate) fn seen_from_boringssl(self, negotiated_tls12: bool) -> TlsFailure {
        if negotiated_tls12 && self.code == SSL_LIB + 1116 {
            TlsFailure {
                reason: alert_reason(40),
                code: SSL_LIB + 1040,
                ..self
            }
        } else {
            self
        }
    }
}

/// Finds the rustls error inside an I/O error from tokio-rustls, if any.
pub(crate) fn rustls_error(e: &std::io::Error) -> Option<&Error> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<Error>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::AlertDescription;

    #[test]
    fn received_alerts_carry_boringssl_names_and_packed_codes() {
        let table = [
            (
                AlertDescription::UnknownCA,
                "TLSV1_ALERT_UNKNOWN_CA",
                268_436_504,
            ),
            (
                AlertDescription::CertificateExpired,
                "SSLV3_ALERT_CERTIFICATE_EXPIRED",
                268_436_501,
            ),
            (
                AlertDescription::CertificateUnknown,
                "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
                268_436_502,
            ),
            (
                AlertDescription::CertificateRequired,
                "TLSV1_ALERT_CERTIFICATE_REQUIRED",
                268_436_572,
            ),
            (
                AlertDescription::HandshakeFailure,
                "SSLV3_ALERT_HANDSHAKE_FAILURE",
                268_436_496,
            ),
            (
                AlertDescription::ProtocolVersion,
                "TLSV1_ALERT_PROTOCOL_VERSION",
                268_436_526,
            ),
        ];
        for (alert, reason, code) in table {
            let f = TlsFailure::from_rustls(&Error::AlertReceived(alert));
            assert_eq!((f.reason, f.code), (reason, code), "{alert:?}");
            assert_eq!(f.stat, TlsStat::ConnectionError);
        }
    }

    #[test]
    fn local_verify_failures_are_certificate_verify_failed() {
        let f =
            TlsFailure::from_rustls(&Error::InvalidCertificate(CertificateError::UnknownIssuer));
        assert_eq!(
            (f.reason, f.code),
            ("CERTIFICATE_VERIFY_FAILED", 268_435_581)
        );
        assert_eq!(f.stat, TlsStat::FailVerifyError);
        assert_eq!(
            f.envoy_string(),
            "TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end"
        );
        let f = TlsFailure::from_rustls(&Error::NoCertificatesPresented);
        assert_eq!(
            (f.reason, f.code),
            ("PEER_DID_NOT_RETURN_A_CERTIFICATE", 268_435_648)
        );
        assert_eq!(f.stat, TlsStat::FailVerifyNoCert);
        let f = TlsFailure::from_rustls(&Error::InvalidMessage(InvalidMessage::InvalidContentType));
        assert_eq!((f.reason, f.code), ("WRONG_VERSION_NUMBER", 268_435_703));
    }
}
