//! What each operation does: the dispatch over `Op` and the built-in step implementations.

use flow_compiler::{Completion, MergedPassword, Op, PasswordPolicy, Program, Step, SwitchCase};
use flow_model::{FlowType, IdentifierType, MfaMethod, PromptField, PromptFieldType};
use serde_json::{Map, Value};

use crate::engine::{ACCOUNT_LOCKED, Next, StepResult, TOO_MANY_ATTEMPTS, UNSUPPORTED_STEP};
use crate::expr::ExprError;
use crate::forms::{self, At, required, with_errors};
use crate::handler::{HandlerContext, HandlerOutcome};
use crate::invitation::{self, MAX_CODE_CHARS};
use crate::outcome::{
    FIELD_CODE, FIELD_CONFIRMATION_CODE, FIELD_IDENTIFIER, FIELD_PASSWORD, FIELD_PASSWORD_CONFIRM,
};
use crate::password::{MAX_PASSWORD_BYTES, Verified, policy_violation};
use crate::ports::{CodeCheck, InvitationState, OutgoingMessage, StoredCode};
use crate::totp;
use crate::{
    DEFAULT_TOTP_ISSUER, Engine, EngineError, Execution, FieldError, Form, NewUser, Outcome,
    PendingCode, PortError, Submission, TenantId, TotpCredential, TotpEnrollment, TotpSecret,
    UserId, code, identifier,
};

/// The failure code of a step that needs a signed-in user and has none (`enroll_totp`).
pub const SIGN_IN_REQUIRED: &str = "sign_in_required";

/// The failure code of a `verify_mfa` step for a user without any factor it accepts.
pub const MFA_NOT_CONFIGURED: &str = "mfa_not_configured";

/// The field error code of an identifier holding an invisible or control character (a
/// zero-width space, a joiner, a bidi override, ...): refused, never silently removed.
pub const IDENTIFIER_INVALID_CHARACTERS: &str = "identifier_invalid_characters";

/// The authentication method of an authenticator app's code.
pub(crate) const METHOD_TOTP: &str = "totp";

/// The message of a wrong password, the same for an unknown user.
const INVALID_CREDENTIALS: &str = "The identifier or password is incorrect.";

/// The message of a user locked by the per-user limit.
const ACCOUNT_LOCKED_MESSAGE: &str = "Too many failed sign-ins. Try again later.";

/// The channel a message step uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Email,
    Sms,
}

impl Engine {
    /// Runs one step. `input` is the submission for a step that was waiting for it.
    pub(crate) fn execute(
        &self,
        execution: &mut Execution,
        program: &Program,
        index: usize,
        step: &Step,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let node_id = step.node_id.as_str();
        match &step.op {
            Op::IdentifyUser {
                identifier_types,
                verify_password,
            } => self.identify_user(
                execution,
                index,
                node_id,
                identifier_types,
                verify_password.is_some(),
                input,
            ),
            Op::CollectIdentifier {
                identifier_types,
                new_password,
            } => self.collect_identifier(
                execution,
                index,
                node_id,
                identifier_types,
                new_password.as_ref(),
                input,
            ),
            Op::RedeemInvitation => self.redeem_invitation(execution, index, node_id, input),
            Op::VerifyPassword => self.verify_password(execution, index, node_id, input),
            Op::SetPassword(policy) => self.set_password(execution, index, node_id, *policy, input),
            Op::VerifyOtp { label } => {
                self.verify_otp(execution, index, node_id, label.as_deref(), input)
            }
            Op::Prompt { fields } => Ok(prompt(execution, index, node_id, fields, input)),
            Op::SendEmail {
                template,
                with_code,
            } => self.send_message(execution, node_id, Channel::Email, template, *with_code),
            Op::SendSms {
                template,
                with_code,
            } => self.send_message(execution, node_id, Channel::Sms, template, *with_code),
            Op::SetAttribute { attribute, value } => {
                set_path(&mut execution.attributes, attribute, value.clone());
                Ok(StepResult::advance("set"))
            }
            Op::Custom { node_type, config } => {
                self.custom(execution, index, node_id, node_type, config, input)
            }
            Op::Jump { target } => Ok(StepResult::new(Next::Goto(*target), "jump")),
            Op::Branch {
                condition,
                if_true,
                if_false,
            } => {
                let variables = self.variables(execution)?;
                Ok(match self.expressions.condition(condition, &variables) {
                    Ok(true) => StepResult::new(Next::Goto(*if_true), "true"),
                    Ok(false) => StepResult::new(Next::Goto(*if_false), "false"),
                    Err(error @ ExprError::TooCostly(_)) => too_costly(&error),
                    // An expression that cannot be evaluated counts as false, visibly.
                    Err(error) => StepResult::new(Next::Goto(*if_false), "false")
                        .with_detail(format!("condition error: {error}")),
                })
            }
            Op::Switch {
                expression,
                cases,
                default,
            } => {
                let variables = self.variables(execution)?;
                Ok(switch(
                    self.expressions.switch_value(expression, &variables),
                    cases,
                    *default,
                ))
            }
            Op::Succeed {
                completion,
                sign_in,
                redirect_url,
                message,
            } => self.succeed(
                execution,
                program,
                *completion,
                *sign_in,
                redirect_url.clone(),
                message.clone(),
            ),
            Op::Fail { code, message } => Ok(StepResult::fail(
                code,
                message
                    .clone()
                    .unwrap_or_else(|| "The flow could not be completed.".to_owned()),
            )),
            Op::EnrollTotp {
                issuer,
                digits,
                period,
            } => self.enroll_totp(
                execution,
                index,
                node_id,
                issuer.as_deref(),
                u32::from(*digits),
                *period,
                input,
            ),
            Op::VerifyMfa { methods } => self.verify_mfa(execution, index, node_id, methods, input),
            Op::SelectSocialProvider { .. }
            | Op::WebauthnRegister { .. }
            | Op::WebauthnAuthenticate { .. }
            | Op::CallWebhook { .. } => Ok(unsupported(step.op.name())),
        }
    }

