//! What a GraphQL document must pass before the schema sees it, over HTTP
//! and WebSocket alike: the trusted-document allowlist (persisted queries
//! by SHA-256), a bound on bracket nesting, parsing (once: the parsed
//! document is handed to the schema), and static limits on aliases,
//! directives, depth and the number of fields selected.
//!
//! All of it is CPU work on the request's own text: nothing here touches
//! the database, and a refused document never reaches it. async-graphql
//! checks depth and complexity again while validating; the checks here
//! come first because they name their limits, and because the expanded
//! field count is computed with one pass per fragment, where validation
//! (and async-graphql's recursion check) would expand a fragment each time
//! it is spread, exponentially for fragments spreading fragments.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{Positioned, ServerError, Variables};
use goalgraph_api::ErrorCode;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// Brackets (`{`, `[`, `(`) may nest this deep in a document's text. The
/// parser's grammar recurses once per level before async-graphql's own
/// recursion limit (64 selection sets) applies to the parsed pairs: 1 MB
/// of `{` would overflow the stack. Real documents nest a few more levels
/// than their depth (arguments, lists).
pub const MAX_NESTING: usize = 64;

/// Root fields whose input may exceed the normal body limit: bulk KPI
/// measurements and HRIS directory syncs (20,000 people take several MB).
const BULK_FIELDS: [&str; 2] = ["recordKpiMeasurements", "syncDirectory"];

/// The static limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_aliases: usize,
    pub max_directives: usize,
    pub max_depth: usize,
    pub max_fields: usize,
}

/// One GraphQL request as it arrived (a POST body's object, a GET's
/// parameters, a `subscribe` payload), before its document is known.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRequest {
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub operation_name: Option<String>,
    #[serde(default)]
    pub variables: Option<Variables>,
    #[serde(default)]
    pub extensions: Option<HashMap<String, async_graphql::Value>>,
    /// A persisted document's id (`sha256:<hex>` or the bare hex), as the
    /// GraphQL-over-HTTP persisted-documents proposal names it.
    #[serde(default)]
    pub document_id: Option<String>,
}

impl WireRequest {
    /// Whether it names a document at all: a query, or a persisted one's hash.
    pub fn names_a_document(&self) -> bool {
        self.query.as_ref().is_some_and(|q| !q.trim().is_empty())
            || self.document_id.is_some()
            || self.extensions.as_ref().is_some_and(|e| e.contains_key("persistedQuery"))
    }
}

/// A request whose document passed every check, parsed.
pub struct Prepared {
    pub request: async_graphql::Request,
    /// The operation it runs, when it names one the document has.
    pub kind: Option<OperationType>,
    /// Whether it is a bulk ingestion (a mutation of [`BULK_FIELDS`] only).
    pub bulk: bool,
}

/// The trusted documents by SHA-256 (lower-case hex) of their text.
#[derive(Debug, Default)]
pub struct TrustedDocuments(HashMap<String, String>);

impl TrustedDocuments {
    /// Reads a JSON object mapping each document's SHA-256 (hex) to its
    /// text, or an Apollo persisted-query manifest
    /// (`{"operations": [{"id", "body"}, …]}`). Every hash is checked.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct Manifest {
            operations: Vec<ManifestOperation>,
        }
        #[derive(serde::Deserialize)]
        struct ManifestOperation {
            id: String,
            body: String,
        }
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let pairs: Vec<(String, String)> = if value.get("operations").is_some() {
            let manifest: Manifest = serde_json::from_value(value).map_err(|e| e.to_string())?;
            manifest.operations.into_iter().map(|o| (o.id, o.body)).collect()
        } else {
            let map: HashMap<String, String> = serde_json::from_value(value)
                .map_err(|e| format!("expected an object of SHA-256 hex → document: {e}"))?;
            map.into_iter().collect()
        };
        let mut documents = HashMap::with_capacity(pairs.len());
        for (hash, document) in pairs {
            let hash = hash.trim_start_matches("sha256:").to_ascii_lowercase();
            let actual = sha256_hex(&document);
            if hash != actual {
                return Err(format!("the document listed as {hash} has the SHA-256 {actual}"));
            }
            documents.insert(hash, document);
        }
        Ok(Self(documents))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The document checks of one server.
#[derive(Debug)]
pub struct Documents {
    pub limits: Limits,
    /// When set, only these documents run.
    pub trusted: Option<TrustedDocuments>,
    /// Whether `__schema` and `__type` may be asked for. The schema
    /// switched off answers them with null; refusing says why.
    pub introspection: bool,
}

