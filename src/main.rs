//! The `meshsim` command line: a thin layer over `harness` and `sim`.
#![forbid(unsafe_code)]

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    let code = cli::dispatch(args);
    std::process::exit(code);
}
