//! Rebuilds the `meshsim` binary when the embedded scenario library changes: `include_dir!`
//! cannot tell cargo which files it read.

fn main() {
    println!("cargo:rerun-if-changed=scenarios");
}
