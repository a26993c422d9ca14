//! The compiled statement's document written out as the answer's `data`,
//! in one pass over its text, guided by the plan. The document holds each
//! object as an array of its non-constant fields' values, in the plan's
//! order ([`Store::unit_tree`]); this puts the keys and the constants back,
//! writes ids as global ids ([`encode_id_into`]), timestamps in RFC 3339 as
//! the `DateTime` scalar writes them and floats as the executor writes them
//! (`6.0`), and copies names and titles as the statement wrote them
//! (PostgreSQL and serde_json escape strings alike). Nothing is built in
//! between: no [`async_graphql::Value`], no map per object.
//!
//! [`Store::unit_tree`]: goalgraph_persistence::Store::unit_tree

use crate::ids::{NodeType, encode_id_into};
use goalgraph_persistence::{TreeColumn as Column, TreeField, TreeValue};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// `{"<key>": <the unit's object>}` as JSON text, or `{"<key>": null}`
/// when there is no document.
pub(super) fn data(key: &str, document: Option<&str>, fields: &[TreeField]) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(document.map_or(0, |d| d.len() + d.len() / 2) + key.len() + 16);
    out.push(b'{');
    write_key(&mut out, key);
    match document {
        Some(document) => {
            let mut de = serde_json::Deserializer::from_str(document);
            Object { row: Row::Unit, fields, out: &mut out }.deserialize(&mut de)?;
            de.end()?;
        }
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    Ok(out)
}

/// `"key":`. Response keys are GraphQL names, which JSON never escapes.
fn write_key(out: &mut Vec<u8>, key: &str) {
    if key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.push(b'"');
    } else {
        // Not a name: escaped all the same.
        let _ = serde_json::to_writer(&mut *out, key);
    }
    out.push(b':');
}

/// The kind of object being written.
#[derive(Debug, Clone, Copy)]
enum Row {
    Unit,
    Person,
    Objective,
    KeyResult,
    CheckIn,
    /// A page of people, and its `pageInfo`: constants and nested lists.
    Page,
}

impl Row {
    fn node(self) -> Option<NodeType> {
        Some(match self {
            Row::Unit => NodeType::Unit,
            Row::Person => NodeType::Person,
            Row::Objective => NodeType::Objective,
            Row::KeyResult => NodeType::KeyResult,
            Row::CheckIn => NodeType::CheckIn,
            Row::Page => return None,
        })
    }
}

/// An object (or null) of `row` with `fields`: an array in the document.
struct Object<'a> {
    row: Row,
    fields: &'a [TreeField],
    out: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Object<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Object<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {:?} row or null", self.row)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let out = self.out;
        out.push(b'{');
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_key(out, &field.key);
            match &field.value {
                TreeValue::Text(text) => serde_json::to_writer(&mut *out, text).map_err(de::Error::custom)?,
                TreeValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
                value => {
                    let seed = Field { row: self.row, value, out: &mut *out };
                    if seq.next_element_seed(seed)?.is_none() {
                        return Err(de::Error::custom(format!(
                            "a {:?} row ends before {}",
                            self.row, field.key
                        )));
                    }
                }
            }
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format!("a {:?} row holds more than its fields", self.row)));
        }
        out.push(b'}');
        Ok(())
    }
}

/// A list of the objects [`Object`] describes.
struct List<'a>(Object<'a>);

impl<'de> Visitor<'de> for List<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of {:?} rows", self.0.row)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Object { row, fields, out } = self.0;
        out.push(b'[');
        let mut first = true;
        loop {
            let mark = out.len();
            if !first {
                out.push(b',');
            }
            let seed = Object { row, fields, out: &mut *out };
            if seq.next_element_seed(seed)?.is_none() {
                out.truncate(mark);
                break;
            }
            first = false;
        }
        out.push(b']');
        Ok(())
    }
}