    fn identify_user(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        accepted: &[IdentifierType],
        with_password: bool,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let at = At::new(index, node_id);
        let form = |value: Option<&str>, errors: Vec<FieldError>| {
            with_errors(forms::identify(&at, accepted, with_password, value), errors)
        };
        let Some(input) = input else {
            return Ok(StepResult::wait(
                form(execution.identifier.as_deref(), Vec::new()),
                "prompt",
            ));
        };
        let typed = input.value(FIELD_IDENTIFIER);
        let password = input.raw(FIELD_PASSWORD);
        let mut errors = Vec::new();
        if typed.is_none() {
            errors.push(required(FIELD_IDENTIFIER));
        }
        if with_password && password.is_none() {
            errors.push(required(FIELD_PASSWORD));
        }
        if !errors.is_empty() {
            return Ok(StepResult::wait(form(typed, errors), "rejected:required"));
        }
        let typed = typed.unwrap_or_default();
        let normalized = match identifier::normalize(typed, accepted) {
            Ok(normalized) => normalized,
            Err(refusal) => {
                let error = refused_identifier(refusal, accepted);
                let result = format!("rejected:{}", error.code);
                return Ok(StepResult::wait(form(Some(typed), vec![error]), result));
            }
        };
        let user = self
            .ports
            .users
            .find_by_identifier(&execution.tenant, &normalized)?;
        let known = user.is_some();
        execution.user_id = user.map(|user| user.id);
        execution.identifier = Some(normalized.clone());
        if with_password {
            let form = form(Some(&normalized), Vec::new());
            return self.check_password(execution, password.unwrap_or_default(), form);
        }
        let result = StepResult::advance("accepted");
        Ok(if known {
            result
        } else {
            result.with_detail("unknown identifier")
        })
    }

    /// Asks for an invitation's confirmation code and checks it: a pending invitation fixes
    /// the identifier of the account to create (it is consumed only when the account is
    /// created); an unknown, revoked, used or expired one is a wrong code, which spends an
    /// attempt like any other.
    fn redeem_invitation(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let at = At::new(index, node_id);
        let form = forms::invitation_code(&at);
        let candidate = match typed(&form, input, FIELD_CONFIRMATION_CODE, Typed::Trimmed) {
            Ok(candidate) => candidate,
            Err(wait) => return Ok(*wait),
        };
        let found = if candidate.chars().count() <= MAX_CODE_CHARS {
            self.ports
                .invitations
                .invitation_by_code(&execution.tenant, &invitation::code_hash(candidate))?
        } else {
            None
        };
        let now = self.ports.clock.now_secs();
        let (error_code, message) = match found {
            Some(invitation) if invitation.state(now) == InvitationState::Pending => {
                if self.identifier_taken(&execution.tenant, &invitation.email)? {
                    return Ok(StepResult::fail(
                        "identifier_taken",
                        "An account with this e-mail address already exists. Sign in instead.",
                    ));
                }
                execution.identifier = Some(invitation.email);
                execution.invitation = Some(invitation.id);
                return Ok(StepResult::advance("accepted"));
            }
            Some(invitation) => match invitation.state(now) {
                InvitationState::Expired => ("code_expired", "The invitation has expired."),
                InvitationState::Used => {
                    ("invitation_used", "The invitation has already been used.")
                }
                InvitationState::Revoked | InvitationState::Pending => {
                    ("invalid_code", "The code is incorrect.")
                }
            },
            None => ("invalid_code", "The code is incorrect."),
        };
        let rejected = with_errors(
            form,
            vec![FieldError::on(FIELD_CONFIRMATION_CODE, error_code, message)],
        );
        Ok(self.failed_attempt(execution, "code", rejected, error_code))
    }

    fn verify_password(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let at = At::new(index, node_id).hinting(execution.identifier.as_deref());
        let form = forms::verify_password(&at);
        let password = match typed(&form, input, FIELD_PASSWORD, Typed::Raw) {
            Ok(password) => password,
            Err(wait) => return Ok(*wait),
        };
        self.check_password(execution, password, form)
    }

