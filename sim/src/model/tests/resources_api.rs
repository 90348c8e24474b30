//! resources_api tests.
