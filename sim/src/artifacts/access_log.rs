//! `kubectl logs POD -c istio-proxy`: Envoy access-log lines among Envoy's and istio-agent's own
//! lines. Two access-log formats are read: Istio's default text format (`EnvoyTextLogFormat`,
//! `pilot/pkg/model/telemetry_logging.go`, 1.22–1.28; the inverse of
//! [`AccessLog::render`], which the simulator prints) and its JSON format
//! (`EnvoyJSONLogFormatIstio`, same file; mesh config `accessLogEncoding: JSON`). istio-agent's
//! lines (`<RFC 3339>\t<level>\t...`) are kept as the agent log; Envoy's own lines
//! (`[<time>][<thread>][<level>][<logger>] ...`) and anything else are skipped. A line that
//! starts like an access-log line but does not parse is an error with its line number.

use serde_json::Value;

use super::{parse_rfc3339, ArtifactError};
use crate::proxy::access_log::AccessLog;
use crate::vocab::ResponseFlag;
use crate::SimTime;

const EXPECTED_TEXT: &str = "Istio's default access-log format: [START_TIME] \"METHOD PATH \
                             PROTOCOL\" CODE FLAGS DETAILS ... (22 fields)";
const EXPECTED_JSON: &str = "a JSON access-log object (Istio's EnvoyJSONLogFormatIstio keys)";
const EXPECTED_FILE: &str = "the output of `kubectl logs POD -c istio-proxy` (access-log, Envoy \
                             or istio-agent lines)";

/// Which access-log format a line was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessLogFormat {
    /// `EnvoyTextLogFormat`.
    Text,
    /// `EnvoyJSONLogFormatIstio`.
    Json,
}

/// One access-log line read back.
#[derive(Debug, Clone)]
pub struct ParsedAccessLog {
    /// 1-based line number in its file.
    pub line: usize,
    /// The line as printed.
    pub raw: String,
    /// The format it was in.
    pub format: AccessLogFormat,
    /// Its fields.
    pub fields: AccessLog,
}

/// What one istio-proxy container log holds.
#[derive(Debug, Clone, Default)]
pub struct ProxyLog {
    /// Access-log lines, in file order.
    pub access: Vec<ParsedAccessLog>,
    /// istio-agent lines (`<time>\t<level>\t...`), in file order.
    pub agent: Vec<String>,
    /// The newest timestamp any kept line carries.
    pub newest: Option<SimTime>,
    /// How many lines were neither (Envoy's own log, blank lines, other output).
    pub skipped: usize,
    /// What istio-agent's start-up line `Proxy role ips=[...] type=sidecar id=POD.NAMESPACE`
    /// (`pkg/istio-agent`, `pilot-agent` `proxy` command) names: the pod and its IPs.
    pub proxy_role: Option<ProxyRole>,
}

/// The pod an istio-proxy log belongs to, as its agent announced it at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRole {
    /// `id=`: `POD.NAMESPACE`.
    pub id: String,
    /// `ips=[...]`: the pod's IPs.
    pub ips: Vec<String>,
}

/// Reads `Proxy role\tips=[10.244.1.7] type=sidecar id=httpbin-7d9c-x2x9k.foo domain=...`.
fn proxy_role(line: &str) -> Option<ProxyRole> {
    let rest = line.split("Proxy role").nth(1)?;
    let mut id = None;
    let mut ips = Vec::new();
    for field in rest.split_whitespace() {
        if let Some(v) = field.strip_prefix("id=") {
            id = Some(v.to_string());
        } else if let Some(v) = field.strip_prefix("ips=") {
            ips = v
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        }
    }
    Some(ProxyRole { id: id?, ips })
}

