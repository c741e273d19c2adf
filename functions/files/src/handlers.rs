//! HTTP handlers of the files module: declaring an upload and sending its bytes
//! (one request, or parts that may be resent), signed download links and the
//! downloads behind them, the firm's logo and each person's avatar.

use edge::http;
use edge::{RequestContext, D1};
use serde_json::json;
use shared::auth::claims::VerifiedClaims;
use shared::auth::roles::{Access, Area};
use shared::files::access;
use shared::files::links::{Classification, Grant, LinkSigner};
use shared::files::range::{self, Span};
use shared::files::request;
use shared::files::rules::Use;
use shared::files::store::{self, Accessor, FileRow};
use shared::kernel::audit::Category;
use shared::kernel::sql::Sql as _;
use shared::kernel::tenant::TenantScope;
use shared::kernel::time::Instant;
use shared::DomainError;
use worker::{Env, Headers, Request, Response};

use std::rc::Rc;

use crate::seal::Sealer;
use crate::transfer;

type Handled = Result<Response, DomainError>;
type Params = Vec<(&'static str, String)>;

/// Runs the handler of `operation`.
pub async fn dispatch(
    operation: &str,
    params: Params,
    req: Request,
    env: &Env,
    cx: &RequestContext,
) -> Handled {
    match operation {
        "createUpload" => create(req, env, cx).await,
        "getFile" => get(req, env, cx, &params).await,
        "putFileContent" => put_content(req, env, cx, &params).await,
        "putFilePart" => put_part(req, env, cx, &params).await,
        "listFileParts" => list_parts(req, env, cx, &params).await,
        "completeUpload" => complete(req, env, cx, &params).await,
        "abortUpload" => abort(req, env, cx, &params).await,
        "createFileLink" => create_link(req, env, cx, &params).await,
        "downloadFile" => download(req, env, cx, &params).await,
        "getBranding" => branding(req, env, cx).await,
        "setLogo" => set_logo(req, env, cx).await,
        "removeLogo" => remove_logo(req, env, cx).await,
        "setAvatar" => set_avatar(req, env, cx).await,
        "removeAvatar" => remove_avatar(req, env, cx).await,
        "getAvatar" => get_avatar(req, env, cx, &params).await,
        _ => Err(DomainError::NotFound("route")),
    }
}

fn accessor(req: &Request, cx: &RequestContext, kind: &'static str, id: &str) -> Accessor {
    let origin = cx.origin(req);
    Accessor {
        kind,
        id: Some(id.to_owned()),
        ip: origin.ip,
        user_agent: origin.user_agent,
    }
}

fn actor_kind(claims: &VerifiedClaims) -> &'static str {
    if claims.role().is_portal() {
        "portal"
    } else {
        "staff"
    }
}

/// The file of the path, in the caller's firm.
async fn file_of(
    req: &Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Result<(VerifiedClaims, TenantScope, D1, FileRow), DomainError> {
    let id = http::path_id(params, "file_id")?;
    let (claims, scope) = cx.scope(req, env).await?;
    let db = D1::from_env(env)?;
    let row = store::get(&db, &scope, &id).await?;
    Ok((claims, scope, db, row))
}

async fn create(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    let body = http::read_json(&mut req, edge::config::body_limit(env)).await?;
    let upload = request::parse_upload(&body.1)?;
    access::may_upload(&claims, upload.declared.usage)?;
    let db = D1::from_env(env)?;
    let firm = shared::firm::repository::get(&db, &scope).await?;
    let keys = edge::keys::keyring(env, &db, scope.firm_id(), cx.now).await?;
    let version = keys
        .active_version()
        .ok_or_else(|| DomainError::Gone("the firm's data keys were destroyed".into()))?;
    let row = store::reserve(
        &db,
        &scope,
        firm.tier,
        &upload,
        (claims.user_id(), version),
        cx.now,
    )
    .await?;
    let row = if row.parts.is_some() {
        let bucket = edge::bindings::files(env)?;
        let opened = bucket
            .create_multipart_upload(row.r2_key.as_str())
            .http_metadata(worker::HttpMetadata {
                content_type: Some(row.media_type.clone()),
                ..Default::default()
            })
            .execute()
            .await;
        match opened {
            Ok(upload) => {
                let upload_id = upload.upload_id().await;
                db.execute(store::set_multipart(&row.id, &upload_id, cx.now))
                    .await?;
                store::get(&db, &scope, &row.id).await?
            }
            Err(e) => {
                db.batch(store::mark_aborted(&row.id, cx.now)).await?;
                return Err(DomainError::Unavailable(format!("R2 multipart: {e}")));
            }
        }
    } else {
        row
    };
    Ok(http::json(201, &row, &cx.request_id))
}

async fn get(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, _, _, row) = file_of(&req, env, cx, params).await?;
    access::may_read(&claims, &row)?;
    Ok(http::json(200, &row, &cx.request_id))
}

