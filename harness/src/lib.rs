//! Scenario files, the runner, expectations and reporters (human, JSON, JUnit).
#![forbid(unsafe_code)]
