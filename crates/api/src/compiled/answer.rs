//! The compiled statement's document written out as the answer's `data`,
//! in one pass over its text, guided by the plan: ids become global ids
//! ([`encode_id`]), timestamps RFC 3339 as the `DateTime` scalar writes
//! them, numbers floats as the executor writes them (`6.0`); names, titles
//! and constants are copied as the statement wrote them (PostgreSQL and
//! serde_json escape strings alike). Nothing is built in between: no
//! [`async_graphql::Value`], no map per object.

use crate::ids::{NodeType, encode_id};
use goalgraph_persistence::{TreeColumn as Column, TreeField, TreeValue};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// `{"<key>": <the unit's object>}`, or `{"<key>": null}` when there is no
/// document.
pub(super) fn data(
    key: &str,
    document: Option<&str>,
    fields: &[TreeField],
) -> serde_json::Result<Box<RawValue>> {
    let mut out = Vec::with_capacity(document.map_or(0, |d| d.len() + d.len() / 3) + key.len() + 8);
    out.push(b'{');
    serde_json::to_writer(&mut out, key)?;
    out.push(b':');
    match document {
        Some(document) => {
            let mut de = serde_json::Deserializer::from_str(document);
            Object { row: Row::Unit, fields, out: &mut out }.deserialize(&mut de)?;
            de.end()?;
        }
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    let text = String::from_utf8(out).map_err(de::Error::custom)?;
    RawValue::from_string(text)
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

/// An object (or null) of `row` with `fields`, keys in the document's order.
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
        write!(f, "a {:?} object or null", self.row)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.out;
        out.push(b'{');
        let mut first = true;
        // Response keys are GraphQL names: never escaped, always borrowed.
        while let Some(key) = map.next_key::<&str>()? {
            let field = self
                .fields
                .iter()
                .find(|f| f.key == key)
                .ok_or_else(|| de::Error::custom(format!("the statement wrote an unknown key {key}")))?;
            if !first {
                out.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut *out, key).map_err(de::Error::custom)?;
            out.push(b':');
            map.next_value_seed(Field { row: self.row, value: &field.value, out: &mut *out })?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// A list of `row` objects.
struct List<'a> {
    row: Row,
    fields: &'a [TreeField],
    out: &'a mut Vec<u8>,
}

impl<'de> Visitor<'de> for List<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of {:?} objects", self.row)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let out = self.out;
        out.push(b'[');
        let mut first = true;
        loop {
            let mark = out.len();
            if !first {
                out.push(b',');
            }
            let seed = Object { row: self.row, fields: self.fields, out: &mut *out };
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

/// One field's value.
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
                let id = Option::<&str>::deserialize(d)?
                    .map(|text| uuid::Uuid::parse_str(text).map(|uuid| encode_id(node, uuid).0))
                    .transpose()
                    .map_err(de::Error::custom)?;
                serde_json::to_writer(out, &id).map_err(de::Error::custom)
            }
            TreeValue::Column(Column::CreatedAt) => {
                let at = Option::<&str>::deserialize(d)?
                    .map(|text| {
                        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                            .map(|t| t.and_utc().to_rfc3339())
                    })
                    .transpose()
                    .map_err(de::Error::custom)?;
                serde_json::to_writer(out, &at).map_err(de::Error::custom)
            }
            TreeValue::Column(Column::Progress | Column::Current | Column::Value) => {
                let number = Option::<f64>::deserialize(d)?;
                serde_json::to_writer(out, &number).map_err(de::Error::custom)
            }
            TreeValue::Children(fields) => d.deserialize_seq(List { row: Row::Unit, fields, out }),
            TreeValue::Nodes(fields) => d.deserialize_seq(List { row: Row::Person, fields, out }),
            TreeValue::Objectives { fields, .. } => {
                d.deserialize_seq(List { row: Row::Objective, fields, out })
            }
            TreeValue::KeyResults(fields) => d.deserialize_seq(List { row: Row::KeyResult, fields, out }),
            TreeValue::Parent(fields) => d.deserialize_any(Object { row: Row::Objective, fields, out }),
            TreeValue::LatestCheckIn(fields) => d.deserialize_any(Object { row: Row::CheckIn, fields, out }),
            TreeValue::People { fields, .. } | TreeValue::PageInfo(fields) => {
                d.deserialize_any(Object { row: Row::Page, fields, out })
            }
            // Names, titles, constants, `hasNextPage`: as written.
            TreeValue::Column(Column::Name | Column::Title)
            | TreeValue::Text(_)
            | TreeValue::Bool(_)
            | TreeValue::HasNextPage => {
                let raw = <&RawValue>::deserialize(d)?;
                out.extend_from_slice(raw.get().as_bytes());
                Ok(())
            }
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
        let fields = vec![
            field("__typename", TreeValue::Text("Unit".into())),
            field("id", TreeValue::Column(Column::Id)),
            field("name", TreeValue::Column(Column::Name)),
            field(
                "people",
                TreeValue::People {
                    first: 5,
                    fields: vec![
                        field(
                            "nodes",
                            TreeValue::Nodes(vec![field(
                                "objectives",
                                TreeValue::Objectives {
                                    period: None,
                                    fields: vec![
                                        field("progress", TreeValue::Column(Column::Progress)),
                                        field(
                                            "parent",
                                            TreeValue::Parent(vec![field(
                                                "id",
                                                TreeValue::Column(Column::Id),
                                            )]),
                                        ),
                                        field(
                                            "keyResults",
                                            TreeValue::KeyResults(vec![field(
                                                "latestCheckIn",
                                                TreeValue::LatestCheckIn(vec![
                                                    field("value", TreeValue::Column(Column::Value)),
                                                    field("createdAt", TreeValue::Column(Column::CreatedAt)),
                                                ]),
                                            )]),
                                        ),
                                    ],
                                },
                            )]),
                        ),
                        field(
                            "pageInfo",
                            TreeValue::PageInfo(vec![field("hasNextPage", TreeValue::HasNextPage)]),
                        ),
                    ],
                },
            ),
        ];
        let document = format!(
            r#"{{"__typename" : "Unit", "id" : "{uuid}", "name" : "Q\"A \u00e9", "people" : {{"nodes" : [
              {{"objectives" : [{{"progress" : 6, "parent" : null, "keyResults" : [
                {{"latestCheckIn" : {{"value" : 0.1, "createdAt" : "2026-01-05T09:30:00"}}}},
                {{"latestCheckIn" : {{"value" : 1e20, "createdAt" : "2026-01-05T09:30:00.5"}}}},
                {{"latestCheckIn" : {{"value" : -2.5, "createdAt" : "2026-01-05T09:30:00.123457"}}}},
                {{"latestCheckIn" : null}}]}},
                {{"progress" : 0.25, "parent" : {{"id" : "{uuid}"}}, "keyResults" : []}}]}},
              {{"objectives" : []}}], "pageInfo" : {{"hasNextPage" : false}}}}}}"#
        );
        let written = data("node", Some(&document), &fields).unwrap();
        // Hand-made: base64url("Unit:<uuid simple>") and the executor's
        // formats: chrono's `to_rfc3339` (0, 3 or 6 digits), and floats as
        // serde_json writes an f64 (`6.0`, `1e+20`).
        let unit = "VW5pdDowMTkzYTNjNDAwMDA3MDAwODAwMDAwMDAwMDAwMDAyYQ";
        let objective = "T2JqZWN0aXZlOjAxOTNhM2M0MDAwMDcwMDA4MDAwMDAwMDAwMDAwMDJh";
        let expected = format!(
            r#"{{"node":{{"__typename":"Unit","id":"{unit}","name":"Q\"A \u00e9","people":{{"nodes":[{{"objectives":[{{"progress":6.0,"parent":null,"keyResults":[{{"latestCheckIn":{{"value":0.1,"createdAt":"2026-01-05T09:30:00+00:00"}}}},{{"latestCheckIn":{{"value":1e+20,"createdAt":"2026-01-05T09:30:00.500+00:00"}}}},{{"latestCheckIn":{{"value":-2.5,"createdAt":"2026-01-05T09:30:00.123457+00:00"}}}},{{"latestCheckIn":null}}]}},{{"progress":0.25,"parent":{{"id":"{objective}"}},"keyResults":[]}}]}},{{"objectives":[]}}],"pageInfo":{{"hasNextPage":false}}}}}}}}"#
        );
        assert_eq!(written.get(), expected);
        // The ids decode back to the row.
        assert_eq!(crate::ids::decode_any(unit).unwrap().1.to_string(), uuid);
        assert_eq!(data("node", None, &fields).unwrap().get(), r#"{"node":null}"#);
    }

    #[test]
    fn a_document_off_the_plan_is_refused() {
        let fields = vec![field("id", TreeValue::Column(Column::Id))];
        assert!(data("node", Some(r#"{"id":"not a uuid"}"#), &fields).is_err());
        assert!(data("node", Some(r#"{"other":1}"#), &fields).is_err());
        assert!(data("node", Some(r#"{"id":"0193a3c4-0000-7000-8000-00000000002a"} x"#), &fields).is_err());
        // The positive control.
        assert!(data("node", Some(r#"{"id":"0193a3c4-0000-7000-8000-00000000002a"}"#), &fields).is_ok());
    }
}
