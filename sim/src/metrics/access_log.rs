//! Reads back the fields the standard metrics need from a proxy's access-log line (the inverse
//! of `proxy::access_log::AccessLog::render`, Istio's default text format): what the proxy saw
//! of each request is exactly what it logged.

use std::borrow::Cow;

/// The fields of one access-log line that the metrics read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LogLine<'a> {
    /// An HTTP stream: a request line was logged (`"GET /path HTTP/1.1"`), or the HTTP codec
    /// rejected the request (`DPE`, answered with a local reply); otherwise (`"- - -"`) a TCP
    /// connection or a listener-level event.
    pub http: bool,
    /// `%RESPONSE_CODE%`.
    pub code: u16,
    /// `%RESPONSE_FLAGS%`, `-` when none (as Istio's `response_flags` label shows it).
    pub flags: Cow<'a, str>,
    /// `%UPSTREAM_CLUSTER%`, `-` when none.
    pub upstream_cluster: Cow<'a, str>,
}

impl LogLine<'_> {
    /// The same fields owning their text.
    pub(super) fn into_owned(self) -> LogLine<'static> {
        LogLine {
            http: self.http,
            code: self.code,
            flags: Cow::Owned(self.flags.into_owned()),
            upstream_cluster: Cow::Owned(self.upstream_cluster.into_owned()),
        }
    }
}

/// Parses one line; `None` when it is not in the default format.
pub(super) fn parse(line: &str) -> Option<LogLine<'_>> {
    // [start] "request" code flags details termination "failure" rx tx duration upstream_time
    // "xff" "ua" "request-id" "authority" "upstream-host" upstream_cluster ...
    let mut fields = Fields(line.trim_start());
    let request = fields.nth(1)?;
    let code = fields.next()?;
    let flags = fields.next()?;
    let upstream_cluster = fields.nth(12)?;
    Some(LogLine {
        http: request != "- - -" || flags.split(',').any(|f| f == "DPE"),
        code: code.parse().ok()?,
        flags: Cow::Borrowed(flags),
        upstream_cluster: Cow::Borrowed(upstream_cluster),
    })
}

/// The fields of a line, split on spaces, keeping `"quoted"` and `[bracketed]` fields whole
/// (without the marks); read lazily, since the metrics need only the first seventeen.
struct Fields<'a>(&'a str);

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.0;
        let (close, skip) = match rest.as_bytes().first()? {
            b'"' => ('"', 1),
            b'[' => (']', 1),
            _ => (' ', 0),
        };
        let body = &rest[skip..];
        let end = body.find(close).unwrap_or(body.len());
        self.0 = body[end..]
            .get(close.len_utf8()..)
            .unwrap_or("")
            .trim_start();
        Some(&body[..end])
    }
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
        let line = l.render();
        let parsed = parse(&line).unwrap();
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
        let line = l.render();
        let parsed = parse(&line).unwrap();
        assert!(!parsed.http);
        assert_eq!((parsed.code, parsed.flags.as_ref()), (0, "-"));
    }
}
