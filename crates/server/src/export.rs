//! `GET /reports/export?format=csv`: a report as a CSV file, streamed: the
//! report's one statement is read row by row as the body is written, in
//! chunks, so memory does not grow with the size of the organization.
//!
//! Two ways in: with the caller's bearer credential and the report
//! definition as the `input` parameter (the JSON of a `ReportInput`) or a
//! `savedReportId` (run with the caller's own visibility), or with a
//! one-time `link` from `createReportExportLink` and no header at
//! all (a browser link); `asOf` (RFC 3339) gives the numbers that held
//! then, as `report(asOf:)`. Each export is audited (`exportReport`); a link
//! is used up by its export. Text cells a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return)
//! are prefixed with `'`.

use crate::http::{AppState, auth_failure_response, bearer_credential, request_id, resolve_actor};
use async_graphql::InputType;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use goalgraph_api::context::RequestContext;
use goalgraph_api::error::ApiError;
use goalgraph_api::ids::{NodeType, decode_id};
use goalgraph_api::reports::{LabeledReport, ReportInput};
use goalgraph_domain::report::{ReportDimension, ReportSpec};
use goalgraph_persistence::{LabeledRow, ReportRows, StoreError};
use std::sync::Arc;

/// Records per chunk of the response body.
const CHUNK_ROWS: usize = 512;

#[derive(Debug, serde::Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
    input: Option<String>,
    #[serde(rename = "savedReportId")]
    saved_report_id: Option<String>,
    link: Option<String>,
    /// The instant the numbers hold at (RFC 3339), as `report(asOf:)`.
    #[serde(rename = "asOf")]
    as_of: Option<String>,
}

/// An error as the GraphQL endpoints answer it: a code, and the field at
/// fault for bad input.
fn api_error(err: ApiError) -> Response {
    let status = match &err {
        ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
        ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
        ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
        ApiError::BadUserInput { .. } => StatusCode::BAD_REQUEST,
        ApiError::Conflict { .. } => StatusCode::CONFLICT,
        ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let gql: async_graphql::Error = err.into();
    let extensions = serde_json::to_value(&gql.extensions).unwrap_or_default();
    let body = serde_json::json!({ "errors": [{ "message": gql.message, "extensions": extensions }] });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn parse_input(raw: Option<&str>) -> Result<ReportInput, ApiError> {
    let raw = raw
        .ok_or_else(|| ApiError::bad_input("input", "give the report as input, a savedReportId or a link"))?;
    let json: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| ApiError::bad_input("input", format!("not JSON: {e}")))?;
    let value =
        async_graphql::Value::from_json(json).map_err(|e| ApiError::bad_input("input", e.to_string()))?;
    ReportInput::parse(Some(value))
        .map_err(|e| ApiError::bad_input("input", e.into_server_error(Default::default()).message))
}

/// A text cell made safe for spreadsheets.
pub fn safe_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

fn number(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The header: per dimension its label, and for periods, units and people
/// their global id too; then the measures.
fn header_row(spec: &ReportSpec) -> Vec<String> {
    let mut out = Vec::new();
    for d in &spec.dimensions {
        let name = d.as_str().to_lowercase();
        out.push(name.clone());
        if has_id(*d) {
            out.push(format!("{name}_id"));
        }
    }
    out.extend(spec.measures.iter().map(|m| m.as_str().to_lowercase()));
    out
}

fn has_id(d: ReportDimension) -> bool {
    matches!(d, ReportDimension::Period | ReportDimension::Unit | ReportDimension::Owner)
}

/// One row's record: labels (and ids) of its dimensions, then its values.
fn record(spec: &ReportSpec, row: &LabeledRow) -> Vec<String> {
    let mut rec = Vec::new();
    for ((d, v), label) in spec.dimensions.iter().zip(&row.row.dimensions).zip(&row.labels) {
        rec.push(safe_cell(&LabeledReport::label(v, label.as_deref()).unwrap_or_default()));
        if has_id(*d) {
            rec.push(safe_cell(&LabeledReport::key(v).unwrap_or_default()));
        }
    }
    rec.extend(row.row.values.iter().map(|v| number(*v)));
    rec
}

/// The totals, `TOTAL` under the first dimension's column; none without
/// dimensions (the one row is the totals).
fn totals_record(spec: &ReportSpec, totals: &[Option<f64>]) -> Option<Vec<String>> {
    if spec.dimensions.is_empty() {
        return None;
    }
    let width = header_row(spec).len() - spec.measures.len();
    let mut rec = vec![String::new(); width];
    rec[0] = "TOTAL".into();
    rec.extend(totals.iter().map(|v| number(*v)));
    Some(rec)
}

/// The body being written: the header first, then the rows as the
/// database sends them, [`CHUNK_ROWS`] records per chunk, the totals last.
/// Only one chunk's records are held at a time.
struct Sheet {
    spec: ReportSpec,
    rows: ReportRows,
    header: bool,
    done: bool,
}

impl Sheet {
    /// The next chunk of the body, none after the totals.
    async fn chunk(&mut self) -> Result<Option<Bytes>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let mut recs = Vec::with_capacity(CHUNK_ROWS + 2);
        if !self.header {
            self.header = true;
            recs.push(header_row(&self.spec));
        }
        while recs.len() < CHUNK_ROWS {
            match self.rows.next().await? {
                Some(row) => recs.push(record(&self.spec, &row)),
                None => {
                    recs.extend(totals_record(&self.spec, &self.rows.totals()));
                    self.done = true;
                    break;
                }
            }
        }
        Ok(Some(csv_chunk(&recs)))
    }
}

fn csv_chunk(rows: &[Vec<String>]) -> Bytes {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        // Writing to memory cannot fail.
        let _ = w.write_record(r);
    }
    Bytes::from(w.into_inner().unwrap_or_default())
}

