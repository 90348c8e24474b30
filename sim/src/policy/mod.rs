//! The analysis path's policy engine: effective PeerAuthentication, DestinationRule selection and
//! client TLS choice (auto mTLS), AuthorizationPolicy evaluation, compiled indices.
