//! The passkey steps: `webauthn_register` (registration, invitation and MFA setup flows) and
//! `webauthn_authenticate` (sign-in after the identifier, or without one).
//!
//! A ceremony's challenge lives in the execution ([`PasskeyCeremony`]) and is used once: a
//! refused answer spends an attempt and the form comes back with a new challenge. A step with
//! a `fallback` edge offers the other way in beside the ceremony, and takes it by itself when
//! the user has no passkey (or passkeys are off), so a passkey never becomes a dead end.

use crate::engine::{Next, StepResult};
use crate::events::{EventDraft, EventKind};
use crate::forms::{self, At, with_errors};
use crate::outcome::{ACTION_FALLBACK, FIELD_CREDENTIAL, FIELD_ORIGIN};
use crate::passkeys::{
    self, CHALLENGE_EXPIRED, ORIGIN_NOT_ALLOWED, PASSKEY_ALREADY_REGISTERED, PASSKEY_UNKNOWN,
    Refusal,
};
use crate::{
    CeremonyKind, Engine, EngineError, Execution, FieldError, PasskeyCeremony, PasskeyPrompt,
    Submission, UserId,
};

use super::{SIGN_IN_REQUIRED, add_method, signed_in_user};

/// The authentication method of a passkey.
pub(crate) const METHOD_WEBAUTHN: &str = "webauthn";

/// The failure code of a `webauthn` step when the server has no passkey settings.
pub const PASSKEYS_UNAVAILABLE: &str = "passkeys_unavailable";

/// The failure code of a passkey sign-in for a user without passkeys and no fallback edge.
pub const PASSKEY_NOT_CONFIGURED: &str = "passkey_not_configured";

/// Whether the execution's user signed in with a passkey (the password and second-factor
/// steps after it are skipped).
pub(super) fn signed_in_with_passkey(execution: &Execution) -> bool {
    execution.user_id.is_some() && execution.methods.iter().any(|m| m == METHOD_WEBAUTHN)
}

/// Where a passkey step runs: its place in the program and its fallback.
pub(super) struct PasskeyStep<'a> {
    pub(super) index: usize,
    pub(super) node_id: &'a str,
    pub(super) fallback: Option<usize>,
}

impl PasskeyStep<'_> {
    /// Takes the fallback edge, or fails with `code` when the step has none.
    fn fall_back(&self, code: &str, message: &str, why: &str) -> StepResult {
        match self.fallback {
            Some(target) => StepResult::new(Next::Goto(target), "fallback").with_detail(why),
            None => StepResult::fail(code, message).with_detail(why),
        }
    }
}