pub fn sha256_hex(text: &str) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// An error of the checks here, with its code.
pub fn refusal(code: ErrorCode, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code.as_str());
    error
}

fn bad_input(message: impl Into<String>) -> ServerError {
    refusal(ErrorCode::BadUserInput, message)
}

/// The hash a request names: `extensions.persistedQuery.sha256Hash`
/// (Apollo's automatic persisted queries) or `documentId`.
fn named_hash(wire: &WireRequest) -> Result<Option<String>, ServerError> {
    if let Some(id) = &wire.document_id {
        let hex = id.strip_prefix("sha256:").unwrap_or(id);
        return Ok(Some(hex.to_ascii_lowercase()));
    }
    let Some(persisted) = wire.extensions.as_ref().and_then(|e| e.get("persistedQuery")) else {
        return Ok(None);
    };
    let hash = match persisted {
        async_graphql::Value::Object(fields) => fields.get("sha256Hash"),
        _ => None,
    };
    match hash {
        Some(async_graphql::Value::String(hex)) => Ok(Some(hex.to_ascii_lowercase())),
        _ => Err(bad_input("extensions.persistedQuery must carry a sha256Hash string")),
    }
}

impl Documents {
    /// Resolves the request's document, checks it and parses it once.
    pub fn prepare(&self, wire: WireRequest) -> Result<Prepared, ServerError> {
        let hash = named_hash(&wire)?;
        let text = wire.query.filter(|q| !q.trim().is_empty());
        let query = match (&self.trusted, hash, text) {
            (_, Some(hash), Some(text)) => {
                if sha256_hex(&text) != hash {
                    return Err(bad_input("the query does not match its SHA-256 hash"));
                }
                if self.trusted.as_ref().is_some_and(|t| !t.0.contains_key(&hash)) {
                    return Err(untrusted());
                }
                text
            }
            (Some(trusted), Some(hash), None) => trusted.0.get(&hash).cloned().ok_or_else(untrusted)?,
            // Apollo's clients answer this by sending the query with its hash.
            (None, Some(_), None) => {
                return Err(refusal(ErrorCode::PersistedQueryNotFound, "PersistedQueryNotFound"));
            }
            (Some(trusted), None, Some(text)) => {
                if !trusted.0.contains_key(&sha256_hex(&text)) {
                    return Err(untrusted());
                }
                text
            }
            (None, None, Some(text)) => text,
            (_, None, None) => return Err(bad_input("the request has no query")),
        };
        if nests_deeper_than(&query, MAX_NESTING) {
            return Err(too_deep(None, self.limits.max_depth));
        }
        let doc = match async_graphql::parser::parse_query(&query) {
            Ok(doc) => doc,
            Err(async_graphql::parser::Error::RecursionLimitExceeded) => {
                return Err(too_deep(None, self.limits.max_depth));
            }
            Err(e) => {
                let mut error = ServerError::from(e);
                error
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set("code", ErrorCode::BadUserInput.as_str());
                return Err(error);
            }
        };
        self.check(&doc, wire.operation_name.as_deref())?;
        let kind = operation(&doc, wire.operation_name.as_deref()).map(|op| op.node.ty);
        let bulk = is_bulk_ingestion(&doc);
        let mut request = async_graphql::Request::new(query);
        if let Some(name) = wire.operation_name.filter(|n| !n.is_empty()) {
            request = request.operation_name(name);
        }
        if let Some(variables) = wire.variables {
            request = request.variables(variables);
        }
        if let Some(extensions) = wire.extensions {
            request.extensions = async_graphql::Extensions(extensions);
        }
        request.set_parsed_query(doc);
        Ok(Prepared { request, kind, bulk })
    }

