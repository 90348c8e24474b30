//! Envoy's response-code details (`%RESPONSE_CODE_DETAILS%`,
//! `envoy/stream_info/stream_info.h` `ResponseCodeDetailValues`) — the strings both paths
//! write and the diagnosis reads.

/// The upstream answered (`ResponseCodeDetailValues::ViaUpstream`).
pub(crate) const VIA_UPSTREAM: &str = "via_upstream";

/// The cluster had no healthy host (`ResponseCodeDetailValues::NoHealthyUpstream`).
pub(crate) const NO_HEALTHY_UPSTREAM: &str = "no_healthy_upstream";

/// A listener found no filter chain for the connection (`filter_chain_not_found`, logged with
/// flag `NR` by `ListenerImpl` / `ActiveStreamListenerBase`).
pub(crate) const FILTER_CHAIN_NOT_FOUND: &str = "filter_chain_not_found";

/// The HTTP/1 codec could not parse the downstream bytes: it answers `400 Bad Request` itself
/// (`Http1ResponseCodeDetailValues::HttpCodecError`, `ServerConnectionImpl::sendProtocolError`
/// in `source/common/http/http1/codec_impl.cc`) and the HCM closes the connection with flag
/// `DPE` (`ConnectionManagerImpl::handleCodecError`).
pub(crate) const HTTP1_CODEC_ERROR: &str = "http1.codec_error";

/// A route's `direct_response` answered (`ResponseCodeDetailValues::DirectResponse`), as
/// REGISTRY_ONLY's `block_all` virtual host does with `502`.
pub(crate) const DIRECT_RESPONSE: &str = "direct_response";

/// The RBAC filter's denial prefix (`RBACFilter::decodeHeaders`,
/// `source/extensions/filters/http/rbac/rbac_filter.cc`).
const RBAC_ACCESS_DENIED_MATCHED_POLICY: &str = "rbac_access_denied_matched_policy";

/// `upstream_reset_before_response_started{REASON}` with spaces as `_`, as the router writes a
/// reset before headers (`Router::Filter::onUpstreamReset`, `StreamInfo::Utility`'s
/// `resetReasonToString` plus the transport failure reason).
pub(crate) fn upstream_reset_before_response_started(reason: &str) -> String {
    format!(
        "upstream_reset_before_response_started{{{}}}",
        reason.replace(' ', "_")
    )
}

/// `%UPSTREAM_TRANSPORT_FAILURE_REASON%` of a TCP connect the destination refused: Envoy's
/// `ConnectionImpl::onWriteReady` writes `delayed connect error: <errno>`, and ECONNREFUSED is 111
/// on Linux (as Istio users' access logs show it: `delayed_connect_error:_111`).
pub(crate) const CONNECT_REFUSED: &str = "delayed connect error: 111";

/// The details of a failed connect: `remote connection failure`, with the transport failure
/// reason (`%UPSTREAM_TRANSPORT_FAILURE_REASON%`) after a `|` when there is one.
pub(crate) fn remote_connection_failure(transport: Option<&str>) -> String {
    match transport {
        Some(t) => {
            upstream_reset_before_response_started(&format!("remote connection failure|{t}"))
        }
        None => upstream_reset_before_response_started("remote connection failure"),
    }
}

/// `rbac_access_denied_matched_policy[ID]`: the RBAC filter's details on a denial, `none` when
/// no policy matched (an ALLOW-only denial).
pub(crate) fn rbac_access_denied(policy_id: &str) -> String {
    format!("{RBAC_ACCESS_DENIED_MATCHED_POLICY}[{policy_id}]")
}

/// Whether details name an RBAC denial (the HTTP or network RBAC filter).
pub(crate) fn is_rbac_denial(details: &str) -> bool {
    details.starts_with(RBAC_ACCESS_DENIED_MATCHED_POLICY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_spelled_as_envoy_writes_them() {
        let cases = [
            (
                upstream_reset_before_response_started("connection termination"),
                "upstream_reset_before_response_started{connection_termination}",
            ),
            (
                remote_connection_failure(None),
                "upstream_reset_before_response_started{remote_connection_failure}",
            ),
            (
                remote_connection_failure(Some("TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end")),
                "upstream_reset_before_response_started{remote_connection_failure|TLS_error:|268435581:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end}",
            ),
            (
                rbac_access_denied("none"),
                "rbac_access_denied_matched_policy[none]",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn only_rbac_details_are_rbac_denials() {
        assert!(is_rbac_denial(&rbac_access_denied(
            "ns[foo]-policy[deny]-rule[0]"
        )));
        assert!(is_rbac_denial("rbac_access_denied_matched_policy[none]"));
        assert!(!is_rbac_denial(VIA_UPSTREAM));
        assert!(!is_rbac_denial(FILTER_CHAIN_NOT_FOUND));
    }
}
