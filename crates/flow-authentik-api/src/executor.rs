//! One executor request, without HTTP: find the flow, show or advance its execution, and say
//! what the handler must answer and change in the session. Runs on the blocking pool (the
//! catalog and the engine block).

use std::sync::Arc;

use flow_engine::{
    Engine, EngineError, ExecutionId, FieldKind, FlowCatalog, FlowStatus, FlowType, Form,
    FormPurpose, Outcome, RequestContext, Submission, TenantId,
};
use serde_json::{Map, Value};

use crate::AuthentikError;
use crate::challenge::{
    Challenge, ChallengeEnvelope, ErrorDetail, FlowErrorChallenge, RedirectChallenge,
};
use crate::redirect::{ClientQuery, RedirectPolicy};
use crate::render::{
    FALLBACK_KEY, FlowFacts, NON_FIELD_ERRORS, Stage, access_denied, form_challenge,
};
use crate::session::SignedIn;

/// The most fields one challenge response may carry.
pub const MAX_RESPONSE_FIELDS: usize = 64;

/// The path of the browser flow page of a slug, as authentik links it (`enroll_url`).
pub fn flow_page(slug: &str) -> String {
    format!("/if/flow/{slug}/")
}

/// What the handler answers.
#[derive(Debug)]
pub enum Reply {
    /// 200 with this challenge.
    Challenge(Box<ChallengeEnvelope>),
    /// 302 back to the same executor URL: a stage passed, a GET shows the next one.
    Hop,
}

/// What happens to the session's execution of this flow.
#[derive(Debug, PartialEq, Eq)]
pub enum PlanChange {
    /// Nothing.
    Keep,
    /// Remember this execution.
    Set(ExecutionId),
    /// Forget it (the flow ended).
    Clear,
}

/// The result of one executor request.
#[derive(Debug)]
pub struct Turn {
    /// The answer.
    pub reply: Reply,
    /// The session's execution of this flow.
    pub plan: PlanChange,
    /// A user to sign in.
    pub sign_in: Option<SignedIn>,
}

impl Turn {
    fn challenge(envelope: ChallengeEnvelope, plan: PlanChange) -> Self {
        Self {
            reply: Reply::Challenge(Box::new(envelope)),
            plan,
            sign_in: None,
        }
    }
}

/// Everything one request needs.
pub struct Executor {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The catalog.
    pub catalog: Arc<FlowCatalog>,
    /// The tenant.
    pub tenant: TenantId,
    /// Where finished flows may go.
    pub redirects: RedirectPolicy,
    /// The request's id, quoted in `ak-stage-flow-error`.
    pub request_id: String,
}

impl Executor {
    /// Drops the session's user from `context` when it no longer counts (deleted, disabled,
    /// or its password changed since the sign-in); whether it did, so that the session
    /// forgets it too.
    pub fn drop_stale_session_user(
        &self,
        context: &mut RequestContext,
    ) -> Result<bool, AuthentikError> {
        let Some(session) = &context.user else {
            return Ok(false);
        };
        let current = self
            .engine
            .session_user(&self.tenant, session)
            .map_err(|error| AuthentikError::Internal(error.to_string()))?;
        if current.is_some() {
            return Ok(false);
        }
        context.user = None;
        Ok(true)
    }

    /// The facts of the active flow `slug`; [`AuthentikError::FlowNotFound`] for an unknown
    /// or inactive one.
    pub fn facts(&self, slug: &str) -> Result<FlowFacts, AuthentikError> {
        let stored = match self.catalog.get_by_name(&self.tenant, slug) {
            Ok(stored) => stored,
            Err(flow_engine::CatalogError::NotFound) => return Err(AuthentikError::FlowNotFound),
            Err(error) => return Err(AuthentikError::Internal(error.to_string())),
        };
        if stored.flow.status != FlowStatus::Active {
            return Err(AuthentikError::FlowNotFound);
        }
        let flow_type = stored.flow.flow_type;
        let (enroll_url, recovery_url) = if flow_type == FlowType::Login {
            (
                self.default_page(FlowType::Registration),
                self.default_page(FlowType::PasswordReset)
                    .or_else(|| self.default_page(FlowType::AccountRecovery)),
            )
        } else {
            (None, None)
        };
        Ok(FlowFacts {
            title: stored.flow.display_name,
            flow_type,
            enroll_url,
            recovery_url,
        })
    }

    /// The flow page of the active default flow of `flow_type`, if there is one.
    fn default_page(&self, flow_type: FlowType) -> Option<String> {
        let stored = self
            .catalog
            .repository()
            .default_for(&self.tenant, flow_type)
            .ok()
            .flatten()?;
        (stored.flow.status == FlowStatus::Active).then(|| flow_page(stored.flow.name.as_str()))
    }

