//! The authenticator app steps: `enroll_totp` and `verify_mfa`.

use flow_model::MfaMethod;

use crate::engine::StepResult;
use crate::events::{EventDraft, EventKind};
use crate::forms::{self, At, with_errors};
use crate::outcome::{FIELD_CODE, FIELD_CREDENTIAL};
use crate::{
    DEFAULT_TOTP_ISSUER, Engine, EngineError, Execution, FieldError, Submission, TotpCredential,
    TotpEnrollment, TotpSecret, totp,
};

use super::passkey::{PasskeyStep, signed_in_with_passkey};
use super::{
    METHOD_TOTP, MFA_NOT_CONFIGURED, SIGN_IN_REQUIRED, Typed, add_method, signed_in_user, typed,
};

impl Engine {
    /// Sets up an authenticator app for the authenticated user: shows a fresh secret (kept in
    /// the execution until then) and, once a code of it matches, stores it with the user,
    /// adds `totp` to the user's second factors and to the execution's methods.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn enroll_totp(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        issuer: Option<&str>,
        digits: u32,
        period: u32,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let Some((user_id, identifier)) = signed_in_user(execution) else {
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
        Ok(StepResult::advance("accepted")
            .with_event(EventDraft::success(EventKind::CredentialAdded).because(METHOD_TOTP)))
    }

    /// Asks for a second factor the step accepts and the user has (an authenticator app's
    /// code for now). A code is accepted once: its time step must be newer than the last
    /// accepted one, recorded atomically by the directory.
    pub(super) fn verify_mfa(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        methods: &[MfaMethod],
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        // A passkey is possession and a verified user in one: a second factor adds nothing.
        if signed_in_with_passkey(execution) {
            return Ok(StepResult::advance("skipped").with_detail("signed in with a passkey"));
        }
        let credential = match (&execution.user_id, methods.contains(&MfaMethod::Totp)) {
            (Some(id), true) => self.ports.users.totp_credential(&execution.tenant, id)?,
            _ => None,
        };
        let passkeys = match (&execution.user_id, methods.contains(&MfaMethod::Webauthn)) {
            (Some(id), true) => self.ports.users.passkeys(&execution.tenant, id)?,
            _ => Vec::new(),
        };
        if credential.is_none() && !passkeys.is_empty() {
            // No authenticator app, but passkeys: one of them is the second factor.
            let step = PasskeyStep {
                index,
                node_id,
                fallback: None,
            };
            return self.authenticate_passkey(execution, &step, input);
        }
        let (Some(user_id), Some(credential)) = (execution.user_id.clone(), credential) else {
            return Ok(StepResult::fail(
                MFA_NOT_CONFIGURED,
                "No second factor that this sign-in accepts is set up for this account.",
            ));
        };
        let hint = execution.identifier.clone();
        let at = At::new(index, node_id).hinting(hint.as_deref());
        // Both: the app's code, or one of the passkeys.
        let owned = (!passkeys.is_empty()).then_some(passkeys.as_slice());
        let mut offer = match owned {
            Some(owned) => self.offer_sign_in(execution, index, Some(owned))?,
            None => None,
        };
        let form = |offer: &Option<crate::PasskeyPrompt>| {
            let form = forms::verify_mfa(&at, credential.digits);
            match offer {
                Some(prompt) => forms::offer_passkey(form, prompt.clone()),
                None => form,
            }
        };
        if offer.is_some()
            && let Some(answer) = input.and_then(|input| input.raw(FIELD_CREDENTIAL))
        {
            match self.answer_offer(execution, index, owned, answer)? {
                Ok(result) => return Ok(result),
                Err((refusal, renewed)) => {
                    offer = renewed;
                    let shown = form(&offer);
                    return Ok(self.refuse(execution, shown, &refusal));
                }
            }
        }
        let form = form(&offer);
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
}

/// The error of a wrong (or already used) one-time code.
fn invalid_code() -> FieldError {
    FieldError::on(FIELD_CODE, "invalid_code", "The code is incorrect.")
}
