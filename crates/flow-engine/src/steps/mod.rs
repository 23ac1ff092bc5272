//! What each operation does: the dispatch over `Op` and the built-in step implementations.

mod attributes;
mod codes;
mod identify;
mod passkey;
mod password;
mod social;
mod succeed;
mod totp;
mod webhook;

use flow_compiler::{Op, Program, Step, SwitchCase};
use serde_json::Value;

use crate::engine::{Next, StepResult, TOO_MANY_ATTEMPTS, UNSUPPORTED_STEP};
use crate::events::{EventDraft, kind_of_flow};
use crate::expr::ExprError;
use crate::forms::{required, with_errors};
use crate::handler::{HandlerContext, HandlerOutcome};
use crate::{Engine, EngineError, Execution, Form, Submission};

use attributes::{prompt, set_path};
use codes::Channel;
pub use codes::SMS_NOT_SENT;
use passkey::PasskeyStep;
pub use passkey::{PASSKEY_NOT_CONFIGURED, PASSKEYS_UNAVAILABLE};
pub use social::{FIELD_ERROR, FIELD_STATE};

/// The failure code of a step that needs a signed-in user and has none (`enroll_totp`).
pub const SIGN_IN_REQUIRED: &str = "sign_in_required";

/// The failure of an execution whose user's password changed (a recovery elsewhere, an
/// administrator) after it started.
pub const CREDENTIALS_CHANGED: &str = "credentials_changed";

/// The failure code of a `verify_mfa` step for a user without any factor it accepts.
pub const MFA_NOT_CONFIGURED: &str = "mfa_not_configured";

/// The field error code of an identifier holding an invisible or control character (a
/// zero-width space, a joiner, a bidi override, ...): refused, never silently removed.
pub const IDENTIFIER_INVALID_CHARACTERS: &str = "identifier_invalid_characters";

/// The authentication method of an authenticator app's code.
pub(crate) const METHOD_TOTP: &str = "totp";

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
                passkey,
            } => self.identify_user(
                execution,
                &identify::Identify {
                    index,
                    node_id,
                    accepted: identifier_types,
                    with_password: verify_password.is_some(),
                    passkey: *passkey,
                },
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
            Op::WebauthnRegister { fallback, .. } => self.register_passkey(
                execution,
                &PasskeyStep {
                    index,
                    node_id,
                    fallback: *fallback,
                },
                input,
            ),
            Op::WebauthnAuthenticate { fallback, .. } => self.authenticate_passkey(
                execution,
                &PasskeyStep {
                    index,
                    node_id,
                    fallback: *fallback,
                },
                input,
            ),
            Op::SelectSocialProvider { providers } => self.select_social_provider(
                execution,
                &social::SocialStep {
                    index,
                    node_id,
                    providers,
                },
                input,
            ),
            Op::CallWebhook(call) => self.call_webhook(execution, node_id, call),
        }
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
        let event = EventDraft::failure(kind_of_flow(execution.program.flow_type), code);
        if *count >= self.config.max_attempts {
            StepResult::fail(
                TOO_MANY_ATTEMPTS,
                "Too many failed attempts. Please start again later.",
            )
        } else {
            StepResult::wait(rejected, format!("rejected:{code}"))
        }
        .with_event(event)
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
}

fn unsupported(what: &str) -> StepResult {
    StepResult::fail(
        UNSUPPORTED_STEP,
        format!("This flow uses a step ({what}) that this server does not support yet."),
    )
}

/// The signed-in user of the execution (identified and authenticated by some method) with
/// its identifier: whom an MFA setup step enrols a factor for.
fn signed_in_user(execution: &Execution) -> Option<(crate::UserId, String)> {
    match (
        &execution.user_id,
        &execution.identifier,
        execution.methods.is_empty(),
    ) {
        (Some(id), Some(identifier), false) => Some((id.clone(), identifier.clone())),
        _ => None,
    }
}

fn add_method(execution: &mut Execution, method: &str) {
    if !execution.methods.iter().any(|done| done == method) {
        execution.methods.push(method.to_owned());
    }
}

/// Ends the flow: an expression would cost too much with this execution's values. The
/// person sees a generic failure; the execution's trace carries the figures.
fn too_costly(error: &ExprError) -> StepResult {
    StepResult::fail(
        ExprError::TOO_COSTLY,
        "This step could not be completed. Please contact the site's administrator.",
    )
    .with_detail(error.to_string())
}

/// Picks the switch target for an evaluated value (errors go to the default, visibly).
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

    use super::*;

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