/// One non-constant field's value.
struct Field<'a> {
    row: Row,
    value: &'a TreeValue,
    out: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Field<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let Field { row, value, out } = self;
        match value {
            TreeValue::Column(Column::Id) => {
                let node = row.node().ok_or_else(|| de::Error::custom("an id outside a row"))?;
                match Option::<&str>::deserialize(d)? {
                    Some(text) => {
                        let uuid = uuid::Uuid::parse_str(text).map_err(de::Error::custom)?;
                        out.push(b'"');
                        encode_id_into(node, uuid, out);
                        out.push(b'"');
                    }
                    None => out.extend_from_slice(b"null"),
                }
                Ok(())
            }
            TreeValue::Column(Column::CreatedAt) => {
                let at = Option::<&str>::deserialize(d)?
                    .map(|text| {
                        // `%Y-%m-%dT%H:%M:%S%.f`, without a format to read.
                        text.parse::<chrono::NaiveDateTime>().map(|t| t.and_utc().to_rfc3339())
                    })
                    .transpose()
                    .map_err(de::Error::custom)?;
                serde_json::to_writer(out, &at).map_err(de::Error::custom)
            }
            TreeValue::Column(Column::Progress | Column::Current | Column::Value) => {
                let number = Option::<f64>::deserialize(d)?;
                serde_json::to_writer(out, &number).map_err(de::Error::custom)
            }
            TreeValue::Children(fields) => d.deserialize_seq(List(Object { row: Row::Unit, fields, out })),
            TreeValue::Nodes(fields) => d.deserialize_seq(List(Object { row: Row::Person, fields, out })),
            TreeValue::Objectives { fields, .. } => {
                d.deserialize_seq(List(Object { row: Row::Objective, fields, out }))
            }
            TreeValue::KeyResults(fields) => {
                d.deserialize_seq(List(Object { row: Row::KeyResult, fields, out }))
            }
            TreeValue::Parent(fields) => d.deserialize_any(Object { row: Row::Objective, fields, out }),
            TreeValue::LatestCheckIn(fields) => d.deserialize_any(Object { row: Row::CheckIn, fields, out }),
            TreeValue::People { fields, .. } | TreeValue::PageInfo(fields) => {
                d.deserialize_any(Object { row: Row::Page, fields, out })
            }
            // Names, titles, `hasNextPage`: as written.
            TreeValue::Column(Column::Name | Column::Title) | TreeValue::HasNextPage => {
                let raw = <&RawValue>::deserialize(d)?;
                out.extend_from_slice(raw.get().as_bytes());
                Ok(())
            }
            // Written by the object (never in the document).
            TreeValue::Text(_) | TreeValue::Bool(_) => Err(de::Error::custom("a constant in the document")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn field(key: &str, value: TreeValue) -> TreeField {
        TreeField { key: key.into(), value }
    }

    #[test]
    fn leaves_are_written_as_the_executor_writes_them() {
        let uuid = "0193a3c4-0000-7000-8000-00000000002a";
        let check_in = vec![
            field("value", TreeValue::Column(Column::Value)),
            field("createdAt", TreeValue::Column(Column::CreatedAt)),
        ];
        let objective = vec![
            field("progress", TreeValue::Column(Column::Progress)),
            field("parent", TreeValue::Parent(vec![field("id", TreeValue::Column(Column::Id))])),
            field(
                "keyResults",
                TreeValue::KeyResults(vec![field("latestCheckIn", TreeValue::LatestCheckIn(check_in))]),
            ),
        ];
        let page = vec![
            field(
                "nodes",
                TreeValue::Nodes(vec![field(
                    "objectives",
                    TreeValue::Objectives { period: None, fields: objective },
                )]),
            ),
            field(
                "pageInfo",
                TreeValue::PageInfo(vec![
                    field("hasNextPage", TreeValue::HasNextPage),
                    field("hasPreviousPage", TreeValue::Bool(false)),
                ]),
            ),
        ];
        let fields = vec![
            field("__typename", TreeValue::Text("Unit".into())),
            field("id", TreeValue::Column(Column::Id)),
            field("name", TreeValue::Column(Column::Name)),
            field("people", TreeValue::People { first: 5, fields: page }),
        ];
        // As PostgreSQL writes the rows: constants left out, spaces after commas.
        let document = format!(
            r#"["{uuid}", "Q\"A \u00e9", [[
              [[[6, null, [
                [[0.1, "2026-01-05T09:30:00"]],
                [[1e20, "2026-01-05T09:30:00.5"]],
                [[-2.5, "2026-01-05T09:30:00.123457"]],
                [null]]],
                [0.25, ["{uuid}"], []]]],
              [[]]], [false]]]"#
        );
        let written = String::from_utf8(data("node", Some(&document), &fields).unwrap()).unwrap();
        // Hand-made: base64url("Unit:<uuid simple>") and the executor's
        // formats: chrono's `to_rfc3339` (0, 3 or 6 digits), and floats as
        // serde_json writes an f64 (`6.0`, `1e+20`).
        let unit = "VW5pdDowMTkzYTNjNDAwMDA3MDAwODAwMDAwMDAwMDAwMDAyYQ";
        let objective = "T2JqZWN0aXZlOjAxOTNhM2M0MDAwMDcwMDA4MDAwMDAwMDAwMDAwMDJh";
        let expected = format!(
            r#"{{"node":{{"__typename":"Unit","id":"{unit}","name":"Q\"A \u00e9","people":{{"nodes":[{{"objectives":[{{"progress":6.0,"parent":null,"keyResults":[{{"latestCheckIn":{{"value":0.1,"createdAt":"2026-01-05T09:30:00+00:00"}}}},{{"latestCheckIn":{{"value":1e+20,"createdAt":"2026-01-05T09:30:00.500+00:00"}}}},{{"latestCheckIn":{{"value":-2.5,"createdAt":"2026-01-05T09:30:00.123457+00:00"}}}},{{"latestCheckIn":null}}]}},{{"progress":0.25,"parent":{{"id":"{objective}"}},"keyResults":[]}}]}},{{"objectives":[]}}],"pageInfo":{{"hasNextPage":false,"hasPreviousPage":false}}}}}}}}"#
        );
        assert_eq!(written, expected);
        // The ids decode back to the row.
        assert_eq!(crate::ids::decode_any(unit).unwrap().1.to_string(), uuid);
        assert_eq!(data("node", None, &fields).unwrap(), br#"{"node":null}"#);
    }

    #[test]
    fn a_document_off_the_plan_is_refused() {
        let fields =
            vec![field("id", TreeValue::Column(Column::Id)), field("name", TreeValue::Column(Column::Name))];
        let uuid = "0193a3c4-0000-7000-8000-00000000002a";
        for bad in [
            r#"["not a uuid", "x"]"#.to_owned(),
            format!(r#"["{uuid}"]"#),
            format!(r#"["{uuid}", "x", 1]"#),
            format!(r#"["{uuid}", "x"] x"#),
            format!(r#"{{"id": "{uuid}", "name": "x"}}"#),
        ] {
            assert!(data("node", Some(&bad), &fields).is_err(), "{bad}");
        }
        // The positive control.
        assert!(data("node", Some(&format!(r#"["{uuid}", "x"]"#)), &fields).is_ok());
    }
}
