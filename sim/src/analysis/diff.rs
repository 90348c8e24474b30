//! The difference between two connectivity matrices: the flows whose outcome changes (what a
//! change breaks or fixes), compared as both stream in matrix order, and grouped by cause.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::convert::Infallible;

use serde::Serialize;

use super::matrix::{Flow, FlowOutcome, MatrixRow};
use crate::vocab::{FindingCode, Status};

/// A flow whose outcome differs between two configurations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowChange {
    /// `NS/WORKLOAD`.
    pub from: String,
    /// `SVC.NS:PORT`.
    pub to: String,
    /// The flow before (absent when the flow is new).
    pub before: Option<Flow>,
    /// The flow after (absent when the flow is gone).
    pub after: Option<Flow>,
}

/// What [`diff_streams`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamDiff {
    /// The changed flows, in matrix order.
    pub changes: Vec<FlowChange>,
    /// Flows on each side: (before, after).
    pub compared: (usize, usize),
    /// Every source (`NS/WORKLOAD`) of either side, for [`group_changes`].
    pub sources: BTreeSet<String>,
}

/// The flows whose `status`, `mtls` or `codes` change between two matrices, plus flows that
/// appear or disappear. Both stream in matrix order (by source, then destination), so two
/// matrices of any size are compared while only the changes are kept.
pub fn diff_streams<E>(
    before: impl Iterator<Item = Result<Flow, E>>,
    after: impl Iterator<Item = Result<Flow, E>>,
) -> Result<StreamDiff, E> {
    let mut out = StreamDiff::default();
    let same_place = |b: &Flow, a: &Flow| (&b.from, &b.to).cmp(&(&a.from, &a.to));
    for pair in paired(before, after, same_place) {
        let (b, a) = pair?;
        out.compared.0 += usize::from(b.is_some());
        out.compared.1 += usize::from(a.is_some());
        for f in b.iter().chain(&a) {
            // A lookup per flow, a copy per source.
            if !out.sources.contains(&f.from) {
                out.sources.insert(f.from.clone());
            }
        }
        let changed = match (&b, &a) {
            (Some(b), Some(a)) => {
                changes((&b.status, b.mtls, &b.codes), (&a.status, a.mtls, &a.codes))
            }
            _ => true,
        };
        if changed {
            let key = b.as_ref().or(a.as_ref()).expect("one side has the flow");
            out.changes.push(FlowChange {
                from: key.from.clone(),
                to: key.to.clone(),
                before: b,
                after: a,
            });
        }
    }
    Ok(out)
}

/// [`diff_streams`] of two matrices' rows ([`super::Matrix::rows`]), each with its
/// destinations in order ([`super::Matrix::destinations`]): the same changes, counts and
/// sources, with a [`Flow`] made only for a change. Rows pair by source and their cells by
/// destination, both sorted by their printed names as the flows are.
pub fn diff_rows<'m>(
    before: impl Iterator<Item = Result<MatrixRow<'m>, String>>,
    before_destinations: &[&str],
    after: impl Iterator<Item = Result<MatrixRow<'m>, String>>,
    after_destinations: &[&str],
) -> Result<StreamDiff, String> {
    let columns = align(before_destinations, after_destinations);
    let mut out = StreamDiff::default();
    for pair in paired(before, after, |b, a| b.from.cmp(a.from)) {
        let (b, a) = pair?;
        let cells = |row: &Option<MatrixRow<'_>>| row.as_ref().map_or(0, |r| r.cells.len());
        out.compared.0 += cells(&b);
        out.compared.1 += cells(&a);
        let Some(from) = b.as_ref().or(a.as_ref()).map(|r| r.from) else {
            continue;
        };
        if cells(&b) + cells(&a) > 0 {
            out.sources.insert(from.to_string());
        }
        for &(to, column_b, column_a) in &columns {
            let (ob, oa) = (outcome(b.as_ref(), column_b), outcome(a.as_ref(), column_a));
            let changed = match (ob, oa) {
                (None, None) => continue,
                (Some(b), Some(a)) => {
                    changes((&b.status, b.mtls, &b.codes), (&a.status, a.mtls, &a.codes))
                }
                _ => true,
            };
            if changed {
                out.changes.push(FlowChange {
                    from: from.to_string(),
                    to: to.to_string(),
                    before: ob.map(|o| o.flow(from, to)),
                    after: oa.map(|o| o.flow(from, to)),
                });
            }
        }
    }
    Ok(out)
}