async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    q: &ExportQuery,
    request_id: &str,
) -> Result<(RequestContext, goalgraph_domain::report::ReportSpec, Option<uuid::Uuid>), Response> {
    if let Some(token) = &q.link {
        let link = state.store.find_export_link(token).await.map_err(|e| api_error(e.into()))?;
        let gone = || api_error(ApiError::NotFound { entity: "download link".into() });
        let (actor, person) = state
            .store
            .refresh_person_actor(link.organization_id, link.person_id, &link.extra_roles)
            .await
            .map_err(|e| api_error(e.into()))?
            .ok_or_else(gone)?;
        let org = state.store.organization(&actor).await.map_err(|e| api_error(e.into()))?;
        let ctx = RequestContext {
            actor,
            person: Some(person),
            settings: org.settings,
            request_id: request_id.into(),
        };
        return Ok((ctx, link.spec, Some(link.id)));
    }
    let credential = bearer_credential(state, headers).await?;
    let ctx = resolve_actor(state, &credential, request_id).await.map_err(auth_failure_response)?;
    let spec = match (&q.input, &q.saved_report_id) {
        (Some(_), Some(_)) => {
            Err(ApiError::bad_input("savedReportId", "give either input or savedReportId, not both"))
        }
        (None, Some(id)) => {
            let id = decode_id("savedReportId", NodeType::SavedReport, &async_graphql::ID(id.clone()));
            match id {
                Ok(id) => {
                    state.store.saved_report(&ctx.actor, id).await.map(|r| r.spec).map_err(ApiError::from)
                }
                Err(e) => Err(e),
            }
        }
        (input, None) => parse_input(input.as_deref()).and_then(|i| i.to_spec("input")),
    }
    .map_err(api_error)?;
    Ok((ctx, spec, None))
}

pub async fn export(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<ExportQuery>,
) -> Response {
    let request_id = request_id(&headers, None);
    let format = q.format.as_deref().unwrap_or("csv");
    if format != "csv" {
        return api_error(ApiError::bad_input("format", "the only format is csv"));
    }
    let (ctx, spec, link) = match caller(&state, &headers, &q, &request_id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let as_of = match q.as_of.as_deref().map(chrono::DateTime::parse_from_rfc3339).transpose() {
        Ok(t) => t.map(|t| t.with_timezone(&chrono::Utc)),
        Err(e) => return api_error(ApiError::bad_input("asOf", format!("not an RFC 3339 date-time: {e}"))),
    };
    let run = async {
        let now = chrono::Utc::now();
        let query =
            LabeledReport::prepare("input", &state.store, &ctx.actor, &spec, &ctx.settings, now, as_of)
                .await?;
        // Audited (and a link used up) before a byte leaves.
        state.store.record_export(&ctx.actor, &spec, format, link).await?;
        Ok::<_, ApiError>(query.rows(&state.store, Some(state.config.export_timeout())).await?)
    };
    let rows = match goalgraph_persistence::with_request_id(request_id.clone(), run).await {
        Ok(r) => r,
        Err(e) => return api_error(e),
    };
    let sheet = Sheet { spec, rows, header: false, done: false };
    let body = futures_util::stream::unfold(Some(sheet), |sheet| async move {
        let mut sheet = sheet?;
        match sheet.chunk().await {
            Ok(Some(bytes)) => Some((Ok(bytes), Some(sheet))),
            Ok(None) => None,
            Err(e) => {
                // The status is sent: end the body short, so the client
                // sees a broken transfer rather than a short file.
                tracing::error!(error = %e, "report export failed while streaming");
                Some((Err(std::io::Error::other(e.to_string())), None))
            }
        }
    });
    let mut response = Body::from_stream(body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"report.csv\""));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::safe_cell;

    #[test]
    fn formula_cells_are_escaped() {
        for (raw, safe) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("Sales", "Sales"),
            ("", ""),
        ] {
            assert_eq!(safe_cell(raw), safe);
        }
    }
}