/// The sealer of `row`'s content, under the firm's data key it was reserved with.
async fn sealer_of(env: &Env, db: &D1, row: &FileRow) -> Result<Rc<Sealer>, DomainError> {
    let version = row
        .key_version
        .ok_or_else(|| DomainError::Unavailable("the file names no data key".into()))?;
    let keys = edge::keys::existing(env, db, &row.firm_id).await?;
    let size = u64::try_from(row.size).unwrap_or(0);
    Ok(Rc::new(Sealer::new(&keys, version, &row.id, size).await?))
}

async fn put_content(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope, db, row) = file_of(&req, env, cx, params).await?;
    access::require_uploader(&claims, &row)?;
    store::require_uploading(&row)?;
    if row.parts.is_some() {
        return Err(DomainError::Conflict {
            field: None,
            detail: "this is a multipart upload: send its parts".into(),
        });
    }
    access::check_body_type(
        &row.media_type,
        http::header(&req, "content-type").as_deref(),
    )?;
    let decl = row.declared()?;
    let incoming = transfer::incoming(&mut req, decl.size, Some(&decl)).await?;
    let bucket = edge::bindings::files(env)?;
    let sealer = sealer_of(env, &db, &row).await?;
    let stored = incoming.put(&bucket, &row.r2_key, sealer).await?;
    if let Some(expected) = row.expected_sha256.as_deref() {
        if expected != stored.sha256 {
            // Not what the uploader meant to send: nothing is kept, they may resend.
            let _ = bucket.delete(row.r2_key.as_str()).await;
            return Err(DomainError::invalid(
                "sha256",
                "mismatch",
                format!(
                    "the bytes received have SHA-256 {}, not the declared {expected}",
                    stored.sha256
                ),
            ));
        }
    }
    finish(&req, env, cx, &db, &scope, &claims, &row, &stored.sha256).await
}

/// Marks an upload stored, logs it and asks for its scan, then answers the file.
#[allow(clippy::too_many_arguments)]
async fn finish(
    req: &Request,
    env: &Env,
    cx: &RequestContext,
    db: &D1,
    scope: &TenantScope,
    claims: &VerifiedClaims,
    row: &FileRow,
    sha256: &str,
) -> Handled {
    let who = accessor(req, cx, actor_kind(claims), claims.user_id());
    let event = crate::stored_event(scope, &row.id, cx.now)?;
    let statements = vec![
        store::mark_stored(&row.id, sha256, cx.now),
        store::log_access(scope.firm_id(), &row.id, "upload", &who, None, cx.now)?,
    ];
    edge::events::write_and_publish(env, db, statements, &[event], cx.now, &cx.request_id).await?;
    let row = store::get(db, scope, &row.id).await?;
    Ok(http::json(200, &row, &cx.request_id))
}

async fn put_part(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let n = request::part_number(http::path_param(params, "part_number"))?;
    let (claims, _, db, row) = file_of(&req, env, cx, params).await?;
    access::require_uploader(&claims, &row)?;
    store::require_uploading(&row)?;
    let expected = store::expected_part_size(&row, n)?;
    let upload_id = row
        .multipart_id
        .clone()
        .ok_or_else(|| DomainError::Unavailable("the multipart upload was not opened".into()))?;
    access::check_body_type(
        &row.media_type,
        http::header(&req, "content-type").as_deref(),
    )?;
    let decl = row.declared()?;
    let sniff = (n == 1).then_some(&decl);
    let incoming =
        transfer::incoming(&mut req, u64::try_from(expected).unwrap_or(0), sniff).await?;
    let bucket = edge::bindings::files(env)?;
    let part = u16::try_from(n)
        .map_err(|_| DomainError::invalid("part_number", "range", "part_number is 1 to 10000"))?;
    let sealer = sealer_of(env, &db, &row).await?;
    let first = shared::files::seal::first_segment_of_part(
        u64::try_from(row.part_size.unwrap_or(0)).unwrap_or(0),
        u64::from(part),
    );
    let etag = incoming
        .put_part(&bucket, (&row.r2_key, &upload_id), (part, first), sealer)
        .await?;
    db.batch(store::record_part(&row.id, n, &etag, expected, cx.now))
        .await?;
    Ok(http::json(
        200,
        &store::Part {
            part_number: n,
            etag,
            size: expected,
        },
        &cx.request_id,
    ))
}

