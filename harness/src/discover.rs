//! Finding scenario files under the given paths, loading them, and selecting a subset
//! (`--filter`, `--partition`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use rayon::prelude::*;

use crate::error::InputError;
use crate::scenario::{classify, parse_scenario, FileKind, Scenario};
use crate::tree::{normalize, Tree};

/// A scenario file and its text, read once (so a pipe such as `run <(gen)` works).
#[derive(Debug, Clone)]
pub struct ScenarioSource {
    /// The file as shown in reports.
    pub file: PathBuf,
    /// Its contents.
    pub text: String,
}

/// The scenario files under `paths`, sorted and without duplicates, each read once. A file
/// named explicitly must be a scenario file; in a folder, YAML files that are not scenarios
/// (fixtures) are skipped.
pub fn scenario_files(tree: &Tree, paths: &[PathBuf]) -> Result<Vec<ScenarioSource>, InputError> {
    let mut out = Vec::new();
    for path in paths {
        if !tree.exists(path) {
            return Err(InputError::at(path, 0, "no such file or directory"));
        }
        if tree.is_dir(path) {
            for file in tree.yaml_files(path)? {
                let text = tree.read(&file)?;
                if classify(&file, &text)? == FileKind::Scenario {
                    out.push(ScenarioSource {
                        file: normalize(&file),
                        text,
                    });
                }
            }
        } else {
            let text = tree.read_named(path)?;
            if classify(path, &text)? != FileKind::Scenario {
                return Err(InputError::at(
                    path,
                    1,
                    "not a scenario file: expected a top-level `name:` and `steps:` \
                     (plain manifests belong in `include:`)",
                ));
            }
            out.push(ScenarioSource {
                file: normalize(path),
                text,
            });
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out.dedup_by(|a, b| a.file == b.file);
    Ok(out)
}

/// Parses every file (in parallel); all errors are returned, in file order.
pub fn load_scenarios(
    tree: &Tree,
    files: &[ScenarioSource],
) -> Result<Vec<Scenario>, Vec<InputError>> {
    let results: Vec<Result<Scenario, InputError>> = files
        .par_iter()
        .map(|f| parse_scenario(tree, &f.file, &f.text))
        .collect();
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(s) => ok.push(s),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(errors)
    }
}

/// `--partition K/N`: shard K (1-based) of N, assigned round-robin over the sorted, filtered
/// list, as nextest's `count:K/N` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// 1-based shard number.
    pub shard: usize,
    /// Number of shards.
    pub total: usize,
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.strip_prefix("count:").unwrap_or(s);
        let bad = || format!("expected K/N with 1 <= K <= N (e.g. 2/4), got {s:?}");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let shard: usize = k.trim().parse().map_err(|_| bad())?;
        let total: usize = n.trim().parse().map_err(|_| bad())?;
        if shard == 0 || total == 0 || shard > total {
            return Err(bad());
        }
        Ok(Partition { shard, total })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.shard, self.total)
    }
}

/// Keeps the scenarios whose file path or name contains `filter`, then this shard's share.
pub fn select(
    scenarios: Vec<Scenario>,
    filter: Option<&str>,
    partition: Option<Partition>,
) -> Vec<Scenario> {
    scenarios
        .into_iter()
        .filter(|s| {
            filter.is_none_or(|f| s.name.contains(f) || s.file.to_string_lossy().contains(f))
        })
        .enumerate()
        .filter(|(i, _)| partition.is_none_or(|p| i % p.total == p.shard - 1))
        .map(|(_, s)| s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(names: &[&str]) -> Vec<Scenario> {
        names
            .iter()
            .map(|n| Scenario {
                file: format!("scenarios/{n}.yaml").into(),
                name: n.to_string(),
                description: String::new(),
                seed: 0,
                resources: Default::default(),
                faults: Vec::new(),
                steps: Vec::new(),
                warnings: Vec::new(),
            })
            .collect()
    }

    fn names(s: &[Scenario]) -> Vec<&str> {
        s.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn partition_deals_scenarios_round_robin() {
        let all = named(&["a", "b", "c", "d", "e"]);
        let p = "2/2".parse().unwrap();
        assert_eq!(names(&select(all.clone(), None, Some(p))), ["b", "d"]);
        let p = "1/2".parse().unwrap();
        assert_eq!(names(&select(all, None, Some(p))), ["a", "c", "e"]);
    }

    #[test]
    fn partition_rejects_shard_out_of_range() {
        assert!("0/3".parse::<Partition>().is_err());
        assert!("4/3".parse::<Partition>().is_err());
        assert!("x".parse::<Partition>().is_err());
        assert_eq!("count:1/3".parse::<Partition>().unwrap().total, 3);
    }

    #[test]
    fn filter_applies_before_partition() {
        let all = named(&["strict-a", "other", "strict-b", "strict-c"]);
        let p = "2/2".parse().unwrap();
        assert_eq!(names(&select(all, Some("strict"), Some(p))), ["strict-b"]);
    }
}
