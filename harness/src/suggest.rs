//! "Did you mean" for misspelt keys: a typo in a scenario must fail loudly and point at the fix.

use sim::fault::FaultError;

/// Edit distance between two short words (Levenshtein).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate, if it is close enough to be a plausible typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" into a message with a
/// suggestion; other messages pass through unchanged.
pub fn explain_serde_message(message: &str) -> String {
    for what in ["unknown field `", "unknown variant `"] {
        let Some(start) = message.find(what) else {
            continue;
        };
        let rest = &message[start + what.len()..];
        let Some(end) = rest.find('`') else {
            continue;
        };
        let word = &rest[..end];
        let expected: Vec<&str> = rest[end + 1..]
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, s)| s)
            .collect();
        if let Some(best) = closest(word, &expected) {
            return format!("{message}; did you mean `{best}`?");
        }
    }
    message.to_string()
}

/// Every key some fault takes; a misspelt key is most likely one of these.
const FAULT_KEYS: &[&str] = &[
    "workload",
    "offset",
    "per_second",
    "namespace",
    "name",
    "restart",
    "trust_bundle",
    "min_version",
    "max_version",
    "cipher_suites",
];

/// A fault parse error's message, with "did you mean" when the type or key is close to a real
/// one, or when one of the `given` keys misspells a missing required key.
pub fn explain_fault_error(error: &FaultError, given: &[String]) -> String {
    let message = error.to_string();
    match error {
        FaultError::UnknownType { ty } => match closest(ty, sim::fault::FAULT_TYPES) {
            Some(b) => format!("{message}; did you mean `{b}`?"),
            None => message,
        },
        FaultError::UnknownKey { key, .. } => match closest(key, FAULT_KEYS) {
            Some(b) => format!("{message}; did you mean `{b}`?"),
            None => message,
        },
        FaultError::MissingKey { key, .. } => {
            match given.iter().find(|g| closest(g, &[key]).is_some()) {
                Some(typo) => format!("{message}; `{typo}` looks like a misspelling of `{key}`"),
                None => message,
            }
        }
        FaultError::Invalid(_) => message,
    }
}

/// The keys written in a YAML fault map, for `explain_fault_error`.
pub fn fault_keys_of(value: &serde_yaml::Value) -> Vec<String> {
    value
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `Fault::parse_spec` with a suggestion on error, for `--fault`.
pub fn parse_fault_spec(spec: &str) -> Result<sim::Fault, String> {
    sim::Fault::parse_spec(spec).map_err(|e| {
        let given: Vec<String> = spec
            .split_once(':')
            .map(|(_, rest)| {
                rest.split(',')
                    .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.trim().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        explain_fault_error(&e, &given)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_typo_gets_a_suggestion() {
        assert_eq!(closest("pth", &["path", "method", "to"]), Some("path"));
        assert_eq!(
            closest("detail_contains", &["details_contains", "mtls"]),
            Some("details_contains")
        );
    }

    #[test]
    fn fault_typos_get_suggestions() {
        let e = parse_fault_spec("istiod-dwn").unwrap_err();
        assert!(e.ends_with("did you mean `istiod-down`?"), "{e}");
        let e = parse_fault_spec("expired-cert:worklaod=foo/a").unwrap_err();
        assert!(
            e.ends_with("`worklaod` looks like a misspelling of `workload`"),
            "{e}"
        );
    }

    #[test]
    fn unrelated_word_gets_no_suggestion() {
        assert_eq!(closest("banana", &["path", "method"]), None);
    }

    #[test]
    fn serde_unknown_field_message_gains_did_you_mean() {
        let m = explain_serde_message(
            "steps[0].request: unknown field `pth`, expected one of `from`, `to`, `path`",
        );
        assert!(m.ends_with("did you mean `path`?"), "{m}");
    }
}
