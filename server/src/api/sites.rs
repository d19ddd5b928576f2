//! Sites in the API: the filtered list with cursors, one site's detail (its ETag is its
//! version), status changes with `If-Match`, and notes.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use treewide_core::history::{CommitInfo, SiteCommit};
use treewide_core::mail::ThreadPage;
use treewide_core::model::{CommitRole, EventSource, SiteId, Status};
use treewide_core::proposals::{self, Outcome};
use treewide_core::sites::SiteQuery;
use treewide_core::transition::StatusRequest;
use treewide_core::users::{self, Scope};
use treewide_core::{campaigns, events, notes, refs, sites, subsystems};

use super::{Page, DEFAULT_LIMIT, MAX_LIMIT};
use crate::error::{ApiError, Failure};
use crate::middleware::bearer::ApiCaller;
use crate::params;
use crate::state::AppState;
use crate::views::enc;
use crate::views::site::SiteDetail;

/// `/sites…` routes (a site's mail is in `messages`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sites", get(sites))
        .route("/sites/{id}", get(site).patch(patch_site))
        .route("/sites/{id}/notes", post(post_note))
        .route("/sites/bulk", post(bulk))
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
    action_required_for: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claimed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<String>,
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
           ("action_required_for" = Option<String>, Query, description = "an email: only sites awaiting that person's word (awaiting owner or fix proposed, in a subsystem listing the address as M:/R:)"),
           ("q" = Option<String>, Query, description = "full-text search over file, function, callee, code, notes and mail subjects (every word of 3+ characters, as a substring)"),
           ("function" = Option<String>, Query, description = "enclosing function"),
           ("claimed" = Option<bool>, Query, description = "only sites with (true) or without (false) a live claim"),
           ("stage" = Option<String>, Query, description = "only sites whose fix got this far and no further: posted, applied, next, mainline or stable (needs campaign)"),
           ("limit" = Option<u32>, Query, description = "1 to 500, default 100"),
           ("cursor" = Option<String>, Query, description = "the `next` of the previous page")),
    responses((status = 200, description = "`items` and the `next` page (also in the Link header)", body = serde_json::Value),
              (status = 400, description = "bad filter or limit", content_type = "application/problem+json")))]
pub async fn sites(
    State(st): State<AppState>,
    params: Result<Query<SitesParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| Failure::BadRequest(e.body_text()))?;
    let limit = params::page_limit(p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = match p.cursor.as_deref() {
        None | Some("") => SiteId(0),
        Some(c) => SiteId(
            c.parse()
                .map_err(|_| Failure::BadRequest(format!("invalid cursor {c:?}")))?,
        ),
    };
    let mut q = SiteQuery {
        status: params::status(p.status.as_deref())?,
        file: p.file.clone().filter(|s| !s.is_empty()),
        callee: p.callee.clone().filter(|s| !s.is_empty()),
        action_required_for: p
            .action_required_for
            .as_deref()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty()),
        q: p.q.clone().filter(|s| !s.trim().is_empty()),
        function: p.function.clone().filter(|s| !s.is_empty()),
        claimed: p.claimed,
        stage: params::stage(p.stage.as_deref())?,
        ..Default::default()
    };
    if q.stage.is_some() && p.campaign.as_deref().is_none_or(str::is_empty) {
        return Err(Failure::BadRequest("stage needs a campaign".into()).into());
    }
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

impl From<&SiteCommit> for SiteCommitJson {
    fn from(sc: &SiteCommit) -> SiteCommitJson {
        SiteCommitJson {
            role: sc.role,
            commit: CommitJson::from(&sc.commit),
            file: Some(sc.file.clone()).filter(|f| !f.is_empty()),
            line: sc.line,
            old_code: sc.old_code.clone(),
            new_code: sc.new_code.clone(),
            backports: sc.backports.iter().map(CommitJson::from).collect(),
            upstream_missing: sc.upstream_missing.is_some(),
        }
    }
}

