//! The steps that find or fix who the flow is about: `identify_user`, `collect_identifier` and
//! `redeem_invitation`, with the identifier checks they share.

use flow_compiler::MergedPassword;
use flow_model::IdentifierType;

use crate::engine::StepResult;
use crate::forms::{self, At, required, with_errors};
use crate::invitation::{self, MAX_CODE_CHARS};
use crate::outcome::{FIELD_CONFIRMATION_CODE, FIELD_CREDENTIAL, FIELD_IDENTIFIER, FIELD_PASSWORD};
use crate::ports::InvitationState;
use crate::{
    Engine, EngineError, Execution, FieldError, PasskeyPrompt, PortError, Submission, TenantId,
    identifier,
};

use super::password::new_password;
use super::{IDENTIFIER_INVALID_CHARACTERS, Typed, typed};

/// An `identify_user` step: where it is and what its prompt asks.
pub(super) struct Identify<'a> {
    pub(super) index: usize,
    pub(super) node_id: &'a str,
    pub(super) accepted: &'a [IdentifierType],
    pub(super) with_password: bool,
    /// Also offer a sign-in with any passkey of the site (autofill).
    pub(super) passkey: bool,
}

impl Engine {
    pub(super) fn identify_user(
        &self,
        execution: &mut Execution,
        step: &Identify<'_>,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let (accepted, with_password) = (step.accepted, step.with_password);
        let at = At::new(step.index, step.node_id);
        let mut autofill = if step.passkey {
            self.offer_sign_in(execution, step.index, None)?
        } else {
            None
        };
        let form =
            |value: Option<&str>, errors: Vec<FieldError>, autofill: &Option<PasskeyPrompt>| {
                let form = forms::identify(&at, accepted, with_password, value);
                let form = match autofill {
                    Some(prompt) => forms::offer_passkey(form, prompt.clone()),
                    None => form,
                };
                with_errors(form, errors)
            };
        let Some(input) = input else {
            return Ok(StepResult::wait(
                form(execution.identifier.as_deref(), Vec::new(), &autofill),
                "prompt",
            ));
        };
        if autofill.is_some()
            && let Some(credential) = input.raw(FIELD_CREDENTIAL)
        {
            match self.answer_offer(execution, step.index, None, credential)? {
                Ok(result) => return Ok(result),
                Err((refusal, renewed)) => {
                    autofill = renewed;
                    let shown = form(None, Vec::new(), &autofill);
                    return Ok(self.refuse(execution, shown, &refusal));
                }
            }
        }
        let form = |value: Option<&str>, errors: Vec<FieldError>| form(value, errors, &autofill);
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
        // A disabled user is answered like an unknown identifier (and its identifier stays
        // taken for registration).
        let disabled = user.as_ref().is_some_and(|user| user.disabled_at.is_some());
        let user = user.filter(|user| user.disabled_at.is_none());
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
        } else if disabled {
            result.with_detail("disabled user")
        } else {
            result.with_detail("unknown identifier")
        })
    }

    /// Asks for an invitation's confirmation code and checks it: a pending invitation fixes
    /// the identifier of the account to create (it is consumed only when the account is
    /// created); an unknown, revoked, used or expired one is a wrong code, which spends an
    /// attempt like any other.
    pub(super) fn redeem_invitation(
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

    pub(super) fn collect_identifier(
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

    /// Whether a new account may not have `normalized` as its identifier: an account has it,
    /// or one whose identifier looks like it (the same confusable skeleton, UTS #39). Both
    /// answer `identifier_taken`, so a look-alike tells no more than a duplicate.
    fn identifier_taken(&self, tenant: &TenantId, normalized: &str) -> Result<bool, PortError> {
        let users = &self.ports.users;
        Ok(users.find_by_identifier(tenant, normalized)?.is_some()
            || users.skeleton_taken(tenant, &identifier::identifier_skeleton(normalized))?)
    }
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

pub(super) fn identifier_taken() -> FieldError {
    FieldError::on(
        FIELD_IDENTIFIER,
        "identifier_taken",
        "An account with this identifier already exists.",
    )
}
