//! `matrix --format svg` drawn for real: the SVG is rendered with resvg and every flow's cell is
//! sampled, so the picture (not only the text) must show each outcome in its colour.

use std::path::PathBuf;

use assert_cmd::Command;
use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{Options, Tree};
use serde_json::Value;

/// A configuration whose matrix has mTLS successes, plaintext successes and failures.
const CONFIG: &str =
    "scenarios/peer-authentication/plaintext-client-rejected-by-namespace-strict.yaml";

fn meshsim(args: &[&str]) -> String {
    let out = Command::cargo_bin("meshsim")
        .expect("the meshsim binary is built")
        .env("NO_COLOR", "1")
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .output()
        .expect("meshsim runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The value of `name="..."` in one SVG element's text.
fn attr<'a>(element: &'a str, name: &str) -> &'a str {
    let start = element
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("{name} in {element}"))
        + name.len()
        + 3;
    let len = element[start..].find('"').expect("closing quote");
    &element[start..start + len]
}

/// The expected fill of a JSON flow: the same rule the table's legend states.
fn expected_rgb(flow: &Value) -> [u8; 3] {
    let status = &flow["status"];
    let ok = status.as_u64().is_some_and(|s| (200..300).contains(&s));
    match (ok, flow["mtls"].as_bool() == Some(true), status.as_u64()) {
        (true, true, _) => [0x2e, 0x7d, 0x32],
        (true, false, _) => [0x15, 0x65, 0xc0],
        (false, _, Some(403)) => [0xef, 0x6c, 0x00],
        _ => [0xc6, 0x28, 0x28],
    }
}

#[test]
fn every_flow_is_drawn_in_the_colour_of_its_outcome() {
    let flows: Value =
        serde_json::from_str(&meshsim(&["matrix", "-f", CONFIG, "--format", "json"]))
            .expect("matrix JSON");
    let flows = flows["flows"].as_array().expect("flows");
    let svg = meshsim(&["matrix", "-f", CONFIG, "--format", "svg"]);

    let tree = Tree::from_str(&svg, &Options::default()).expect("the SVG parses");
    let size = tree.size().to_int_size();
    let mut pixmap = Pixmap::new(size.width(), size.height()).expect("a canvas");
    resvg::render(&tree, Transform::default(), &mut pixmap.as_mut());

    let cells: Vec<&str> = svg
        .lines()
        .filter(|l| l.contains("class=\"flow\""))
        .collect();
    assert_eq!(cells.len(), flows.len(), "one cell per flow");
    let mut colours = std::collections::BTreeSet::new();
    for flow in flows {
        let (from, to) = (flow["from"].as_str().unwrap(), flow["to"].as_str().unwrap());
        let cell = cells
            .iter()
            .find(|c| attr(c, "data-from") == from && attr(c, "data-to") == to)
            .unwrap_or_else(|| panic!("a cell for {from} -> {to}"));
        let x: u32 = attr(cell, "x").parse().unwrap();
        let y: u32 = attr(cell, "y").parse().unwrap();
        let px = pixmap.pixel(x + 7, y + 7).expect("inside the canvas");
        let want = expected_rgb(flow);
        assert_eq!(
            [px.red(), px.green(), px.blue()],
            want,
            "{from} -> {to}: {flow}"
        );
        colours.insert(want);
    }
    // The configuration really shows several outcomes, so the check is not vacuous.
    assert!(colours.len() >= 2, "{colours:?}");
}

#[test]
fn the_svg_is_the_same_on_every_run() {
    let a = meshsim(&["matrix", "-f", CONFIG, "--format", "svg"]);
    assert_eq!(a, meshsim(&["matrix", "-f", CONFIG, "--format", "svg"]));
}
