//! The Evidence bundle: what a run (or a real cluster) shows, and nothing else.
