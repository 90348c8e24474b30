//! The builder of [`RequestFacts`] (what the destination's RBAC filter knows of one request),
//! one for the analysis path, the data path and the diagnosis: Envoy fills the same attributes
//! whichever filter chain the request took (`pilot/pkg/security/authz/model`
//! `generator.go`: `source.ip`/`ipBlocks` → `direct_remote_ip`, `remote.ip`/`remoteIpBlocks` →
//! `remote_ip`).

use std::net::IpAddr;
use std::sync::Arc;

use super::matcher::normalize_path;
use super::{HttpFacts, RequestFacts};
use crate::vocab::PathNormalization;

impl RequestFacts {
    /// The facts of a request from `peer_ip` (the caller's pod IP) with `principal` (`None` for
    /// plaintext) arriving on `destination_port`; `http` is `None` on a TCP chain.
    ///
    /// Envoy's `remote_ip` on a sidecar inbound listener (`use_remote_address: false`,
    /// `xff_num_trusted_hops: 0`) is the rightmost `X-Forwarded-For` address
    /// (`Envoy::Http::Utility::getLastAddressFromXFF`), falling back to the peer when the header
    /// is absent or unparsable; `direct_remote_ip` is always the peer.
    ///
    /// The inbound HTTP connection manager rewrites `:path` before any filter sees it
    /// (`meshConfig.pathNormalization`, default BASE: `getPathNormalization` in
    /// `pilot/pkg/networking/core/listener_builder.go`), so the facts hold the path as
    /// `normalization` leaves it, computed once here rather than in every rule that matches on it.
    pub fn new(
        peer_ip: Option<IpAddr>,
        principal: Option<String>,
        destination_port: u16,
        mut http: Option<HttpFacts>,
        normalization: PathNormalization,
    ) -> RequestFacts {
        if let Some(h) = http.as_mut() {
            h.path = normalize_path(&h.path, normalization);
        }
        RequestFacts {
            principal: None,
            source_ip: None,
            remote_ip: None,
            destination_port,
            http: http.map(Arc::new),
            sni: None,
            destination_ip: None,
        }
        .from_peer(peer_ip, principal)
    }

    /// The same request sent by `peer_ip` with `principal` (what [`RequestFacts::new`] takes
    /// of the peer), sharing the HTTP attributes: a matrix builds a destination's request once
    /// and gives it each caller.
    pub fn from_peer(mut self, peer_ip: Option<IpAddr>, principal: Option<String>) -> RequestFacts {
        let forwarded = self.http.as_deref().and_then(rightmost_forwarded_for);
        self.principal = principal;
        self.source_ip = peer_ip;
        self.remote_ip = forwarded.or(peer_ip);
        self
    }
}

impl RequestFacts {
    /// [`RequestFacts::from_peer`] for facts that have no peer yet (`from_peer(None, None)`:
    /// their `remote_ip` is the rightmost `X-Forwarded-For` address alone), without reading the
    /// header again: a matrix gives one destination's request a thousand callers.
    pub(crate) fn with_peer(
        mut self,
        peer_ip: Option<IpAddr>,
        principal: Option<String>,
    ) -> RequestFacts {
        debug_assert!(self.source_ip.is_none() && self.principal.is_none());
        self.principal = principal;
        self.source_ip = peer_ip;
        self.remote_ip = self.remote_ip.or(peer_ip);
        self
    }
}

/// The last address of `X-Forwarded-For`, if it parses.
fn rightmost_forwarded_for(http: &HttpFacts) -> Option<IpAddr> {
    let (_, value) = http
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-forwarded-for"))?;
    value.rsplit(',').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_xff(value: Option<&str>) -> RequestFacts {
        let mut http = HttpFacts::default();
        if let Some(v) = value {
            http.headers.insert("X-Forwarded-For".into(), v.into());
        }
        RequestFacts::new(
            Some("10.244.0.5".parse().unwrap()),
            None,
            80,
            Some(http),
            PathNormalization::Base,
        )
    }

    #[test]
    fn remote_ip_is_the_rightmost_forwarded_for_entry_else_the_peer() {
        let cases = [
            (None, "10.244.0.5"),
            (Some("203.0.113.7"), "203.0.113.7"),
            (Some("198.51.100.1, 203.0.113.7"), "203.0.113.7"),
            (Some("not an address"), "10.244.0.5"),
        ];
        for (xff, want) in cases {
            let facts = with_xff(xff);
            assert_eq!(facts.remote_ip, want.parse().ok(), "{xff:?}");
            assert_eq!(facts.source_ip, "10.244.0.5".parse().ok(), "{xff:?}");
        }
    }

    #[test]
    fn a_peer_given_later_sees_what_a_peer_given_at_once_sees() {
        for xff in [
            None,
            Some("203.0.113.7"),
            Some("not an address"),
            Some("0.0.0.0"),
        ] {
            let at_once = with_xff(xff);
            let peer = at_once.source_ip;
            let later = with_xff(xff)
                .from_peer(None, None)
                .with_peer(peer, Some("p".into()));
            assert_eq!(later, at_once.from_peer(peer, Some("p".into())), "{xff:?}");
        }
    }

    #[test]
    fn the_path_is_normalized_once_when_the_facts_are_built() {
        let http = HttpFacts {
            path: "/public/../admin/x?q=/../y".into(),
            ..HttpFacts::default()
        };
        let facts = RequestFacts::new(None, None, 80, Some(http), PathNormalization::Base);
        assert_eq!(
            facts.http.as_ref().map(|h| h.path.as_str()),
            Some("/admin/x?q=/../y")
        );
    }
}
