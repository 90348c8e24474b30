//! AuthorizationPolicy value matching, as Istio translates each field into an Envoy RBAC matcher
//! (`pilot/pkg/security/authz/model/generator.go`, `pilot/pkg/security/authz/matcher/`):
//! exact, prefix `abc*`, suffix `*abc`, presence `*`; path templates `{*}` / `{**}`; CIDRs;
//! trust-domain alias expansion of principals (`pilot/pkg/security/trustdomain/bundle.go`).

use std::net::IpAddr;

use crate::vocab::PathNormalization;

/// Istio's string match: `*` = present (non-empty), `abc*` = prefix, `*abc` = suffix, else exact.
pub(crate) fn string_match(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return !value.is_empty();
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return value.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return value.ends_with(suffix);
    }
    pattern == value
}

/// `string_match` ignoring ASCII case (`*` has no case, so the operators read the same), on
/// bytes so nothing is allocated.
pub(crate) fn string_match_ignore_case(pattern: &str, value: &str) -> bool {
    let (p, v) = (pattern.as_bytes(), value.as_bytes());
    if p == b"*" {
        return !v.is_empty();
    }
    if let Some(prefix) = p.strip_suffix(b"*") {
        return v.len() >= prefix.len() && v[..prefix.len()].eq_ignore_ascii_case(prefix);
    }
    if let Some(suffix) = p.strip_prefix(b"*") {
        return v.len() >= suffix.len() && v[v.len() - suffix.len()..].eq_ignore_ascii_case(suffix);
    }
    p.eq_ignore_ascii_case(v)
}

/// `hosts` / `notHosts` against `:authority` (`matcher.HostMatcher`, Istio 1.11 and later,
/// so every release meshsim models): `*` is a presence match, anything else Istio's string match
/// ignoring case, on the authority exactly as sent. A value without a port does not match an
/// authority that carries one (`httpbin.foo` misses `httpbin.foo:8000`); the implicit `:port`
/// variant existed only in the regex matcher for proxies before 1.11 (`HostMatcherWithRegex`).
pub(crate) fn host_match(pattern: &str, authority: &str) -> bool {
    pattern == "*" || string_match_ignore_case(pattern, authority)
}

/// `request.headers[...]` and `methods` (`matcher.HeaderMatcher`): `*` is Envoy's
/// `present_match`, which holds for a header that is present with an empty value; otherwise
/// Istio's string match on the value. An absent header matches nothing.
pub(crate) fn header_match(pattern: &str, value: Option<&str>) -> bool {
    match value {
        None => false,
        Some(_) if pattern == "*" => true,
        Some(v) => string_match(pattern, v),
    }
}

/// `namespaces` / `source.namespace` (`srcNamespaceGenerator`): Istio turns the value into the
/// regex `.*/ns/<value with every * as .*>/.*`, fully matched against the peer's URI SAN. So `*`
/// may stand anywhere in the value (`team-*-prod`), not only at an end, and it may match across
/// `/`. A plaintext peer has no URI SAN and never matches.
pub(crate) fn namespace_match(pattern: &str, principal: &str) -> bool {
    // `.*/ns/<value>/.*` with each `*` of the value a `.*`: a wildcard pattern in which `*` is
    // the only operator (literal text never holds one, as the value was split on it).
    // The two texts are read in pieces rather than formatted, so nothing is allocated.
    wildcard_match(
        &Joined(&[b"*/ns/", pattern.as_bytes(), b"/*"]),
        &Joined(&[b"spiffe://", principal.as_bytes()]),
    )
}

/// Byte strings read as one, without concatenating them.
struct Joined<'a>(&'a [&'a [u8]]);

impl Joined<'_> {
    fn len(&self) -> usize {
        self.0.iter().map(|p| p.len()).sum()
    }

    fn at(&self, mut i: usize) -> u8 {
        for p in self.0 {
            if i < p.len() {
                return p[i];
            }
            i -= p.len();
        }
        unreachable!("index within len()")
    }
}