    /// Verifies `password` for the identified user (or the dummy hash for an unknown one) and
    /// keeps the per-user limit: a locked user is refused with `account_locked` without
    /// looking at the password (the dummy hash is verified instead, so the answer takes as
    /// long); a wrong password of an existing user is recorded and may lock the user; a right
    /// one resets the count. `form` is the prompt to show again, without errors.
    fn check_password(
        &self,
        execution: &mut Execution,
        password: &str,
        form: Form,
    ) -> Result<StepResult, EngineError> {
        let now = self.ports.clock.now_secs();
        let limited = self.config.user_max_failures > 0;
        let failed = match &execution.user_id {
            Some(id) if limited => {
                self.ports
                    .login_attempts
                    .failed_logins(&execution.tenant, id, now)?
            }
            _ => None,
        };
        let locked = failed.is_some_and(|failed| failed.locked_until.is_some());
        let stored = match &execution.user_id {
            Some(id) if !locked => self.ports.users.password_hash(&execution.tenant, id)?,
            _ => None,
        };
        let verified = if password.len() <= MAX_PASSWORD_BYTES {
            self.passwords.verify(password, stored.as_deref())
        } else {
            Verified::No
        };
        if verified.matched()
            && !locked
            && let Some(id) = &execution.user_id
        {
            if failed.is_some() {
                self.ports.login_attempts.reset(&execution.tenant, id)?;
            }
            if verified == Verified::YesRehash {
                // A hash made with another cost (or an older variant): re-made now that the
                // password is known, so that a raised cost reaches every user who signs in.
                let hash = self.passwords.hash(password)?;
                self.ports
                    .users
                    .set_password_hash(&execution.tenant, id, &hash)?;
            }
            add_method(execution, "password");
            return Ok(StepResult::advance("accepted"));
        }
        if locked {
            let rejected = with_errors(form, vec![account_locked()]);
            return Ok(self.failed_attempt(execution, "password", rejected, ACCOUNT_LOCKED));
        }
        if let (Some(id), true) = (&execution.user_id, limited)
            && self.record_user_failure(&execution.tenant, id, now)?
        {
            let rejected = with_errors(form, vec![account_locked()]);
            return Ok(self
                .failed_attempt(execution, "password", rejected, ACCOUNT_LOCKED)
                .with_detail("user locked"));
        }
        let rejected = with_errors(form, vec![invalid_credentials()]);
        Ok(self.failed_attempt(execution, "password", rejected, "invalid_credentials"))
    }

    /// Records a failed sign-in of an existing user; at the per-user limit it locks the user
    /// for [`EngineConfig::user_lock_secs`](crate::EngineConfig::user_lock_secs) and says so.
    fn record_user_failure(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: i64,
    ) -> Result<bool, EngineError> {
        let attempts = &self.ports.login_attempts;
        let count =
            attempts.record_failure(tenant, user, now, self.config.user_failure_window_secs)?;
        if count < self.config.user_max_failures {
            return Ok(false);
        }
        attempts.lock(tenant, user, now.saturating_add(self.config.user_lock_secs))?;
        metrics::counter!("flowd_user_lockouts_total").increment(1);
        Ok(true)
    }

