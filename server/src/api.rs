//! The read API for bots: JSON, cursor pagination, problem+json errors.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use treewide_core::history::{self, CommitInfo, SiteCommit};
use treewide_core::model::{CommitRole, SiteId, Status};
use treewide_core::sites::SiteQuery;
use treewide_core::{campaigns, events, notes, refs, sites, subsystems, verdicts};

use crate::auth::ApiCaller;
use crate::error::{ApiError, Failure};
use crate::views::enc;
use crate::AppState;
use treewide_core::model::EventSource;
use treewide_core::transition::{change_status, StatusRequest};
use treewide_core::users::{self, Scope};

/// Largest page of `/api/v1/sites`.
pub const MAX_LIMIT: u32 = 500;
const DEFAULT_LIMIT: u32 = 100;

/// A page size from the query: `default` when absent, else 1 to `max`.
pub fn page_limit(asked: Option<u32>, default: u32, max: u32) -> Result<u32, Failure> {
    match asked.unwrap_or(default) {
        l if (1..=max).contains(&l) => Ok(l),
        l => Err(Failure::BadRequest(format!(
            "limit must be 1 to {max}, not {l}"
        ))),
    }
}

/// `GET /api/v1/campaigns`
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "read",
    responses((status = 200, description = "every campaign with its counts per status", body = serde_json::Value)))]
pub async fn campaigns(State(st): State<AppState>) -> Result<Response, ApiError> {
    let list = campaigns::list(&st.db).await?;
    Ok(Json(json!({ "campaigns": list })).into_response())
}

/// `GET /api/v1/campaigns/{slug}`: the campaign with its verdict groups, notes and references.
#[utoipa::path(get, path = "/api/v1/campaigns/{slug}", tag = "read",
    params(("slug" = String, Path, description = "campaign slug")),
    responses((status = 200, description = "the campaign, its verdict groups, notes, references and last scan", body = serde_json::Value),
              (status = 404, description = "no such campaign", content_type = "application/problem+json")))]
pub async fn campaign(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let c = campaigns::get(&st.db, &slug).await?;
    let vs = verdicts::list_in(&st.db, c.id).await?;
    let ns = notes::for_campaign(&st.db, c.id).await?;
    let rs = refs::for_campaign(&st.db, c.id).await?;
    let scan = campaigns::scan_state(&st.db, c.id).await?;
    Ok(
        Json(json!({ "campaign": c, "verdicts": vs, "notes": ns, "refs": rs, "scan": scan }))
            .into_response(),
    )
}

/// `GET /api/v1/campaigns/{slug}/subsystems`
#[utoipa::path(get, path = "/api/v1/campaigns/{slug}/subsystems", tag = "read",
    params(("slug" = String, Path, description = "campaign slug")),
    responses((status = 200, description = "counts and open questions per subsystem", body = serde_json::Value),
              (status = 404, description = "no such campaign", content_type = "application/problem+json")))]
pub async fn subsystems(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let c = campaigns::get(&st.db, &slug).await?;
    let list = subsystems::progress(&st.db, c.id).await?;
    Ok(Json(json!({ "campaign": c.slug, "subsystems": list })).into_response())
}

/// `GET /api/v1/campaigns/{slug}/burndown`
#[utoipa::path(get, path = "/api/v1/campaigns/{slug}/burndown", tag = "read",
    params(("slug" = String, Path, description = "campaign slug")),
    responses((status = 200, description = "open and done sites per day something changed (and today): `points` of `{date, open, done}`; a site counts as done from its fixing or removing commit's date when history has one, else from when it was last marked done", body = serde_json::Value),
              (status = 404, description = "no such campaign", content_type = "application/problem+json")))]
pub async fn burndown(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let c = campaigns::meta(&st.db, &slug).await?;
    let points: Vec<_> = treewide_core::history::burndown(&st.db, c.id)
        .await?
        .into_iter()
        .map(|p| json!({ "date": p.date.to_string(), "open": p.open, "done": p.done }))
        .collect();
    Ok(Json(json!({ "campaign": c.slug, "points": points })).into_response())
}

