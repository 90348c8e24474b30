//! Timestamps as Envoy and Istio print them: RFC 3339 in UTC with milli- or microseconds
//! (`2026-01-01T00:00:00.000Z`, `2026-01-01T00:00:00.000000Z`), read to the whole second the
//! virtual clock keeps.

use crate::SimTime;

/// The instant of an RFC 3339 timestamp (fractions dropped), `None` when `text` is not one.
pub fn parse_rfc3339(text: &str) -> Option<SimTime> {
    let t = humantime::parse_rfc3339_weak(text.trim()).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(SimTime(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_and_istio_stamps_read_to_the_second() {
        for (text, want) in [
            ("2026-01-01T00:00:00.000Z", Some(SimTime::EPOCH)),
            (
                "2026-01-01T00:00:01.999999Z",
                Some(SimTime(SimTime::EPOCH.0 + 1)),
            ),
            ("2026-01-01T00:00:00Z", Some(SimTime::EPOCH)),
            ("yesterday", None),
            ("", None),
        ] {
            assert_eq!(parse_rfc3339(text), want, "{text}");
        }
    }
}