    /// The static limits over a parsed document.
    fn check(&self, doc: &ExecutableDocument, operation_name: Option<&str>) -> Result<(), ServerError> {
        let limits = &self.limits;
        let mut counts = Counts::default();
        for (_, op) in doc.operations.iter() {
            counts.directives += op.node.directives.len();
            for var in &op.node.variable_definitions {
                counts.directives += var.node.directives.len();
            }
            counts.selection_set(&op.node.selection_set);
        }
        for fragment in doc.fragments.values() {
            counts.directives += fragment.node.directives.len();
            counts.selection_set(&fragment.node.selection_set);
        }
        if counts.aliases > limits.max_aliases {
            return Err(bad_input(format!(
                "the document has {} aliases; the limit is {}",
                counts.aliases, limits.max_aliases
            )));
        }
        if counts.directives > limits.max_directives {
            return Err(bad_input(format!(
                "the document has {} directives; the limit is {}",
                counts.directives, limits.max_directives
            )));
        }
        if !self.introspection
            && doc.operations.iter().any(|(_, op)| introspects(doc, &op.node.selection_set, &mut Vec::new()))
        {
            return Err(bad_input("introspection is disabled on this server"));
        }
        let mut expanded = Expanded { doc, fragments: HashMap::new() };
        let selected: Vec<&Positioned<OperationDefinition>> = match operation(doc, operation_name) {
            Some(op) => vec![op],
            None => doc.operations.iter().map(|(_, op)| op).collect(),
        };
        for op in selected {
            let shape = expanded.selection_set(&op.node.selection_set)?;
            if shape.depth > limits.max_depth {
                return Err(too_deep(Some(shape.depth), limits.max_depth));
            }
            if shape.fields > limits.max_fields {
                return Err(bad_input(format!(
                    "the query is too complex: it selects {} fields; the limit is {}",
                    shape.fields, limits.max_fields
                )));
            }
        }
        Ok(())
    }
}

fn untrusted() -> ServerError {
    refusal(
        ErrorCode::PersistedQueryNotFound,
        "only trusted documents run on this server, and this is not one of them",
    )
}

fn too_deep(depth: Option<usize>, max_depth: usize) -> ServerError {
    let message = match depth {
        Some(depth) => format!("the query is nested too deep: {depth} levels; the limit is {max_depth}"),
        None => format!(
            "the query is nested too deep: its brackets nest more than {MAX_NESTING} levels; \
             selections may nest at most {max_depth}"
        ),
    };
    bad_input(message)
}

/// Aliases and directives, each definition counted once.
#[derive(Default)]
struct Counts {
    aliases: usize,
    directives: usize,
}

impl Counts {
    // Recursion is bounded: the parser refuses more than 64 nested
    // selection sets.
    fn selection_set(&mut self, set: &Positioned<SelectionSet>) {
        for item in &set.node.items {
            match &item.node {
                Selection::Field(field) => {
                    self.aliases += usize::from(field.node.alias.is_some());
                    self.directives += field.node.directives.len();
                    self.selection_set(&field.node.selection_set);
                }
                Selection::FragmentSpread(spread) => self.directives += spread.node.directives.len(),
                Selection::InlineFragment(inline) => {
                    self.directives += inline.node.directives.len();
                    self.selection_set(&inline.node.selection_set);
                }
            }
        }
    }
}

/// Depth and field count of a selection set with its fragments inlined,
/// as async-graphql's validation counts them (depth: fields nested;
/// complexity: every field once per place it is selected).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Shape {
    depth: usize,
    fields: usize,
}

/// Each fragment's shape, computed once; `None` while being computed (a
/// spread that meets it is a cycle).
struct Expanded<'a> {
    doc: &'a ExecutableDocument,
    fragments: HashMap<&'a str, Option<Shape>>,
}

impl<'a> Expanded<'a> {
    fn selection_set(&mut self, set: &'a Positioned<SelectionSet>) -> Result<Shape, ServerError> {
        let mut shape = Shape::default();
        for item in &set.node.items {
            let (depth, fields) = match &item.node {
                Selection::Field(field) => {
                    let inner = self.selection_set(&field.node.selection_set)?;
                    (inner.depth + 1, inner.fields.saturating_add(1))
                }
                Selection::InlineFragment(inline) => {
                    let inner = self.selection_set(&inline.node.selection_set)?;
                    (inner.depth, inner.fields)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let inner = match self.fragments.get(name) {
                        Some(Some(shape)) => *shape,
                        Some(None) => {
                            return Err(bad_input(format!("the fragment {name} spreads itself")));
                        }
                        // Validation reports unknown fragments.
                        None => match self.doc.fragments.get(name) {
                            None => Shape::default(),
                            Some(fragment) => {
                                self.fragments.insert(name, None);
                                let shape = self.selection_set(&fragment.node.selection_set)?;
                                self.fragments.insert(name, Some(shape));
                                shape
                            }
                        },
                    };
                    (inner.depth, inner.fields)
                }
            };
            shape.depth = shape.depth.max(depth);
            shape.fields = shape.fields.saturating_add(fields);
        }
        Ok(shape)
    }
}