async fn list_parts(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, _, db, row) = file_of(&req, env, cx, params).await?;
    access::require_uploader(&claims, &row)?;
    let parts = store::parts(&db, &row.id).await?;
    let expected = row.parts.unwrap_or(0);
    let missing: Vec<i64> = (1..=expected)
        .filter(|n| !parts.iter().any(|p| p.part_number == *n))
        .collect();
    let received: i64 = parts.iter().map(|p| p.size).sum();
    Ok(http::json(
        200,
        &json!({"parts": parts, "missing": missing, "received_bytes": received}),
        &cx.request_id,
    ))
}

async fn complete(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope, db, row) = file_of(&req, env, cx, params).await?;
    access::require_uploader(&claims, &row)?;
    store::require_uploading(&row)?;
    let upload_id = row
        .multipart_id
        .clone()
        .ok_or_else(|| DomainError::Conflict {
            field: None,
            detail: "this upload is not a multipart upload".into(),
        })?;
    let parts = store::all_parts(&row, &store::parts(&db, &row.id).await?)?;
    let bucket = edge::bindings::files(env)?;
    let upload = bucket
        .resume_multipart_upload(row.r2_key.as_str(), upload_id.as_str())
        .map_err(|e| DomainError::Unavailable(format!("R2 multipart: {e}")))?;
    let uploaded = parts
        .iter()
        .map(|p| {
            u16::try_from(p.part_number)
                .map(|n| worker::UploadedPart::new(n, p.etag.clone()))
                .map_err(|_| DomainError::Unavailable("part number".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    upload
        .complete(uploaded)
        .await
        .map_err(|e| DomainError::Unavailable(format!("R2 completion: {e}")))?;
    let sealer = sealer_of(env, &db, &row).await?;
    let size = u64::try_from(row.size).unwrap_or(0);
    let sha256 = transfer::digest_object(&bucket, &row.r2_key, size, sealer).await?;
    if let Some(expected) = row.expected_sha256.as_deref() {
        if expected != sha256 {
            // The bytes are not what the uploader meant to send: nothing is kept.
            let _ = bucket.delete(row.r2_key.as_str()).await;
            db.batch(store::mark_aborted(&row.id, cx.now)).await?;
            return Err(DomainError::invalid(
                "sha256",
                "mismatch",
                format!("the parts joined have SHA-256 {sha256}, not the declared {expected}; the upload was discarded"),
            ));
        }
    }
    finish(&req, env, cx, &db, &scope, &claims, &row, &sha256).await
}

async fn abort(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, _, db, row) = file_of(&req, env, cx, params).await?;
    access::require_uploader(&claims, &row)?;
    store::require_uploading(&row)?;
    crate::abort_upload(env, &db, &row, cx.now).await?;
    Ok(http::empty(204, &cx.request_id))
}

/// The link signer, keyed from the deployment's root key.
pub(crate) fn signer(env: &Env) -> Result<LinkSigner, DomainError> {
    LinkSigner::new(&edge::keys::root(env)?.derive(b"files/download-links/v1")?)
}

/// A signed download URL of `row` for `actor`, living `lifetime_ms`.
pub(crate) fn signed_url(
    env: &Env,
    row: &FileRow,
    actor: &str,
    lifetime_ms: i64,
    now: Instant,
) -> Result<(String, i64), DomainError> {
    let expires_at = now.millis() + lifetime_ms;
    let token = signer(env)?.sign(&Grant {
        object_id: row.id.clone(),
        firm_id: row.firm_id.clone(),
        actor: actor.to_owned(),
        expires_at,
    })?;
    let base = edge::config::text(env, "API_URL")
        .unwrap_or_else(|| "https://api.firmament.app".to_owned());
    Ok((
        format!(
            "{}/v1/files/{}/download?token={token}",
            base.trim_end_matches('/'),
            row.id
        ),
        expires_at,
    ))
}

fn lifetime(row: &FileRow) -> i64 {
    Classification::parse("classification", &row.classification)
        .unwrap_or(Classification::Hr)
        .link_lifetime_ms()
}

async fn create_link(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, _, db, row) = file_of(&req, env, cx, params).await?;
    access::may_read(&claims, &row)?;
    let warning = access::link_warning(&row, claims.role().is_portal())?;
    let mut answer = issue_link(&req, env, cx, &db, &claims, &row).await?;
    if let (Some(w), Some(map)) = (warning, answer.as_object_mut()) {
        map.insert("warning".into(), w.into());
    }
    Ok(http::json(201, &answer, &cx.request_id))
}

async fn download(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let id = http::path_id(params, "file_id")?;
    let token = http::query_param(&req, "token").ok_or_else(|| {
        DomainError::invalid(
            "token",
            "required",
            "a download needs the token of its signed link",
        )
    })?;
    let grant = signer(env)?.check(&token, &id, cx.now)?;
    let scope = grant.scope();
    let db = D1::from_env(env)?;
    let row = store::get(&db, &scope, &id).await?;
    let who = accessor(&req, cx, "link", &grant.actor);
    // The scanner fetches what it is asked to scan; everyone else only what no
    // scan flagged.
    let scanner = grant.actor == crate::SCANNER;
    if row.status != "stored" || (row.scan_status == "flagged" && !scanner) {
        db.execute(store::log_access(
            scope.firm_id(),
            &id,
            "refused",
            &who,
            Some(&row.scan_status),
            cx.now,
        )?)
        .await?;
        return Err(DomainError::Gone(
            "the file is no longer available through this link".into(),
        ));
    }
    let size = u64::try_from(row.size).unwrap_or(0);
    let span = range::span(http::header(&req, "range").as_deref(), size);
    if span == Span::Unsatisfiable {
        let problem = http::route_problem(
            &http::RouteProblem {
                status: 416,
                kind: "range-not-satisfiable",
                title: "Range not satisfiable",
                detail: format!("the file has {size} bytes"),
            },
            &cx.request_id,
        );
        return Ok(http::with_header(
            problem,
            "content-range",
            &format!("bytes */{size}"),
        ));
    }
    let bucket = edge::bindings::files(env)?;
    let (offset, length) = match span {
        Span::Part { offset, length } => (offset, length),
        _ => (0, size),
    };
    let sealer = sealer_of(env, &db, &row).await?;
    let plain = transfer::open_span(&bucket, &row.r2_key, size, (offset, length), sealer).await?;
    let body = transfer::body_of(plain, length);
    let detail = match span {
        Span::Part { offset, length } => format!("bytes {offset}-{}", offset + length - 1),
        _ => "whole".to_owned(),
    };
    db.execute(store::log_access(
        scope.firm_id(),
        &id,
        "download",
        &who,
        Some(&detail),
        cx.now,
    )?)
    .await?;
    let headers = download_headers(&row, span, size, &cx.request_id);
    let status = if matches!(span, Span::Part { .. }) {
        206
    } else {
        200
    };
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .body(body))
}

