//! Tolerant building blocks: numbers-or-strings, and lossless parsing of objects whose known keys may carry unexpected shapes.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Number, Value};

/// A scalar that Meta sends sometimes as a JSON number and sometimes as a string
/// (timestamps, coordinates, prices). Serializes back in the form it arrived in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NumOrString {
    Number(Number),
    String(String),
}

impl NumOrString {
    /// Whole-number reading: integers, integral floats, or trimmed decimal strings.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
                    .map(|f| f as i64)
            }),
            Self::String(s) => s.trim().parse().ok(),
        }
    }

    /// Floating-point reading of either form.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(n) => n.as_f64(),
            Self::String(s) => s.trim().parse().ok(),
        }
    }

    /// Text form: the string itself, or the number's JSON rendering.
    pub fn to_text(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::String(s) => s.clone(),
        }
    }
}

/// Declares a struct over a JSON object: every listed field is optional and omitted when
/// absent, and every other key is kept in `extra`, so a value serializes back as it arrived.
macro_rules! wa_object {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// Keys not modelled above, kept as received.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl $crate::webhook::loose::Lossless for $name {
            fn extra_mut(&mut self) -> &mut serde_json::Map<String, serde_json::Value> {
                &mut self.extra
            }
        }
    };
}
pub(crate) use wa_object;

/// A typed view over a JSON object that keeps every key it does not model in `extra`.
pub trait Lossless: Serialize + DeserializeOwned + Default {
    /// The map of keys kept as they arrived.
    fn extra_mut(&mut self) -> &mut Map<String, Value>;

    /// Builds the typed view of `map` without losing anything.
    ///
    /// Keys whose value does not fit the typed field, or would not serialize back
    /// identically (for example an explicit `null`), are kept verbatim in `extra`
    /// instead, so serializing the result always reproduces `map`.
    fn from_object(map: Map<String, Value>) -> Self {
        lossless_from_object(map)
    }
}

fn lossless_from_object<T: Lossless>(map: Map<String, Value>) -> T {
    let rounds = map.len() + 1;
    let mut work = map;
    let mut held = Map::new();
    for _ in 0..rounds {
        let value = Value::Object(work);
        let outcome = T::deserialize(&value);
        work = match value {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let bad: Vec<String> = match outcome {
            Ok(mut typed) => {
                let Some(bad) = mismatched_keys(&typed, &work) else {
                    break;
                };
                if bad.is_empty() {
                    typed.extra_mut().append(&mut held);
                    return typed;
                }
                bad
            }
            Err(_) => work
                .iter()
                .filter(|(k, v)| {
                    let mut single = Map::new();
                    single.insert((*k).clone(), (*v).clone());
                    T::deserialize(&Value::Object(single)).is_err()
                })
                .map(|(k, _)| k.clone())
                .collect(),
        };
        if bad.is_empty() {
            break;
        }
        for key in bad {
            if let Some(v) = work.remove(&key) {
                held.insert(key, v);
            }
        }
    }
    let mut opaque = T::default();
    work.append(&mut held);
    opaque.extra_mut().append(&mut work);
    opaque
}

/// Keys of `original` (present in `work`) that do not survive a round trip through `typed`;
/// `None` when the difference cannot be repaired by moving keys into `extra`.
fn mismatched_keys<T: Serialize>(typed: &T, work: &Map<String, Value>) -> Option<Vec<String>> {
    let Ok(Value::Object(out)) = serde_json::to_value(typed) else {
        return None;
    };
    if out.keys().any(|k| !work.contains_key(k)) {
        return None;
    }
    Some(
        work.iter()
            .filter(|(k, v)| out.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect(),
    )
}

/// Deserializes a list of objects leniently: `null` or a missing list is empty, and each
/// object goes through [`Lossless::from_object`]. A non-object element is an error.
pub(crate) fn lossless_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Lossless,
{
    let items = Option::<Vec<Value>>::deserialize(deserializer)?.unwrap_or_default();
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => Ok(T::from_object(map)),
            _ => Err(D::Error::custom("list element is not a JSON object")),
        })
        .collect()
}

/// Text of a JSON id that may be a string or an integer.
pub(crate) fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// `Some(s)` unless `s` is empty or only whitespace.
pub(crate) fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}
