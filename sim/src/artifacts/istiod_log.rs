//! `kubectl logs -n istio-system deploy/istiod`: Istio's log lines
//! (`pkg/log`: `<RFC 3339 UTC, microseconds>\t<level>\t[<scope>\t]<message>`). Lines without a
//! leading timestamp (continuations of a multi-line message, klog output) are skipped; a file
//! with no Istio line at all is another command's output.

use super::access_log::agent_stamp;
use super::ArtifactError;
use crate::SimTime;

/// istiod's log as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IstiodLog {
    /// Every timestamped line, in file order.
    pub lines: Vec<String>,
    /// The newest timestamp.
    pub newest: Option<SimTime>,
    /// Lines without a timestamp.
    pub skipped: usize,
}

/// Reads one istiod log; `file` names it in errors.
pub fn parse_istiod_log(file: &str, text: &str) -> Result<IstiodLog, ArtifactError> {
    let mut out = IstiodLog::default();
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        match agent_stamp(line) {
            Some(at) => {
                out.newest = out.newest.max(Some(at));
                out.lines.push(line.to_string());
            }
            None => out.skipped += 1,
        }
    }
    if out.lines.is_empty() {
        return Err(ArtifactError::WrongShape {
            file: file.into(),
            problem: if text.trim().is_empty() {
                "the file is empty".into()
            } else {
                "no line starts with an Istio log timestamp and a tab".into()
            },
            expected: "the output of `kubectl logs -n istio-system deploy/istiod` \
                       (lines `<RFC 3339>\\t<level>\\t<message>`)",
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamped_lines_are_kept_and_continuations_skipped() {
        let text = "2026-01-01T00:00:00.000000Z\tinfo\tFLAG: --caCertFile=\"\"\n\
                    goroutine 1 [running]:\n\
                    2026-01-02T03:04:05.123456Z\terror\tCSR signing error: boom\n";
        let log = parse_istiod_log("istiod.log", text).unwrap();
        assert_eq!(log.lines.len(), 2);
        assert_eq!(log.skipped, 1);
        assert_eq!(
            log.newest,
            Some(SimTime(SimTime::EPOCH.0 + 86400 + 3 * 3600 + 245))
        );
    }

    #[test]
    fn empty_and_foreign_files_are_wrong_shape() {
        for text in [
            "",
            "\n\n",
            "{\"configs\": []}",
            "apiVersion: v1\nkind: List\n",
        ] {
            let err = parse_istiod_log("x.log", text).unwrap_err();
            assert!(
                matches!(err, ArtifactError::WrongShape { .. }),
                "{text:?}: {err}"
            );
            assert!(err.to_string().starts_with("x.log: "), "{err}");
        }
    }
}
