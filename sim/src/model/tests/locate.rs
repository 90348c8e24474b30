//! Document splitting and field-path line lookup.

use crate::model::locate::{split_documents, Document, FieldPath};

#[test]
fn documents_split_at_markers_and_keep_their_file_offsets() {
    let text = "a: 1\n---\nb: 2\n...\n---\n# c\n--- {c: 3}\n";
    let docs = split_documents(text);
    let firsts: Vec<usize> = docs.iter().map(Document::first_line).collect();
    assert_eq!(firsts, vec![1, 3, 7]);
    assert!(docs[2].text.contains("{c: 3}"));
}

#[test]
fn field_paths_print_and_parse_like_kubernetes() {
    let p = FieldPath::parse("spec.rules.0.from[1].source");
    assert_eq!(p.to_string(), "spec.rules[0].from[1].source");
    assert_eq!(FieldPath::parse(&p.to_string()), p);
}

#[test]
fn lines_are_found_for_keys_and_sequence_items() {
    let text = "\
apiVersion: v1
spec:
  rules:
  - from:
    - source: {principals: [a]}
  - to:
    - operation:
        ports: ['80']
    when:
    - key: k
      values: [v]
  selector:
    matchLabels: {app: a}
";
    let doc = Document::new(text.to_string(), 10);
    let line = |p: &str| doc.line_of(&FieldPath::parse(p));
    let cases = [
        ("apiVersion", 11),
        ("spec", 12),
        ("spec.rules[0]", 14),
        ("spec.rules[0].from[0].source", 15),
        ("spec.rules[1].to[0].operation.ports", 18),
        ("spec.rules[1].when[0].values", 21),
        ("spec.selector.matchLabels", 23),
        // A missing key resolves to its deepest existing ancestor.
        ("spec.rules[1].when[0].notValues", 20),
        ("spec.rules[5]", 13),
    ];
    for (path, want) in cases {
        assert_eq!(line(path), want, "{path}");
    }
}

#[test]
fn json_documents_fall_back_to_an_ordered_key_search() {
    let text = "{\n  \"kind\": \"Namespace\",\n  \"metadata\": {\n    \"name\": \"foo\"\n  }\n}\n";
    let doc = Document::new(text.to_string(), 0);
    assert_eq!(doc.line_of(&FieldPath::parse("metadata.name")), 4);
}

#[test]
fn json_list_items_are_indexed_by_their_opening_brace() {
    let text = "{\n  \"kind\": \"List\",\n  \"items\": [\n    {\n      \"name\": \"a [x] {y}\"\n    },\n    {\"name\": \"b\"}\n  ]\n}\n";
    let doc = Document::new(text.to_string(), 2);
    assert_eq!(doc.item_lines(&FieldPath::parse("items")), vec![6, 9]);
}

#[test]
fn keys_behind_an_anchor_or_a_tag_are_found() {
    let text = "\
name: x
&a steps:
  - !!map request: {from: a/b}
    expect: {status: 200}
";
    let doc = Document::new(text.to_string(), 0);
    assert_eq!(doc.exact_line(&FieldPath::parse("steps")), Some(2));
    assert_eq!(doc.exact_line(&FieldPath::parse("steps[0]")), Some(3));
}