/// `GET /api/v1/sites/{id}` answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SiteDetail)]
pub struct SiteDetailJson<'a> {
    #[schema(value_type = Object)]
    site: &'a sites::Site,
    /// Every subsystem of the file, primary first.
    subsystems: Vec<&'a str>,
    /// Source lines around the call: `first_line` and `text`.
    #[schema(value_type = Option<Object>)]
    context: Option<ContextJson<'a>>,
    #[schema(value_type = Vec<Object>)]
    notes: &'a [notes::Note],
    #[schema(value_type = Vec<Object>)]
    refs: &'a [refs::Reference],
    #[schema(value_type = Vec<Object>)]
    events: &'a [events::Event],
    /// Mail threads about the site: the newest strong threads (a patch, a `file:line`) and
    /// the first weak ones (only naming a function or callee), with totals; more pages from
    /// `GET /api/v1/sites/{id}/messages?threads=N`.
    #[schema(value_type = Object)]
    messages: serde_json::Value,
    /// Patches proposed as the fix, one per patch: the newest version, the superseded ones
    /// and whether a maintainer applied it.
    #[schema(value_type = Vec<Object>)]
    fixes: &'a [treewide_core::mail::ProposedFix],
    /// Status changes waiting for (or decided by) the site's owners, open ones first.
    #[schema(value_type = Vec<Object>)]
    proposals: &'a [treewide_core::proposals::Proposal],
    /// Live claims ("I'm on it") on the site and its subsystem.
    #[schema(value_type = Vec<Object>)]
    claims: &'a [treewide_core::claims::Claim],
    /// The furthest stage of the fix (posted, applied, next, mainline, stable), if any.
    #[schema(value_type = Option<String>)]
    stage: Option<treewide_core::stages::Stage>,
    /// Each stage with whether it is reached, when, what shows it and a link.
    #[schema(value_type = Vec<Object>)]
    stages: &'a [treewide_core::stages::StageStep],
    #[schema(value_type = Vec<Object>)]
    trailers: &'a [treewide_core::mail::Trailer],
    /// Commits that fixed, changed, moved or removed the call, oldest first (from
    /// `treewide import git` / `github`).
    commits: Vec<SiteCommitJson>,
    /// Why the file has these owners: the campaign's sign-off scope, each MAINTAINERS section
    /// of the file (rank, match depth, the lines that matched, people, whether its people may
    /// sign off) and the sections an `X:` line excluded.
    #[schema(value_type = Object)]
    owners: &'a treewide_core::routing::SiteRouting,
}

/// Source lines around a call.
#[derive(Serialize)]
pub struct ContextJson<'a> {
    first_line: i64,
    text: &'a str,
}

impl<'a> SiteDetailJson<'a> {
    /// The JSON of a site's [`SiteDetail`].
    pub fn new(d: &'a SiteDetail) -> SiteDetailJson<'a> {
        SiteDetailJson {
            site: &d.site,
            subsystems: d.subsystems.iter().map(|(n, _)| n.as_str()).collect(),
            context: d.context.as_ref().map(|(text, first_line)| ContextJson {
                first_line: *first_line,
                text,
            }),
            notes: &d.notes,
            refs: &d.refs,
            events: &d.events,
            messages: d.mail.thread_json(),
            fixes: &d.mail.fixes,
            proposals: &d.proposals,
            claims: &d.claims,
            stage: treewide_core::stages::current(&d.stages),
            stages: &d.stages,
            trailers: &d.mail.trailers,
            commits: d.commits.iter().map(SiteCommitJson::from).collect(),
            owners: &d.owners,
        }
    }
}

/// `GET /api/v1/sites/{id}`: the site with its notes, references, events and commits.
#[utoipa::path(get, path = "/api/v1/sites/{id}", tag = "read",
    params(("id" = i64, Path, description = "site id")),
    responses((status = 200, description = "the site with notes, references, events, mail, trailers and commits; the ETag is its version", body = SiteDetailJson),
              (status = 404, description = "no such site", content_type = "application/problem+json")))]
pub async fn site(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = params::site_id(&id)?;
    let d = SiteDetail::load(&st.db, id, ThreadPage::default()).await?;
    let mut res = Json(SiteDetailJson::new(&d)).into_response();
    if let Ok(v) = site_etag(id, d.site.version).parse() {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
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
              (status = 202, description = "the change needs the site's owners: stored as a proposal (`proposal`)", body = serde_json::Value),
              (status = 401, description = "no valid token"), (status = 403, description = "scope missing"),
              (status = 412, description = "stale ETag"), (status = 428, description = "If-Match missing")))]
