//! validation tests.
