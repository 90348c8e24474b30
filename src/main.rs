//! The `meshsim` command line: a thin layer over `harness` and `sim`.
#![forbid(unsafe_code)]

fn main() {
    eprintln!("meshsim: not built yet");
    std::process::exit(2);
}