    /// Counts a failed attempt; at the limit the execution fails with `too_many_attempts`.
    fn failed_attempt(
        &self,
        execution: &mut Execution,
        kind: &str,
        rejected: Form,
        code: &str,
    ) -> StepResult {
        let count = execution.attempts.entry(kind.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        if *count >= self.config.max_attempts {
            StepResult::fail(
                TOO_MANY_ATTEMPTS,
                "Too many failed attempts. Please start again later.",
            )
        } else {
            StepResult::wait(rejected, format!("rejected:{code}"))
        }
    }

    fn collect_identifier(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        accepted: &[IdentifierType],
        merged: Option<&MergedPassword>,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let at = At::new(index, node_id);
        let policy = merged.map(|merged| merged.policy);
        if execution.invitation.is_some() && execution.identifier.is_some() {
            // The redeemed invitation fixed the identifier: only a merged password is asked.
            return match policy {
                Some(policy) => self.set_password(execution, index, node_id, policy, input),
                None => {
                    Ok(StepResult::advance("accepted").with_detail("identifier of the invitation"))
                }
            };
        }
        let form = |value: Option<&str>, errors: Vec<FieldError>| {
            with_errors(
                forms::collect_identifier(&at, accepted, policy, value),
                errors,
            )
        };
        let Some(input) = input else {
            return Ok(StepResult::wait(
                form(execution.identifier.as_deref(), Vec::new()),
                "prompt",
            ));
        };
        let typed = input.value(FIELD_IDENTIFIER);
        let mut errors = Vec::new();
        if typed.is_none() {
            errors.push(required(FIELD_IDENTIFIER));
        }
        let normalized = match typed.map(|typed| identifier::normalize(typed, accepted)) {
            Some(Ok(normalized)) => Some(normalized),
            Some(Err(refusal)) => {
                errors.push(refused_identifier(refusal, accepted));
                None
            }
            None => None,
        };
        if let Some(normalized) = &normalized
            && self.identifier_taken(&execution.tenant, normalized)?
        {
            errors.push(identifier_taken());
        }
        let password = match policy {
            Some(policy) => new_password(input, policy, normalized.as_deref(), &mut errors),
            None => None,
        };
        if let (false, Some(first)) = (errors.is_empty(), errors.first()) {
            let result = format!("rejected:{}", first.code);
            return Ok(StepResult::wait(form(typed, errors), result));
        }
        if let Some(password) = password {
            execution.new_password_hash = Some(self.passwords.hash(password)?);
        }
        execution.identifier = normalized;
        Ok(StepResult::advance("accepted"))
    }

    fn set_password(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        policy: PasswordPolicy,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let at = At::new(index, node_id).hinting(execution.identifier.as_deref());
        let form = forms::set_password(&at, policy);
        let Some(input) = input else {
            return Ok(StepResult::wait(form, "prompt"));
        };
        let mut errors = Vec::new();
        let password = new_password(input, policy, execution.identifier.as_deref(), &mut errors);
        match (password, errors.first()) {
            (Some(password), None) => {
                execution.new_password_hash = Some(self.passwords.hash(password)?);
                Ok(StepResult::advance("accepted"))
            }
            (_, first) => {
                let result = format!(
                    "rejected:{}",
                    first.map_or("required", |error| error.code.as_str())
                );
                Ok(StepResult::wait(with_errors(form, errors), result))
            }
        }
    }

    fn verify_otp(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        label: Option<&str>,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let at = At::new(index, node_id).hinting(execution.identifier.as_deref());
        let form = forms::code(&at, label);
        let candidate = match typed(&form, input, FIELD_CODE, Typed::Trimmed) {
            Ok(candidate) => candidate,
            Err(wait) => return Ok(*wait),
        };
        let Some(pending) = execution.pending_code.clone() else {
            return Ok(StepResult::fail(
                "no_code_sent",
                "No code was sent in this flow. Please start again.",
            ));
        };
        let now = self.ports.clock.now_secs();
        let key = pending.key.as_str();
        let check = self
            .ports
            .codes
            .verify(&execution.tenant, key, now, &|stored| {
                code::matches(&stored.hash, key, candidate)
            })?;
        let (error_code, message) = match check {
            CodeCheck::Valid => {
                execution.pending_code = None;
                add_method(execution, &pending.method);
                return Ok(StepResult::advance("accepted"));
            }
            CodeCheck::Expired => ("code_expired", "The code has expired."),
            CodeCheck::Invalid { .. } | CodeCheck::Missing => {
                ("invalid_code", "The code is incorrect.")
            }
        };
        let rejected = with_errors(form, vec![FieldError::on(FIELD_CODE, error_code, message)]);
        Ok(self.failed_attempt(execution, "code", rejected, error_code))
    }

    /// Sets up an authenticator app for the authenticated user: shows a fresh secret (kept in
    /// the execution until then) and, once a code of it matches, stores it with the user,
    /// adds `totp` to the user's second factors and to the execution's methods.
    #[allow(clippy::too_many_arguments)]
    fn enroll_totp(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        issuer: Option<&str>,
        digits: u32,
        period: u32,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let (Some(user_id), Some(identifier), false) = (
            execution.user_id.clone(),
            execution.identifier.clone(),
            execution.methods.is_empty(),
        ) else {
            return Ok(StepResult::fail(
                SIGN_IN_REQUIRED,
                "Sign in before setting up an authenticator.",
            ));
        };
        let secret = match &execution.totp_secret {
            Some(secret) => secret.clone(),
            None => {
                let secret = TotpSecret::generate(self.ports.random.as_ref());
                execution.totp_secret = Some(secret.clone());
                secret
            }
        };
        let enrollment = TotpEnrollment {
            uri: totp::otpauth_uri(
                &secret,
                issuer.unwrap_or(DEFAULT_TOTP_ISSUER),
                &identifier,
                digits,
                period,
            ),
            secret: secret.to_base32(),
            digits,
            period,
        };
        let at = At::new(index, node_id).hinting(Some(&identifier));
        let form = forms::enroll_totp(&at, enrollment);
        let candidate = match typed(&form, input, FIELD_CODE, Typed::Trimmed) {
            Ok(candidate) => candidate,
            Err(wait) => return Ok(*wait),
        };
        let now = self.ports.clock.now_secs();
        let Some(step) = totp::matching_step(&secret, digits, period, candidate, now) else {
            let rejected = with_errors(form, vec![invalid_code()]);
            return Ok(self.failed_attempt(execution, "code", rejected, "invalid_code"));
        };
        let credential = TotpCredential {
            secret,
            digits,
            period,
            // The code just typed is used: it cannot sign in again.
            last_step: Some(step),
            created_at: now,
        };
        let users = &self.ports.users;
        users.set_totp_credential(&execution.tenant, &user_id, &credential)?;
        users.add_mfa_method(&execution.tenant, &user_id, METHOD_TOTP)?;
        execution.totp_secret = None;
        add_method(execution, METHOD_TOTP);
        Ok(StepResult::advance("accepted"))
    }

    /// Asks for a second factor the step accepts and the user has (an authenticator app's
    /// code for now). A code is accepted once: its time step must be newer than the last
    /// accepted one, recorded atomically by the directory.
    fn verify_mfa(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        methods: &[MfaMethod],
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let credential = match (&execution.user_id, methods.contains(&MfaMethod::Totp)) {
            (Some(id), true) => self.ports.users.totp_credential(&execution.tenant, id)?,
            _ => None,
        };
        let (Some(user_id), Some(credential)) = (execution.user_id.clone(), credential) else {
            return Ok(StepResult::fail(
                MFA_NOT_CONFIGURED,
                "No second factor that this sign-in accepts is set up for this account.",
            ));
        };
        let at = At::new(index, node_id).hinting(execution.identifier.as_deref());
        let form = forms::verify_mfa(&at, credential.digits);
        let candidate = match typed(&form, input, FIELD_CODE, Typed::Trimmed) {
            Ok(candidate) => candidate,
            Err(wait) => return Ok(*wait),
        };
        let now = self.ports.clock.now_secs();
        let accepted = match credential.matching_step(candidate, now) {
            Some(step) => self
                .ports
                .users
                .accept_totp_step(&execution.tenant, &user_id, step)?,
            None => false,
        };
        if !accepted {
            let rejected = with_errors(form, vec![invalid_code()]);
            return Ok(self.failed_attempt(execution, "code", rejected, "invalid_code"));
        }
        add_method(execution, METHOD_TOTP);
        Ok(StepResult::advance("accepted"))
    }

    fn send_message(
        &self,
        execution: &mut Execution,
        node_id: &str,
        channel: Channel,
        template: &str,
        with_code: bool,
    ) -> Result<StepResult, EngineError> {
        let sms = match channel {
            Channel::Email => None,
            Channel::Sms => match &self.ports.sms {
                Some(sms) => Some(sms.clone()),
                None => return Ok(unsupported("send_sms")),
            },
        };
        let recipient = self.recipient(execution, channel)?;
        // A code is made and stored whether or not there is anyone to send it to, so that an
        // unknown identifier walks the same steps as a known one.
        let code = if with_code {
            let code = code::generate(self.ports.random.as_ref());
            let key = format!("{}:{node_id}", execution.id);
            let stored = StoredCode {
                hash: code::seal(self.ports.random.as_ref(), &key, &code),
                expires_at: self
                    .ports
                    .clock
                    .now_secs()
                    .saturating_add(self.config.code_ttl_secs),
                attempts_left: self.config.max_attempts,
            };
            self.ports.codes.put(&execution.tenant, &key, stored)?;
            let method = match channel {
                Channel::Email => "email_otp",
                Channel::Sms => "sms_otp",
            };
            execution.pending_code = Some(PendingCode {
                key,
                method: method.to_owned(),
            });
            Some(code)
        } else {
            None
        };
        let Some(to) = recipient else {
            return Ok(StepResult::advance("skipped").with_detail("no recipient"));
        };
        let message = OutgoingMessage {
            tenant: execution.tenant.clone(),
            template: template.to_owned(),
            to,
            code,
            link: None,
            execution_id: Some(execution.id),
            locale: execution.request.locale.clone(),
        };
        match sms {
            Some(sms) => sms.send(&message)?,
            None => self.ports.mailer.send(&message)?,
        }
        Ok(StepResult::advance("sent"))
    }

    /// The address to send to: the user's `email`/`phone` attribute or identifier, or for a
    /// user not created yet, the collected identifier or attribute.
    fn recipient(
        &self,
        execution: &Execution,
        channel: Channel,
    ) -> Result<Option<String>, EngineError> {
        let (attribute, fits): (&str, fn(&str) -> bool) = match channel {
            Channel::Email => ("email", identifier::is_email),
            Channel::Sms => ("phone", |text| {
                identifier::normalize(text, &[IdentifierType::Phone]).is_ok()
            }),
        };
        let pick = |attributes: &Map<String, Value>, identifier: &str| {
            attributes
                .get(attribute)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| fits(identifier).then(|| identifier.to_owned()))
        };
        if let Some(id) = &execution.user_id {
            let user = self.ports.users.get(&execution.tenant, id)?;
            return Ok(user.and_then(|user| pick(&user.attributes, &user.identifier)));
        }
        if execution.program.flow_type.creates_user() {
            let identifier = execution.identifier.as_deref().unwrap_or_default();
            return Ok(pick(&execution.attributes, identifier));
        }
        Ok(None)
    }

