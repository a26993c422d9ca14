//! Keyset pagination: a page starts after the (sort value, id) of the last
//! row of the previous one, so deep pages cost the same as the first and
//! concurrent inserts never shift rows between pages.

use crate::error::StoreResult;
use goalgraph_domain::DomainError;
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
    Select, Value,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// Where a row stands in its ordering: the sort value as text and the id
/// that breaks ties. The API turns it into an opaque cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorKey {
    #[serde(rename = "k")]
    pub key: String,
    pub id: Uuid,
}

#[derive(Debug, Clone)]
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

pub(crate) fn parse_date(s: &str) -> Option<Value> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(Value::from)
}

pub(crate) fn parse_time(s: &str) -> Option<Value> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| Value::from(t.with_timezone(&chrono::Utc)))
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
    let mut select = select;
    if let Some(after) = &args.after {
        let value = (sort.parse)(&after.key)
            .ok_or_else(|| DomainError::invalid("after", "is not a cursor of this list"))?;
        let (beyond, id_beyond): (SimpleExpr, SimpleExpr) = match sort.direction {
            SortDirection::Asc => {
                (Expr::col(sort.column).gt(value.clone()), Expr::col(sort.id_column).gt(after.id))
            }
            SortDirection::Desc => {
                (Expr::col(sort.column).lt(value.clone()), Expr::col(sort.id_column).lt(after.id))
            }
        };
        select = select.filter(
            Condition::any().add(beyond).add(Condition::all().add(sort.column.eq(value)).add(id_beyond)),
        );
    }
    let order = match sort.direction {
        SortDirection::Asc => Order::Asc,
        SortDirection::Desc => Order::Desc,
    };
    let mut rows = select
        .order_by(sort.column, order.clone())
        .order_by(sort.id_column, order)
        .limit(args.first + 1)
        .all(conn)
        .await?;
    let has_next_page = rows.len() as u64 > args.first;
    rows.truncate(args.first as usize);
    Ok(Page { items: rows.into_iter().map(|m| ((sort.key_of)(&m), m)).collect(), has_next_page })
}