    /// GET: the current challenge of the session's execution, or a new execution's first.
    /// An authentication flow for a signed-in session (`context.user`) is done at once, as in
    /// authentik.
    pub fn show(
        &self,
        slug: &str,
        facts: &FlowFacts,
        plan: Option<ExecutionId>,
        context: RequestContext,
        query: &ClientQuery,
    ) -> Turn {
        if context.user.is_some() && facts.flow_type == FlowType::Login {
            let to = self.redirects.destination(None, query.next.as_deref());
            return Turn::challenge(facts.envelope(redirect(to)), PlanChange::Clear);
        }
        match plan {
            Some(id) => {
                let shown = self.engine.current_via(crate::CHANNEL, &self.tenant, &id);
                self.shown_or_started(shown, slug, facts, context, query)
            }
            None => self.start(slug, facts, context, query),
        }
    }

    /// The challenge of what the session's execution shows now; when it is gone or has
    /// ended (expired, completed, locked by its attempt limit), a new execution's first.
    fn shown_or_started(
        &self,
        shown: Result<Outcome, EngineError>,
        slug: &str,
        facts: &FlowFacts,
        context: RequestContext,
        query: &ClientQuery,
    ) -> Turn {
        match shown {
            Ok(Outcome::Prompt(form)) => {
                Turn::challenge(form_challenge(facts, &form), PlanChange::Keep)
            }
            Ok(_)
            | Err(
                EngineError::NotFound
                | EngineError::Expired
                | EngineError::AlreadyCompleted
                | EngineError::TooManyAttempts,
            ) => self.start(slug, facts, context, query),
            Err(error) => self.flow_error(facts, &error),
        }
    }

    /// POST: solve the current challenge with `body`. Without an execution, a new one starts
    /// and its first challenge is returned: a response is never applied to a step the client
    /// has not seen.
    pub fn submit(
        &self,
        slug: &str,
        facts: &FlowFacts,
        plan: Option<ExecutionId>,
        body: Map<String, Value>,
        context: RequestContext,
        query: &ClientQuery,
    ) -> Turn {
        let Some(id) = plan else {
            return self.start(slug, facts, context, query);
        };
        // One load: the waiting form to parse the body against comes from the execution that
        // the submission then continues.
        let opened = match self.engine.open_via(crate::CHANNEL, &self.tenant, &id) {
            Ok(opened) => opened,
            Err(error) => return self.shown_or_started(Err(error), slug, facts, context, query),
        };
        let Some(form) = opened.form().cloned() else {
            // Nothing waits for this body: a stalled execution is taken over and shows its
            // prompt; an ended one makes way for a new execution.
            let shown = self.engine.show(opened);
            return self.shown_or_started(shown, slug, facts, context, query);
        };
        let submission = match parse_response(&form, body) {
            Ok(submission) => submission,
            Err((field, detail)) => {
                let mut envelope = form_challenge(facts, &form);
                envelope.response_errors = [(field, vec![detail])].into_iter().collect();
                return Turn::challenge(envelope, PlanChange::Keep);
            }
        };
        match self.engine.proceed(opened, submission) {
            Ok(Outcome::Prompt(form)) if !form.errors.is_empty() => {
                Turn::challenge(form_challenge(facts, &form), PlanChange::Keep)
            }
            Ok(Outcome::Prompt(_)) => Turn {
                reply: Reply::Hop,
                plan: PlanChange::Keep,
                sign_in: None,
            },
            Ok(outcome) => self.ended(slug, facts, id, outcome, query),
            Err(EngineError::TooManyAttempts) => Turn::challenge(
                access_denied(facts, "Too many failed attempts."),
                PlanChange::Clear,
            ),
            Err(EngineError::NotFound | EngineError::Expired | EngineError::AlreadyCompleted) => {
                self.start(slug, facts, context, query)
            }
            Err(error) => self.flow_error(facts, &error),
        }
    }

    /// Starts a new execution of `slug` and renders its first outcome.
    fn start(
        &self,
        slug: &str,
        facts: &FlowFacts,
        context: RequestContext,
        query: &ClientQuery,
    ) -> Turn {
        let program = match self.catalog.program_for_name(&self.tenant, slug) {
            Ok(program) => program,
            Err(error) => {
                return self.flow_error(facts, &EngineError::Internal(error.to_string()));
            }
        };
        let (id, outcome) = match self.engine.start_via(crate::CHANNEL, &program, context) {
            Ok(started) => started,
            Err(error) => return self.flow_error(facts, &error),
        };
        // authentik's invitation links carry the code as `itoken`: redeem it right away.
        let outcome = match (outcome, query.itoken.as_deref()) {
            (Outcome::Prompt(form), Some(code))
                if form.purpose == FormPurpose::RedeemInvitation =>
            {
                let submission =
                    Submission::with_inputs([(flow_engine::FIELD_CONFIRMATION_CODE, code)]);
                match self
                    .engine
                    .resume_via(crate::CHANNEL, &self.tenant, &id, submission)
                {
                    Ok(outcome) => outcome,
                    Err(error) => return self.flow_error(facts, &error),
                }
            }
            (outcome, _) => outcome,
        };
        match outcome {
            Outcome::Prompt(form) => {
                Turn::challenge(form_challenge(facts, &form), PlanChange::Set(id))
            }
            outcome => self.ended(slug, facts, id, outcome, query),
        }
    }

