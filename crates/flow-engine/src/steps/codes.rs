//! The one-time code steps: `send_email`/`send_sms` (with or without a code) and `verify_otp`.

use flow_model::IdentifierType;
use serde_json::{Map, Value};

use crate::engine::StepResult;
use crate::forms::{self, At, with_errors};
use crate::outcome::FIELD_CODE;
use crate::ports::{CodeCheck, OutgoingMessage, StoredCode};
use crate::{
    Engine, EngineError, Execution, FieldError, PendingCode, PortError, Submission, code,
    identifier,
};

use super::{Typed, add_method, typed, unsupported};

/// The channel a message step uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Channel {
    Email,
    Sms,
}

/// The failure code of a `send_sms` step whose message the sender could not send.
pub const SMS_NOT_SENT: &str = "sms_not_sent";

impl Engine {
    pub(super) fn verify_otp(
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

    pub(super) fn send_message(
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
            // A text message the provider refuses (a number it cannot reach) or cannot take
            // now is the step's failure, not a store outage; the reason carries no personal
            // data (the senders' contract).
            Some(sms) => match sms.send(&message) {
                Ok(()) => {}
                Err(PortError::Unavailable(why)) => {
                    return Ok(StepResult::fail(
                        SMS_NOT_SENT,
                        "The text message could not be sent. Please try again later.",
                    )
                    .with_detail(why));
                }
                Err(other) => return Err(other.into()),
            },
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
}