/// Reads one istio-proxy container log; `file` names it in errors.
pub fn parse_proxy_log(file: &str, text: &str) -> Result<ProxyLog, ArtifactError> {
    let mut out = ProxyLog::default();
    let mut envoy_lines = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim_end_matches('\r');
        let malformed = |problem: String, expected| ArtifactError::Malformed {
            file: file.into(),
            line,
            problem,
            expected,
        };
        let parsed = if trimmed.starts_with('{') {
            match parse_json(trimmed) {
                JsonLine::Access(l) => Some((*l, AccessLogFormat::Json)),
                JsonLine::Other => None,
                JsonLine::Broken(problem) => return Err(malformed(problem, EXPECTED_JSON)),
            }
        } else if looks_like_text_access_log(trimmed) {
            let l = parse_text(trimmed).map_err(|p| malformed(p, EXPECTED_TEXT))?;
            Some((l, AccessLogFormat::Text))
        } else {
            None
        };
        if let Some((fields, format)) = parsed {
            out.newest = out.newest.max(Some(fields.start));
            out.access.push(ParsedAccessLog {
                line,
                raw: trimmed.to_string(),
                format,
                fields,
            });
        } else if let Some(at) = agent_stamp(trimmed) {
            out.newest = out.newest.max(Some(at));
            if out.proxy_role.is_none() {
                out.proxy_role = proxy_role(trimmed);
            }
            out.agent.push(trimmed.to_string());
        } else {
            if trimmed.starts_with('[') {
                envoy_lines += 1;
            }
            out.skipped += 1;
        }
    }
    if out.access.is_empty() && out.agent.is_empty() && envoy_lines == 0 {
        return Err(ArtifactError::WrongShape {
            file: file.into(),
            problem: if text.trim().is_empty() {
                "the file is empty".into()
            } else {
                "no access-log, Envoy or istio-agent line".into()
            },
            expected: EXPECTED_FILE,
        });
    }
    Ok(out)
}

/// The timestamp of an istio-agent (or istiod) line: `<RFC 3339>\t<level>\t...`.
pub(super) fn agent_stamp(line: &str) -> Option<SimTime> {
    let (stamp, _) = line.split_once('\t')?;
    parse_rfc3339(stamp)
}

/// `[<RFC 3339>] "` opens a text access-log line; Envoy's own lines continue `][`.
fn looks_like_text_access_log(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    match rest.split_once("] ") {
        Some((stamp, after)) => {
            parse_rfc3339(stamp).is_some() && (after.starts_with('"') || after.is_empty())
        }
        None => false,
    }
}

/// Splits a text line into its fields: `[...]`, `"..."` (quotes removed) or bare words.
fn tokens(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let (tok, after) = if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or("an unclosed [ ... ]")?;
            (&r[..end], &r[end + 1..])
        } else if let Some(r) = rest.strip_prefix('"') {
            let end = r
                .find('"')
                .ok_or("an unclosed quoted field (truncated line?)")?;
            (&r[..end], &r[end + 1..])
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        out.push(tok.to_string());
        rest = after.trim_start();
    }
    Ok(out)
}

/// `-` as Envoy prints an empty value.
fn dash_or(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

fn flags(text: &str) -> Result<Vec<ResponseFlag>, String> {
    if text == "-" || text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|f| {
            f.parse::<ResponseFlag>()
                .map_err(|_| format!("unknown response flag {f:?}"))
        })
        .collect()
}

fn number<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{what} {text:?} is not a number"))
}

/// The request field: `METHOD PATH PROTOCOL`, or `- - -` for TCP and listener lines.
fn request(text: &str) -> Result<Option<(String, String, String)>, String> {
    let parts: Vec<&str> = text.split(' ').collect();
    match parts.as_slice() {
        ["-", "-", "-"] => Ok(None),
        [m, p, proto] => Ok(Some((m.to_string(), p.to_string(), proto.to_string()))),
        _ => Err(format!(
            "request field {text:?} is not \"METHOD PATH PROTOCOL\""
        )),
    }
}