pub async fn patch_site(
    State(st): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Result<Json<PatchSite>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(Scope::StatusWrite)?;
    let Json(p) = body.map_err(|e| Failure::BadRequest(e.body_text()))?;
    let id = SiteId(id);
    let site = sites::get(&st.db, id).await?;
    if_match(&headers, &site_etag(id, site.version))?;
    let by = users::authority(&st.db, &caller.user, id).await?;
    let out = proposals::request(
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
        Some(caller.user.id.0),
    )
    .await?;
    let version = match out {
        Outcome::Changed { version } => version,
        Outcome::Proposed { id: pid } => {
            let proposal = proposals::get(&st.db, pid).await?;
            let mut res = (
                StatusCode::ACCEPTED,
                Json(json!({
                    "proposal": proposal,
                    "detail": "the change needs the site's owners (its subsystem's maintainers or reviewers): it waits as this proposal"
                })),
            )
                .into_response();
            if let Ok(v) = site_etag(id, site.version).parse() {
                res.headers_mut().insert(header::ETAG, v);
            }
            return Ok(res);
        }
    };
    let site = sites::get(&st.db, id).await?;
    let mut res = Json(json!({ "site": site })).into_response();
    if let Ok(v) = site_etag(id, version).parse() {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
}

/// Go on only when `If-Match` names the resource's `current` ETag (or `*`): 428 without it,
/// 412 when it is stale, so no update is lost.
fn if_match(headers: &HeaderMap, current: &str) -> Result<(), Failure> {
    let Some(want) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Err(Failure::PreconditionRequired(
            "If-Match with the site's ETag is required (GET the site first)".into(),
        ));
    };
    if want.trim() != current && want.trim() != "*" {
        return Err(Failure::PreconditionFailed(format!(
            "the site changed: its ETag is {current}, not {want}"
        )));
    }
    Ok(())
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
    body: Result<Json<PostNote>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(Scope::NotesWrite)?;
    let Json(p) = body.map_err(|e| Failure::BadRequest(e.body_text()))?;
    let ask = params::asked_subsystem(&st.db, p.ask.as_deref().unwrap_or_default()).await?;
    let author = caller.user.display();
    let note = notes::add(&st.db, SiteId(id), &author, &p.text, ask, EventSource::Api).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "note": note, "site": id })),
    )
        .into_response())
}

/// One change of `POST /api/v1/sites/bulk`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkItem {
    id: i64,
    /// The site's ETag as last read (`"site-12-v3"`), or `*`.
    if_match: String,
    #[schema(value_type = String)]
    status: Status,
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/sites/bulk` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    items: Vec<BulkItem>,
}

/// Most changes in one bulk request.
const BULK_MAX: usize = 1000;

/// `POST /api/v1/sites/bulk` (`status:write`): many status changes in one transaction, all or
/// nothing. Each item names the site's ETag; the caller needs the authority for every change
/// (a change that needs the site's owners is refused here, not turned into a proposal: use
/// `PATCH /api/v1/sites/{id}` for that). When any item fails nothing is written, and the answer
/// lists every item's outcome: 412 for a stale ETag, 403 for missing authority, 404 for no
/// such site, 409 when the change is not allowed at all.
#[utoipa::path(post, path = "/api/v1/sites/bulk", tag = "write",
    request_body = BulkBody,
    security(("bearer" = ["status:write"])),
    responses((status = 200, description = "every change made: each item's new ETag", body = serde_json::Value),
              (status = 207, description = "nothing written: `items` gives each item's status and error", body = serde_json::Value),
              (status = 400, description = "bad body, or more than 1,000 items")))]
pub async fn bulk(
    State(st): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<BulkBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(Scope::StatusWrite)?;
    let Json(b) = body.map_err(|e| Failure::BadRequest(e.body_text()))?;
    if b.items.is_empty() || b.items.len() > BULK_MAX {
        return Err(Failure::BadRequest(format!(
            "items: 1 to {BULK_MAX} changes, not {}",
            b.items.len()
        ))
        .into());
    }
    let mut requests = Vec::with_capacity(b.items.len());
    for (i, it) in b.items.iter().enumerate() {
        let tag = it.if_match.trim();
        let expected_version = if tag == "*" {
            None
        } else {
            let v = tag
                .strip_prefix(&format!("\"site-{}-v", it.id))
                .and_then(|r| r.strip_suffix('"'))
                .and_then(|v| v.parse().ok());
            Some(v.ok_or_else(|| {
                Failure::BadRequest(format!(
                    "items[{i}].if_match: expected the site's ETag (\"site-{}-vN\") or *, found {tag:?}",
                    it.id
                ))
            })?)
        };
        requests.push(treewide_core::signoff::BulkChange {
            site: SiteId(it.id),
            expected_version,
            to: it.status,
            reason: it.reason.trim().to_owned(),
        });
    }
    let outcome =
        treewide_core::signoff::bulk(&st.db, &caller.user, &requests, EventSource::Api).await?;
    let items: Vec<serde_json::Value> = outcome
        .items
        .iter()
        .zip(&b.items)
        .map(|(o, it)| match o {
            Ok(version) => {
                json!({ "id": it.id, "status": 200, "etag": site_etag(SiteId(it.id), *version) })
            }
            Err((code, why)) => json!({ "id": it.id, "status": code, "error": why }),
        })
        .collect();
    let code = if outcome.committed {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok((
        code,
        Json(json!({ "committed": outcome.committed, "items": items })),
    )
        .into_response())
}
