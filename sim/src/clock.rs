//! The mesh's one virtual clock: certificate validity, rotation, outages and TLS verification all
//! read it, so "advance 25h" is instant and deterministic.

use std::fmt;
use std::time::Duration;

/// A point in virtual time, in whole seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Where every mesh starts: 2026-01-01T00:00:00Z, fixed so reports are reproducible.
    pub const EPOCH: SimTime = SimTime(1_767_225_600);

    /// Seconds since the Unix epoch.
    pub fn unix_secs(self) -> u64 {
        self.0
    }

    /// This time plus a duration (saturating).
    pub fn plus(self, d: Duration) -> SimTime {
        SimTime(self.0.saturating_add(d.as_secs()))
    }

    /// This time shifted by a signed number of seconds (saturating at zero).
    pub fn offset(self, secs: i64) -> SimTime {
        if secs >= 0 {
            SimTime(self.0.saturating_add(secs as u64))
        } else {
            SimTime(self.0.saturating_sub(secs.unsigned_abs()))
        }
    }

    /// The rustls/webpki view of this instant.
    pub fn to_unix_time(self) -> rustls_pki_types::UnixTime {
        rustls_pki_types::UnixTime::since_unix_epoch(Duration::from_secs(self.0))
    }

    /// Whole seconds elapsed since the mesh epoch.
    pub fn since_epoch(self) -> u64 {
        self.0.saturating_sub(Self::EPOCH.0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(self.0);
        write!(f, "{}", humantime::format_rfc3339_seconds(t))
    }
}

/// Parses a duration as scenarios write it: `25h`, `30d`, `90m`, `1h30m`, `45s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("invalid duration {text:?}: {e} (expected e.g. 30s, 90m, 25h, 30d)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_scenario_units() {
        assert_eq!(
            parse_duration("25h").unwrap(),
            Duration::from_secs(25 * 3600)
        );
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86400)
        );
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn epoch_prints_as_rfc3339() {
        assert_eq!(SimTime::EPOCH.to_string(), "2026-01-01T00:00:00Z");
    }
}
