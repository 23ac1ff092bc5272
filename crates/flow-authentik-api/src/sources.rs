//! authentik's OAuth sources: `GET /source/oauth/login/{provider}/` sends the browser to the
//! identity provider for the session's execution that offers it, and
//! `GET /source/oauth/callback/{provider}/` hands the provider's answer (`code` and `state`,
//! or `error`) to that execution, then sends the browser on: to where the finished flow goes,
//! or back to the flow's page, which shows the next step (or the error).
//!
//! The execution is found among the session's plans (at most [`MAX_PLANS`](crate::session::MAX_PLANS))
//! by its waiting form, so the URLs carry nothing but the provider, as authentik's do.

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use flow_engine::{ExecutionId, FormPurpose, Outcome, Submission};

use crate::challenge::Challenge;
use crate::executor::{Executor, PlanChange, Reply, flow_page};
use crate::redirect::ClientQuery;
use crate::session::FlowSession;
use crate::{AuthentikError, AuthentikState};

/// The most bytes of a callback parameter taken (codes and states are far shorter).
const MAX_PARAMETER_BYTES: usize = 4096;

/// Where the browser goes next, and what changes in the session.
#[derive(Debug)]
pub(crate) struct SourceTurn {
    /// The `Location` to send the browser to.
    pub(crate) location: String,
    /// The flow whose execution took the step.
    pub(crate) slug: Option<String>,
    /// The change to that flow's plan.
    pub(crate) plan: PlanChange,
    /// A user to sign in.
    pub(crate) sign_in: Option<crate::session::SignedIn>,
}

impl SourceTurn {
    fn to(location: String, slug: Option<String>) -> Self {
        Self {
            location,
            slug,
            plan: PlanChange::Keep,
            sign_in: None,
        }
    }
}

impl Executor {
    /// The session's execution (of `plans`) whose waiting form is `wanted` for `provider`.
    fn waiting_for(
        &self,
        plans: &[(String, ExecutionId)],
        provider: &str,
        wanted: &[FormPurpose],
    ) -> Option<(String, ExecutionId, flow_engine::Opened)> {
        plans.iter().find_map(|(slug, id)| {
            let opened = self
                .engine
                .open_via(crate::CHANNEL, &self.tenant, id)
                .ok()?;
            let form = opened.form()?;
            let social = form.social.as_ref()?;
            let offers = social.provider.as_deref() == Some(provider)
                || social.providers.iter().any(|choice| choice.id == provider);
            (wanted.contains(&form.purpose) && offers).then(|| (slug.clone(), *id, opened))
        })
    }

    /// `login`: picks `provider` on the waiting choice and sends the browser to it.
    pub(crate) fn source_login(
        &self,
        plans: &[(String, ExecutionId)],
        provider: &str,
    ) -> SourceTurn {
        let wanted = [FormPurpose::SelectProvider, FormPurpose::FederatedRedirect];
        let Some((slug, _, opened)) = self.waiting_for(plans, provider, &wanted) else {
            return SourceTurn::to("/".to_owned(), None);
        };
        let submission = Submission {
            action_id: Some(provider.to_owned()),
            inputs: BTreeMap::new(),
        };
        let page = flow_page(&slug);
        match self.engine.proceed(opened, submission) {
            Ok(Outcome::Prompt(form)) if form.purpose == FormPurpose::FederatedRedirect => {
                let location = form
                    .social
                    .and_then(|social| social.redirect_url)
                    .unwrap_or(page);
                SourceTurn::to(location, Some(slug))
            }
            // Anything else (the provider is down, the flow moved on): the page shows it.
            Ok(_) => SourceTurn::to(page, Some(slug)),
            Err(error) => {
                tracing::warn!(request_id = %self.request_id, error = %error, "source login");
                SourceTurn::to(page, Some(slug))
            }
        }
    }

