//! Opaque global ids (`Node.id`) and cursors. Both are base64url text a
//! client must not take apart; the encoding may change.

use crate::error::{ApiError, ApiResult};
use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use goalgraph_persistence::CursorKey;
use uuid::Uuid;

/// The object types that have global ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Organization,
    Unit,
    Person,
    Period,
    Objective,
    KeyResult,
    CheckIn,
    Kpi,
    Measurement,
    Integration,
    SavedReport,
}

impl NodeType {
    const ALL: [NodeType; 11] = [
        Self::Organization,
        Self::Unit,
        Self::Person,
        Self::Period,
        Self::Objective,
        Self::KeyResult,
        Self::CheckIn,
        Self::Kpi,
        Self::Measurement,
        Self::Integration,
        Self::SavedReport,
    ];

    /// Its place in [`Self::ALL`]; the exhaustive match makes a new variant
    /// a compile error here until it is listed (a test checks the places).
    #[cfg(test)]
    fn index(self) -> usize {
        match self {
            Self::Organization => 0,
            Self::Unit => 1,
            Self::Person => 2,
            Self::Period => 3,
            Self::Objective => 4,
            Self::KeyResult => 5,
            Self::CheckIn => 6,
            Self::Kpi => 7,
            Self::Measurement => 8,
            Self::Integration => 9,
            Self::SavedReport => 10,
        }
    }

    /// The type whose name (as in `Node.__typename`) is `tag`.
    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.tag() == tag)
    }

    fn tag(self) -> &'static str {
        match self {
            Self::Organization => "Organization",
            Self::Unit => "Unit",
            Self::Person => "Person",
            Self::Period => "Period",
            Self::Objective => "Objective",
            Self::KeyResult => "KeyResult",
            Self::CheckIn => "CheckIn",
            Self::Kpi => "Kpi",
            Self::Measurement => "Measurement",
            Self::Integration => "Integration",
            Self::SavedReport => "SavedReport",
        }
    }
}

pub fn encode_id(node: NodeType, id: Uuid) -> ID {
    let mut out = Vec::with_capacity(64);
    encode_id_into(node, id, &mut out);
    // base64url is ASCII.
    ID(out.into_iter().map(char::from).collect())
}

/// [`encode_id`] appended to `out` (base64url, no padding, of
/// `Tag:uuid-without-dashes`), with no allocation of its own.
pub fn encode_id_into(node: NodeType, id: Uuid, out: &mut Vec<u8>) {
    let tag = node.tag().as_bytes();
    // The longest tag has 12 bytes.
    let mut raw = [0u8; 64];
    let len = tag.len() + 1 + uuid::fmt::Simple::LENGTH;
    raw[..tag.len()].copy_from_slice(tag);
    raw[tag.len()] = b':';
    id.simple().encode_lower(&mut raw[tag.len() + 1..len]);
    let start = out.len();
    out.resize(start + len.div_ceil(3) * 4, 0);
    let written = URL_SAFE_NO_PAD.encode_slice(&raw[..len], &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

/// Any global id: its type and uuid, or `None` when it is not one of ours.
pub fn decode_any(id: &str) -> Option<(NodeType, Uuid)> {
    let raw = URL_SAFE_NO_PAD.decode(id.as_bytes()).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (tag, uuid) = text.split_once(':')?;
    let node = NodeType::ALL.into_iter().find(|n| n.tag() == tag)?;
    Some((node, Uuid::parse_str(uuid).ok()?))
}

/// A global id that must be of type `node`; `field` names the input field.
pub fn decode_id<T: From<Uuid>>(field: &str, node: NodeType, id: &ID) -> ApiResult<T> {
    match decode_any(id) {
        Some((n, uuid)) if n == node => Ok(T::from(uuid)),
        _ => Err(ApiError::bad_input(field, format!("is not a {} id", node.tag()))),
    }
}

pub fn encode_cursor(key: &CursorKey) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

pub fn decode_cursor(field: &str, cursor: &str) -> ApiResult<CursorKey> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or_else(|| ApiError::bad_input(field, "is not a valid cursor"))
}

/// A cursor for a position in a list computed whole (the alignment tree).
pub fn encode_offset_cursor(index: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("row:{index}"))
}

pub fn decode_offset_cursor(cursor: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).ok()?;
    std::str::from_utf8(&raw).ok()?.strip_prefix("row:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_type_decodes() {
        for (i, node) in NodeType::ALL.iter().enumerate() {
            assert_eq!(node.index(), i, "{node:?} must stand at its place in ALL");
            let uuid = Uuid::now_v7();
            assert_eq!(decode_any(&encode_id(*node, uuid)), Some((*node, uuid)), "{node:?}");
            assert_eq!(NodeType::from_tag(node.tag()), Some(*node));
        }
        assert_eq!(NodeType::from_tag("AuditEvent"), None);
    }

    #[test]
    fn ids_round_trip_and_keep_their_type() {
        let uuid = Uuid::now_v7();
        let id = encode_id(NodeType::Unit, uuid);
        assert_eq!(decode_any(&id), Some((NodeType::Unit, uuid)));
        assert_eq!(decode_id::<Uuid>("id", NodeType::Unit, &id), Ok(uuid));
        assert!(decode_id::<Uuid>("id", NodeType::Person, &id).is_err());
        assert_eq!(decode_any("garbage!"), None);
        assert_eq!(decode_any(&URL_SAFE_NO_PAD.encode("Unit:not-a-uuid")), None);
    }
}