/// Whether a flow present on both sides changed: a different status, mTLS or set of
/// failure-mode codes (the one rule both diffs apply).
fn changes(
    before: (&Status, bool, &[FindingCode]),
    after: (&Status, bool, &[FindingCode]),
) -> bool {
    before != after
}

/// The outcome of `row`'s flow to the destination of `column` (none when there is no row or
/// no such destination on its side).
fn outcome<'r>(row: Option<&'r MatrixRow<'_>>, column: Option<usize>) -> Option<&'r FlowOutcome> {
    let row = row?;
    Some(&row.outcomes[row.cells[column?]])
}

/// Every destination of either side in order, with its column on each side.
fn align<'d>(
    before: &[&'d str],
    after: &[&'d str],
) -> Vec<(&'d str, Option<usize>, Option<usize>)> {
    let before = before.iter().copied().enumerate().map(Ok::<_, Infallible>);
    let after = after.iter().copied().enumerate().map(Ok::<_, Infallible>);
    paired(before, after, |b, a| b.1.cmp(a.1))
        .map(|pair| {
            let (b, a) = pair.unwrap_or_else(|never| match never {});
            let name = b.or(a).map_or("", |(_, name)| name);
            (name, b.map(|(i, _)| i), a.map(|(j, _)| j))
        })
        .collect()
}

/// One step of [`paired`]: the item of each side at this place (one side may have none).
type Pair<T> = (Option<T>, Option<T>);

/// Two streams sorted by `order`, walked together (a merge join): each step is the smaller
/// head alone, or both heads when they are equal, until both streams end. An error from
/// either stream is the step's error.
fn paired<T, E>(
    before: impl Iterator<Item = Result<T, E>>,
    after: impl Iterator<Item = Result<T, E>>,
    order: impl Fn(&T, &T) -> Ordering,
) -> impl Iterator<Item = Result<Pair<T>, E>> {
    let (mut before, mut after) = (before.fuse(), after.fuse());
    // The next item of each side, not yet compared.
    let (mut next_b, mut next_a) = (None, None);
    std::iter::from_fn(move || {
        let mut step = || -> Result<Option<Pair<T>>, E> {
            if next_b.is_none() {
                next_b = before.next().transpose()?;
            }
            if next_a.is_none() {
                next_a = after.next().transpose()?;
            }
            let which = match (&next_b, &next_a) {
                (None, None) => return Ok(None),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(b), Some(a)) => order(b, a),
            };
            Ok(Some(match which {
                Ordering::Less => (next_b.take(), None),
                Ordering::Greater => (None, next_a.take()),
                Ordering::Equal => (next_b.take(), next_a.take()),
            }))
        };
        step().transpose()
    })
}

/// Which way a changed flow went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// It succeeded before and fails (or is gone) after.
    Breaks,
    /// It failed before and succeeds (or is new and succeeds) after.
    Fixed,
    /// Anything else: a failure that changes cause, mTLS turned on or off, a new failing flow.
    Other,
}

impl ChangeKind {
    /// How a change counts: by whether each side succeeds (a missing side counts as nothing).
    pub fn of(change: &FlowChange) -> ChangeKind {
        let ok = |f: &Option<Flow>| f.as_ref().map(|f| f.status.is_success());
        match (ok(&change.before), ok(&change.after)) {
            (Some(true), Some(false) | None) => ChangeKind::Breaks,
            (Some(false) | None, Some(true)) => ChangeKind::Fixed,
            _ => ChangeKind::Other,
        }
    }
}