/// One text line (`EnvoyTextLogFormat`).
pub(super) fn parse_text(line: &str) -> Result<AccessLog, String> {
    let t = tokens(line)?;
    if t.len() != 22 {
        return Err(format!(
            "{} fields instead of 22 (truncated line?)",
            t.len()
        ));
    }
    let start = parse_rfc3339(&t[0]).ok_or_else(|| format!("START_TIME {:?}", t[0]))?;
    let mut l = AccessLog::new(start);
    l.request = request(&t[1])?;
    l.code = number("RESPONSE_CODE", &t[2])?;
    l.flags = flags(&t[3])?;
    l.details = t[4].clone().into();
    l.termination = t[5].clone().into();
    l.upstream_failure = t[6].clone().into();
    l.bytes_received = number("BYTES_RECEIVED", &t[7])?;
    l.bytes_sent = number("BYTES_SENT", &t[8])?;
    let _duration: u64 = number("DURATION", &t[9])?;
    l.upstream_service_time = t[10].clone().into();
    // t[11] is X-FORWARDED-FOR, which the simulator never sets.
    l.user_agent = t[12].clone().into();
    l.request_id = t[13].clone().into();
    l.authority = t[14].clone().into();
    l.upstream_host = t[15].clone().into();
    l.upstream_cluster = t[16].clone().into();
    l.upstream_local = t[17].clone().into();
    l.downstream_local = t[18].clone().into();
    l.downstream_remote = t[19].clone().into();
    l.sni = t[20].clone().into();
    l.route = t[21].clone().into();
    Ok(l)
}

enum JsonLine {
    Access(Box<AccessLog>),
    Other,
    Broken(String),
}

/// One JSON line: an object with `start_time` is an access-log line; other JSON (istio-agent in
/// JSON logging mode) is not. Envoy prints `null` for an empty value and numbers for numeric
/// operators; both are read.
fn parse_json(line: &str) -> JsonLine {
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) if line.contains("\"start_time\"") => {
            return JsonLine::Broken(format!("not JSON ({e}): truncated line?"))
        }
        Err(_) => return JsonLine::Other,
    };
    let Some(obj) = v.as_object().filter(|o| o.contains_key("start_time")) else {
        return JsonLine::Other;
    };
    let text = |k: &str| match obj.get(k) {
        Some(Value::String(s)) => dash_or(s),
        Some(Value::Number(n)) => n.to_string(),
        _ => "-".to_string(),
    };
    let build = || -> Result<AccessLog, String> {
        let start = parse_rfc3339(&text("start_time"))
            .ok_or_else(|| format!("start_time {:?}", text("start_time")))?;
        let mut l = AccessLog::new(start);
        let (m, p, proto) = (text("method"), text("path"), text("protocol"));
        l.request = (m != "-").then_some((m, p, proto));
        let num = |k: &str| -> Result<u64, String> {
            match text(k).as_str() {
                "-" => Ok(0),
                s => number(k, s),
            }
        };
        l.code = u16::try_from(num("response_code")?).map_err(|e| e.to_string())?;
        l.flags = flags(&text("response_flags"))?;
        l.details = text("response_code_details").into();
        l.termination = text("connection_termination_details").into();
        l.upstream_failure = text("upstream_transport_failure_reason").into();
        l.bytes_received = usize::try_from(num("bytes_received")?).map_err(|e| e.to_string())?;
        l.bytes_sent = usize::try_from(num("bytes_sent")?).map_err(|e| e.to_string())?;
        l.upstream_service_time = text("upstream_service_time").into();
        l.user_agent = text("user_agent").into();
        l.request_id = text("request_id").into();
        l.authority = text("authority").into();
        l.upstream_host = text("upstream_host").into();
        l.upstream_cluster = text("upstream_cluster").into();
        l.upstream_local = text("upstream_local_address").into();
        l.downstream_local = text("downstream_local_address").into();
        l.downstream_remote = text("downstream_remote_address").into();
        l.sni = text("requested_server_name").into();
        l.route = text("route_name").into();
        Ok(l)
    };
    match build() {
        Ok(l) => JsonLine::Access(Box::new(l)),
        Err(problem) => JsonLine::Broken(problem),
    }
}

#[cfg(test)]
mod tests;