/// Whether a root selection set asks for `__schema` or `__type` (through
/// fragments too; `seen` guards against cycles).
fn introspects<'a>(
    doc: &'a ExecutableDocument,
    set: &'a Positioned<SelectionSet>,
    seen: &mut Vec<&'a str>,
) -> bool {
    set.node.items.iter().any(|item| match &item.node {
        Selection::Field(field) => matches!(field.node.name.node.as_str(), "__schema" | "__type"),
        Selection::InlineFragment(inline) => introspects(doc, &inline.node.selection_set, seen),
        Selection::FragmentSpread(spread) => {
            let name = spread.node.fragment_name.node.as_str();
            if seen.contains(&name) {
                return false;
            }
            seen.push(name);
            doc.fragments.get(name).is_some_and(|f| introspects(doc, &f.node.selection_set, seen))
        }
    })
}

/// The operation a request runs.
fn operation<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&doc.operations, name.filter(|n| !n.is_empty())) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    }
}

/// Whether every operation of the document is a mutation whose root
/// fields are all [`BULK_FIELDS`].
fn is_bulk_ingestion(doc: &ExecutableDocument) -> bool {
    doc.fragments.is_empty()
        && doc.operations.iter().all(|(_, op)| {
            op.node.ty == OperationType::Mutation
                && op.node.selection_set.node.items.iter().all(|sel| {
                    matches!(&sel.node, Selection::Field(f) if BULK_FIELDS.contains(&f.node.name.node.as_str()))
                })
        })
}