    /// Renders an outcome that is not a form: the end of the flow or a hand-over.
    pub(crate) fn ended(
        &self,
        slug: &str,
        facts: &FlowFacts,
        id: ExecutionId,
        outcome: Outcome,
        query: &ClientQuery,
    ) -> Turn {
        match outcome {
            Outcome::Complete {
                user_id,
                sign_in,
                methods,
                redirect_url,
                ..
            } => {
                let to = self
                    .redirects
                    .destination(redirect_url.as_deref(), query.next.as_deref());
                let sign_in = user_id.filter(|_| sign_in).map(|user_id| SignedIn {
                    user_id: user_id.as_str().to_owned(),
                    methods,
                    at: self.engine.ports().clock.now_secs(),
                    flow: slug.to_owned(),
                });
                Turn {
                    reply: Reply::Challenge(Box::new(facts.envelope(redirect(to)))),
                    plan: PlanChange::Clear,
                    sign_in,
                }
            }
            Outcome::Failed { message, .. } => {
                Turn::challenge(access_denied(facts, &message), PlanChange::Clear)
            }
            Outcome::Redirect { url } => {
                Turn::challenge(facts.envelope(redirect(url)), PlanChange::Set(id))
            }
            Outcome::Prompt(form) => {
                Turn::challenge(form_challenge(facts, &form), PlanChange::Set(id))
            }
            _ => self.flow_error(
                facts,
                &EngineError::Internal("a step this protocol cannot show".to_owned()),
            ),
        }
    }

    /// `ak-stage-flow-error` for an engine failure: logged with the request id, shown
    /// without details. The execution is forgotten, so the next request starts afresh.
    fn flow_error(&self, facts: &FlowFacts, error: &EngineError) -> Turn {
        let message = match error {
            EngineError::Conflict => Some("Another request changed this flow; reload it."),
            _ => None,
        };
        if message.is_none() {
            tracing::error!(request_id = %self.request_id, error = %error, "flow error");
        }
        let challenge = Challenge::FlowError(FlowErrorChallenge {
            request_id: self.request_id.clone(),
            error: message.map(str::to_owned),
        });
        let plan = if message.is_some() {
            PlanChange::Keep
        } else {
            PlanChange::Clear
        };
        Turn::challenge(facts.envelope(challenge), plan)
    }
}

/// `xak-flow-redirect` to `to`.
fn redirect(to: String) -> Challenge {
    Challenge::Redirect(RedirectChallenge { to })
}

/// A challenge response to the form `form` as engine inputs (see [`submission`]), or the
/// field to report a mistake on and the detail. Public for the fuzz targets in `fuzz/`.
#[doc(hidden)]
pub fn parse_response(
    form: &Form,
    mut body: Map<String, Value>,
) -> Result<Submission, (String, ErrorDetail)> {
    let stage = Stage::of(form);
    restore_leading_zeros(stage, form, &mut body);
    let submission = submission(stage, body)?;
    let offered = |action: &str| form.actions.iter().any(|offered| offered.id == action);
    if let Some(action) = &submission.action_id
        && !offered(action)
    {
        return Err((
            NON_FIELD_ERRORS.to_owned(),
            ErrorDetail {
                string: "There is no other way to continue here.".to_owned(),
                code: "no_fallback".to_owned(),
            },
        ));
    }
    Ok(submission)
}

/// authentik's clients may send a code as a JSON number (the TOTP stage's `code` was an
/// integer in older schemas), which loses its leading zeros: a number sent for a fixed-length
/// code field is padded back to the field's length.
fn restore_leading_zeros(stage: Stage, form: &Form, body: &mut Map<String, Value>) {
    for (key, value) in body.iter_mut() {
        let Value::Number(number) = value else {
            continue;
        };
        let Some(field) = form.field(stage.engine_field(key)) else {
            continue;
        };
        let length = match (field.kind, field.hints.min_length, field.hints.max_length) {
            (FieldKind::Code, Some(min), Some(max)) if min == max => max as usize,
            _ => continue,
        };
        if number.is_u64() {
            *value = Value::String(format!("{:0>length$}", number.to_string()));
        }
    }
}