/// Filters and cursor of `/api/v1/sites`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SitesParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subsystem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// `GET /api/v1/sites?campaign=&subsystem=&status=&file=&callee=&limit=&cursor=`
#[utoipa::path(get, path = "/api/v1/sites", tag = "read",
    params(("campaign" = Option<String>, Query, description = "campaign slug"),
           ("subsystem" = Option<String>, Query, description = "subsystem slug, or _unassigned"),
           ("status" = Option<String>, Query, description = "unreviewed, needs_fix, needs_pin, awaiting_owner, fix_proposed, fixed, confirmed_safe or gone"),
           ("file" = Option<String>, Query, description = "path or glob"),
           ("callee" = Option<String>, Query, description = "callee name"),
           ("limit" = Option<u32>, Query, description = "1 to 500, default 100"),
           ("cursor" = Option<String>, Query, description = "the `next` of the previous page")),
    responses((status = 200, description = "`items` and the `next` page (also in the Link header)", body = serde_json::Value),
              (status = 400, description = "bad filter or limit", content_type = "application/problem+json")))]
pub async fn sites(
    State(st): State<AppState>,
    params: Result<Query<SitesParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| Failure::BadRequest(e.body_text()))?;
    let limit = page_limit(p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = match p.cursor.as_deref() {
        None | Some("") => SiteId(0),
        Some(c) => SiteId(
            c.parse()
                .map_err(|_| Failure::BadRequest(format!("invalid cursor {c:?}")))?,
        ),
    };
    let mut q = SiteQuery {
        status: p
            .status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::parse::<Status>)
            .transpose()?,
        file: p.file.clone().filter(|s| !s.is_empty()),
        callee: p.callee.clone().filter(|s| !s.is_empty()),
        ..Default::default()
    };
    if let Some(slug) = p.campaign.as_deref().filter(|s| !s.is_empty()) {
        q.campaign = Some(campaigns::meta(&st.db, slug).await?.id);
    }
    if let Some(sub) = p.subsystem.as_deref().filter(|s| !s.is_empty()) {
        q.subsystem = Some(subsystems::filter(&st.db, sub).await?.0);
    }
    let items = sites::list(&st.db, &q, after, limit + 1).await?;
    let more = items.len() > limit as usize;
    let items: Vec<_> = items.into_iter().take(limit as usize).collect();
    let next = match (more, items.last()) {
        (true, Some(last)) => {
            let np = SitesParams {
                cursor: Some(last.id.to_string()),
                limit: Some(limit),
                ..p
            };
            let qs = serde_json::to_value(&np)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        enc(&v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    )
                })
                .collect::<Vec<_>>()
                .join("&");
            Some(format!("/api/v1/sites?{qs}"))
        }
        _ => None,
    };
    // Serialized straight from the rows (a `json!` value would first copy every site into a
    // map): the biggest answer the API gives, asked for most.
    let mut res = Json(Page {
        items: &items,
        next: next.as_deref(),
    })
    .into_response();
    if let Some(n) = &next {
        if let Ok(v) = format!("<{n}>; rel=\"next\"").parse() {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(res)
}

/// One page of a list: its items and the URL of the next page, if any.
#[derive(Serialize)]
struct Page<'a, T> {
    items: &'a [T],
    next: Option<&'a str>,
}

/// A commit as the API gives it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommitJson {
    /// Full object id.
    oid: String,
    subject: String,
    /// `vhost` of `vhost: …` or `[vhost] …`.
    tag: Option<String>,
    author_name: String,
    author_email: String,
    /// RFC 3339 UTC.
    author_date: String,
    commit_date: String,
    /// Its web page (GitHub when imported from there, else git.kernel.org).
    url: String,
    /// The branch the import reached it from (`linux-6.1.y` for a stable backport).
    branch: Option<String>,
    /// For a stable backport: the mainline commit its message names.
    upstream: Option<String>,
}

