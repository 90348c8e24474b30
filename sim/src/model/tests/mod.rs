//! Tests of loading, validation, injection and the Resources API.