/// A challenge response as engine inputs: `component` must be the stage's (or absent, as
/// authentik's serializers allow); strings, numbers and booleans are accepted as text; the
/// identification stage's `uid_field` is the identifier. On a mistake: the field to report
/// it on and the detail.
fn submission(
    stage: Stage,
    mut body: Map<String, Value>,
) -> Result<Submission, (String, ErrorDetail)> {
    let invalid = |field: &str, message: &str, code: &str| {
        (
            field.to_owned(),
            ErrorDetail {
                string: message.to_owned(),
                code: code.to_owned(),
            },
        )
    };
    match body.remove("component") {
        None => {}
        Some(Value::String(component)) if component == stage.component() => {}
        Some(_) => {
            return Err(invalid(
                NON_FIELD_ERRORS,
                &format!(
                    "This response is for another stage; the current stage is {}.",
                    stage.component()
                ),
                "invalid_component",
            ));
        }
    }
    if body.len() > MAX_RESPONSE_FIELDS {
        return Err(invalid(
            NON_FIELD_ERRORS,
            &format!("At most {MAX_RESPONSE_FIELDS} fields are accepted."),
            "too_many_fields",
        ));
    }
    let mut inputs = std::collections::BTreeMap::new();
    let mut action_id = None;
    for (key, value) in body {
        if key == FALLBACK_KEY && stage.credential_key().is_some() {
            if value == Value::Bool(true) {
                action_id = Some(flow_engine::ACTION_FALLBACK.to_owned());
            }
            continue;
        }
        let text = match value {
            Value::Null => continue,
            // A passkey ceremony's credential is an object: the engine reads its JSON.
            credential @ Value::Object(_) if stage.credential_key() == Some(key.as_str()) => {
                credential.to_string()
            }
            Value::String(text) => text,
            Value::Bool(flag) => flag.to_string(),
            Value::Number(number) => number.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return Err(invalid(&key, "Not a valid string.", "invalid"));
            }
        };
        inputs.insert(stage.engine_field(&key).to_owned(), text);
    }
    Ok(Submission { action_id, inputs })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn responses_become_engine_inputs() {
        let submission = submission(
            Stage::Identification,
            object(json!({
                "component": "ak-stage-identification",
                "uid_field": "alice@example.com",
                "password": " secret ",
                "remember": true,
                "code": 123456,
                "captcha_token": null
            })),
        )
        .unwrap();
        assert_eq!(submission.inputs["identifier"], "alice@example.com");
        assert_eq!(submission.inputs["password"], " secret ");
        assert_eq!(submission.inputs["remember"], "true");
        assert_eq!(submission.inputs["code"], "123456");
        assert!(!submission.inputs.contains_key("captcha_token"));
        assert!(!submission.inputs.contains_key("component"));
    }

    #[test]
    fn numeric_codes_get_their_leading_zeros_back() {
        let mut code = flow_engine::Field::new("code", FieldKind::Code, "Code", true);
        code.hints.min_length = Some(6);
        code.hints.max_length = Some(6);
        let form = Form {
            node_id: "totp".into(),
            step: 0,
            purpose: FormPurpose::EnrollTotp,
            user_hint: None,
            fields: vec![code],
            actions: Vec::new(),
            errors: Vec::new(),
            totp: None,
            passkey: None,
            social: None,
        };
        let mut body = object(json!({"code": 1234, "other": 7}));
        restore_leading_zeros(Stage::TotpSetup, &form, &mut body);
        assert_eq!(body["code"], json!("001234"));
        assert_eq!(body["other"], json!(7), "only fixed-length code fields");
        let mut body = object(json!({"code": "0042"}));
        restore_leading_zeros(Stage::TotpSetup, &form, &mut body);
        assert_eq!(body["code"], json!("0042"), "strings are left as sent");
    }

    #[test]
    fn a_response_for_another_stage_or_with_objects_is_refused() {
        let (field, detail) = submission(
            Stage::Password,
            object(json!({"component": "ak-stage-identification", "password": "x"})),
        )
        .unwrap_err();
        assert_eq!(field, NON_FIELD_ERRORS);
        assert_eq!(detail.code, "invalid_component");
        let (field, detail) =
            submission(Stage::Prompt, object(json!({"given_name": {"a": 1}}))).unwrap_err();
        assert_eq!(
            (field.as_str(), detail.code.as_str()),
            ("given_name", "invalid")
        );
        let many: Map<String, Value> = (0..=MAX_RESPONSE_FIELDS)
            .map(|i| (format!("f{i}"), json!("x")))
            .collect();
        assert_eq!(
            submission(Stage::Prompt, many).unwrap_err().1.code,
            "too_many_fields"
        );
        assert!(submission(Stage::Password, object(json!({"password": "x"}))).is_ok());
    }
}