    /// `callback`: the provider's answer to the execution waiting for it.
    pub(crate) fn source_callback(
        &self,
        plans: &[(String, ExecutionId)],
        provider: &str,
        inputs: BTreeMap<String, String>,
        query: &ClientQuery,
    ) -> Result<SourceTurn, AuthentikError> {
        let Some((slug, id, opened)) =
            self.waiting_for(plans, provider, &[FormPurpose::FederatedRedirect])
        else {
            return Ok(SourceTurn::to("/".to_owned(), None));
        };
        let page = flow_page(&slug);
        let outcome = self.engine.proceed(
            opened,
            Submission {
                action_id: None,
                inputs,
            },
        );
        let outcome = match outcome {
            Ok(Outcome::Prompt(_)) | Err(_) => return Ok(SourceTurn::to(page, Some(slug))),
            Ok(outcome) => outcome,
        };
        let facts = self.facts(&slug)?;
        let turn = self.ended(&slug, &facts, id, outcome, query);
        let location = match &turn.reply {
            Reply::Challenge(envelope) => match &envelope.challenge {
                Challenge::Redirect(redirect) => redirect.to.clone(),
                _ => page,
            },
            Reply::Hop => page,
        };
        Ok(SourceTurn {
            location,
            slug: Some(slug),
            plan: turn.plan,
            sign_in: turn.sign_in,
        })
    }
}

/// `GET /source/oauth/login/{provider}/`.
pub(crate) async fn login(
    state: web::Data<AuthentikState>,
    request: HttpRequest,
    provider: web::Path<String>,
    session: Session,
) -> HttpResponse {
    let provider = provider.into_inner();
    let executor = crate::routes::executor(&state, &request);
    let plans = FlowSession::new(&session).all_plans();
    let turn = web::block(move || executor.source_login(&plans, &provider)).await;
    respond(
        &session,
        turn.map_err(|error| AuthentikError::Internal(error.to_string())),
    )
}

/// `GET /source/oauth/callback/{provider}/?code=…&state=…` (or `?error=…&state=…`).
pub(crate) async fn callback(
    state: web::Data<AuthentikState>,
    request: HttpRequest,
    provider: web::Path<String>,
    session: Session,
) -> HttpResponse {
    let provider = provider.into_inner();
    let executor = crate::routes::executor(&state, &request);
    let plans = FlowSession::new(&session).all_plans();
    let inputs = callback_inputs(request.query_string());
    let query = ClientQuery::default();
    let turn = web::block(move || executor.source_callback(&plans, &provider, inputs, &query))
        .await
        .map_err(|error| AuthentikError::Internal(error.to_string()))
        .and_then(|turn| turn);
    respond(&session, turn)
}

/// The provider's callback parameters the engine reads: `code`, `state`, `error`.
fn callback_inputs(query: &str) -> BTreeMap<String, String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs
        .into_iter()
        .filter(|(key, value)| {
            [
                flow_engine::FIELD_CODE,
                flow_engine::FIELD_STATE,
                flow_engine::FIELD_ERROR,
            ]
            .contains(&key.as_str())
                && value.len() <= MAX_PARAMETER_BYTES
        })
        .collect()
}

/// Applies the session changes and answers `302 Location`.
fn respond(session: &Session, turn: Result<SourceTurn, AuthentikError>) -> HttpResponse {
    let turn = match turn {
        Ok(turn) => turn,
        Err(error) => return error.to_response(),
    };
    let flows = FlowSession::new(session);
    let applied = (|| {
        if let Some(slug) = &turn.slug {
            match &turn.plan {
                PlanChange::Keep => {}
                PlanChange::Set(id) => flows.set_plan(slug, *id)?,
                PlanChange::Clear => flows.clear_plan(slug)?,
            }
        }
        if let Some(user) = &turn.sign_in {
            flows.sign_in(user)?;
        }
        Ok::<_, AuthentikError>(())
    })();
    if let Err(error) = applied {
        return error.to_response();
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, turn.location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