/// The headers of a download: the type, a safe disposition (images of the
/// firm's branding inline, everything else an attachment), no sniffing, a
/// sandbox for anything a browser might run, no shared caching.
fn download_headers(row: &FileRow, span: Span, size: u64, request_id: &str) -> Headers {
    let headers = Headers::new();
    let inline = row.usage != Use::Document.name();
    let ascii: String = row
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .-_()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = row
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}",
        if inline { "inline" } else { "attachment" }
    );
    let length = match span {
        Span::Part { offset, length } => {
            let _ = headers.set(
                "content-range",
                &format!("bytes {offset}-{}/{size}", offset + length - 1),
            );
            length
        }
        _ => size,
    };
    for (name, value) in [
        ("content-type", row.media_type.as_str()),
        ("content-disposition", disposition.as_str()),
        ("content-length", &length.to_string()),
        ("accept-ranges", "bytes"),
        ("cache-control", "private, no-store"),
        ("x-content-type-options", "nosniff"),
        ("content-security-policy", "sandbox; default-src 'none'"),
        ("x-request-id", request_id),
    ] {
        let _ = headers.set(name, value);
    }
    if let Some(sha) = &row.sha256 {
        let _ = headers.set("etag", &format!("\"{sha}\""));
    }
    headers
}

/// An image (logo, avatar) as the console and portal show it: a link once a
/// scan cleared it, none while it is pending. Every link issued is logged.
async fn image_link(
    req: &Request,
    env: &Env,
    cx: &RequestContext,
    db: &D1,
    claims: &VerifiedClaims,
    row: &FileRow,
) -> Result<serde_json::Value, DomainError> {
    if !store::servable_outside(row) {
        return Ok(
            json!({"file_id": row.id, "scan_status": row.scan_status, "url": null, "expires_at": null}),
        );
    }
    issue_link(req, env, cx, db, claims, row).await
}