/// Whether `{`, `[` and `(` nest more than `max` deep in the text, outside
/// strings and comments. A lexical scan, not a parser: it only bounds what
/// the parser will be asked to recurse into.
pub fn nests_deeper_than(text: &str, max: usize) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                // A block string ends at the next `"""` not escaped as `\"""`.
                i += 3;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 2;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn documents(trusted: Option<TrustedDocuments>) -> Documents {
        Documents {
            limits: Limits { max_aliases: 3, max_directives: 3, max_depth: 4, max_fields: 20 },
            trusted,
            introspection: true,
        }
    }

    fn wire(query: &str) -> WireRequest {
        WireRequest { query: Some(query.to_owned()), ..WireRequest::default() }
    }

    fn message(result: Result<Prepared, ServerError>) -> String {
        match result {
            Ok(_) => panic!("accepted"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn nesting_is_counted_outside_strings_and_comments() {
        assert!(!nests_deeper_than("{ a { b } }", 2));
        assert!(nests_deeper_than("{ a { b { c } } }", 2));
        assert!(!nests_deeper_than("{ a(s: \"{{{{\") # {{{{\n }", 2));
        assert!(!nests_deeper_than("{ a(s: \"\"\" {{{ \\\"\"\" {{{ \"\"\") }", 2));
        assert!(!nests_deeper_than("{ a(s: \"\\\"{{{\") }", 2));
        assert!(nests_deeper_than(&"{a".repeat(1_000_000), MAX_NESTING));
    }

    #[test]
    fn a_million_brackets_are_refused_before_the_parser_recurses() {
        let d = documents(None);
        for text in ["{a".repeat(1_000_000), "{ a(x: ".to_owned() + &"[".repeat(1_000_000)] {
            assert!(message(d.prepare(wire(&text))).contains("nested too deep"));
        }
    }

    #[test]
    fn the_limits_name_themselves() {
        let d = documents(None);
        assert!(d.prepare(wire("{ a: x b: y c: z }")).is_ok());
        assert_eq!(
            message(d.prepare(wire("{ a: x b: y c: z d: w }"))),
            "the document has 4 aliases; the limit is 3"
        );
        // Aliases in fragments count too.
        let with_fragment = "{ a: x ...F } fragment F on Q { b: y c: z d: w }";
        assert!(message(d.prepare(wire(with_fragment))).contains("4 aliases"));
        assert!(message(d.prepare(wire("{ x @a @b @c @d }"))).contains("4 directives; the limit is 3"));
        assert!(message(d.prepare(wire("query Q($v: Int @b) @a { x @c ...F @d }"))).contains("4 directives"));
        assert!(d.prepare(wire("{ a { b { c { d } } } }")).is_ok());
        assert_eq!(
            message(d.prepare(wire("{ a { b { c { d { e } } } } }"))),
            "the query is nested too deep: 5 levels; the limit is 4"
        );
        // Through fragments.
        let deep = "{ a { ...F } } fragment F on T { b { c { d { e } } } }";
        assert!(message(d.prepare(wire(deep))).contains("5 levels"));
        assert!(message(d.prepare(wire(&"{a".repeat(100)))).contains("the query is nested too deep"));
    }

    #[test]
    fn fragment_bombs_and_cycles_are_refused_in_linear_time() {
        let d = documents(None);
        // Each fragment spreads the next twice: 2^40 fields once expanded.
        let mut text = "{ ...F0 }".to_owned();
        for i in 0..40 {
            text.push_str(&format!(" fragment F{i} on Q {{ ...F{} ...F{} }}", i + 1, i + 1));
        }
        text.push_str(" fragment F40 on Q { x }");
        let started = std::time::Instant::now();
        assert!(message(d.prepare(wire(&text))).contains("too complex"));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(
            message(d.prepare(wire("{ ...A } fragment A on Q { ...B } fragment B on Q { ...A }")))
                .contains("spreads itself")
        );
    }

    #[test]
    fn persisted_and_trusted_documents() {
        let query = "{ viewer { name } }";
        let hash = sha256_hex(query);
        let by_hash = |hash: &str| WireRequest {
            extensions: Some(HashMap::from([(
                "persistedQuery".to_owned(),
                async_graphql::Value::from_json(serde_json::json!({ "version": 1, "sha256Hash": hash }))
                    .unwrap(),
            )])),
            ..WireRequest::default()
        };
        let code = |r: Result<Prepared, ServerError>| match r {
            Ok(_) => "accepted".to_owned(),
            Err(e) => match e.extensions.and_then(|x| x.get("code").cloned()) {
                Some(async_graphql::Value::String(code)) => code,
                other => format!("{other:?}"),
            },
        };

        // No allowlist: any document; a hash alone is unknown (there is no cache).
        let open = documents(None);
        assert_eq!(code(open.prepare(wire("{ other }"))), "accepted");
        assert_eq!(code(open.prepare(by_hash(&hash))), "PERSISTED_QUERY_NOT_FOUND");
        let mut both = by_hash(&hash);
        both.query = Some(query.to_owned());
        assert_eq!(code(open.prepare(both)), "accepted");
        let mut mismatch = by_hash(&hash);
        mismatch.query = Some("{ other }".to_owned());
        assert_eq!(code(open.prepare(mismatch)), "BAD_USER_INPUT");

        // An allowlist: its documents by hash, by documentId, or by text; nothing else.
        let json = serde_json::json!({ hash.clone(): query }).to_string();
        let trusted = documents(Some(TrustedDocuments::from_json(&json).unwrap()));
        let prepared = trusted.prepare(by_hash(&hash.to_uppercase())).ok().unwrap();
        assert_eq!(prepared.request.query, query);
        assert_eq!(prepared.kind, Some(OperationType::Query));
        let by_id = WireRequest { document_id: Some(format!("sha256:{hash}")), ..WireRequest::default() };
        assert_eq!(code(trusted.prepare(by_id)), "accepted");
        assert_eq!(code(trusted.prepare(wire(query))), "accepted");
        assert_eq!(code(trusted.prepare(wire("{ other }"))), "PERSISTED_QUERY_NOT_FOUND");
        assert_eq!(code(trusted.prepare(by_hash(&sha256_hex("{ other }")))), "PERSISTED_QUERY_NOT_FOUND");
        let mut other = by_hash(&sha256_hex("{ other }"));
        other.query = Some("{ other }".to_owned());
        assert_eq!(code(trusted.prepare(other)), "PERSISTED_QUERY_NOT_FOUND");

        // A listed hash must be its document's; a manifest works too.
        let wrong = serde_json::json!({ sha256_hex("{ other }"): query }).to_string();
        assert!(TrustedDocuments::from_json(&wrong).is_err());
        let manifest = serde_json::json!({
            "format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{ "id": hash, "name": "Q", "type": "query", "body": query }],
        });
        assert_eq!(TrustedDocuments::from_json(&manifest.to_string()).unwrap().len(), 1);
    }

    #[test]
    fn introspection_can_be_refused() {
        let closed = Documents { introspection: false, ..documents(None) };
        for text in [
            "{ __schema { types { name } } }",
            "{ ...F } fragment F on Query { __type(name: \"Q\") { name } }",
        ] {
            assert_eq!(message(closed.prepare(wire(text))), "introspection is disabled on this server");
            assert!(documents(None).prepare(wire(text)).is_ok());
        }
        assert!(closed.prepare(wire("{ __typename x { __typename } }")).is_ok());
    }

    #[test]
    fn bulk_ingestion_is_recognised() {
        let d = documents(None);
        let bulk = d.prepare(wire("mutation { recordKpiMeasurements(input: {}) { written } }")).ok().unwrap();
        assert!(bulk.bulk && bulk.kind == Some(OperationType::Mutation));
        let mixed =
            d.prepare(wire("mutation { recordKpiMeasurements(input: {}) { written } other }")).ok().unwrap();
        assert!(!mixed.bulk);
        assert!(!d.prepare(wire("{ x }")).ok().unwrap().bulk);
    }
}
