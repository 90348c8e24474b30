//! Line numbers for a scenario's top-level keys and their list items. serde_yaml's `Value`
//! drops positions, so steps, resources and faults are located by reading the block layout;
//! flow-style lists fall back to the line of their key.

/// Where the top-level keys and their block-list items start (1-based lines).
#[derive(Debug, Default, Clone)]
pub(super) struct LineIndex {
    lines: Vec<String>,
}

impl LineIndex {
    /// Indexes a scenario file's text.
    pub(super) fn new(text: &str) -> LineIndex {
        LineIndex {
            lines: text.lines().map(str::to_string).collect(),
        }
    }

    /// The line of top-level `key:`, 0 when absent.
    pub(super) fn key(&self, key: &str) -> usize {
        self.key_index(key).map_or(0, |i| i + 1)
    }

    fn key_index(&self, key: &str) -> Option<usize> {
        self.lines.iter().position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
    }

    /// The line of item `index` of the top-level block list `key:`; the key's line when the
    /// list is written in flow style, 0 when the key is absent.
    pub(super) fn item(&self, key: &str, index: usize) -> usize {
        let Some(start) = self.key_index(key) else {
            return 0;
        };
        self.items_after(start)
            .get(index)
            .map_or(start + 1, |i| i + 1)
    }

    /// Indices of the `- ` lines of the block list that follows line `start`.
    fn items_after(&self, start: usize) -> Vec<usize> {
        let mut items = Vec::new();
        let mut indent = None;
        for (i, line) in self.lines.iter().enumerate().skip(start + 1) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if line.starts_with("---") || line.starts_with("...") {
                break;
            }
            let here = line.len() - trimmed.len();
            let is_item = trimmed == "-" || trimmed.starts_with("- ");
            match indent {
                None if is_item => indent = Some(here),
                None => break,
                Some(level) if here < level => break,
                Some(level) if here == level && !is_item => break,
                _ => {}
            }
            if indent == Some(here) && is_item {
                items.push(i);
            }
        }
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
name: x
resources: [{kind: Namespace}]
steps:
  # first
  - advance: 1h
  - request:
      from: a/b
      to: c:80
    expect: {status: 200}

  - delete:
    - {kind: Namespace, name: x}
faults:
- {type: istiod-down}
";

    #[test]
    fn block_list_items_get_their_own_lines() {
        let idx = LineIndex::new(TEXT);
        assert_eq!(idx.item("steps", 0), 5);
        assert_eq!(idx.item("steps", 1), 6);
        assert_eq!(idx.item("steps", 2), 11);
        assert_eq!(idx.item("faults", 0), 14);
    }

    #[test]
    fn flow_list_items_fall_back_to_the_key_line() {
        let idx = LineIndex::new(TEXT);
        assert_eq!(idx.item("resources", 0), 2);
        assert_eq!(idx.key("name"), 1);
        assert_eq!(idx.item("include", 0), 0);
    }
}
