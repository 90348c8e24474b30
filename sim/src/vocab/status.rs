//! The client's result of one request, as curl reports it: an HTTP status, or no HTTP answer.
//! Both paths produce it (the analysis path predicts it, the data path observes it), so it
//! lives here rather than in either.

use std::fmt;

use serde::{Serialize, Serializer};

/// The client's result: an HTTP status, or no HTTP answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// An HTTP response with this status.
    Http(u16),
    /// The connection was reset / closed without a response (curl exit 56).
    Reset,
    /// Connection refused (nothing listening).
    Refused,
    /// No answer in time.
    Timeout,
}

impl Status {
    /// Parses `200`, `503`, `reset`, `refused`, `timeout`.
    pub fn parse(text: &str) -> Option<Status> {
        match text.trim() {
            "reset" => Some(Status::Reset),
            "refused" => Some(Status::Refused),
            "timeout" => Some(Status::Timeout),
            n => n
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .map(Status::Http),
        }
    }

    /// True for a 2xx answer (or a TCP echo, reported as 200).
    pub fn is_success(self) -> bool {
        matches!(self, Status::Http(c) if (200..300).contains(&c))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Http(c) => write!(f, "{c}"),
            Status::Reset => f.write_str("reset"),
            Status::Refused => f.write_str("refused"),
            Status::Timeout => f.write_str("timeout"),
        }
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Status::Http(c) => s.serialize_u16(*c),
            other => s.serialize_str(&other.to_string()),
        }
    }
}