    fn custom(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        node_type: &str,
        config: &Value,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let Some(handler) = self.handlers.get(node_type) else {
            return Ok(unsupported(node_type));
        };
        let mut context = HandlerContext {
            tenant: &execution.tenant,
            execution_id: &execution.id,
            node_id,
            step: index,
            user_id: execution.user_id.as_ref(),
            request: &execution.request,
            attributes: &mut execution.attributes,
            methods: &mut execution.methods,
            now_secs: self.ports.clock.now_secs(),
        };
        Ok(match handler.run(&mut context, config, input)? {
            HandlerOutcome::Continue => StepResult::advance("accepted"),
            HandlerOutcome::Prompt(mut form) => {
                form.step = index;
                form.node_id = node_id.to_owned();
                StepResult::wait(form, "prompt")
            }
            HandlerOutcome::Fail { code, message } => StepResult::fail(&code, message),
        })
    }

    fn succeed(
        &self,
        execution: &mut Execution,
        program: &Program,
        completion: Completion,
        sign_in: bool,
        redirect_url: Option<String>,
        message: Option<String>,
    ) -> Result<StepResult, EngineError> {
        let authenticated = execution.user_id.is_some() && !execution.methods.is_empty();
        let not_authenticated = || {
            StepResult::fail(
                "not_authenticated",
                "The flow ended without verifying who you are.",
            )
        };
        match completion {
            Completion::Authenticate => {
                if !authenticated {
                    return Ok(not_authenticated());
                }
            }
            Completion::CreateUser => {
                if let Some(result) = self.create_user(execution, program)? {
                    return Ok(result);
                }
            }
            Completion::UpdatePassword => {
                let (Some(id), Some(hash), true) = (
                    &execution.user_id,
                    &execution.new_password_hash,
                    authenticated,
                ) else {
                    return Ok(not_authenticated());
                };
                self.ports
                    .users
                    .set_password_hash(&execution.tenant, id, hash)?;
                // Proving the account again (by code) lifts a lock and clears the count, so a
                // user locked out by someone else's guesses has a way back in.
                self.ports.login_attempts.reset(&execution.tenant, id)?;
            }
            Completion::StoreFactor => {
                let (Some(id), true) = (&execution.user_id, authenticated) else {
                    return Ok(not_authenticated());
                };
                self.ports
                    .users
                    .set_attributes(&execution.tenant, id, &execution.attributes)?;
            }
        }
        Ok(StepResult::new(
            Next::End(Outcome::Complete {
                user_id: execution.user_id.clone(),
                flow_type: execution.program.flow_type,
                methods: execution.methods.clone(),
                attributes: execution.attributes.clone(),
                sign_in,
                redirect_url,
                message,
            }),
            "completed",
        ))
    }

