//! Validation the way Istio's webhook (`pkg/config/validation`) rejects invalid resources.