impl From<&CommitInfo> for CommitJson {
    fn from(c: &CommitInfo) -> CommitJson {
        CommitJson {
            oid: c.oid.clone(),
            subject: c.subject.clone(),
            tag: c.subject_tag.clone(),
            author_name: c.author_name.clone(),
            author_email: c.author_email.clone(),
            author_date: c.author_date.clone(),
            commit_date: c.commit_date.clone(),
            url: c.web_url(),
            branch: c.branch.clone(),
            upstream: c.upstream_oid.clone(),
        }
    }
}

/// What one commit did to a site, with the stable backports of it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SiteCommitJson {
    /// `fix`, `change` (direction argument changed, not yet fixed), `move` (renamed file) or
    /// `gone` (call removed).
    #[schema(value_type = String, example = "fix")]
    role: CommitRole,
    #[serde(flatten)]
    commit: CommitJson,
    /// The site's file after the commit (before it, for `gone`); null for a backport whose
    /// mainline commit was not imported.
    file: Option<String>,
    line: Option<i64>,
    /// The call before and after the commit, when it changed.
    old_code: Option<String>,
    new_code: Option<String>,
    /// Stable backports of this commit (commits whose `upstream` is its `oid`).
    backports: Vec<CommitJson>,
    /// True for a backport listed on its own because its mainline commit was not imported.
    upstream_missing: bool,
}

impl From<SiteCommit> for SiteCommitJson {
    fn from(sc: SiteCommit) -> SiteCommitJson {
        SiteCommitJson {
            role: sc.role,
            commit: CommitJson::from(&sc.commit),
            file: Some(sc.file).filter(|f| !f.is_empty()),
            line: sc.line,
            old_code: sc.old_code,
            new_code: sc.new_code,
            backports: sc.backports.iter().map(CommitJson::from).collect(),
            upstream_missing: sc.upstream_missing.is_some(),
        }
    }
}

/// `GET /api/v1/sites/{id}` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SiteDetail {
    #[schema(value_type = Object)]
    site: sites::Site,
    /// Every subsystem of the file, primary first.
    subsystems: Vec<String>,
    /// Source lines around the call: `first_line` and `text`.
    #[schema(value_type = Option<Object>)]
    context: Option<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    notes: Vec<notes::Note>,
    #[schema(value_type = Vec<Object>)]
    refs: Vec<refs::Reference>,
    #[schema(value_type = Vec<Object>)]
    events: Vec<events::Event>,
    /// Mail threads about the site.
    #[schema(value_type = Vec<Object>)]
    messages: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    trailers: Vec<treewide_core::mail::Trailer>,
    /// Commits that fixed, changed, moved or removed the call, oldest first (from
    /// `treewide import git` / `github`).
    commits: Vec<SiteCommitJson>,
}

/// `GET /api/v1/sites/{id}`: the site with its notes, references, events and commits.
#[utoipa::path(get, path = "/api/v1/sites/{id}", tag = "read",
    params(("id" = i64, Path, description = "site id")),
    responses((status = 200, description = "the site with notes, references, events, mail, trailers and commits; the ETag is its version", body = SiteDetail),
              (status = 404, description = "no such site", content_type = "application/problem+json")))]
pub async fn site(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = SiteId(
        id.parse()
            .map_err(|_| Failure::NotFound(format!("site {id:?} not found")))?,
    );
    let s = sites::get(&st.db, id).await?;
    let ns = notes::for_site(&st.db, id).await?;
    let rs = refs::for_site(&st.db, id).await?;
    let es = events::for_site(&st.db, id).await?;
    let context = sites::context(&st.db, id)
        .await?
        .map(|(text, first_line)| json!({ "first_line": first_line, "text": text }));
    let subs: Vec<String> = sites::subsystems(&st.db, id)
        .await?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let etag = site_etag(id, s.version);
    let messages = crate::api_mail::site_thread(&st.db, id).await?;
    let trailers = treewide_core::mail::trailers_for_site(&st.db, id).await?;
    let commits = history::for_site(&st.db, id).await?;
    let mut res = Json(SiteDetail {
        site: s,
        subsystems: subs,
        context,
        notes: ns,
        refs: rs,
        events: es,
        messages,
        trailers,
        commits: commits.into_iter().map(SiteCommitJson::from).collect(),
    })
    .into_response();
    if let Ok(v) = etag.parse() {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
}

/// Unknown API path.
pub async fn not_found() -> ApiError {
    ApiError(Failure::NotFound("no such API endpoint".into()))
}

/// The ETag of a site for `If-Match`: it changes with every status change and every note.
pub fn site_etag(id: SiteId, version: i64) -> String {
    format!("\"site-{id}-v{version}\"")
}

/// `PATCH /api/v1/sites/{id}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSite {
    /// unreviewed, needs_fix, needs_pin, awaiting_owner, fix_proposed, fixed, confirmed_safe
    #[schema(value_type = String)]
    status: Status,
    #[serde(default)]
    reason: String,
}