    /// Whether a new account may not have `normalized` as its identifier: an account has it,
    /// or one whose identifier looks like it (the same confusable skeleton, UTS #39). Both
    /// answer `identifier_taken`, so a look-alike tells no more than a duplicate.
    fn identifier_taken(&self, tenant: &TenantId, normalized: &str) -> Result<bool, PortError> {
        let users = &self.ports.users;
        Ok(users.find_by_identifier(tenant, normalized)?.is_some()
            || users.skeleton_taken(tenant, &identifier::identifier_skeleton(normalized))?)
    }

    /// Creates the user; `Some` result when it cannot (and the flow goes back or fails).
    fn create_user(
        &self,
        execution: &mut Execution,
        program: &Program,
    ) -> Result<Option<StepResult>, EngineError> {
        let Some(identifier) = execution.identifier.clone() else {
            return Ok(Some(StepResult::fail(
                "no_identifier",
                "The flow ended without an identifier for the new account.",
            )));
        };
        let mut attributes = execution.attributes.clone();
        if identifier::is_email(&identifier) && !attributes.contains_key("email") {
            attributes.insert("email".to_owned(), Value::String(identifier.clone()));
        }
        let invitation = execution.invitation.clone();
        // Programs compiled before invitations existed (or written by hand) may lack the
        // redeeming step: an invited registration never creates an account without one.
        if execution.program.flow_type == FlowType::InvitedRegistration && invitation.is_none() {
            return Ok(Some(StepResult::fail(
                "invitation_required",
                "An invitation is required to create this account.",
            )));
        }
        if let Some(id) = &invitation {
            // Consumed before the account exists, atomically: of two executions holding the
            // same code, only one gets past here.
            let now = self.ports.clock.now_secs();
            if !self
                .ports
                .invitations
                .consume_invitation(&execution.tenant, id, now)?
            {
                return Ok(Some(StepResult::fail(
                    "invitation_invalid",
                    "This invitation is no longer valid.",
                )));
            }
            // The code reached the invitee by mail: the address is proven.
            attributes.insert("email_verified".to_owned(), Value::Bool(true));
        }
        let new_user = NewUser {
            id: self.new_user_id(),
            identifier,
            password_hash: execution.new_password_hash.clone(),
            attributes,
            created_at: self.ports.clock.now_secs(),
        };
        let created = self.ports.users.create(&execution.tenant, new_user);
        if let (Err(_), Some(id)) = (&created, &invitation) {
            // No account came of it: the invitation may be used again. Best effort; should it
            // fail, the invitation stays used and an administrator invites again.
            let _ = self
                .ports
                .invitations
                .release_invitation(&execution.tenant, id);
        }
        match created {
            Ok(user) => {
                execution.user_id = Some(user.id);
                Ok(None)
            }
            Err(PortError::Duplicate) if invitation.is_some() => Ok(Some(StepResult::fail(
                "identifier_taken",
                "An account with this e-mail address already exists. Sign in instead.",
            ))),
            Err(PortError::Duplicate) => Ok(Some(self.back_to_identifier(execution, program))),
            Err(other) => Err(other.into()),
        }
    }

    /// Someone took the identifier since it was checked: show the identifier step again with
    /// `identifier_taken` (the flow goes on from there).
    fn back_to_identifier(&self, execution: &Execution, program: &Program) -> StepResult {
        let found = program
            .steps
            .iter()
            .enumerate()
            .find_map(|(index, step)| match &step.op {
                Op::CollectIdentifier {
                    identifier_types,
                    new_password,
                } => Some((index, step, identifier_types, new_password)),
                _ => None,
            });
        let Some((index, step, accepted, merged)) = found else {
            return StepResult::fail("identifier_taken", "This account already exists.");
        };
        let at = At::new(index, &step.node_id);
        let form = forms::collect_identifier(
            &at,
            accepted,
            merged.as_ref().map(|merged| merged.policy),
            execution.identifier.as_deref(),
        );
        StepResult::wait(
            with_errors(form, vec![identifier_taken()]),
            "rejected:identifier_taken",
        )
    }
}

/// The error of a wrong (or already used) one-time code.
fn invalid_code() -> FieldError {
    FieldError::on(FIELD_CODE, "invalid_code", "The code is incorrect.")
}