impl Engine {
    /// Registers a passkey: for the signed-in user of an MFA setup flow (stored at once), or
    /// for the account a registration flow is about to create (kept in the execution and
    /// stored with the account).
    pub(super) fn register_passkey(
        &self,
        execution: &mut Execution,
        at: &PasskeyStep<'_>,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let webauthn = match self.ready(execution, at, input) {
            Ok(webauthn) => webauthn,
            Err(result) => return Ok(*result),
        };
        let creating = execution.program.flow_type.creates_user();
        let (handle, name, existing) = if creating {
            let Some(identifier) = execution.identifier.clone() else {
                return Ok(StepResult::fail(
                    "no_identifier",
                    "Choose the account's identifier before creating a passkey.",
                ));
            };
            let id = execution
                .new_user_id
                .get_or_insert_with(|| self.new_user_id())
                .clone();
            (passkeys::user_handle(&id), identifier, Vec::new())
        } else {
            let Some((id, identifier)) = signed_in_user(execution) else {
                return Ok(StepResult::fail(
                    SIGN_IN_REQUIRED,
                    "Sign in before creating a passkey.",
                ));
            };
            let existing = self.ports.users.passkeys(&execution.tenant, &id)?;
            (passkeys::user_handle(&id), identifier, existing)
        };
        let start = |engine: &Engine| {
            passkeys::start_registration(webauthn, handle, &name, &existing)
                .map(|started| engine.ceremony(at.index, CeremonyKind::Registration, started))
        };
        let (credential, form) = match self.ceremony_input(execution, at, input, start)? {
            Ceremony::Answered { credential, form } => (credential, form),
            Ceremony::Result(result) => return Ok(*result),
        };
        let Some(ceremony) = execution.passkey.take() else {
            return Ok(self.take_fallback(execution, at));
        };
        let now = self.ports.clock.now_secs();
        let label = format!("Passkey {}", existing.len() + 1);
        let registered =
            passkeys::finish_registration(webauthn, &ceremony.state, &credential, &label, now);
        // A credential id registered before (to this account or another) is refused; a store
        // failure is the store's error, not the person's.
        let registered = match registered {
            Ok(passkey) => match self
                .ports
                .users
                .passkey_by_credential(&execution.tenant, &passkey.credential_id)?
            {
                None => Ok(passkey),
                Some(_) => Err(Refusal {
                    code: PASSKEY_ALREADY_REGISTERED,
                    detail: "credential id already registered".to_owned(),
                }),
            },
            Err(refusal) => Err(refusal),
        };
        let passkey = match registered {
            Ok(passkey) => passkey,
            Err(refusal) => return self.refused(execution, at, form, &refusal, start),
        };
        if creating {
            execution.new_passkey = Some(passkey);
        } else if let Some(id) = execution.user_id.clone() {
            let users = &self.ports.users;
            users.add_passkey(&execution.tenant, &id, &passkey)?;
            users.add_mfa_method(&execution.tenant, &id, METHOD_WEBAUTHN)?;
        }
        add_method(execution, METHOD_WEBAUTHN);
        let mut result = StepResult::advance("accepted");
        if !creating {
            result = result
                .with_event(EventDraft::success(EventKind::CredentialAdded).because("passkey"));
        }
        Ok(result)
    }

    /// Signs in with a passkey: one of the identified user's, or, before any identifier,
    /// whichever the person's authenticator offers (a discoverable credential).
    pub(super) fn authenticate_passkey(
        &self,
        execution: &mut Execution,
        at: &PasskeyStep<'_>,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let webauthn = match self.ready(execution, at, input) {
            Ok(webauthn) => webauthn,
            Err(result) => return Ok(*result),
        };
        let tenant = execution.tenant.clone();
        let owned = match (&execution.user_id, &execution.identifier) {
            (Some(id), _) => Some(self.ports.users.passkeys(&tenant, id)?),
            // An identifier that names nobody looks like a user without passkeys.
            (None, Some(_)) => Some(Vec::new()),
            (None, None) => None,
        };
        if owned.as_ref().is_some_and(Vec::is_empty) {
            return Ok(at.fall_back(
                PASSKEY_NOT_CONFIGURED,
                "No passkey is set up for this account.",
                "no passkey",
            ));
        }
        let start = |engine: &Engine| match &owned {
            Some(owned) => passkeys::start_authentication(webauthn, owned)
                .map(|started| engine.ceremony(at.index, CeremonyKind::Authentication, started)),
            None => passkeys::start_discoverable(webauthn)
                .map(|started| engine.ceremony(at.index, CeremonyKind::Discoverable, started)),
        };
        let (credential, form) = match self.ceremony_input(execution, at, input, start)? {
            Ceremony::Answered { credential, form } => (credential, form),
            Ceremony::Result(result) => return Ok(*result),
        };
        let Some(ceremony) = execution.passkey.take() else {
            return Ok(self.take_fallback(execution, at));
        };
        let verified = self.verify_assertion(&tenant, owned.as_deref(), &ceremony, &credential)?;
        let (owner, used) = match verified {
            Ok(found) => found,
            Err(refusal) => return self.refused(execution, at, form, &refusal, start),
        };
        self.signed_in_with(execution, owner, &used)
    }

    /// Signs in the owner of a verified passkey (`owner`, or the identified user): records
    /// the use, identifies the owner if nobody was yet, adds the method `webauthn`, and
    /// reports a counter that did not increase (under the `report` policy).
    fn signed_in_with(
        &self,
        execution: &mut Execution,
        owner: Option<UserId>,
        used: &passkeys::Used,
    ) -> Result<StepResult, EngineError> {
        let Some(user_id) = owner.or_else(|| execution.user_id.clone()) else {
            return Err(EngineError::Internal(
                "a passkey sign-in without an owner".to_owned(),
            ));
        };
        let tenant = &execution.tenant;
        self.ports
            .users
            .record_passkey_use(tenant, &user_id, &used.passkey)?;
        if execution.user_id.is_none() {
            let user = self.ports.users.get(tenant, &user_id)?;
            execution.identifier = user.map(|user| user.identifier);
            execution.user_id = Some(user_id);
        }
        add_method(execution, METHOD_WEBAUTHN);
        let result = StepResult::advance("accepted");
        Ok(if used.counter_regressed {
            result
                .with_detail("passkey counter did not increase (reported)")
                .with_event(EventDraft::failure(
                    EventKind::SignIn,
                    passkeys::PASSKEY_COUNTER_REGRESSED,
                ))
        } else {
            result
        })
    }

    /// Checks an assertion against the ceremony: the passkey must be one of `owned` (the
    /// identified user's) or, for a discoverable sign-in, belong to an enabled user whose
    /// handle the authenticator returned.
    fn verify_assertion(
        &self,
        tenant: &crate::TenantId,
        owned: Option<&[crate::StoredPasskey]>,
        ceremony: &PasskeyCeremony,
        credential: &str,
    ) -> Result<Result<(Option<UserId>, passkeys::Used), Refusal>, EngineError> {
        let Some(webauthn) = self.relying_party.webauthn() else {
            return Ok(Err(unknown("passkeys are off")));
        };
        let assertion = match passkeys::read_assertion(credential) {
            Ok(assertion) => assertion,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let (owner, passkey) = match owned {
            Some(owned) => {
                let Some(passkey) = owned
                    .iter()
                    .find(|passkey| passkey.credential_id == assertion.credential_id)
                else {
                    return Ok(Err(unknown("not a passkey of this user")));
                };
                (None, passkey.clone())
            }
            None => {
                let Some((owner, passkey)) = self
                    .ports
                    .users
                    .passkey_by_credential(tenant, &assertion.credential_id)?
                else {
                    return Ok(Err(unknown("no passkey has this credential id")));
                };
                let handle = passkeys::user_handle(&owner);
                if assertion.user_handle.as_deref() != Some(handle.as_bytes().as_slice()) {
                    return Ok(Err(unknown("the user handle is not the passkey owner's")));
                }
                let enabled = self
                    .ports
                    .users
                    .get(tenant, &owner)?
                    .is_some_and(|user| user.disabled_at.is_none());
                if !enabled {
                    return Ok(Err(unknown("the passkey's owner is disabled or gone")));
                }
                (Some(owner), passkey)
            }
        };
        let now = self.ports.clock.now_secs();
        let used = passkeys::finish_authentication(
            webauthn,
            ceremony.kind,
            &ceremony.webauthn_state(),
            &assertion,
            &passkey,
            self.relying_party.settings.sign_count,
            now,
        );
        Ok(used.map(|used| (owner, used)))
    }

    /// The passkey sign-in a prompt at step `index` offers beside its own fields: with any
    /// passkey of the site when `owned` is `None` (an identifier prompt's autofill), else with
    /// one of `owned` (the identified user's, beside a second factor's code). The execution's
    /// ceremony for that step, or a new one; `None` when passkeys are off.
    pub(super) fn offer_sign_in(
        &self,
        execution: &mut Execution,
        index: usize,
        owned: Option<&[crate::StoredPasskey]>,
    ) -> Result<Option<PasskeyPrompt>, EngineError> {
        let Some(webauthn) = self.relying_party.webauthn() else {
            return Ok(None);
        };
        let kind = offered_kind(owned);
        let now = self.ports.clock.now_secs();
        let current = execution.passkey.take().filter(|ceremony| {
            ceremony.step == index && ceremony.kind == kind && ceremony.expires_at > now
        });
        let ceremony = match (current, owned) {
            (Some(ceremony), _) => ceremony,
            (None, None) => passkeys::start_discoverable(webauthn)
                .map(|started| self.ceremony(index, kind, started))
                .map_err(EngineError::Internal)?,
            (None, Some(owned)) => passkeys::start_authentication(webauthn, owned)
                .map(|started| self.ceremony(index, kind, started))
                .map_err(EngineError::Internal)?,
        };
        let prompt = ceremony.prompt(&self.relying_party.settings);
        execution.passkey = Some(ceremony);
        Ok(Some(prompt))
    }

    /// Signs in with the passkey that answered [`Engine::offer_sign_in`]'s offer. `Ok` with
    /// the refusal when it is refused: the caller shows its form again, with a new challenge
    /// (already in the execution) and the attempt spent.
    pub(super) fn answer_offer(
        &self,
        execution: &mut Execution,
        index: usize,
        owned: Option<&[crate::StoredPasskey]>,
        credential: &str,
    ) -> Result<Result<StepResult, (Refusal, Option<PasskeyPrompt>)>, EngineError> {
        let tenant = execution.tenant.clone();
        let kind = offered_kind(owned);
        let ceremony = execution
            .passkey
            .take()
            .filter(|ceremony| ceremony.step == index && ceremony.kind == kind);
        let verified = match &ceremony {
            Some(ceremony) if ceremony.expires_at > self.ports.clock.now_secs() => {
                self.verify_assertion(&tenant, owned, ceremony, credential)?
            }
            Some(_) => Err(Refusal {
                code: CHALLENGE_EXPIRED,
                detail: "the challenge expired".to_owned(),
            }),
            None => Err(Refusal {
                code: passkeys::PASSKEY_REJECTED,
                detail: "no ceremony for this step".to_owned(),
            }),
        };
        match verified {
            Ok((owner, used)) => {
                let result = self.signed_in_with(execution, owner, &used)?;
                // The trace tells a passkey from the prompt's own answer.
                Ok(Ok(if result.detail.is_none() {
                    result.with_detail("passkey")
                } else {
                    result
                }))
            }
            Err(refusal) => {
                let renewed = self.offer_sign_in(execution, index, owned)?;
                Ok(Err((refusal, renewed)))
            }
        }
    }

    /// The relying party, or the step's answer without one (passkeys off) or when the person
    /// chose the other way in.
    fn ready(
        &self,
        execution: &mut Execution,
        at: &PasskeyStep<'_>,
        input: Option<&Submission>,
    ) -> Result<&webauthn_rs::prelude::Webauthn, Box<StepResult>> {
        let Some(webauthn) = self.relying_party.webauthn() else {
            return Err(Box::new(unavailable(at)));
        };
        if chose_fallback(input) {
            return Err(Box::new(self.take_fallback(execution, at)));
        }
        Ok(webauthn)
    }

    /// A new ceremony for step `index` from what webauthn-rs started.
    fn ceremony(
        &self,
        step: usize,
        kind: CeremonyKind,
        (options, state): (serde_json::Value, serde_json::Value),
    ) -> PasskeyCeremony {
        PasskeyCeremony {
            step,
            kind,
            state,
            options,
            expires_at: self.ports.clock.now_secs()
                + self.relying_party.settings.challenge_ttl_secs,
            origin: None,
        }
        .compacted()
    }

    /// Reads the submission of a passkey form: the credential to verify, or the result that
    /// shows the form (first display, an origin stated, a missing credential, an expired
    /// challenge). Starts a ceremony when the execution has none for this step.
    fn ceremony_input(
        &self,
        execution: &mut Execution,
        at: &PasskeyStep<'_>,
        input: Option<&Submission>,
        start: impl Fn(&Engine) -> Result<PasskeyCeremony, String>,
    ) -> Result<Ceremony, EngineError> {
        let now = self.ports.clock.now_secs();
        let current = execution
            .passkey
            .take()
            .filter(|ceremony| ceremony.step == at.index);
        let expired = current
            .as_ref()
            .is_some_and(|ceremony| ceremony.expires_at <= now);
        let ceremony = match current.filter(|_| !expired) {
            Some(ceremony) => ceremony,
            None => start(self).map_err(EngineError::Internal)?,
        };
        let form = self.passkey_form(execution, at, &ceremony);
        execution.passkey = Some(ceremony);
        let Some(input) = input else {
            return Ok(Ceremony::Result(Box::new(StepResult::wait(form, "prompt"))));
        };
        if let Some(credential) = input.raw(FIELD_CREDENTIAL) {
            if expired {
                let error = FieldError::on(
                    FIELD_CREDENTIAL,
                    CHALLENGE_EXPIRED,
                    "The passkey request expired. Please try again.",
                );
                return Ok(Ceremony::Result(Box::new(StepResult::wait(
                    with_errors(form, vec![error]),
                    format!("rejected:{CHALLENGE_EXPIRED}"),
                ))));
            }
            return Ok(Ceremony::Answered {
                credential: credential.to_owned(),
                form: Box::new(form),
            });
        }
        if let Some(origin) = input.value(FIELD_ORIGIN) {
            if !self.relying_party.settings.allows_origin(origin) {
                let error = FieldError::on(
                    FIELD_ORIGIN,
                    ORIGIN_NOT_ALLOWED,
                    "Passkeys cannot be used from this site.",
                );
                let rejected = with_errors(form, vec![error]);
                return Ok(Ceremony::Result(Box::new(self.failed_attempt(
                    execution,
                    "passkey",
                    rejected,
                    ORIGIN_NOT_ALLOWED,
                ))));
            }
            if let Some(ceremony) = &mut execution.passkey {
                ceremony.origin = Some(origin.to_owned());
            }
            let form = match &execution.passkey {
                Some(ceremony) => self.passkey_form(execution, at, ceremony),
                None => form,
            };
            return Ok(Ceremony::Result(Box::new(StepResult::wait(form, "origin"))));
        }
        let error = forms::required(FIELD_CREDENTIAL);
        Ok(Ceremony::Result(Box::new(StepResult::wait(
            with_errors(form, vec![error]),
            "rejected:required",
        ))))
    }

    /// A refused answer: spends an attempt and shows the form again with a new challenge (the
    /// old one is used up).
    fn refused(
        &self,
        execution: &mut Execution,
        at: &PasskeyStep<'_>,
        form: Box<crate::Form>,
        refusal: &Refusal,
        start: impl Fn(&Engine) -> Result<PasskeyCeremony, String>,
    ) -> Result<StepResult, EngineError> {
        let mut ceremony = start(self).map_err(EngineError::Internal)?;
        // The origin stated for this step still holds.
        ceremony.origin = form
            .passkey
            .as_ref()
            .and_then(|prompt| prompt.origin.clone());
        let renewed = self.passkey_form(execution, at, &ceremony);
        execution.passkey = Some(ceremony);
        Ok(self.refuse(execution, renewed, refusal))
    }

    /// Shows `form` (with its new challenge) again with the refusal on the credential, the
    /// attempt spent, and webauthn-rs's reason in the trace.
    pub(super) fn refuse(
        &self,
        execution: &mut Execution,
        form: crate::Form,
        refusal: &Refusal,
    ) -> StepResult {
        let error = FieldError::on(
            FIELD_CREDENTIAL,
            refusal.code,
            refusal_message(refusal.code),
        );
        let rejected = with_errors(form, vec![error]);
        self.failed_attempt(execution, "passkey", rejected, refusal.code)
            .with_detail(refusal.detail.clone())
    }

    /// The form of a ceremony.
    fn passkey_form(
        &self,
        execution: &Execution,
        at: &PasskeyStep<'_>,
        ceremony: &PasskeyCeremony,
    ) -> crate::Form {
        let place = At::new(at.index, at.node_id).hinting(execution.identifier.as_deref());
        forms::passkey(
            &place,
            ceremony.prompt(&self.relying_party.settings),
            at.fallback.is_some(),
        )
    }

    /// Forgets the ceremony and goes to the fallback edge (the action is offered only when
    /// there is one).
    fn take_fallback(&self, execution: &mut Execution, at: &PasskeyStep<'_>) -> StepResult {
        execution.passkey = None;
        at.fall_back(
            PASSKEY_NOT_CONFIGURED,
            "No other way to continue is set up.",
            "chosen",
        )
    }
}

