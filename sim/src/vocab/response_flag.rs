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
    use crate::vocab::join;
    use crate::vocab::names::assert_closed_set;

    #[test]
    fn flags_round_trip_and_malformed_ones_are_rejected() {
        let malformed = ["", "uf", "UF,URX", " UF", "RBAC", "PlaintextToStrict"];
        assert_closed_set(
            ResponseFlag::ALL,
            "response flag",
            ResponseFlag::NAMES,
            &malformed,
        );
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
}
