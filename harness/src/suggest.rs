//! "Did you mean" for misspelt keys: a typo in a scenario must fail loudly and point at the fix.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use sim::fault::FaultError;

/// Edit distance between two short words (Levenshtein).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate, if it is close enough to be a plausible typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "did you mean" for a document that failed to deserialize as `T` because of an unknown field
/// or variant: the document is deserialized again through `YamlValue` with the `Captured`
/// error, which records the unknown name and the expected set as data, so the suggestion comes
/// from serde's own arguments and never from its message text.
pub fn did_you_mean<T: DeserializeOwned>(document: &serde_yaml::Value) -> Option<String> {
    match T::deserialize(YamlValue::<Captured>::new(document)) {
        Err(Captured::Unknown { given, expected }) => {
            closest(&given, expected).map(|best| format!("did you mean `{best}`?"))
        }
        _ => None,
    }
}

/// A deserialization error kept as data: an unknown field or variant with the names serde
/// expected, or anything else.
#[derive(Debug)]
enum Captured {
    Unknown {
        given: String,
        expected: &'static [&'static str],
    },
    Other,
}

impl fmt::Display for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Captured::Unknown { given, .. } => write!(f, "unknown name `{given}`"),
            Captured::Other => f.write_str("other error"),
        }
    }
}

impl std::error::Error for Captured {}

impl de::Error for Captured {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Captured::Other
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Captured::Unknown {
            given: field.to_string(),
            expected,
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Captured::Unknown {
            given: variant.to_string(),
            expected,
        }
    }
}

/// A borrowed `serde_yaml::Value` as a deserializer with any error type `E` (serde_yaml's own
/// impl fixes the error to `serde_yaml::Error`, whose unknown-field details exist only as
/// text). Written here rather than taken from `serde-value` because that crate's maps are
/// sorted, so its first error could be another field's than the one serde_yaml reported.
struct YamlValue<'a, E> {
    value: &'a serde_yaml::Value,
    error: PhantomData<E>,
}

impl<'a, E> YamlValue<'a, E> {
    fn new(value: &'a serde_yaml::Value) -> Self {
        YamlValue {
            value,
            error: PhantomData,
        }
    }
}

impl<'de, E: de::Error> IntoDeserializer<'de, E> for YamlValue<'_, E> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de, E: de::Error> Deserializer<'de> for YamlValue<'_, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        use serde_yaml::Value;
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (None, None, f) => visitor.visit_f64(f.unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_str(s),
            Value::Sequence(items) => {
                visitor.visit_seq(SeqDeserializer::new(items.iter().map(YamlValue::new)))
            }
            Value::Mapping(map) => visitor.visit_map(MapDeserializer::new(
                map.iter()
                    .map(|(k, v)| (YamlValue::new(k), YamlValue::new(v))),
            )),
            Value::Tagged(tagged) => YamlValue::new(&tagged.value).deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            serde_yaml::Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        match self.value {
            serde_yaml::Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            serde_yaml::Value::Mapping(map) if map.len() == 1 => {
                visitor.visit_enum(MapAccessDeserializer::new(MapDeserializer::new(
                    map.iter()
                        .map(|(k, v)| (YamlValue::<E>::new(k), YamlValue::<E>::new(v))),
                )))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// A fault parse error's message, with "did you mean" when the type or key is close to a real
/// one, or when one of the `given` keys misspells a missing required key.
pub fn explain_fault_error(error: &FaultError, given: &[String]) -> String {
    let message = error.to_string();
    match error {
        FaultError::UnknownType { ty } => match closest(ty, sim::fault::FAULT_TYPES) {
            Some(b) => format!("{message}; did you mean `{b}`?"),
            None => message,
        },
        FaultError::UnknownKey { key, expected, .. } => match closest(key, expected) {
            Some(b) => format!("{message}; did you mean `{b}`?"),
            None => message,
        },
        FaultError::MissingKey { key, .. } => {
            match given.iter().find(|g| closest(g, &[key]).is_some()) {
                Some(typo) => format!("{message}; `{typo}` looks like a misspelling of `{key}`"),
                None => message,
            }
        }
        FaultError::Invalid(_) => message,
    }
}

/// The keys written in a YAML fault map, for `explain_fault_error`.
pub fn fault_keys_of(value: &serde_yaml::Value) -> Vec<String> {
    value
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `Fault::parse_spec` with a suggestion on error, for `--fault`.
pub fn parse_fault_spec(spec: &str) -> Result<sim::Fault, String> {
    sim::Fault::parse_spec(spec).map_err(|e| {
        let given: Vec<String> = spec
            .split_once(':')
            .map(|(_, rest)| {
                rest.split(',')
                    .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.trim().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        explain_fault_error(&e, &given)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_typo_gets_a_suggestion() {
        assert_eq!(closest("pth", &["path", "method", "to"]), Some("path"));
        assert_eq!(
            closest("detail_contains", &["details_contains", "mtls"]),
            Some("details_contains")
        );
    }

    #[test]
    fn fault_typos_get_suggestions() {
        let e = parse_fault_spec("istiod-dwn").unwrap_err();
        assert!(e.ends_with("did you mean `istiod-down`?"), "{e}");
        let e = parse_fault_spec("expired-cert:worklaod=foo/a").unwrap_err();
        assert!(
            e.ends_with("`worklaod` looks like a misspelling of `workload`"),
            "{e}"
        );
    }

    #[test]
    fn unrelated_word_gets_no_suggestion() {
        assert_eq!(closest("banana", &["path", "method"]), None);
    }

    #[test]
    fn unknown_fields_and_variants_are_suggested_from_serdes_arguments() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Request {
            path: Option<String>,
            method: Option<String>,
            mode: Option<Mode>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        enum Mode {
            Strict,
            Permissive,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Step {
            request: Request,
        }
        let cases = [
            ("request: {pth: /x}", Some("did you mean `path`?")),
            ("request: {mode: Strct}", Some("did you mean `Strict`?")),
            ("request: {banana: 1}", None),
            ("request: {path: [not, a, string]}", None),
            ("request: {path: /x, method: GET}", None),
        ];
        for (yaml, want) in cases {
            let value: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
            assert_eq!(did_you_mean::<Step>(&value).as_deref(), want, "{yaml}");
        }
    }
}
