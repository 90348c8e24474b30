//! "Did you mean" for misspelt keys: a typo in a scenario must fail loudly and point at the fix.

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