/// A link to `row` for the caller, living as its classification allows, logged
/// as issued: `{"file_id", "scan_status", "url", "expires_at"}`.
async fn issue_link(
    req: &Request,
    env: &Env,
    cx: &RequestContext,
    db: &D1,
    claims: &VerifiedClaims,
    row: &FileRow,
) -> Result<serde_json::Value, DomainError> {
    let (url, expires_at) = signed_url(env, row, claims.user_id(), lifetime(row), cx.now)?;
    let who = accessor(req, cx, actor_kind(claims), claims.user_id());
    let logged = store::log_access(&row.firm_id, &row.id, "url_issued", &who, None, cx.now)?;
    db.execute(logged).await?;
    Ok(
        json!({"file_id": row.id, "scan_status": row.scan_status, "url": url, "expires_at": expires_at}),
    )
}

async fn branding_of(
    req: &Request,
    env: &Env,
    cx: &RequestContext,
    db: &D1,
    claims: &VerifiedClaims,
    scope: &TenantScope,
) -> Handled {
    let firm = shared::firm::repository::get(db, scope).await?;
    let logo = match store::logo(db, scope.firm_id()).await? {
        Some(row) => image_link(req, env, cx, db, claims, &row).await?,
        None => serde_json::Value::Null,
    };
    Ok(http::json(
        200,
        &json!({"name": firm.name, "logo": logo, "brand_color": firm.brand_color}),
        &cx.request_id,
    ))
}

async fn branding(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    let db = D1::from_env(env)?;
    branding_of(&req, env, cx, &db, &claims, &scope).await
}

async fn set_logo(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx
        .authorize(&req, env, Area::Settings, Access::Write)
        .await?;
    let body = http::read_json(&mut req, edge::config::body_limit(env)).await?;
    let id = request::parse_assignment(&body.1)?;
    let db = D1::from_env(env)?;
    store::for_use(&db, &scope, &id, Use::Logo).await?;
    db.execute(store::set_logo(
        scope.firm_id(),
        &id,
        claims.user_id(),
        cx.now,
    ))
    .await?;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::Config,
        "firm.logo_set",
        json!({"file_id": id}),
    )
    .await;
    branding_of(&req, env, cx, &db, &claims, &scope).await
}

async fn remove_logo(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx
        .authorize(&req, env, Area::Settings, Access::Write)
        .await?;
    let db = D1::from_env(env)?;
    db.execute(store::clear_logo(scope.firm_id())).await?;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::Config,
        "firm.logo_removed",
        json!({}),
    )
    .await;
    Ok(http::empty(204, &cx.request_id))
}

async fn set_avatar(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    let me = claims.person()?.to_owned();
    let body = http::read_json(&mut req, edge::config::body_limit(env)).await?;
    let id = request::parse_assignment(&body.1)?;
    let db = D1::from_env(env)?;
    let row = store::for_use(&db, &scope, &id, Use::Avatar).await?;
    if row.owner_id.as_deref() != Some(me.as_str()) {
        return Err(DomainError::Forbidden(
            "an avatar is a picture its person uploaded".into(),
        ));
    }
    db.execute(store::set_avatar(scope.firm_id(), &me, &id, cx.now))
        .await?;
    let answer = image_link(&req, env, cx, &db, &claims, &row).await?;
    Ok(http::json(200, &answer, &cx.request_id))
}

async fn remove_avatar(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = cx.scope(&req, env).await?;
    let me = claims.person()?.to_owned();
    let db = D1::from_env(env)?;
    db.execute(store::clear_avatar(scope.firm_id(), &me))
        .await?;
    Ok(http::empty(204, &cx.request_id))
}

async fn get_avatar(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let user = http::path_id(params, "user_id")?;
    let (claims, scope) = cx.scope(&req, env).await?;
    let db = D1::from_env(env)?;
    let row = store::avatar(&db, scope.firm_id(), &user)
        .await?
        .ok_or(DomainError::NotFound("avatar"))?;
    let answer = image_link(&req, env, cx, &db, &claims, &row).await?;
    Ok(http::json(200, &answer, &cx.request_id))
}
