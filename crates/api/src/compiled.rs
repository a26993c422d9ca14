//! The compiled read path: a query for one unit's tree (`node(id:)` on a
//! unit → people → objectives → key results → newest check-in, sub-units,
//! in any nesting of those) is answered by ONE SQL statement that builds
//! the answer's JSON in the database ([`Store::unit_tree`]), instead of
//! resolving each of its thousands of fields through the executor and the
//! DataLoaders.
//!
//! Only what this module recognises is compiled: the fields below, with
//! aliases, `__typename`, inline fragments and fragment spreads, and the
//! arguments named here. Anything else (another field, a directive, a
//! cursor, a page size the organization does not allow, an id of another
//! type, another database) goes the usual way, which gives the same answer
//! or the usual error. The access rules are the store's, through the
//! policy: the same visibility, in the statement.
//!
//! A test runs a set of queries both ways, for actors who see different
//! goals, and compares the answers.

use crate::context::RequestData;
use crate::ids::{NodeType, decode_any};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::registry::{MetaType, Registry};
use async_graphql::{Name, Value, Variables};
use goalgraph_domain::{PeriodId, UnitId};
use goalgraph_persistence::{TreeColumn as Column, TreeField, TreeValue};

mod answer;

/// A query the compiled path answers: the operation's one root field.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The operation's name, to check it is the one executed.
    operation: Option<Name>,
    /// The root field's response key.
    key: String,
    /// The `id` argument of `node`.
    id: String,
    /// Every page size asked for: the organization's limit is checked
    /// when the request runs.
    page_sizes: Vec<i64>,
    fields: Vec<TreeField>,
}

impl Plan {
    /// The plan of `doc`'s operation, if this module can answer it.
    pub(crate) fn of(registry: &Registry, doc: &ExecutableDocument, variables: &Variables) -> Option<Plan> {
        let (operation, op) = match &doc.operations {
            DocumentOperations::Single(op) => (None, &op.node),
            DocumentOperations::Multiple(ops) if ops.len() == 1 => {
                let (name, op) = ops.iter().next()?;
                (Some(name.clone()), &op.node)
            }
            DocumentOperations::Multiple(_) => return None,
        };
        if op.ty != OperationType::Query || !op.directives.is_empty() {
            return None;
        }
        let mut c = Compiler { registry, doc, variables, op, page_sizes: vec![], depth: 0 };
        let roots = c.collect(&op.selection_set.node, &registry.query_type)?;
        let [(key, field)] = roots.as_slice() else { return None };
        if field.name.node != "node" || !field.directives.is_empty() {
            return None;
        }
        let id = match c.args(field, &["id"])?.first()? {
            (_, Value::String(s)) => s.clone(),
            _ => return None,
        };
        let fields = c.object("Unit", &field.selection_set.node)?;
        Some(Plan { operation, key: key.clone(), id, page_sizes: c.page_sizes, fields })
    }

    /// The answer's `data` as JSON text, or `None` to execute the request
    /// the usual way.
    pub(crate) async fn run(&self, operation_name: Option<&str>, data: &RequestData) -> Option<Vec<u8>> {
        if operation_name != self.operation.as_deref() || !data.store.reads_trees() {
            return None;
        }
        let max = i64::from(data.ctx.settings.max_page_size);
        if self.page_sizes.iter().any(|n| *n < 0 || *n > max) {
            return None;
        }
        let unit = match decode_any(&self.id) {
            Some((NodeType::Unit, uuid)) => UnitId(uuid),
            _ => return None,
        };
        let document = match data.store.unit_tree(&data.ctx.actor, unit, &self.fields).await {
            Ok(Ok(document)) => document,
            // Not compiled, or failed: the executor answers (and reports
            // its own error, if any).
            Ok(Err(_)) | Err(_) => return None,
        };
        match answer::data(&self.key, document.as_deref(), &self.fields) {
            Ok(data) => Some(data),
            Err(e) => {
                tracing::error!(error = %e, "the compiled read's document does not match its plan");
                None
            }
        }
    }
}

