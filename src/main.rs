//! The `meshsim` command line: a thin layer over `harness` and `sim`.
#![forbid(unsafe_code)]

mod cli;

use clap::Parser;

/// mimalloc instead of glibc's malloc: the matrix and the data path allocate per flow and per
/// request (docs/performance.md, "Allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = cli::Cli::parse();
    let code = cli::dispatch(args);
    std::process::exit(code);
}
