//! How the inbound HTTP connection manager rewrites `:path` before any filter sees it.

/// `meshConfig.pathNormalization.normalization`, as `getPathNormalization`
/// (`pilot/pkg/networking/core/listener_builder.go`, Istio 1.22–1.28) turns it into the HCM's
/// `normalize_path`, `merge_slashes` and `path_with_escaped_slashes_action`. `DEFAULT` (proto
/// value 0, what an unset field reads as) is BASE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathNormalization {
    /// `NONE`: the path is matched as sent.
    None,
    /// `BASE` and `DEFAULT`: RFC 3986 normalization, dot segments removed, `\` read as `/`.
    #[default]
    Base,
    /// `MERGE_SLASHES`: BASE, then runs of `/` merged.
    MergeSlashes,
    /// `DECODE_AND_MERGE_SLASHES`: `%2F`/`%5C` decoded (`UNESCAPE_AND_FORWARD`), then
    /// MERGE_SLASHES.
    DecodeAndMergeSlashes,
}
