//! The page handlers, and the one place where a page error becomes an HTTP answer. Every
//! answer carries the same security headers ([`PagesState::respond`]).

use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use flow_authentik_api::Sessions;
use flow_authentik_api::session::FlowSession;
use flow_engine::{FlowStatus, FlowType, TenantId};
use serde_json::{Value, json};

use crate::assets::{asset, etag};
use crate::language::{Language, negotiate};
use crate::shell::Shell;
use crate::{PagesError, PagesState, QR_BODY_LIMIT, logo_origin, qr};

/// The longest flow slug a page path may carry.
const MAX_SLUG_CHARS: usize = 128;
/// The account page.
const ACCOUNT_PATH: &str = "/if/user/";
/// Where the account page's sign-out form posts.
const SIGN_OUT_PATH: &str = "/if/user/sign-out";

/// Mounts the routes (see [`crate::configure`]).
pub(crate) fn mount(
    cfg: &mut web::ServiceConfig,
    state: web::Data<PagesState>,
    sessions: &Sessions,
) {
    sessions.mount_resource(
        cfg,
        page_resource("/", web::get().to(root)).app_data(state.clone()),
    );
    sessions.mount_scope(
        cfg,
        web::scope(crate::PAGES_PREFIX)
            .app_data(state)
            .service(page_resource("/flow/{slug}/", web::get().to(flow_page)))
            .service(page_resource("/flow/{slug}", web::get().to(add_slash)))
            .service(page_resource("/user/", web::get().to(account)))
            .service(page_resource("/user", web::get().to(add_slash)))
            .service(page_resource("/user/sign-out", web::post().to(sign_out)))
            .service(page_resource("/qr", web::post().to(qr_code)))
            .service(page_resource("/assets/{name}", web::get().to(static_asset)))
            .default_service(web::to(not_found)),
    );
}

/// A page path with its one route; any other method gets the 405 page, with the pages'
/// headers (not actix's bare answer).
fn page_resource(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path)
        .route(route)
        .default_service(web::to(not_allowed))
}

impl PagesState {
    /// The `Content-Security-Policy` of every answer: nothing inline, nothing from elsewhere
    /// (but a configured logo's origin for images), no framing, forms only to this server.
    pub(crate) fn content_security_policy(&self) -> String {
        let logo = self
            .settings
            .logo_url
            .as_deref()
            .and_then(logo_origin)
            .map(|origin| format!(" {origin}"))
            .unwrap_or_default();
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:{logo}; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
    }

    /// A response builder with the pages' security headers.
    fn respond(&self, status: StatusCode) -> HttpResponseBuilder {
        let mut builder = HttpResponse::build(status);
        builder
            .insert_header((header::CONTENT_SECURITY_POLICY, self.csp.as_str()))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            // `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends `Origin: null`
            // with a form's POST, and the sign-out form's origin check could not pass.
            .insert_header((header::REFERRER_POLICY, "same-origin"))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"))
            .insert_header(("Cross-Origin-Opener-Policy", "same-origin"));
        builder
    }

