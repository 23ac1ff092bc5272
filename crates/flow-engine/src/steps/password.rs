//! The password steps: `verify_password` (with the per-user lockout) and `set_password`.

use flow_compiler::PasswordPolicy;

use crate::engine::{ACCOUNT_LOCKED, StepResult};
use crate::events::{EventDraft, EventKind};
use crate::forms::{self, At, required, with_errors};
use crate::outcome::{FIELD_PASSWORD, FIELD_PASSWORD_CONFIRM};
use crate::password::{MAX_PASSWORD_BYTES, Verified, policy_violation};
use crate::{Engine, EngineError, Execution, FieldError, Form, Submission, TenantId, UserId};

use super::passkey::signed_in_with_passkey;
use super::{Typed, add_method, typed};

/// The message of a wrong password, the same for an unknown user.
const INVALID_CREDENTIALS: &str = "The identifier or password is incorrect.";

/// The message of a user locked by the per-user limit.
const ACCOUNT_LOCKED_MESSAGE: &str = "Too many failed sign-ins. Try again later.";

impl Engine {
    pub(super) fn verify_password(
        &self,
        execution: &mut Execution,
        index: usize,
        node_id: &str,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        if signed_in_with_passkey(execution) {
            return Ok(StepResult::advance("skipped").with_detail("signed in with a passkey"));
        }
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
    pub(super) fn check_password(
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
            if self.disabled(&execution.tenant, id)? {
                // Disabled after the identifier step: the answer of a wrong password.
                let rejected = with_errors(form, vec![invalid_credentials()]);
                return Ok(self
                    .failed_attempt(execution, "password", rejected, "invalid_credentials")
                    .with_detail("disabled user")
                    .event_because("user_disabled"));
            }
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
                .with_detail("user locked")
                .with_event(EventDraft::failure(EventKind::Lockout, "too_many_failures")));
        }
        let rejected = with_errors(form, vec![invalid_credentials()]);
        Ok(self.failed_attempt(execution, "password", rejected, "invalid_credentials"))
    }

    /// Whether user `id` is disabled (or gone) now: a right password of such a user does not
    /// sign it in.
    fn disabled(&self, tenant: &TenantId, id: &UserId) -> Result<bool, EngineError> {
        Ok(self
            .ports
            .users
            .get(tenant, id)?
            .is_none_or(|user| user.disabled_at.is_some()))
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

    pub(super) fn set_password(
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
}

fn invalid_credentials() -> FieldError {
    FieldError::on(FIELD_PASSWORD, "invalid_credentials", INVALID_CREDENTIALS)
}

/// The error of a user locked by the per-user limit: it says so (see `docs/operating.md` for
/// why revealing the lock is acceptable).
fn account_locked() -> FieldError {
    FieldError::on(FIELD_PASSWORD, ACCOUNT_LOCKED, ACCOUNT_LOCKED_MESSAGE)
}

/// Reads and checks a new password (and its confirmation); errors go to `errors`.
pub(super) fn new_password<'s>(
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
