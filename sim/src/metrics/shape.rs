//! A request's *shape*: every fact the Envoy TLS stats and the Istio standard metrics read of
//! it, and nothing else (not its timestamps, request id or body). Requests of one shape add the
//! same amounts to the same series, so [`Shapes`] remembers, per shape, which series a request
//! adds to and by how much: building the label sets (about 25 owned strings per reporter) was
//! most of `Traffic::observe_request`, and a fresh request's largest cost outside the handshake
//! (`docs/performance.md`, session 10).
//!
//! The source workload enters the shape by its namespace and name only: its labels and service
//! account are fixed for a name until the configuration changes, and `Mesh` then calls
//! `Traffic::configuration_changed`, which forgets every shape.

use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use super::access_log::{self, LogLine};
use super::standard::RequestMeta;
use crate::outcome::TlsStats;
use crate::Outcome;

/// The facts of one request that decide its series and amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Shape<'a> {
    /// The calling workload's namespace and name.
    source: [Cow<'a, str>; 2],
    /// The Service dialled: FQDN, port, name and namespace.
    service: (Cow<'a, str>, u16, Cow<'a, str>, Cow<'a, str>),
    /// The endpoint: namespace, workload, service account, labels, outside the mesh or not.
    endpoint: Option<EndpointShape<'a>>,
    trust_domain: Cow<'a, str>,
    mtls: bool,
    /// The client's and the server's TLS stats.
    stats: [Option<TlsStats>; 2],
    /// The reporters' access-log lines, parsed.
    pub(super) lines: Lines<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct EndpointShape<'a> {
    namespace: Cow<'a, str>,
    workload: Cow<'a, str>,
    service_account: Cow<'a, str>,
    labels: Cow<'a, BTreeMap<String, String>>,
    outside: bool,
}

/// Each reporter's access-log lines as the metrics read them (`None`: no sidecar logged; a
/// line that is not in the default format is `None` within).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Lines<'a> {
    /// The source sidecar's outbound lines.
    pub(super) client: Option<Vec<Option<LogLine<'a>>>>,
    /// The destination sidecar's inbound lines.
    pub(super) server: Option<Vec<Option<LogLine<'a>>>>,
}

impl<'a> Shape<'a> {
    /// The shape of a finished request, borrowing from it.
    pub(super) fn of(meta: &RequestMeta<'a>, outcome: &'a Outcome) -> Shape<'a> {
        let b = |s: &'a str| Cow::Borrowed(s);
        let parse = |log: &'a Option<String>| {
            log.as_deref()
                .map(|l| l.lines().map(access_log::parse).collect::<Vec<_>>())
        };
        Shape {
            source: [b(&meta.source.meta.namespace), b(&meta.source.meta.name)],
            service: (
                b(&meta.service.fqdn),
                meta.service.port.port,
                b(&meta.service.service.name),
                b(&meta.service.service.namespace),
            ),
            endpoint: meta.endpoint.map(|e| EndpointShape {
                namespace: b(&e.namespace),
                workload: b(&e.workload),
                service_account: b(&e.service_account),
                labels: Cow::Borrowed(&e.labels),
                outside: e.external.is_some(),
            }),
            trust_domain: b(meta.trust_domain),
            mtls: outcome.mtls,
            stats: [
                outcome.stats.get("client").cloned(),
                outcome.stats.get("server").cloned(),
            ],
            lines: Lines {
                client: parse(&outcome.client_log),
                server: parse(&outcome.server_log),
            },
        }
    }

    /// The same shape owning its text, to be remembered.
    fn into_owned(self) -> Shape<'static> {
        let o = |c: Cow<'a, str>| Cow::<'static, str>::Owned(c.into_owned());
        let [ns, name] = self.source;
        let (fqdn, port, svc, svc_ns) = self.service;
        let lines = |v: Option<Vec<Option<LogLine<'a>>>>| {
            v.map(|v| v.into_iter().map(|l| l.map(LogLine::into_owned)).collect())
        };
        Shape {
            source: [o(ns), o(name)],
            service: (o(fqdn), port, o(svc), o(svc_ns)),
            endpoint: self.endpoint.map(|e| EndpointShape {
                namespace: o(e.namespace),
                workload: o(e.workload),
                service_account: o(e.service_account),
                labels: Cow::Owned(e.labels.into_owned()),
                outside: e.outside,
            }),
            trust_domain: o(self.trust_domain),
            mtls: self.mtls,
            stats: self.stats,
            lines: Lines {
                client: lines(self.lines.client),
                server: lines(self.lines.server),
            },
        }
    }

    /// A hash of the fields that tell most shapes apart (fixed keys: the same on every run).
    /// The rest (labels, stats, trust domain) is left to the equality check [`Shapes`] makes
    /// on every hit: equal shapes still hash alike, and hashing less is most of a lookup.
    fn digest(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.source.hash(&mut h);
        self.service.0.hash(&mut h);
        self.service.1.hash(&mut h);
        self.endpoint
            .as_ref()
            .map(|e| (&e.namespace, &e.workload))
            .hash(&mut h);
        self.mtls.hash(&mut h);
        for lines in [&self.lines.client, &self.lines.server] {
            for l in lines.iter().flatten().flatten() {
                (l.code, &l.flags).hash(&mut h);
            }
        }
        h.finish()
    }
}

/// What a request of each shape seen adds: (series index, amount) pairs.
///
/// Kept by the shape's digest with the whole shape beside it, because a lookup borrows the
/// request's text and a `HashMap<Shape<'static>, _>` cannot be queried with a borrowed shape.
#[derive(Debug, Clone, Default)]
pub(super) struct Shapes {
    by_digest: HashMap<u64, Vec<Seen>>,
}

/// A shape seen, with what its requests add.
type Seen = (Shape<'static>, Vec<(usize, u64)>);

impl Shapes {
    /// What a request of `shape` adds, if that shape was seen since the last [`Shapes::clear`].
    pub(super) fn get(&self, shape: &Shape<'_>) -> Option<&[(usize, u64)]> {
        self.by_digest
            .get(&shape.digest())?
            .iter()
            .find(|(seen, _)| seen == shape)
            .map(|(_, adds)| adds.as_slice())
    }

    /// Remembers what a request of `shape` adds.
    pub(super) fn insert(&mut self, shape: Shape<'_>, adds: Vec<(usize, u64)>) {
        let digest = shape.digest();
        self.by_digest
            .entry(digest)
            .or_default()
            .push((shape.into_owned(), adds));
    }

    /// Forgets every shape (the configuration changed: a workload's labels may have).
    pub(super) fn clear(&mut self) {
        self.by_digest.clear();
    }
}
