//! Keyset pagination: a page starts after the (sort value, id) of the last
//! row of the previous one, so deep pages cost the same as the first and
//! concurrent inserts never shift rows between pages.

use crate::error::StoreResult;
use goalgraph_domain::DomainError;
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, IdenStatic, Order, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Statement, Value,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// Where a row stands in its ordering: the sort value as text and the id
/// that breaks ties. The API turns it into an opaque cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CursorKey {
    #[serde(rename = "k")]
    pub key: String,
    pub id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageArgs {
    pub first: u64,
    pub after: Option<CursorKey>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(CursorKey, T)>,
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// Converts every item, failing on the first that does not convert.
    pub fn try_map<U, E>(self, f: impl Fn(T) -> Result<U, E>) -> Result<Page<U>, E> {
        let items = self.items.into_iter().map(|(c, t)| f(t).map(|u| (c, u))).collect::<Result<_, E>>()?;
        Ok(Page { items, has_next_page: self.has_next_page })
    }

    pub fn map<U>(self, f: impl Fn(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(c, t)| (c, f(t))).collect(),
            has_next_page: self.has_next_page,
        }
    }
}

/// How one ordering reads its sort column.
pub(crate) struct SortSpec<E: EntityTrait> {
    pub column: E::Column,
    pub id_column: E::Column,
    pub direction: SortDirection,
    /// Turns a cursor's text back into a typed value for the comparison.
    pub parse: fn(&str) -> Option<Value>,
    /// The cursor of a row.
    pub key_of: fn(&E::Model) -> CursorKey,
}

pub(crate) fn parse_text(s: &str) -> Option<Value> {
    Some(Value::from(s.to_owned()))
}

pub(crate) fn parse_float(s: &str) -> Option<Value> {
    s.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::from)
}

pub(crate) fn parse_date(s: &str) -> Option<Value> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(Value::from)
}

pub(crate) fn parse_time(s: &str) -> Option<Value> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| Value::from(t.with_timezone(&chrono::Utc)))
}

/// Keeps the rows after the cursor of `args`, in `sort`'s direction.
fn after_cursor<E: EntityTrait>(
    select: Select<E>,
    sort: &SortSpec<E>,
    args: &PageArgs,
) -> StoreResult<Select<E>> {
    let Some(after) = &args.after else { return Ok(select) };
    let value = (sort.parse)(&after.key)
        .ok_or_else(|| DomainError::invalid("after", "is not a cursor of this list"))?;
    // Qualified: the select may join tables with columns of the same names.
    let (column, id) = (Expr::col((E::default(), sort.column)), Expr::col((E::default(), sort.id_column)));
    let (beyond, id_beyond): (SimpleExpr, SimpleExpr) = match sort.direction {
        SortDirection::Asc => (column.gt(value.clone()), id.gt(after.id)),
        SortDirection::Desc => (column.lt(value.clone()), id.lt(after.id)),
    };
    Ok(select
        .filter(Condition::any().add(beyond).add(Condition::all().add(sort.column.eq(value)).add(id_beyond))))
}

fn order_of(direction: SortDirection) -> Order {
    match direction {
        SortDirection::Asc => Order::Asc,
        SortDirection::Desc => Order::Desc,
    }
}

fn into_page<M>(mut rows: Vec<M>, first: u64, key_of: fn(&M) -> CursorKey) -> Page<M> {
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Page { items: rows.into_iter().map(|m| (key_of(&m), m)).collect(), has_next_page }
}

pub(crate) async fn fetch_page<E, C>(
    conn: &C,
    select: Select<E>,
    sort: SortSpec<E>,
    args: &PageArgs,
) -> StoreResult<Page<E::Model>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let rows = after_cursor(select, &sort, args)?
        .order_by(sort.column, order_of(sort.direction))
        .order_by(sort.id_column, order_of(sort.direction))
        .limit(args.first + 1)
        .all(conn)
        .await?;
    Ok(into_page(rows, args.first, sort.key_of))
}

/// The same page for many parents at once (e.g. the first 20 people of
/// each of 50 teams) in ONE statement, so nested connections cost one
/// statement per level, not one per parent. On PostgreSQL each parent's
/// page is a `LATERAL` subquery (`ORDER BY … LIMIT first + 1`), which reads
/// only those rows from an index on (parent, sort column, id); elsewhere
/// rows are ranked per parent with `ROW_NUMBER() OVER (PARTITION BY …)` and
/// each parent keeps its first `first + 1`. `parents` are the parents
/// `select` is filtered to.
pub(crate) async fn fetch_grouped_pages<E, C>(
    conn: &C,
    select: Select<E>,
    parents: &[Uuid],
    group_column: E::Column,
    group_of: fn(&E::Model) -> Uuid,
    sort: SortSpec<E>,
    args: &PageArgs,
) -> StoreResult<HashMap<Uuid, Page<E::Model>>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let table = E::default().table_name().to_owned();
    let direction = match sort.direction {
        SortDirection::Asc => "ASC",
        SortDirection::Desc => "DESC",
    };
    let (group, sort_col, id) = (group_column.as_str(), sort.column.as_str(), sort.id_column.as_str());
    let backend = conn.get_database_backend();
    let statement = if backend == sea_orm::DbBackend::Postgres {
        let inner = after_cursor(select, &sort, args)?
            .filter(Expr::cust(format!("{table}.{group} = parent.id")))
            .order_by(sort.column, order_of(sort.direction))
            .order_by(sort.id_column, order_of(sort.direction))
            .limit(args.first + 1)
            .build(backend);
        let mut values = inner.values.map(|v| v.0).unwrap_or_default();
        values.push(crate::sql::list_value(backend, parents));
        Statement {
            sql: format!(
                "SELECT ranked.* FROM unnest(CAST(${n} AS uuid[])) WITH ORDINALITY AS parent(id, ord) \
                 CROSS JOIN LATERAL ({}) AS ranked \
                 ORDER BY parent.ord, ranked.{sort_col} {direction}, ranked.{id} {direction}",
                inner.sql,
                n = values.len(),
            ),
            values: Some(sea_orm::Values(values)),
            db_backend: backend,
        }
    } else {
        let rank = format!(
            "ROW_NUMBER() OVER (PARTITION BY {table}.{group} ORDER BY {table}.{sort_col} {direction}, {table}.{id} {direction})"
        );
        let inner =
            after_cursor(select, &sort, args)?.column_as(Expr::cust(rank), "page_rank").build(backend);
        Statement {
            sql: format!(
                "SELECT * FROM ({}) AS ranked WHERE page_rank <= {} ORDER BY page_rank",
                inner.sql,
                args.first + 1
            ),
            values: inner.values,
            db_backend: backend,
        }
    };
    let rows = E::find().from_raw_sql(statement).all(conn).await?;
    let mut grouped: HashMap<Uuid, Vec<E::Model>> = HashMap::new();
    for row in rows {
        grouped.entry(group_of(&row)).or_default().push(row);
    }
    Ok(grouped.into_iter().map(|(parent, rows)| (parent, into_page(rows, args.first, sort.key_of))).collect())
}

/// Row counts per parent, in one statement.
pub(crate) async fn count_grouped<E, C>(
    conn: &C,
    select: Select<E>,
    group_column: E::Column,
) -> StoreResult<HashMap<Uuid, u64>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let rows: Vec<(Uuid, i64)> = select
        .select_only()
        .column(group_column)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(group_column)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|(id, n)| (id, u64::try_from(n).unwrap_or(0))).collect())
}