fn invalid_credentials() -> FieldError {
    FieldError::on(FIELD_PASSWORD, "invalid_credentials", INVALID_CREDENTIALS)
}

/// The error of a user locked by the per-user limit: it says so (see `docs/operating.md` for
/// why revealing the lock is acceptable).
fn account_locked() -> FieldError {
    FieldError::on(FIELD_PASSWORD, ACCOUNT_LOCKED, ACCOUNT_LOCKED_MESSAGE)
}

/// The field error of an identifier [`identifier::normalize`] refused.
fn refused_identifier(refusal: identifier::Refusal, accepted: &[IdentifierType]) -> FieldError {
    match refusal {
        identifier::Refusal::Invalid => FieldError::on(
            FIELD_IDENTIFIER,
            "invalid_identifier",
            &format!(
                "Enter a valid {}.",
                identifier::label(accepted).to_lowercase()
            ),
        ),
        identifier::Refusal::InvisibleCharacters => FieldError::on(
            FIELD_IDENTIFIER,
            IDENTIFIER_INVALID_CHARACTERS,
            "Remove the invisible or control characters from the identifier.",
        ),
    }
}

fn identifier_taken() -> FieldError {
    FieldError::on(
        FIELD_IDENTIFIER,
        "identifier_taken",
        "An account with this identifier already exists.",
    )
}

fn unsupported(what: &str) -> StepResult {
    StepResult::fail(
        UNSUPPORTED_STEP,
        format!("This flow uses a step ({what}) that this server does not support yet."),
    )
}

fn add_method(execution: &mut Execution, method: &str) {
    if !execution.methods.iter().any(|done| done == method) {
        execution.methods.push(method.to_owned());
    }
}

/// Reads and checks a new password (and its confirmation); errors go to `errors`.
fn new_password<'s>(
    input: &'s Submission,
    policy: PasswordPolicy,
    identifier: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<&'s str> {
    let Some(password) = input.raw(FIELD_PASSWORD) else {
        errors.push(required(FIELD_PASSWORD));
        return None;
    };
    if let Some(violation) = policy_violation(password, policy, identifier) {
        errors.push(FieldError::on(
            FIELD_PASSWORD,
            violation.code(),
            &violation.message(),
        ));
        return None;
    }
    if policy.confirm && input.raw(FIELD_PASSWORD_CONFIRM) != Some(password) {
        errors.push(FieldError::on(
            FIELD_PASSWORD_CONFIRM,
            "password_mismatch",
            "The passwords do not match.",
        ));
        return None;
    }
    Some(password)
}

/// The prompt step: show the fields, then check and store the answers as attributes.
fn prompt(
    execution: &mut Execution,
    index: usize,
    node_id: &str,
    fields: &[PromptField],
    input: Option<&Submission>,
) -> StepResult {
    let at = At::new(index, node_id).hinting(execution.identifier.as_deref());
    let Some(input) = input else {
        let attributes = &execution.attributes;
        let form = forms::prompt(&at, fields, |name| match attributes.get(name) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        });
        return StepResult::wait(form, "prompt");
    };
    let mut errors = Vec::new();
    let mut answers = Map::new();
    for field in fields {
        match answer(field, input.value(&field.name)) {
            Ok(Some(value)) => {
                answers.insert(field.name.clone(), value);
            }
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
    }
    if let Some(first) = errors.first() {
        let result = format!("rejected:{}", first.code);
        let form = forms::prompt(&at, fields, |name| input.value(name).map(str::to_owned));
        return StepResult::wait(with_errors(form, errors), result);
    }
    execution.attributes.extend(answers);
    StepResult::advance("accepted")
}

/// One prompt answer as a JSON value; `None` for an optional field left empty.
fn answer(field: &PromptField, value: Option<&str>) -> Result<Option<Value>, FieldError> {
    let name = field.name.as_str();
    let invalid = |code: &str, message: &str| Err(FieldError::on(name, code, message));
    if field.field_type == PromptFieldType::Checkbox {
        let checked = matches!(value, Some("true" | "on" | "1" | "yes"));
        if field.required && !checked {
            return Err(required(name));
        }
        return Ok(Some(Value::Bool(checked)));
    }
    let Some(value) = value else {
        return if field.required {
            Err(required(name))
        } else {
            Ok(None)
        };
    };
    if value.len() > 1024 {
        return invalid("too_long", "The answer is too long.");
    }
    match field.field_type {
        PromptFieldType::Number => match value.parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(Some(
                serde_json::Number::from_f64(number)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
            )),
            _ => invalid("invalid_number", "Enter a number."),
        },
        PromptFieldType::Email if !identifier::is_email(value) => {
            invalid("invalid_email", "Enter a valid e-mail address.")
        }
        PromptFieldType::Telephone
            if identifier::normalize(value, &[IdentifierType::Phone]).is_err() =>
        {
            invalid("invalid_phone", "Enter a valid phone number.")
        }
        PromptFieldType::Date if !is_date(value) => {
            invalid("invalid_date", "Enter a date as YYYY-MM-DD.")
        }
        PromptFieldType::Dropdown if !field.options.iter().any(|option| option == value) => {
            invalid("invalid_choice", "Choose one of the options.")
        }
        _ => Ok(Some(Value::String(value.to_owned()))),
    }
}

