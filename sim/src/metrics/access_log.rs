//! Reads back the fields the standard metrics need from a proxy's access-log line (the inverse
//! of `proxy::access_log::AccessLog::render`, Istio's default text format): what the proxy saw
//! of each request is exactly what it logged.

/// The fields of one access-log line that the metrics read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LogLine {
    /// An HTTP stream: a request line was logged (`"GET /path HTTP/1.1"`), or the HTTP codec
    /// rejected the request (`DPE`, answered with a local reply); otherwise (`"- - -"`) a TCP
    /// connection or a listener-level event.
    pub http: bool,
    /// `%RESPONSE_CODE%`.
    pub code: u16,
    /// `%RESPONSE_FLAGS%`, `-` when none (as Istio's `response_flags` label shows it).
    pub flags: String,
    /// `%UPSTREAM_CLUSTER%`, `-` when none.
    pub upstream_cluster: String,
}

/// Parses one line; `None` when it is not in the default format.
pub(super) fn parse(line: &str) -> Option<LogLine> {
    let fields = split(line);
    // [start] "request" code flags details termination "failure" rx tx duration upstream_time
    // "xff" "ua" "request-id" "authority" "upstream-host" upstream_cluster ...
    let request = fields.get(1)?;
    let flags = fields.get(3)?;
    Some(LogLine {
        http: *request != "- - -" || flags.split(',').any(|f| f == "DPE"),
        code: fields.get(2)?.parse().ok()?,
        flags: flags.to_string(),
        upstream_cluster: fields.get(16)?.to_string(),
    })
}

/// Splits on spaces, keeping `"quoted"` and `[bracketed]` fields whole (without the marks).
fn split(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let (close, skip) = match rest.as_bytes()[0] {
            b'"' => ('"', 1),
            b'[' => (']', 1),
            _ => (' ', 0),
        };
        let body = &rest[skip..];
        let end = body.find(close).unwrap_or(body.len());
        out.push(&body[..end]);
        rest = body[end..]
            .get(close.len_utf8()..)
            .unwrap_or("")
            .trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::access_log::AccessLog;
    use crate::vocab::ResponseFlag;
    use crate::SimTime;

    #[test]
    fn a_rendered_line_reads_back_its_code_flags_and_cluster() {
        let mut l = AccessLog::new(SimTime::EPOCH);
        l.request = Some(("GET".into(), "/headers".into(), "HTTP/1.1".into()));
        l.code = 503;
        l.flags = vec![ResponseFlag::UpstreamConnectionFailure];
        l.upstream_failure = "TLS_error:|268435581:SSL routines:OPENSSL_internal:x".into();
        l.upstream_cluster = "outbound|8000||httpbin.foo.svc.cluster.local".into();
        let parsed = parse(&l.render()).unwrap();
        assert_eq!(
            parsed,
            LogLine {
                http: true,
                code: 503,
                flags: "UF".into(),
                upstream_cluster: "outbound|8000||httpbin.foo.svc.cluster.local".into(),
            }
        );
    }

    #[test]
    fn a_listener_line_is_not_an_http_request() {
        let l = AccessLog::new(SimTime::EPOCH);
        let parsed = parse(&l.render()).unwrap();
        assert!(!parsed.http);
        assert_eq!((parsed.code, parsed.flags.as_str()), (0, "-"));
    }
}
