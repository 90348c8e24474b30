//! Access-log lines in Istio's default text format (`EnvoyTextLogFormat`, mesh config
//! `accessLogFormat` unset):
//! `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
//! %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
//! "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
//! %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
//! "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER%
//! %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
//! %REQUESTED_SERVER_NAME% %ROUTE_NAME%`. Times are virtual; durations are 0.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::vocab::{join, ResponseFlag};
use crate::SimTime;

/// One text field of a line: Envoy's `-` and other fixed values are borrowed, so a line costs
/// an allocation only for what the request itself adds (addresses, names).
pub(crate) type Field = Cow<'static, str>;

/// Envoy's text for an empty field.
const DASH: Field = Cow::Borrowed("-");

/// A field from an optional value: the value, or Envoy's `-` when there is none.
pub(crate) fn field_or_dash(value: Option<&str>) -> Field {
    value.map_or(DASH, |v| Cow::Owned(v.to_string()))
}

/// The fields of one line; every field defaults to Envoy's `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLog {
    /// `%START_TIME%`.
    pub start: SimTime,
    /// Method, path and protocol; `None` for TCP / listener-level lines (`"- - -"`).
    pub request: Option<(String, String, String)>,
    /// `%RESPONSE_CODE%` (0 when none).
    pub code: u16,
    /// `%RESPONSE_FLAGS%`.
    pub flags: Vec<ResponseFlag>,
    /// `%RESPONSE_CODE_DETAILS%`.
    pub details: Field,
    /// `%CONNECTION_TERMINATION_DETAILS%`.
    pub termination: Field,
    /// `%UPSTREAM_TRANSPORT_FAILURE_REASON%`.
    pub upstream_failure: Field,
    /// `%BYTES_RECEIVED%`.
    pub bytes_received: usize,
    /// `%BYTES_SENT%`.
    pub bytes_sent: usize,
    /// `%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%`.
    pub upstream_service_time: Field,
    /// `%REQ(USER-AGENT)%`.
    pub user_agent: Field,
    /// `%REQ(X-REQUEST-ID)%`.
    pub request_id: Field,
    /// `%REQ(:AUTHORITY)%`.
    pub authority: Field,
    /// `%UPSTREAM_HOST%`.
    pub upstream_host: Field,
    /// `%UPSTREAM_CLUSTER%`.
    pub upstream_cluster: Field,
    /// `%UPSTREAM_LOCAL_ADDRESS%`.
    pub upstream_local: Field,
    /// `%DOWNSTREAM_LOCAL_ADDRESS%`.
    pub downstream_local: Field,
    /// `%DOWNSTREAM_REMOTE_ADDRESS%`.
    pub downstream_remote: Field,
    /// `%REQUESTED_SERVER_NAME%`.
    pub sni: Field,
    /// `%ROUTE_NAME%`.
    pub route: Field,
}

impl AccessLog {
    /// A line at `start` with every field `-`.
    pub fn new(start: SimTime) -> AccessLog {
        let dash = || DASH;
        AccessLog {
            start,
            request: None,
            code: 0,
            flags: Vec::new(),
            details: dash(),
            termination: dash(),
            upstream_failure: dash(),
            bytes_received: 0,
            bytes_sent: 0,
            upstream_service_time: dash(),
            user_agent: dash(),
            request_id: dash(),
            authority: dash(),
            upstream_host: dash(),
            upstream_cluster: dash(),
            upstream_local: dash(),
            downstream_local: dash(),
            downstream_remote: dash(),
            sni: dash(),
            route: dash(),
        }
    }

    /// The formatted line.
    pub fn render(&self) -> String {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.start.unix_secs());
        let request = match &self.request {
            Some((m, p, proto)) => format!("{m} {p} {proto}"),
            None => "- - -".to_string(),
        };
        let flags = if self.flags.is_empty() {
            "-".to_string()
        } else {
            join(&self.flags, ",")
        };
        // One allocation of about a line's length instead of the growth `format!` would do.
        let mut line = String::with_capacity(384);
        let _ = write!(
            line,
            "[{}] \"{request}\" {} {flags} {} {} \"{}\" {} {} 0 {} \"-\" \"{}\" \"{}\" \"{}\" \"{}\" {} {} {} {} {} {}",
            humantime::format_rfc3339_millis(t),
            self.code,
            self.details,
            self.termination,
            self.upstream_failure,
            self.bytes_received,
            self.bytes_sent,
            self.upstream_service_time,
            self.user_agent,
            self.request_id,
            self.authority,
            self.upstream_host,
            self.upstream_cluster,
            self.upstream_local,
            self.downstream_local,
            self.downstream_remote,
            self.sni,
            self.route,
        );
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::details::FILTER_CHAIN_NOT_FOUND;

    #[test]
    fn listener_line_for_no_filter_chain_matches_envoys_shape() {
        let mut l = AccessLog::new(SimTime::EPOCH);
        l.flags = vec![ResponseFlag::NoRouteFound];
        l.details = FILTER_CHAIN_NOT_FOUND.into();
        l.downstream_local = "10.0.0.2:8080".into();
        l.downstream_remote = "10.0.0.1:40000".into();
        assert_eq!(
            l.render(),
            "[2026-01-01T00:00:00.000Z] \"- - -\" 0 NR filter_chain_not_found - \"-\" 0 0 0 - \
             \"-\" \"-\" \"-\" \"-\" \"-\" - - 10.0.0.2:8080 10.0.0.1:40000 - -"
        );
    }
}
