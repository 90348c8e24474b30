//! Line numbers for a scenario's top-level keys and their list items, read through `sim`'s YAML
//! position lookup (`sim::model::Document`) so scenarios and manifests are located by
//! one implementation. serde_yaml's `Value` drops positions, hence the text lookup.

use sim::model::Document;
use sim::model::FieldPath;

/// Where the top-level keys and their block-list items start (1-based lines).
#[derive(Debug, Clone)]
pub(super) struct LineIndex {
    doc: Document,
}

impl LineIndex {
    /// Indexes a scenario file's text.
    pub(super) fn new(text: &str) -> LineIndex {
        LineIndex {
            doc: Document::new(text.to_string(), 0),
        }
    }

    /// The line of top-level `key:`, 0 when absent.
    pub(super) fn key(&self, key: &str) -> usize {
        self.doc
            .exact_line(&FieldPath::root().key(key))
            .unwrap_or(0)
    }

    /// The line of item `index` of the top-level block list `key:`; the key's line when the
    /// list is written in flow style, 0 when the key is absent.
    pub(super) fn item(&self, key: &str, index: usize) -> usize {
        let list = FieldPath::root().key(key);
        match self.doc.exact_line(&list) {
            None => 0,
            Some(key_line) => self.doc.exact_line(&list.index(index)).unwrap_or(key_line),
        }
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

    #[test]
    fn quoted_keys_are_located_as_the_manifest_loader_locates_them() {
        let text = "\"name\": x\n'steps':\n  - advance: 1h\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.key("name"), 1);
        assert_eq!(idx.item("steps", 0), 3);
        let doc = Document::new(text.to_string(), 0);
        assert_eq!(
            idx.item("steps", 0),
            doc.line_of(&FieldPath::root().key("steps").index(0))
        );
    }
}