    /// An HTML page; pages are per user and per language, so never cached.
    fn html(&self, status: StatusCode, shell: &Shell<'_>) -> HttpResponse {
        self.respond(status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::VARY, "Accept-Language, Cookie"))
            .content_type("text/html; charset=utf-8")
            .body(shell.render())
    }

    /// A page run by `script` with `page` as its data; it says "loading" until the script runs.
    fn script_page(
        &self,
        language: Language,
        title: &str,
        script: &'static str,
        page: Value,
    ) -> HttpResponse {
        let shell = Shell {
            language,
            title,
            script: Some(script),
            page,
            message: language.text("loading"),
            link: None,
            logo: self.settings.logo_url.as_deref(),
        };
        self.html(StatusCode::OK, &shell)
    }

    /// A redirect to a path on this server.
    fn redirect(&self, status: StatusCode, location: &str) -> HttpResponse {
        self.respond(status)
            .insert_header((header::LOCATION, location))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()
    }

    /// The page that shows `error` (logged first when it is the server's fault).
    fn error_page(&self, language: Language, error: &PagesError) -> HttpResponse {
        let status = error.status();
        if status.is_server_error() {
            tracing::error!(error = %error, code = error.code(), "page request failed");
        }
        let (title, message) = match error {
            PagesError::NotFound => ("page_not_found", "flow_not_found"),
            PagesError::MethodNotAllowed => ("page_not_found", "page_not_found"),
            PagesError::CrossSite(_) => ("flow_error", "cross_site"),
            _ => ("flow_error", "network_error"),
        };
        let shell = Shell {
            language,
            title: language.text(title),
            script: None,
            page: json!({}),
            message: language.text(message),
            link: Some(("/", language.text("back_to_start"))),
            logo: self.settings.logo_url.as_deref(),
        };
        self.html(status, &shell)
    }

    /// `{detail, code}` for `error` (the answer of `POST /if/qr`).
    fn json_error(&self, error: &PagesError) -> HttpResponse {
        self.respond(error.status())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({"detail": error.to_string(), "code": error.code()}))
    }

    /// The slug of the default flow of `flow_type`.
    async fn default_slug(&self, flow_type: FlowType) -> Result<String, PagesError> {
        let catalog = self.catalog.clone();
        let active = web::block(move || catalog.active_by_type(&TenantId::default(), flow_type))
            .await
            .map_err(|_| PagesError::Stopping)??;
        Ok(active.flow.flow.name.as_str().to_owned())
    }
}

/// The interface language of `request`.
fn language(request: &HttpRequest) -> Language {
    negotiate(
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok()),
    )
}

/// `?query` of the request, or nothing.
fn query_suffix(request: &HttpRequest) -> String {
    match request.query_string() {
        "" => String::new(),
        query => format!("?{query}"),
    }
}