/// Changed flows with one cause from one source namespace: "6 flows break: legacy/* -> 3
/// service ports, PlaintextToStrict".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeGroup {
    /// Breaks, fixed or other.
    pub kind: ChangeKind,
    /// The codes of the failing side (after for a break, before for a fix; after otherwise).
    pub codes: Vec<FindingCode>,
    /// The source namespace.
    pub namespace: String,
    /// `NS/*` when every source workload of the namespace is in the group, else the workloads.
    pub sources: String,
    /// The destinations (`SVC.NS:PORT`), sorted.
    pub to: Vec<String>,
    /// How many flows.
    pub flows: usize,
}

/// Groups changes by kind, cause (codes) and source namespace, in that order. `sources` are
/// every source of both sides, so a namespace whose every source changes the same way prints
/// as `NS/*`.
pub fn group_changes(changes: &[FlowChange], sources: &BTreeSet<String>) -> Vec<ChangeGroup> {
    use std::collections::BTreeMap;
    type Key = (ChangeKind, Vec<FindingCode>, String);
    let mut groups: BTreeMap<Key, (BTreeSet<String>, BTreeSet<String>, usize)> = BTreeMap::new();
    for c in changes {
        let kind = ChangeKind::of(c);
        let failing = match kind {
            ChangeKind::Fixed => c.before.as_ref(),
            _ => c.after.as_ref().or(c.before.as_ref()),
        };
        let codes = failing.map(|f| f.codes.clone()).unwrap_or_default();
        let namespace = c.from.split('/').next().unwrap_or_default().to_string();
        let slot = groups.entry((kind, codes, namespace)).or_default();
        slot.0.insert(c.from.clone());
        slot.1.insert(c.to.clone());
        slot.2 += 1;
    }
    groups
        .into_iter()
        .map(|((kind, codes, namespace), (from, to, flows))| {
            let in_namespace: BTreeSet<&str> = sources
                .iter()
                .map(String::as_str)
                .filter(|f| f.split('/').next() == Some(namespace.as_str()))
                .collect();
            let sources = if from.len() > 1 && from.len() == in_namespace.len() {
                format!("{namespace}/*")
            } else {
                from.into_iter().collect::<Vec<_>>().join(", ")
            };
            ChangeGroup {
                kind,
                codes,
                namespace,
                sources,
                to: to.into_iter().collect(),
                flows,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two sorted streams and the steps expected of [`paired`].
    type Case<'c> = (&'c [u8], &'c [u8], &'c [Pair<u8>]);

    fn ok(items: &[u8]) -> impl Iterator<Item = Result<u8, String>> + '_ {
        items.iter().copied().map(Ok)
    }

    #[test]
    fn paired_walks_two_sorted_streams_as_a_merge_join() {
        let cases: &[Case] = &[
            (&[], &[], &[]),
            (&[1, 3], &[], &[(Some(1), None), (Some(3), None)]),
            (&[], &[2], &[(None, Some(2))]),
            (
                &[1, 2, 4],
                &[2, 3, 4, 5],
                &[
                    (Some(1), None),
                    (Some(2), Some(2)),
                    (None, Some(3)),
                    (Some(4), Some(4)),
                    (None, Some(5)),
                ],
            ),
        ];
        for (before, after, expected) in cases {
            let got: Result<Vec<_>, String> =
                paired(ok(before), ok(after), |b, a| b.cmp(a)).collect();
            assert_eq!(got.unwrap(), *expected, "{before:?} ~ {after:?}");
        }
    }

    #[test]
    fn paired_stops_at_either_streams_error() {
        let after = vec![Ok(1), Err("bad row".to_string())];
        let got: Result<Vec<_>, String> =
            paired(ok(&[1, 2]), after.into_iter(), |b, a| b.cmp(a)).collect();
        assert_eq!(got, Err("bad row".to_string()));
    }

    #[test]
    fn align_gives_every_destination_once_with_its_column_on_each_side() {
        assert_eq!(
            align(&["a", "c", "d"], &["b", "c"]),
            vec![
                ("a", Some(0), None),
                ("b", None, Some(0)),
                ("c", Some(1), Some(1)),
                ("d", Some(2), None),
            ]
        );
    }
}
