//! injection tests.
