//! JSON as GKLM's answers are read: serde_json builds the value, and one
//! more pass refuses an object that names a member twice. serde_json keeps
//! the last of two `code`s silently, and a check must never pick one of two
//! answers: `{"code":"1","code":"0"}` is no answer at all.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde_core::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Parse `body`, refusing a duplicated member anywhere in it.
pub fn parse(body: &[u8]) -> Result<Value, String> {
    let value =
        serde_json::from_slice::<Value>(body).map_err(|e| format!("body is not JSON ({e})"))?;
    serde_json::from_slice::<Unique>(body)
        .map_err(|e| format!("{e}; which one GKLM meant is not documented"))?;
    Ok(value)
}

/// Any JSON value, read only to see that no object repeats a member.
struct Unique;

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_str<E: Error>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_unit<E: Error>(self) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Unique, A::Error> {
        while items.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Unique, A::Error> {
        let mut seen = HashSet::new();
        while let Some(Key(key)) = members.next_key::<Key>()? {
            members.next_value::<Unique>()?;
            if !seen.insert(key.clone()) {
                let shown: String = key.chars().take(30).collect();
                return Err(A::Error::custom(format!(
                    "the member '{shown}' appears twice"
                )));
            }
        }
        Ok(Unique)
    }
}

/// A member's name, borrowed from the body where it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: Error>(self, key: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(key)))
    }

    fn visit_str<E: Error>(self, key: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(key.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_named_twice_anywhere_is_refused_naming_it() {
        for (body, name) in [
            (r#"{"code":"1","code":"0"}"#, "code"),
            (r#"{"code":"1","code":"1"}"#, "code"),
            (r#"[{"status":"a","x":{"t":1,"t":2}}]"#, "t"),
            (
                r#"{"backups":[{"timestamp":1,"timestamp":2}]}"#,
                "timestamp",
            ),
            (r#"{"c\u006fde":"1","code":"0"}"#, "code"),
        ] {
            let err = parse(body.as_bytes()).unwrap_err();
            assert!(
                err.starts_with(&format!("the member '{name}' appears twice")),
                "{body}: {err}"
            );
        }
    }

    #[test]
    fn members_of_different_objects_may_share_a_name() {
        for body in [
            r#"{"code":"1","status":"x"}"#,
            r#"[{"code":1},{"code":2}]"#,
            r#"{"a":{"code":1},"code":2,"n":1e-400,"m":-0.5}"#,
            r#""text""#,
            "null",
        ] {
            assert!(parse(body.as_bytes()).is_ok(), "{body}");
        }
        assert!(
            parse(b"{\"a\":")
                .unwrap_err()
                .starts_with("body is not JSON")
        );
    }
}
