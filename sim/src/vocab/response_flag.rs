//! Envoy's response flags (`%RESPONSE_FLAGS%`), by the short names the access log prints
//! (`ResponseFlagUtils::ALL_RESPONSE_STRINGS_FLAGS`, `source/common/stream_info/utility.cc`).

string_enum! {
    /// One response flag. Declared in Envoy's bit order (`CoreResponseFlag`,
    /// `envoy/stream_info/stream_info.h`), the order the access log prints a set in.
    pub enum ResponseFlag ("response flag") {
        /// Local service failed its health check.
        FailedLocalHealthCheck = "LH",
        /// No healthy upstream host in the cluster.
        NoHealthyUpstream = "UH",
        /// Upstream request timeout.
        UpstreamRequestTimeout = "UT",
        /// Local reset.
        LocalReset = "LR",
        /// The upstream reset the stream.
        UpstreamRemoteReset = "UR",
        /// The upstream connection could not be established (TCP or TLS).
        UpstreamConnectionFailure = "UF",
        /// The upstream connection was terminated.
        UpstreamConnectionTermination = "UC",
        /// Circuit breaking: connection-pool limits overflowed.
        UpstreamOverflow = "UO",
        /// No route (or, on a listener, no filter chain) matched.
        NoRouteFound = "NR",
        /// Delayed by fault injection.
        DelayInjected = "DI",
        /// Aborted by fault injection.
        FaultInjected = "FI",
        /// Rate limited locally.
        RateLimited = "RL",
        /// Denied by the external authorization service.
        UnauthorizedExternalService = "UAEX",
        /// The rate-limit service failed.
        RateLimitServiceError = "RLSE",
        /// The downstream connection terminated.
        DownstreamConnectionTermination = "DC",
        /// Retries exhausted (each attempt failed).
        UpstreamRetryLimitExceeded = "URX",
        /// Stream idle timeout.
        StreamIdleTimeout = "SI",
        /// Invalid `x-envoy-*` request headers.
        InvalidEnvoyRequestHeaders = "IH",
        /// The downstream spoke the wrong protocol (e.g. TLS bytes into an HTTP codec).
        DownstreamProtocolError = "DPE",
        /// The upstream's maximum stream duration was reached.
        UpstreamMaxStreamDurationReached = "UMSDR",
        /// Served from the cache filter.
        ResponseFromCacheFilter = "RFCF",
        /// No filter configuration found.
        NoFilterConfigFound = "NFCF",
        /// Overall request duration timeout.
        DurationTimeout = "DT",
        /// The upstream spoke the wrong protocol.
        UpstreamProtocolError = "UPE",
        /// The route's cluster does not exist.
        NoClusterFound = "NC",
        /// Rejected by the overload manager.
        OverloadManager = "OM",
        /// DNS resolution failed.
        DnsResolutionFailed = "DF",
        /// Dropped by drop-overload.
        DropOverload = "DO",
        /// The downstream reset the stream.
        DownstreamRemoteReset = "DR",
    }
}

#[cfg(test)]
mod tests {
    use super::ResponseFlag;
    use crate::vocab::{join, UnknownName};

    #[test]
    fn every_flag_round_trips_through_display_fromstr_and_serde() {
        for &flag in ResponseFlag::ALL {
            let text = flag.to_string();
            assert_eq!(text.parse::<ResponseFlag>(), Ok(flag));
            let json = serde_json::to_string(&flag).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<ResponseFlag>(&json).unwrap(), flag);
        }
    }

    #[test]
    fn a_set_of_flags_prints_as_envoy_joins_it() {
        let flags = [
            ResponseFlag::UpstreamConnectionFailure,
            ResponseFlag::UpstreamRetryLimitExceeded,
        ];
        assert_eq!(join(&flags, ","), "UF,URX");
        assert!(flags[0] < flags[1], "declared in Envoy's bit order");
    }

    #[test]
    fn malformed_flags_are_rejected_with_the_set_of_names() {
        for given in ["", "uf", "UF,URX", " UF", "RBAC", "PlaintextToStrict"] {
            assert_eq!(
                given.parse::<ResponseFlag>(),
                Err(UnknownName {
                    what: "response flag",
                    given: given.to_string(),
                    expected: ResponseFlag::NAMES,
                })
            );
        }
        let err = serde_json::from_str::<ResponseFlag>("\"UFF\"").unwrap_err();
        assert!(
            err.to_string().starts_with("unknown variant `UFF`"),
            "{err}"
        );
    }
}