/// `PATCH /api/v1/sites/{id}` (`status:write`): change the status. `If-Match` with the site's
/// ETag is required (428 without, 412 when stale): no update is lost.
#[utoipa::path(patch, path = "/api/v1/sites/{id}", tag = "write",
    params(("id" = i64, Path, description = "site id"),
           ("If-Match" = String, Header, description = "the site's ETag")),
    request_body = PatchSite,
    security(("bearer" = ["status:write"])),
    responses((status = 200, description = "the changed site, with its new ETag", body = serde_json::Value),
              (status = 401, description = "no valid token"), (status = 403, description = "scope or sign-off right missing"),
              (status = 412, description = "stale ETag"), (status = 428, description = "If-Match missing")))]
pub async fn patch_site(
    State(st): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
    body: Result<Json<PatchSite>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Response> {
    caller
        .require(Scope::StatusWrite)
        .map_err(IntoResponse::into_response)?;
    let Json(p) = body.map_err(|e| ApiError(Failure::BadRequest(e.body_text())).into_response())?;
    let id = SiteId(id);
    let site = sites::get(&st.db, id)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let Some(want) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Err(ApiError(Failure::PreconditionRequired(
            "If-Match with the site's ETag is required (GET the site first)".into(),
        ))
        .into_response());
    };
    let current = site_etag(id, site.version);
    if want.trim() != current && want.trim() != "*" {
        return Err(ApiError(Failure::PreconditionFailed(format!(
            "the site changed: its ETag is {current}, not {want}"
        )))
        .into_response());
    }
    let by = users::authority(&st.db, &caller.user, id)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let version = change_status(
        &st.db,
        StatusRequest {
            site: id,
            to: p.status,
            by,
            actor: &caller.user.display(),
            source: EventSource::Api,
            reason: p.reason.trim(),
            expected_version: Some(site.version),
        },
    )
    .await
    .map_err(|e| ApiError::from(e).into_response())?;
    let site = sites::get(&st.db, id)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let mut res = Json(json!({ "site": site })).into_response();
    if let Ok(v) = site_etag(id, version).parse() {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
}

/// `POST /api/v1/sites/{id}/notes` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostNote {
    text: String,
    /// Subsystem slug or MAINTAINERS name: makes the note a question to its owners.
    #[serde(default)]
    ask: Option<String>,
}

/// `POST /api/v1/sites/{id}/notes` (`notes:write`).
#[utoipa::path(post, path = "/api/v1/sites/{id}/notes", tag = "write",
    params(("id" = i64, Path, description = "site id")),
    request_body = PostNote,
    security(("bearer" = ["notes:write"])),
    responses((status = 201, description = "the note's id", body = serde_json::Value),
              (status = 401, description = "no valid token"), (status = 403, description = "scope missing")))]