/// The ceremony of an offered sign-in: discoverable without `owned` passkeys.
fn offered_kind(owned: Option<&[crate::StoredPasskey]>) -> CeremonyKind {
    if owned.is_some() {
        CeremonyKind::Authentication
    } else {
        CeremonyKind::Discoverable
    }
}

/// What a passkey form's submission holds.
enum Ceremony {
    /// A credential to verify, and the form to show again if it is refused.
    Answered {
        credential: String,
        form: Box<crate::Form>,
    },
    /// Nothing to verify: show this.
    Result(Box<StepResult>),
}

/// Whether the person chose the other way in.
fn chose_fallback(input: Option<&Submission>) -> bool {
    input.and_then(|input| input.action_id.as_deref()) == Some(ACTION_FALLBACK)
}

/// The step's answer when the server has no passkey settings.
fn unavailable(at: &PasskeyStep<'_>) -> StepResult {
    at.fall_back(
        PASSKEYS_UNAVAILABLE,
        "Passkeys are not available on this server.",
        "passkeys are off",
    )
}

fn unknown(detail: &str) -> Refusal {
    Refusal {
        code: PASSKEY_UNKNOWN,
        detail: detail.to_owned(),
    }
}

/// What the person reads for a refused answer.
fn refusal_message(code: &str) -> &'static str {
    match code {
        passkeys::CREDENTIAL_MALFORMED => {
            "The passkey's answer could not be read. Please try again."
        }
        PASSKEY_UNKNOWN => "This passkey is not registered for this account.",
        PASSKEY_ALREADY_REGISTERED => "This passkey is already registered.",
        passkeys::PASSKEY_COUNTER_REGRESSED => {
            "This passkey cannot be used: it may have been copied. Use another way to sign in."
        }
        _ => "The passkey could not be verified. Please try again.",
    }
}
