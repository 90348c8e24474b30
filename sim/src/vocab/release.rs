//! The Istio release whose rules meshsim follows (`--istio-version`, a scenario's
//! `mesh: {istioVersion: ...}`). Every rule that differs between releases derives its switch from
//! this one value, so a mesh never mixes releases.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An Istio minor release meshsim models (1.22 to 1.28). Ordered by age, so
/// `release >= IstioRelease::V1_25` reads "1.25 and later".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum IstioRelease {
    /// Istio 1.22.
    V1_22,
    /// Istio 1.23.
    V1_23,
    /// Istio 1.24.
    V1_24,
    /// Istio 1.25.
    V1_25,
    /// Istio 1.26.
    V1_26,
    /// Istio 1.27.
    V1_27,
    /// Istio 1.28, the newest release modelled and the default.
    #[default]
    V1_28,
}

impl IstioRelease {
    /// Every modelled release, oldest first.
    pub const ALL: [IstioRelease; 7] = [
        IstioRelease::V1_22,
        IstioRelease::V1_23,
        IstioRelease::V1_24,
        IstioRelease::V1_25,
        IstioRelease::V1_26,
        IstioRelease::V1_27,
        IstioRelease::V1_28,
    ];

    /// The newest modelled release (the default).
    pub const NEWEST: IstioRelease = IstioRelease::V1_28;

    /// The minor version number (`22` for 1.22).
    pub const fn minor(self) -> u8 {
        match self {
            IstioRelease::V1_22 => 22,
            IstioRelease::V1_23 => 23,
            IstioRelease::V1_24 => 24,
            IstioRelease::V1_25 => 25,
            IstioRelease::V1_26 => 26,
            IstioRelease::V1_27 => 27,
            IstioRelease::V1_28 => 28,
        }
    }

    /// The supported releases as a comma-separated list (`1.22, 1.23, ...`), for error messages.
    pub fn supported_list() -> String {
        let names: Vec<String> = Self::ALL.iter().map(ToString::to_string).collect();
        names.join(", ")
    }
}

impl fmt::Display for IstioRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.minor())
    }
}

/// A version that is not one of the modelled releases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported Istio version `{given}`; supported: {}",
    IstioRelease::supported_list()
)]
pub struct UnknownIstioRelease {
    /// The text as given.
    pub given: String,
}

impl FromStr for IstioRelease {
    type Err = UnknownIstioRelease;

    /// Reads `1.N`, also `1.N.P` (a patch release follows its minor's rules) and a leading `v`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || UnknownIstioRelease {
            given: text.to_string(),
        };
        let trimmed = text.trim();
        let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let mut parts = bare.split('.');
        let (Some("1"), Some(minor)) = (parts.next(), parts.next()) else {
            return Err(err());
        };
        if let Some(patch) = parts.next() {
            if patch.is_empty() || !patch.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Self::ALL
            .into_iter()
            .find(|r| r.minor().to_string() == minor)
            .ok_or_else(err)
    }
}

impl Serialize for IstioRelease {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IstioRelease {
    /// A string (`"1.24"`); a YAML float (`1.24` unquoted) is read by its shortest text, so
    /// `1.24` works but `1.2` is 1.2, not 1.20.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Str(String),
            Num(f64),
        }
        let text = match Text::deserialize(d)? {
            Text::Str(s) => s,
            Text::Num(n) => n.to_string(),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_by_minor_and_patch_releases_follow_their_minor() {
        let cases: &[(&str, Option<IstioRelease>)] = &[
            ("1.22", Some(IstioRelease::V1_22)),
            ("1.25", Some(IstioRelease::V1_25)),
            ("1.28", Some(IstioRelease::V1_28)),
            ("1.24.3", Some(IstioRelease::V1_24)),
            ("v1.27", Some(IstioRelease::V1_27)),
            (" 1.26 ", Some(IstioRelease::V1_26)),
            ("1.21", None),
            ("1.29", None),
            ("1.2", None),
            ("2.24", None),
            ("1.24.", None),
            ("1.24.x", None),
            ("1.24.1.1", None),
            ("latest", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<IstioRelease>().ok(), *want, "{text:?}");
        }
    }

    #[test]
    fn an_unknown_version_names_every_supported_release() {
        let e = "1.30".parse::<IstioRelease>().expect_err("not modelled");
        assert_eq!(
            e.to_string(),
            "unsupported Istio version `1.30`; supported: 1.22, 1.23, 1.24, 1.25, 1.26, 1.27, 1.28"
        );
    }

    #[test]
    fn the_default_is_the_newest_release_and_display_round_trips() {
        assert_eq!(IstioRelease::default(), IstioRelease::NEWEST);
        for r in IstioRelease::ALL {
            assert_eq!(r.to_string().parse::<IstioRelease>(), Ok(r));
        }
    }

    #[test]
    fn yaml_reads_quoted_and_unquoted_versions() {
        let quoted: IstioRelease = serde_yaml::from_str("\"1.24\"").expect("quoted");
        let bare: IstioRelease = serde_yaml::from_str("1.25").expect("float");
        assert_eq!((quoted, bare), (IstioRelease::V1_24, IstioRelease::V1_25));
        assert!(serde_yaml::from_str::<IstioRelease>("1.20").is_err());
    }
}