/// Whether `text` is a plausible `YYYY-MM-DD` date.
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    let number = |part: &str, len: usize| {
        (part.len() == len && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    matches!(
        (number(year, 4), number(month, 2), number(day, 2)),
        (Some(_), Some(1..=12), Some(1..=31))
    )
}

/// Picks the switch target for an evaluated value (errors go to the default, visibly).
/// Ends the flow: an expression would cost too much with this execution's values. The
/// person sees a generic failure; the execution's trace carries the figures.
fn too_costly(error: &ExprError) -> StepResult {
    StepResult::fail(
        ExprError::TOO_COSTLY,
        "This step could not be completed. Please contact the site's administrator.",
    )
    .with_detail(error.to_string())
}

fn switch(value: Result<String, ExprError>, cases: &[SwitchCase], default: usize) -> StepResult {
    match value {
        Ok(value) => match cases.iter().find(|case| case.value == value) {
            Some(case) => StepResult::new(Next::Goto(case.target), format!("case:{}", case.value)),
            None => StepResult::new(Next::Goto(default), "default"),
        },
        Err(error @ ExprError::TooCostly(_)) => too_costly(&error),
        Err(error) => StepResult::new(Next::Goto(default), "default")
            .with_detail(format!("expression error: {error}")),
    }
}

/// Sets `path` (dot-separated) in `attributes`, creating objects on the way.
fn set_path(attributes: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut current = attributes;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_owned(), value);
            return;
        }
        let slot = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else {
            return;
        };
        current = next;
    }
}

/// How a typed value is read: trimmed (codes, identifiers) or exactly as sent (passwords).
#[derive(Clone, Copy)]
enum Typed {
    Trimmed,
    Raw,
}

/// The value typed into `field` of `form`, or the result that shows `form` again: as first
/// displayed when there is no submission yet, with `required` when the field is empty.
fn typed<'i>(
    form: &Form,
    input: Option<&'i Submission>,
    field: &str,
    how: Typed,
) -> Result<&'i str, Box<StepResult>> {
    let Some(input) = input else {
        return Err(Box::new(StepResult::wait(form.clone(), "prompt")));
    };
    let value = match how {
        Typed::Trimmed => input.value(field),
        Typed::Raw => input.raw(field),
    };
    value.ok_or_else(|| {
        Box::new(StepResult::wait(
            with_errors(form.clone(), vec![required(field)]),
            "rejected:required",
        ))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    #[test]
    fn set_path_nests_and_replaces() {
        let mut attributes = Map::new();
        set_path(&mut attributes, "a.b.c", json!(1));
        set_path(&mut attributes, "a.d", json!("x"));
        set_path(&mut attributes, "top", json!(true));
        assert_eq!(
            Value::Object(attributes.clone()),
            json!({"a": {"b": {"c": 1}, "d": "x"}, "top": true})
        );
        set_path(&mut attributes, "top.inner", json!(2));
        assert_eq!(attributes["top"], json!({"inner": 2}));
    }

    fn field(field_type: PromptFieldType, required: bool) -> PromptField {
        PromptField {
            name: "f".into(),
            field_type,
            label: None,
            placeholder: None,
            required,
            options: if field_type == PromptFieldType::Dropdown {
                vec!["a".into(), "b".into()]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn answers_are_typed_and_checked() {
        use PromptFieldType::*;
        assert_eq!(answer(&field(Text, false), None), Ok(None));
        assert_eq!(
            answer(&field(Text, true), None).unwrap_err().code,
            "required"
        );
        assert_eq!(
            answer(&field(Number, true), Some("42")),
            Ok(Some(json!(42.0)))
        );
        assert_eq!(
            answer(&field(Number, true), Some("x")).unwrap_err().code,
            "invalid_number"
        );
        assert_eq!(
            answer(&field(Checkbox, false), None),
            Ok(Some(json!(false)))
        );
        assert_eq!(
            answer(&field(Checkbox, true), Some("on")),
            Ok(Some(json!(true)))
        );
        assert_eq!(
            answer(&field(Checkbox, true), None).unwrap_err().code,
            "required"
        );
        assert_eq!(
            answer(&field(Dropdown, true), Some("c")).unwrap_err().code,
            "invalid_choice"
        );
        assert_eq!(
            answer(&field(Dropdown, true), Some("b")),
            Ok(Some(json!("b")))
        );
        assert_eq!(
            answer(&field(Date, true), Some("2024-13-01"))
                .unwrap_err()
                .code,
            "invalid_date"
        );
        assert_eq!(
            answer(&field(Date, true), Some("2024-02-29")),
            Ok(Some(json!("2024-02-29")))
        );
        assert_eq!(
            answer(&field(Email, true), Some("nope")).unwrap_err().code,
            "invalid_email"
        );
    }

    #[test]
    fn switch_picks_case_default_or_default_on_error() {
        let cases = vec![SwitchCase {
            value: "pro".into(),
            target: 7,
        }];
        let pick = |value| match switch(value, &cases, 9).next {
            Next::Goto(target) => target,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(pick(Ok("pro".into())), 7);
        assert_eq!(pick(Ok("free".into())), 9);
        assert_eq!(pick(Err(ExprError::Failed("boom".into()))), 9);
        assert!(
            switch(Err(ExprError::Failed("boom".into())), &cases, 9)
                .detail
                .is_some()
        );
    }
}
