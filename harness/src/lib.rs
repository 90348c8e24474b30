//! Scenario files, the runner, expectations and reporters (human, JSON, JUnit).
#![forbid(unsafe_code)]

pub mod discover;
pub mod error;
pub mod expect;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod suggest;
pub mod tree;

pub use discover::{load_scenarios, scenario_files, select, Partition, ScenarioSource};
pub use error::InputError;
pub use report::{exit_code, render_human, render_json, render_junit, Totals};
pub use runner::{
    run_scenario, run_scenario_with, run_scenarios, RunOptions, ScenarioReport, Verdict,
};
pub use scenario::{
    load_configuration, load_configuration_each, load_configuration_with, parse_scenario,
    MetricBound, MetricExpect, Scenario,
};
pub use tree::Tree;