pub async fn post_note(
    State(st): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    body: Result<Json<PostNote>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Response> {
    caller
        .require(Scope::NotesWrite)
        .map_err(IntoResponse::into_response)?;
    let Json(p) = body.map_err(|e| ApiError(Failure::BadRequest(e.body_text())).into_response())?;
    let ask = match p.ask.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(a) => {
            let slug = if a.contains(' ') || a.chars().any(|c| c.is_ascii_uppercase()) {
                treewide_core::model::subsystem_slug(a)
            } else {
                a.to_owned()
            };
            let sub = subsystems::find(&st.db, &slug)
                .await
                .map_err(|e| ApiError::from(e).into_response())?;
            Some(
                sub.ok_or_else(|| {
                    ApiError(Failure::BadRequest(format!("no subsystem {a:?}"))).into_response()
                })?
                .id,
            )
        }
    };
    let note = notes::add(
        &st.db,
        SiteId(id),
        &caller.user.display(),
        &p.text,
        ask,
        EventSource::Api,
    )
    .await
    .map_err(|e| ApiError::from(e).into_response())?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({ "note": note, "site": id })),
    )
        .into_response())
}

/// `GET /api/v1/events?since=&limit=`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsParams {
    #[serde(default)]
    since: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
}

/// `GET /api/v1/events?since=CURSOR`: every change after the cursor, oldest first. Poll with
/// the answer's `next` cursor.
#[utoipa::path(get, path = "/api/v1/events", tag = "read",
    params(("since" = Option<i64>, Query, description = "the `next` of the previous answer (0: from the start)"),
           ("limit" = Option<u32>, Query, description = "1 to 500, default 100")),
    responses((status = 200, description = "`items` after the cursor, oldest first, and the `next` cursor", body = serde_json::Value)))]
pub async fn events_feed(
    State(st): State<AppState>,
    params: Result<Query<EventsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| Failure::BadRequest(e.body_text()))?;
    let limit = page_limit(p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let since = p.since.unwrap_or(0);
    let items = events::since(&st.db, since, limit).await?;
    let next = items.last().map_or(since, |(_, e)| e.id.0);
    let items: Vec<_> = items
        .into_iter()
        .map(|(campaign, e)| json!({ "campaign": campaign, "event": e }))
        .collect();
    Ok(Json(json!({ "items": items, "next": next })).into_response())
}

/// `POST /api/v1/check`: a unified diff (`text/x-diff`, or JSON `{"diff": …}`) → the added
/// lines that introduce a legacy direction, a new audited caller or a banned function, with
/// file, line and suggested replacement. `ok` is false when anything was found.
#[utoipa::path(post, path = "/api/v1/check", tag = "check",
    request_body(content = String, content_type = "text/x-diff", description = "a unified diff, or JSON {\"diff\": …}"),
    responses((status = 200, description = "`ok` and the `findings`: file, line, problem, suggested replacement", body = serde_json::Value)))]
pub async fn check(headers: axum::http::HeaderMap, body: String) -> Result<Response, ApiError> {
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let diff = if json_body {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            diff: String,
        }
        serde_json::from_str::<Body>(&body)
            .map_err(|e| Failure::BadRequest(format!("expected {{\"diff\": \"…\"}}: {e}")))?
            .diff
    } else {
        body
    };
    let specs = treewide_formats::check::builtin_specs()
        .map_err(|e| Failure::BadRequest(format!("campaign specs: {e:#}")))?;
    let findings = treewide_formats::check::check_diff(&diff, &specs)
        .map_err(|e| Failure::BadRequest(format!("{e:#}")))?;
    Ok(Json(json!({ "ok": findings.is_empty(), "findings": findings })).into_response())
}

/// The OpenAPI document of the API.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "treewide API", description = "Call sites of a treewide kernel API conversion, per subsystem: read them, sign them off, check patches."),
    paths(campaigns, campaign, subsystems, burndown, sites, site, patch_site, post_note, events_feed, check,
          crate::api_mail::messages, crate::api_mail::message, crate::api_mail::site_messages),
    components(schemas(PatchSite, PostNote, SiteDetail, SiteCommitJson, CommitJson)),
    modifiers(&BearerAuth),
    tags((name = "read", description = "public reads"), (name = "write", description = "needs an API token with the scope"),
         (name = "check", description = "patch check for CI"), (name = "mail", description = "imported list mail"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`
pub async fn openapi() -> Response {
    Json(<ApiDoc as utoipa::OpenApi>::openapi()).into_response()
}