struct Compiler<'a> {
    registry: &'a Registry,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    op: &'a OperationDefinition,
    page_sizes: Vec<i64>,
    /// Fragment nesting, bounded (cycles are refused by validation, which
    /// runs after this).
    depth: usize,
}

/// No arguments, no selection.
fn is_leaf(f: &Field) -> bool {
    f.arguments.is_empty() && f.selection_set.node.items.is_empty()
}

/// A response key and the field selected under it.
type Keyed<'a> = Vec<(String, &'a Field)>;

impl<'a> Compiler<'a> {
    /// The fields of `set` on an object of type `ty`, by response key, in
    /// order; `None` for a directive or two different fields under one key.
    fn collect(&mut self, set: &'a SelectionSet, ty: &str) -> Option<Keyed<'a>> {
        let mut out: Keyed<'a> = Vec::new();
        self.collect_into(set, ty, &mut out)?;
        Some(out)
    }

    fn collect_into(&mut self, set: &'a SelectionSet, ty: &str, out: &mut Keyed<'a>) -> Option<()> {
        self.depth += 1;
        if self.depth > 32 {
            return None;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let f = &f.node;
                    if !f.directives.is_empty() {
                        return None;
                    }
                    let key = f.response_key().node.to_string();
                    match out.iter().find(|(k, _)| *k == key) {
                        // The same leaf twice merges into one; anything
                        // else under one key goes the usual way.
                        Some((_, g)) => {
                            if !(g.name.node == f.name.node && is_leaf(g) && is_leaf(f)) {
                                return None;
                            }
                        }
                        None => out.push((key, f)),
                    }
                }
                Selection::InlineFragment(frag) => {
                    let frag = &frag.node;
                    if !frag.directives.is_empty() {
                        return None;
                    }
                    let applies =
                        frag.type_condition.as_ref().is_none_or(|c| self.applies(&c.node.on.node, ty));
                    if applies {
                        self.collect_into(&frag.selection_set.node, ty, out)?;
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let spread = &spread.node;
                    if !spread.directives.is_empty() {
                        return None;
                    }
                    let def = &self.doc.fragments.get(&spread.fragment_name.node)?.node;
                    if !def.directives.is_empty() {
                        return None;
                    }
                    if self.applies(&def.type_condition.node.on.node, ty) {
                        self.collect_into(&def.selection_set.node, ty, out)?;
                    }
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// Whether a fragment on `condition` applies to an object of type `ty`.
    fn applies(&self, condition: &str, ty: &str) -> bool {
        condition == ty
            || self.registry.implements.get(ty).is_some_and(|i| i.contains(condition))
            || matches!(self.registry.types.get(condition),
                Some(MetaType::Union { possible_types, .. }) if possible_types.contains(ty))
    }

    /// The arguments of `f`, with variables replaced; `None` if it has one
    /// not in `allowed`.
    fn args(&self, f: &Field, allowed: &[&str]) -> Option<Vec<(String, Value)>> {
        let mut out = Vec::with_capacity(f.arguments.len());
        for (name, value) in &f.arguments {
            if !allowed.contains(&name.node.as_str()) {
                return None;
            }
            let v = value.node.clone().into_const_with(|var| self.variable(&var).ok_or(())).ok()?;
            out.push((name.node.to_string(), v));
        }
        Some(out)
    }

    /// A variable's value: given, its default, else null.
    fn variable(&self, name: &Name) -> Option<Value> {
        if let Some(v) = self.variables.get(name) {
            return Some(v.clone());
        }
        let def = self.op.variable_definitions.iter().find(|d| d.node.name.node == *name)?;
        Some(def.node.default_value.as_ref().map_or(Value::Null, |d| d.node.clone()))
    }

    /// `value` if `f` is a leaf.
    fn leaf(f: &Field, value: TreeValue) -> Option<TreeValue> {
        is_leaf(f).then_some(value)
    }

    /// The fields of an object of type `ty` (one of the tree's types).
    fn object(&mut self, ty: &str, set: &'a SelectionSet) -> Option<Vec<TreeField>> {
        let mut out = Vec::new();
        for (key, f) in self.collect(set, ty)? {
            let name = f.name.node.as_str();
            let value = if name == "__typename" {
                Self::leaf(f, TreeValue::Text(ty.to_owned()))?
            } else {
                self.field(ty, f)?
            };
            out.push(TreeField { key, value });
        }
        Some(out)
    }

    fn field(&mut self, ty: &str, f: &'a Field) -> Option<TreeValue> {
        let sub = &f.selection_set.node;
        let column = |c: Column| Self::leaf(f, TreeValue::Column(c));
        match (ty, f.name.node.as_str()) {
            (_, "id") => column(Column::Id),
            ("Unit" | "Person", "name") => column(Column::Name),
            ("Objective" | "KeyResult", "title") => column(Column::Title),
            ("Objective" | "KeyResult", "progress") => column(Column::Progress),
            ("KeyResult", "current") => column(Column::Current),
            ("CheckIn", "value") => column(Column::Value),
            ("CheckIn", "createdAt") => column(Column::CreatedAt),
            ("Unit", "people") => self.people(f),
            ("Unit", "children") => {
                self.args(f, &[])?;
                Some(TreeValue::Children(self.object("Unit", sub)?))
            }
            ("Unit" | "Person", "objectives") => {
                let period = match self.args(f, &["periodId"])?.pop() {
                    None | Some((_, Value::Null)) => None,
                    Some((_, Value::String(id))) => match decode_any(&id)? {
                        (NodeType::Period, uuid) => Some(PeriodId(uuid)),
                        _ => return None,
                    },
                    Some(_) => return None,
                };
                Some(TreeValue::Objectives { period, fields: self.object("Objective", sub)? })
            }
            ("Objective", "parent") => {
                self.args(f, &[])?;
                Some(TreeValue::Parent(self.object("Objective", sub)?))
            }
            ("Objective", "keyResults") => {
                self.args(f, &[])?;
                Some(TreeValue::KeyResults(self.object("KeyResult", sub)?))
            }
            ("KeyResult", "latestCheckIn") => {
                self.args(f, &[])?;
                Some(TreeValue::LatestCheckIn(self.object("CheckIn", sub)?))
            }
            _ => None,
        }
    }

    /// `Unit.people(first:)`: its `nodes` and `pageInfo` (a first page).
    fn people(&mut self, f: &'a Field) -> Option<TreeValue> {
        let first = match self.args(f, &["first"])?.pop()? {
            (_, Value::Number(n)) => n.as_i64()?,
            _ => return None,
        };
        self.page_sizes.push(first);
        let mut fields = Vec::new();
        for (key, g) in self.collect(&f.selection_set.node, "PersonConnection")? {
            let value = match g.name.node.as_str() {
                "__typename" => Self::leaf(g, TreeValue::Text("PersonConnection".into()))?,
                "nodes" => {
                    self.args(g, &[])?;
                    TreeValue::Nodes(self.object("Person", &g.selection_set.node)?)
                }
                "pageInfo" => {
                    self.args(g, &[])?;
                    let mut info = Vec::new();
                    for (key, h) in self.collect(&g.selection_set.node, "PageInfo")? {
                        let value = match h.name.node.as_str() {
                            "__typename" => TreeValue::Text("PageInfo".into()),
                            "hasNextPage" => TreeValue::HasNextPage,
                            // A first page (no cursor) has nothing before it.
                            "hasPreviousPage" => TreeValue::Bool(false),
                            _ => return None,
                        };
                        info.push(TreeField { key, value: Self::leaf(h, value)? });
                    }
                    TreeValue::PageInfo(info)
                }
                _ => return None,
            };
            fields.push(TreeField { key, value });
        }
        Some(TreeValue::People { first: u64::try_from(first).ok()?, fields })
    }
}