/// Full match of a pattern whose only operator is `*` (any run of characters, `/` included):
/// the greedy two-pointer match with backtracking to the last `*`, O(pattern × text) like
/// Envoy's RE2 is linear, never exponential whatever the policy writes.
fn wildcard_match(p: &Joined<'_>, t: &Joined<'_>) -> bool {
    // Bytes, not chars: `*` is ASCII and UTF-8 literals compare the same byte by byte.
    let (plen, tlen) = (p.len(), t.len());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < tlen {
        if pi < plen && p.at(pi) == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < plen && p.at(pi) == t.at(ti) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    (pi..plen).all(|i| p.at(i) == b'*')
}

/// The path as the RBAC filter sees it after `mode` (query string kept as sent).
pub(crate) fn normalize_path(path: &str, mode: PathNormalization) -> String {
    if mode == PathNormalization::None {
        return path.to_string();
    }
    let (path, query) = match path.find(['?', '#']) {
        Some(i) => path.split_at(i),
        None => (path, ""),
    };
    // Most paths have nothing to normalize: no escapes, backslashes, dot segments or empty
    // segments. Every step below leaves such a path as it is.
    let plain = !path.contains(['\\', '%'])
        && !path.contains("//")
        && path.split('/').all(|s| s != "." && s != "..");
    if plain {
        return format!("{path}{query}");
    }
    let mut p = path.to_string();
    if mode == PathNormalization::DecodeAndMergeSlashes {
        for (escaped, plain) in [("%2F", "/"), ("%2f", "/"), ("%5C", "\\"), ("%5c", "\\")] {
            p = p.replace(escaped, plain);
        }
    }
    // Envoy's canonicalPath (Chromium's URL canonicalizer) reads `\` as `/` and `%2E` as `.`
    // when it removes dot segments.
    p = p.replace('\\', "/").replace("%2E", ".").replace("%2e", ".");
    let mut p = remove_dot_segments(&p);
    if matches!(
        mode,
        PathNormalization::MergeSlashes | PathNormalization::DecodeAndMergeSlashes
    ) {
        while p.contains("//") {
            p = p.replace("//", "/");
        }
    }
    p + query
}

/// RFC 3986 section 5.2.4 `remove_dot_segments`.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len() - 1;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if path.starts_with('/') && !joined.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Whether a pattern uses Envoy's URI-template operators.
fn is_path_template(pattern: &str) -> bool {
    pattern.contains("{*}") || pattern.contains("{**}")
}

/// One piece of a URI template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    /// Literal text.
    Text(&'a str),
    /// `{*}`: one or more characters of a single segment (no `/`).
    Segment,
    /// `{**}`: zero or more characters, `/` included.
    Rest,
}

fn template_pieces(pattern: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        let (op, len) = if rest[start..].starts_with("{**}") {
            (Piece::Rest, 4)
        } else if rest[start..].starts_with("{*}") {
            (Piece::Segment, 3)
        } else {
            out.push(Piece::Text(&rest[..=start]));
            rest = &rest[start + 1..];
            continue;
        };
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        out.push(op);
        rest = &rest[start + len..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

fn template_match(pieces: &[Piece<'_>], path: &str) -> bool {
    match pieces.split_first() {
        None => path.is_empty(),
        Some((Piece::Text(t), more)) => path
            .strip_prefix(t)
            .is_some_and(|p| template_match(more, p)),
        Some((Piece::Segment, more)) => {
            let segment_end = path.find('/').unwrap_or(path.len());
            (1..=segment_end).any(|n| template_match(more, &path[n..]))
        }
        Some((Piece::Rest, more)) => path
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(path.len()))
            .any(|n| template_match(more, &path[n..])),
    }
}

/// Path matching: Envoy URI templates as Istio emits them (`{*}` is one or more characters of a
/// single segment, `{**}` zero or more characters across segments; the literal `/` around an
/// operator stays required), or Istio's string match. The query string is not part of the path.
pub(crate) fn path_match(pattern: &str, path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if !is_path_template(pattern) {
        return string_match(pattern, path);
    }
    template_match(&template_pieces(pattern), path)
}

/// An IP or CIDR (`10.0.0.0/8`, `2001:db8::/32`, `1.2.3.4`) containing `ip`; a malformed block
/// matches nothing.
pub(crate) fn ip_block_match(block: &str, ip: IpAddr) -> bool {
    let (addr, len) = match block.split_once('/') {
        Some((a, l)) => (a, l.parse::<u32>().ok()),
        None => (block, None),
    };
    let Ok(net) = addr.trim().parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let len = len.unwrap_or(32);
            if len > 32 {
                return false;
            }
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let len = len.unwrap_or(128);
            if len > 128 {
                return false;
            }
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// The namespace and service account of a principal `<td>/ns/<ns>/sa/<sa>`.
pub(crate) fn principal_parts(principal: &str) -> Option<(&str, &str, &str)> {
    let mut parts = principal.split('/');
    let mut next = || parts.next();
    match (next(), next(), next(), next(), next(), next()) {
        (Some(td), Some("ns"), Some(ns), Some("sa"), Some(sa), None) => Some((td, ns, sa)),
        _ => None,
    }
}

/// `Bundle.ReplaceTrustDomainAliases`: a principal whose trust domain is the mesh's, one of its
/// aliases, or `cluster.local` (a pointer to the local trust domain) stands for the same identity
/// in every trust domain of the bundle. `*` trust domains and malformed principals are kept.
pub(crate) fn expand_trust_domains(principal: &str, bundle: &[String]) -> Vec<String> {
    let parts: Vec<&str> = principal.split('/').collect();
    if parts.len() != 5 || parts[0] == "*" {
        return vec![principal.to_string()];
    }
    let td = parts[0];
    let rest = parts[1..].join("/");
    let in_bundle = bundle.iter().any(|b| {
        b == td
            || b == "*"
            || b.strip_suffix('*').is_some_and(|p| td.starts_with(p))
            || b.strip_prefix('*').is_some_and(|s| td.ends_with(s))
    });
    if !in_bundle && td != "cluster.local" {
        return vec![principal.to_string()];
    }
    let mut out: Vec<String> = Vec::new();
    for b in bundle {
        let candidate = match td.strip_prefix('*') {
            Some(suffix) if b.ends_with(suffix) => principal.to_string(),
            _ => format!("{b}/{rest}"),
        };
        if !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}

/// `source.trustDomains` matching (builder testdata `trust-domains-in.yaml`): the peer's trust
/// domain against one value with Istio's string match; a value naming the mesh trust domain or an
/// alias stands for all of them (`Bundle.ExpandTrustDomainAliases`). Plaintext never matches.
pub(crate) fn trust_domain_match(
    pattern: &str,
    principal: Option<&str>,
    bundle: &[String],
) -> bool {
    let Some((td, _, _)) = principal.and_then(principal_parts) else {
        return false;
    };
    if bundle.iter().any(|b| b == pattern) {
        return bundle.iter().any(|b| b == td);
    }
    string_match(pattern, td)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_match_supports_exact_prefix_suffix_and_presence() {
        let cases = [
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("abc*", "abcd", true),
            ("abc*", "xabc", false),
            ("*abc", "xabc", true),
            ("*abc", "abcx", false),
            ("*", "x", true),
            ("*", "", false),
            ("", "", true),
        ];
        for (p, v, want) in cases {
            assert_eq!(string_match(p, v), want, "{p} vs {v}");
        }
        assert!(string_match_ignore_case("*.Example.COM", "api.example.com"));
    }

    #[test]
    fn path_templates_match_segments() {
        let cases = [
            ("/foo/{*}", "/foo/bar", true),
            ("/foo/{*}", "/foo/bar/baz", false),
            ("/foo/{*}", "/foo/", false),
            ("/foo/{*}/baz", "/foo/bar/baz", true),
            ("/foo/{**}", "/foo/bar/baz", true),
            ("/foo/{**}", "/foo/", true),
            ("/foo/{**}", "/foo", false),
            ("/foo/{**}", "/other/bar", false),
            ("/{*}/bar/{**}", "/x/bar/y/z", true),
            // allow-full-rule-in.yaml uses {**} before literal segments.
            ("/{**}/path/template", "/a/b/path/template", true),
            ("/{**}/path/template", "/x/path/template", true),
            ("/{**}/path/template", "/path/template", false),
            ("/path/template/{*}", "/path/template/x", true),
            ("/path/template/{*}", "/path/template/x/y", false),
            ("/headers", "/headers?x=1", true),
            ("/api/*", "/api/v1", true),
        ];
        for (p, v, want) in cases {
            assert_eq!(path_match(p, v), want, "{p} vs {v}");
        }
    }

    #[test]
    fn hosts_match_the_authority_exactly_ignoring_case_without_an_implicit_port() {
        let cases = [
            ("httpbin.foo", "httpbin.foo", true),
            ("HTTPBIN.foo", "httpbin.FOO", true),
            ("httpbin.foo", "httpbin.foo:8000", false),
            ("httpbin.foo:8000", "httpbin.foo:8000", true),
            ("*.foo:8000", "httpbin.foo:8000", true),
            ("httpbin*", "httpbin.foo:8000", true),
            ("*", "", true),
            ("*", "anything", true),
        ];
        for (p, v, want) in cases {
            assert_eq!(host_match(p, v), want, "{p} vs {v}");
        }
    }

    #[test]
    fn header_presence_accepts_an_empty_value_but_not_an_absent_header() {
        let cases = [
            ("*", Some(""), true),
            ("*", Some("x"), true),
            ("*", None, false),
            ("a*", Some(""), false),
            ("", Some(""), true),
            ("curl*", Some("curl/8.0"), true),
        ];
        for (p, v, want) in cases {
            assert_eq!(header_match(p, v), want, "{p} vs {v:?}");
        }
    }

    #[test]
    fn namespace_values_are_globs_over_the_uri_san() {
        let cases = [
            ("foo", "cluster.local/ns/foo/sa/sleep", true),
            ("foo", "cluster.local/ns/foobar/sa/sleep", false),
            ("*", "cluster.local/ns/foo/sa/sleep", true),
            ("team-*-prod", "td/ns/team-a-prod/sa/x", true),
            ("team-*-prod", "td/ns/team-a-dev/sa/x", false),
            ("*-prod", "td/ns/a-prod/sa/x", true),
            ("prod-*", "td/ns/prod-a/sa/x", true),
            ("prod-*", "td/ns/dev/sa/x", false),
            // `.*` crosses `/`, as Envoy's regex does.
            ("sa", "td/ns/x/sa/y", false),
            ("*", "td/ns//sa/y", true),
            // Many stars against a long principal: linear, not exponential backtracking.
            (
                "*a*a*a*a*a*a*a*a*a*a*a*a*b",
                &format!("td/ns/{}/sa/x", "a".repeat(60)),
                false,
            ),
        ];
        for (p, v, want) in cases {
            assert_eq!(namespace_match(p, v), want, "{p} vs {v}");
        }
    }

    #[test]
    fn paths_are_normalized_like_envoy_before_matching() {
        use PathNormalization as N;
        let cases = [
            ("/a/./b", N::Base, "/a/b"),
            ("/a/../admin", N::Base, "/admin"),
            ("/../../admin", N::Base, "/admin"),
            ("/a/%2e%2e/admin", N::Base, "/admin"),
            ("/a\\..\\admin", N::Base, "/admin"),
            ("/a//b", N::Base, "/a//b"),
            ("/a//b", N::MergeSlashes, "/a/b"),
            ("/a%2Fb", N::MergeSlashes, "/a%2Fb"),
            ("/a%2F%2Fb", N::DecodeAndMergeSlashes, "/a/b"),
            ("/a/../b?x=/../y", N::Base, "/b?x=/../y"),
            ("/a/..", N::Base, "/"),
            ("/a/../b", N::None, "/a/../b"),
            ("/headers", N::Base, "/headers"),
        ];
        for (path, mode, want) in cases {
            assert_eq!(normalize_path(path, mode), want, "{path} {mode:?}");
        }
    }

    #[test]
    fn ip_blocks_match_addresses_and_cidrs() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let cases = [
            ("10.1.2.3", true),
            ("10.1.2.4", false),
            ("10.0.0.0/8", true),
            ("10.1.3.0/24", false),
            ("0.0.0.0/0", true),
            ("2001:db8::/32", false),
            ("garbage", false),
            ("10.0.0.0/99", false),
        ];
        for (b, want) in cases {
            assert_eq!(ip_block_match(b, ip), want, "{b}");
        }
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(ip_block_match("2001:db8::/32", v6));
    }

    #[test]
    fn trust_domains_match_the_peer_trust_domain_with_aliases() {
        let bundle = vec!["td1".to_string(), "old.local".to_string()];
        let cases = [
            ("td1", Some("old.local/ns/a/sa/b"), true),
            ("old.local", Some("td1/ns/a/sa/b"), true),
            ("bad*", Some("bad.example/ns/a/sa/b"), true),
            ("untrusted", Some("td1/ns/a/sa/b"), false),
            ("*", None, false),
        ];
        for (pattern, principal, want) in cases {
            assert_eq!(
                trust_domain_match(pattern, principal, &bundle),
                want,
                "{pattern} vs {principal:?}"
            );
        }
    }

    /// Istio's `trust-domain-*` builder testdata: with trust domain td1 and alias cluster.local,
    /// a principal in either expands to both.
    #[test]
    fn principals_expand_to_every_trust_domain_of_the_bundle() {
        let bundle = vec!["td1".to_string(), "cluster.local".to_string()];
        let cases: &[(&str, &[&str])] = &[
            (
                "cluster.local/ns/foo/sa/bar",
                &["td1/ns/foo/sa/bar", "cluster.local/ns/foo/sa/bar"],
            ),
            (
                "td1/ns/foo/sa/bar",
                &["td1/ns/foo/sa/bar", "cluster.local/ns/foo/sa/bar"],
            ),
            ("other/ns/foo/sa/bar", &["other/ns/foo/sa/bar"]),
            ("*/ns/foo/sa/bar", &["*/ns/foo/sa/bar"]),
            ("*", &["*"]),
            ("*local/ns/foo/sa/bar", &["*local/ns/foo/sa/bar"]),
        ];
        for (p, want) in cases {
            assert_eq!(expand_trust_domains(p, &bundle), *want, "{p}");
        }
        // cluster.local always points at the local trust domain, even without aliases.
        let lone = vec!["td1".to_string()];
        assert_eq!(
            expand_trust_domains("cluster.local/ns/a/sa/b", &lone),
            ["td1/ns/a/sa/b"]
        );
    }
}