/// A flow name as it may appear in a page path.
fn valid_slug(slug: &str) -> bool {
    (1..=MAX_SLUG_CHARS).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `GET /`: the account page when signed in, else the default login flow's page (the query,
/// `?next=` say, goes along).
async fn root(
    state: web::Data<PagesState>,
    request: HttpRequest,
    session: Session,
) -> HttpResponse {
    if FlowSession::new(&session).signed_in().is_some() {
        return state.redirect(StatusCode::FOUND, ACCOUNT_PATH);
    }
    match state.default_slug(FlowType::Login).await {
        Ok(slug) => state.redirect(
            StatusCode::FOUND,
            &format!("/if/flow/{slug}/{}", query_suffix(&request)),
        ),
        Err(error) => state.error_page(language(&request), &error),
    }
}

/// `GET /if/flow/{slug}/`: the page that runs the flow `slug` in the browser.
async fn flow_page(
    state: web::Data<PagesState>,
    request: HttpRequest,
    slug: web::Path<String>,
) -> HttpResponse {
    let language = language(&request);
    let slug = slug.into_inner();
    if !valid_slug(&slug) {
        return state.error_page(language, &PagesError::NotFound);
    }
    let catalog = state.catalog.clone();
    let name = slug.clone();
    let stored = match web::block(move || catalog.get_by_name(&TenantId::default(), &name)).await {
        // Drafts and inactive flows have no page (their executor refuses them too).
        Ok(Ok(stored)) if stored.flow.status == FlowStatus::Active => stored,
        Ok(Ok(_)) => return state.error_page(language, &PagesError::NotFound),
        Ok(Err(error)) => return state.error_page(language, &error.into()),
        Err(_) => return state.error_page(language, &PagesError::Stopping),
    };
    let page = json!({
        "slug": slug,
        "executor": format!("{}{slug}/", flow_authentik_api::EXECUTOR_PREFIX),
    });
    state.script_page(language, &stored.flow.display_name, "flow.js", page)
}

/// `GET /if/flow/{slug}` and `GET /if/user`: the same path with its trailing slash.
async fn add_slash(state: web::Data<PagesState>, request: HttpRequest) -> HttpResponse {
    let path = request.path();
    let slug_ok = path.strip_prefix("/if/flow/").is_none_or(valid_slug);
    if !slug_ok {
        return state.error_page(language(&request), &PagesError::NotFound);
    }
    let location = format!("{path}/{}", query_suffix(&request));
    state.redirect(StatusCode::MOVED_PERMANENTLY, &location)
}

/// `GET /if/user/`: who is signed in (the script asks `/api/v3/core/users/me/`), the MFA
/// setup flow's page and a sign-out button; without a sign-in, back to `/`.
async fn account(
    state: web::Data<PagesState>,
    request: HttpRequest,
    session: Session,
) -> HttpResponse {
    if FlowSession::new(&session).signed_in().is_none() {
        return state.redirect(StatusCode::FOUND, "/");
    }
    let language = language(&request);
    // No active MFA setup flow is no error: the page shows no link then.
    let mfa = state.default_slug(FlowType::MfaSetup).await.ok();
    let page = json!({
        "me": "/api/v3/core/users/me/",
        "mfa_url": mfa.map(|slug| format!("/if/flow/{slug}/?next={ACCOUNT_PATH}")),
        "sign_out": SIGN_OUT_PATH,
    });
    state.script_page(language, language.text("account_title"), "account.js", page)
}

/// `POST /if/user/sign-out`: ends the session (user and running flows) and goes to `/`;
/// refused from another origin.
async fn sign_out(
    state: web::Data<PagesState>,
    request: HttpRequest,
    session: Session,
) -> HttpResponse {
    if let Err(error) = state.origins.check(&request) {
        return state.error_page(language(&request), &error.into());
    }
    FlowSession::new(&session).sign_out();
    state.redirect(StatusCode::SEE_OTHER, "/")
}

/// `POST /if/qr` with `{"uri": "otpauth://..."}`: the QR code as SVG. The URI travels in the
/// body, so the secret in it never lands in a URL or an access log.
async fn qr_code(
    state: web::Data<PagesState>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        state.origins.check(&request)?;
        let body = flow_http::read_json_object(payload, QR_BODY_LIMIT).await?;
        let uri = body.get("uri").and_then(Value::as_str).unwrap_or_default();
        qr::otpauth_svg(uri)
    }
    .await;
    match result {
        Ok(svg) => state
            .respond(StatusCode::OK)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("image/svg+xml")
            .body(svg),
        Err(error) => state.json_error(&error),
    }
}

/// `GET /if/assets/{name}`: an embedded asset, or `brand.css` made from the settings.
async fn static_asset(
    state: web::Data<PagesState>,
    request: HttpRequest,
    name: web::Path<String>,
) -> HttpResponse {
    let (body, content_type) = if name.as_str() == "brand.css" {
        (state.brand_css.as_bytes(), "text/css; charset=utf-8")
    } else if let Some(found) = asset(&name) {
        (found.body, found.content_type)
    } else {
        return state.error_page(language(&request), &PagesError::NotFound);
    };
    let tag = etag(body);
    let fresh = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|candidate| candidate.trim() == tag));
    let mut builder = state.respond(if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    });
    builder
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, tag));
    if fresh {
        builder.finish()
    } else {
        builder.content_type(content_type).body(body.to_vec())
    }
}

/// A page path asked with a method it does not take.
async fn not_allowed(state: web::Data<PagesState>, request: HttpRequest) -> HttpResponse {
    state.error_page(language(&request), &PagesError::MethodNotAllowed)
}

/// Any other path under `/if/`.
async fn not_found(state: web::Data<PagesState>, request: HttpRequest) -> HttpResponse {
    state.error_page(language(&request), &PagesError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_flow_names_and_nothing_else() {
        assert!(valid_slug("default-login"));
        assert!(valid_slug("a_b.c-1"));
        for bad in [
            "",
            "a/b",
            "a b",
            "<x>",
            "a%2f",
            &"a".repeat(MAX_SLUG_CHARS + 1),
        ] {
            assert!(!valid_slug(bad), "{bad:?}");
        }
    }
}
