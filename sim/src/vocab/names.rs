//! Closed sets of names (codes, flags, kinds): one macro gives each the same `FromStr`,
//! `Display` and serde shape, so the string a user writes is the string the tool prints.

/// A name outside a closed set; `expected` lists the set, for "did you mean".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}`")]
pub struct UnknownName {
    /// What kind of name was expected, e.g. `finding code`.
    pub what: &'static str,
    /// The text that matched nothing.
    pub given: String,
    /// Every valid name.
    pub expected: &'static [&'static str],
}

/// Serializes a type as its `Display` text and deserializes it with its `FromStr`, so files
/// and JSON carry the same string the tool prints.
macro_rules! serde_as_string {
    ($name:ident) => {
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as ::serde::Deserialize>::deserialize(d)?;
                text.parse()
                    .map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

/// Declares a fieldless enum whose variants are spelled by the given strings: `as_str`,
/// `ALL`, `NAMES`, `Display`, `FromStr` (error [`UnknownName`]) and serde as the string.
/// Deserializing an unknown name fails with serde's "unknown variant `x`, expected one of ..."
/// so readers can add their "did you mean".
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every value's name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name, as written in files and printed.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::vocab::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::vocab::UnknownName {
                        what: $what,
                        given: s.to_string(),
                        expected: Self::NAMES,
                    }),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as ::serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(|_| {
                    <D::Error as ::serde::de::Error>::unknown_variant(&text, Self::NAMES)
                })
            }
        }
    };
}

/// `items` printed and joined with `sep`, as lists of codes and flags are shown.
pub fn join<T: std::fmt::Display>(items: &[T], sep: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(&item.to_string());
    }
    out
}

/// Checks shared by every closed set's tests: each value survives Display -> FromStr and
/// serde, and each malformed text is rejected naming the set.
#[cfg(test)]
pub(crate) fn assert_closed_set<T>(
    all: &[T],
    what: &'static str,
    names: &'static [&'static str],
    malformed: &[&str],
) where
    T: Copy
        + std::fmt::Debug
        + PartialEq
        + std::fmt::Display
        + std::str::FromStr<Err = UnknownName>
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    for &value in all {
        let text = value.to_string();
        assert_eq!(text.parse::<T>(), Ok(value));
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
    }
    for &given in malformed {
        let want = UnknownName {
            what,
            given: given.to_string(),
            expected: names,
        };
        assert_eq!(given.parse::<T>(), Err(want), "{given:?}");
    }
    let err = serde_json::from_str::<T>("\"NotAName\"").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown variant `NotAName`, expected one of"),
        "{err}"
    );
}
