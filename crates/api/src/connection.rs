//! Relay connections: `first`/`after`, `totalCount`, `pageInfo`, bounded
//! by the organization's maximum page size.

use crate::context::data;
use crate::error::{ApiError, ApiResult};
use crate::ids::{decode_cursor, encode_cursor};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, OutputType, SimpleObject};
use goalgraph_persistence::{CursorKey, Page, PageArgs, SortDirection};

/// Extra fields of every connection.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ConnectionFields {
    /// How many items the whole list holds (all pages, same filter).
    pub total_count: u64,
}

pub type Conn<T> = Connection<String, T, ConnectionFields, EmptyFields>;

/// The size of a page when the client does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

impl From<OrderDirection> for SortDirection {
    fn from(d: OrderDirection) -> Self {
        match d {
            OrderDirection::Asc => SortDirection::Asc,
            OrderDirection::Desc => SortDirection::Desc,
        }
    }
}

/// Checks `first` against the organization's maximum and decodes `after`.
pub(crate) fn page_args(ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> ApiResult<PageArgs> {
    let max = data(ctx)?.ctx.settings.max_page_size;
    let first = match first {
        None => DEFAULT_PAGE_SIZE.min(max),
        Some(n) if n >= 0 && (n as u32) <= max => n as u32,
        Some(_) => return Err(ApiError::bad_input("first", format!("must be between 0 and {max}"))),
    };
    let after = after.map(|c| decode_cursor("after", &c)).transpose()?;
    Ok(PageArgs { first: u64::from(first), after })
}

/// Whether the client selected `totalCount`: counting costs a statement.
pub(crate) fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

pub(crate) fn build<T, U: OutputType>(
    page: Page<T>,
    had_cursor: bool,
    total: u64,
    node: impl Fn(T) -> U,
) -> Conn<U> {
    let mut conn = Connection::with_additional_fields(
        had_cursor,
        page.has_next_page,
        ConnectionFields { total_count: total },
    );
    conn.edges =
        page.items.into_iter().map(|(cursor, item)| Edge::new(encode_cursor(&cursor), node(item))).collect();
    conn
}

/// A page of a list filtered on a computed value (health, status) that SQL
/// cannot filter: walks the underlying list in chunks from `after`, keeps
/// the items `keep` accepts, and stops one match past `first` (to know
/// whether there is a next page). With `first = None` it walks the whole
/// list and only counts (totalCount). Returns the page and the matches seen.
pub(crate) async fn walk_filtered<T, F, FFut, K, KFut>(
    after: Option<CursorKey>,
    first: Option<u64>,
    fetch: F,
    keep: K,
) -> ApiResult<(Page<T>, u64)>
where
    F: Fn(PageArgs) -> FFut,
    FFut: std::future::Future<Output = ApiResult<Page<T>>>,
    K: Fn(Vec<(CursorKey, T)>) -> KFut,
    KFut: std::future::Future<Output = ApiResult<Vec<((CursorKey, T), bool)>>>,
{
    const CHUNK: u64 = 200;
    let (mut items, mut matched, mut has_next) = (Vec::new(), 0u64, false);
    let mut cursor = after;
    loop {
        let chunk = fetch(PageArgs { first: CHUNK, after: cursor.clone() }).await?;
        let more = chunk.has_next_page;
        for ((c, item), kept) in keep(chunk.items).await? {
            cursor = Some(c.clone());
            if kept {
                matched += 1;
                match first {
                    Some(n) if (items.len() as u64) >= n => has_next = true,
                    _ => items.push((c, item)),
                }
            }
        }
        if !more || has_next {
            return Ok((Page { items, has_next_page: has_next }, matched));
        }
    }
}
