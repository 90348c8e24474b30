//! rustls errors and alerts in Envoy's vocabulary: the BoringSSL reason string, its packed error
//! code (`ERR_PACK(ERR_LIB_SSL, reason)` = `0x10000000 + reason`; a received alert is reason
//! `1000 + alert`, numbers and strings from [`crate::vocab::boringssl`]), and which SSL stat Envoy
//! counts. The table is documented in `docs/tls-errors.md`.

use rustls::{CertificateError, Error, InvalidMessage, PeerIncompatible};

use super::verifier::SpiffeCheckError;

use crate::vocab::boringssl::{alert_reason, error_code, transport_failure, SSL_LIB};

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
        transport_failure(self.code, self.reason)
    }

    /// Maps a rustls error (local failure or alert received) to what BoringSSL would report.
    pub(crate) fn from_rustls(err: &Error) -> TlsFailure {
        let (reason, stat) = classify(err);
        let code = match err {
            Error::AlertReceived(alert) => SSL_LIB + 1000 + u32::from(u8::from(*alert)),
            // Every local name `classify` returns is in the table.
            _ => error_code(reason).unwrap_or(SSL_LIB),
        };
        TlsFailure {
            reason,
            code,
            stat,
            detail: err.to_string(),
        }
    }
}

fn classify(err: &Error) -> (&'static str, TlsStat) {
    use TlsStat::*;
    match err {
        Error::AlertReceived(alert) => (alert_reason(u8::from(*alert)), ConnectionError),
        Error::InvalidCertificate(_) if SpiffeCheckError::from_rustls(err).is_some() => {
            ("CERTIFICATE_VERIFY_FAILED", FailVerifySan)
        }
        Error::InvalidCertificate(CertificateError::BadEncoding) => {
            ("CANNOT_PARSE_LEAF_CERT", FailVerifyError)
        }
        Error::InvalidCertificate(_) => ("CERTIFICATE_VERIFY_FAILED", FailVerifyError),
        Error::NoCertificatesPresented => ("PEER_DID_NOT_RETURN_A_CERTIFICATE", FailVerifyNoCert),
        Error::PeerIncompatible(p) => match p {
            PeerIncompatible::NoCipherSuitesInCommon => ("NO_SHARED_CIPHER", ConnectionError),
            PeerIncompatible::NoKxGroupsInCommon => ("NO_SHARED_GROUP", ConnectionError),
            PeerIncompatible::NoSignatureSchemesInCommon
            | PeerIncompatible::NoCertificateRequestSignatureSchemesInCommon => {
                ("NO_COMMON_SIGNATURE_ALGORITHMS", ConnectionError)
            }
            PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled
            | PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::ServerDoesNotSupportTls12Or13
            | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig => {
                ("UNSUPPORTED_PROTOCOL", ConnectionError)
            }
            _ => ("HANDSHAKE_FAILURE_ON_CLIENT_HELLO", ConnectionError),
        },
        // Non-TLS bytes where a record header was expected: BoringSSL checks the record version
        // first and reports WRONG_VERSION_NUMBER.
        Error::InvalidMessage(InvalidMessage::InvalidContentType)
        | Error::InvalidMessage(InvalidMessage::UnknownProtocolVersion) => {
            ("WRONG_VERSION_NUMBER", ConnectionError)
        }
        Error::InvalidMessage(_) => ("DECODE_ERROR", ConnectionError),
        Error::InappropriateMessage { .. } | Error::InappropriateHandshakeMessage { .. } => {
            ("UNEXPECTED_MESSAGE", ConnectionError)
        }
        Error::NoApplicationProtocol => ("NO_APPLICATION_PROTOCOL", ConnectionError),
        Error::DecryptError => ("DECRYPTION_FAILED_OR_BAD_RECORD_MAC", ConnectionError),
        _ => ("SSL_HANDSHAKE_FAILURE", ConnectionError),
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
