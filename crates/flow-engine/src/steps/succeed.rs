//! The `succeed` step: completing the flow (authenticating, creating the user, updating the
//! password or storing a factor).

use flow_compiler::{Completion, Op, Program};
use flow_model::FlowType;
use serde_json::Value;

use crate::engine::{Next, StepResult};
use crate::events::{EventDraft, EventKind, kind_of_flow};
use crate::forms::{self, At, with_errors};
use crate::{Engine, EngineError, Execution, NewUser, Outcome, PortError, identifier};

use super::CREDENTIALS_CHANGED;
use super::identify::identifier_taken;

impl Engine {
    pub(super) fn succeed(
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
        // A password changed since this execution started (a recovery elsewhere, an
        // administrator) ends it: whoever ran it may have known the old one.
        if completion != Completion::CreateUser && self.superseded(execution)? {
            let kind = kind_of_flow(execution.program.flow_type);
            return Ok(StepResult::fail(
                CREDENTIALS_CHANGED,
                "The password of this account was changed. Please start again.",
            )
            .with_event(EventDraft::failure(kind, CREDENTIALS_CHANGED)));
        }
        let mut events = Vec::new();
        match completion {
            Completion::Authenticate => {
                if !authenticated {
                    return Ok(not_authenticated());
                }
                events.push(EventDraft::success(EventKind::SignIn));
            }
            Completion::CreateUser => {
                if let Some(result) = self.create_user(execution, program)? {
                    return Ok(result);
                }
                events.push(EventDraft::success(EventKind::Registration));
            }
            Completion::UpdatePassword => {
                let (Some(id), Some(hash), true) = (
                    &execution.user_id,
                    &execution.new_password_hash,
                    authenticated,
                ) else {
                    return Ok(not_authenticated());
                };
                // The change is marked first: should the new hash then fail to be written,
                // the user's sessions have ended but the old password still works, which is
                // safe; the other way round, old sessions would outlive a changed password.
                let now = self.ports.clock.now_secs();
                self.ports
                    .users
                    .mark_password_changed(&execution.tenant, id, now)?;
                self.ports
                    .users
                    .set_password_hash(&execution.tenant, id, hash)?;
                // Proving the account again (by code) lifts a lock and clears the count, so a
                // user locked out by someone else's guesses has a way back in.
                self.ports.login_attempts.reset(&execution.tenant, id)?;
                events.push(EventDraft::success(EventKind::Recovery));
                events.push(EventDraft::success(EventKind::PasswordChange).because("recovery"));
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
        let mut result = StepResult::new(
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
        );
        result.events = events;
        Ok(result)
    }

    /// Whether the execution's user changed its password after the execution started.
    fn superseded(&self, execution: &Execution) -> Result<bool, EngineError> {
        let Some(id) = &execution.user_id else {
            return Ok(false);
        };
        Ok(self
            .ports
            .users
            .get(&execution.tenant, id)?
            .is_some_and(|user| user.password_changed_after(execution.created_at)))
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
            // A passkey registered earlier in the flow carries this id as its user handle.
            id: execution
                .new_user_id
                .clone()
                .unwrap_or_else(|| self.new_user_id()),
            identifier,
            password_hash: execution.new_password_hash.clone(),
            attributes,
            created_at: self.ports.clock.now_secs(),
            disabled_at: None,
            password_changed_at: None,
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
                if let Some(passkey) = execution.new_passkey.take() {
                    // Checked to be unregistered when it was created; should another account
                    // have taken it since, the account stands without it.
                    match self
                        .ports
                        .users
                        .add_passkey(&execution.tenant, &user.id, &passkey)
                    {
                        Ok(()) | Err(PortError::Duplicate) => {}
                        Err(other) => return Err(other.into()),
                    }
                }
                if let Some(link) = execution
                    .federation
                    .take()
                    .and_then(|federation| federation.link_on_create)
                {
                    match self
                        .ports
                        .identity_links
                        .link(&execution.tenant, &user.id, &link)
                    {
                        Ok(()) => {}
                        Err(PortError::Duplicate) => {
                            // Another registration linked that provider account first.
                            self.ports.users.delete(&execution.tenant, &user.id)?;
                            return Ok(Some(StepResult::fail(
                                crate::SOCIAL_ACCOUNT_EXISTS,
                                "An account is already linked to this sign-in. Sign in instead.",
                            )));
                        }
                        Err(other) => return Err(other.into()),
                    }
                }
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
