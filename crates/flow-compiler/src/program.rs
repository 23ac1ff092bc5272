//! The compiled form of a flow: a flat list of steps with explicit jump targets.

use std::fmt;

use std::collections::BTreeMap;

use flow_model::{
    FlowType, IdentifierType, MfaMethod, PromptField, UserVerification, WebhookMethod,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::CompileError;

/// The current program format; stored programs carry it so a later flowd can read old ones.
pub const PROGRAM_FORMAT: u32 = 1;

/// The node id of the [`Op::RedeemInvitation`] step that the compiler puts first in every
/// `invited_registration` program (it has no node in the graph).
pub const INVITATION_NODE_ID: &str = "invitation";

/// A compiled flow. Execution starts at step 0 and falls through to the next step unless a step
/// jumps, branches or ends the flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// The program format ([`PROGRAM_FORMAT`]).
    pub format: u32,
    /// Id of the flow this program was compiled from.
    pub flow_id: String,
    /// Name of that flow.
    pub flow_name: String,
    /// The flow's type, which fixed the meaning of its nodes.
    pub flow_type: FlowType,
    /// The flow version this program belongs to.
    pub version: u32,
    /// SHA-256 (hex) of the flow type and steps: equal hashes mean equal behaviour.
    pub content_hash: String,
    /// The steps; indexes are jump targets.
    pub steps: Vec<Step>,
}

impl Program {
    /// Reads a stored program, refusing formats this flowd does not know.
    pub fn from_json(text: &str) -> Result<Self, CompileError> {
        let program: Self =
            serde_json::from_str(text).map_err(|error| CompileError::Decode(error.to_string()))?;
        if program.format != PROGRAM_FORMAT {
            return Err(CompileError::UnsupportedFormat(program.format));
        }
        Ok(program)
    }

    /// The step at `index`, if there is one.
    pub fn step(&self, index: usize) -> Option<&Step> {
        self.steps.get(index)
    }
}

impl fmt::Display for Program {
    /// One line per step: index, source node, operation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, step) in self.steps.iter().enumerate() {
            writeln!(f, "{index:>3} {:<16} {}", step.node_id, step.op)?;
        }
        Ok(())
    }
}

/// One step: what to do, and the graph node it came from (for traces and error messages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The node this step was compiled from.
    pub node_id: String,
    /// The operation.
    #[serde(flatten)]
    pub op: Op,
}

/// What a step does. Input operations wait for the user; the rest run on the server.
///
/// Deliberately exhaustive: the engine matches every operation without a wildcard, so a new
/// operation is a compile error wherever it must be handled. Stored programs carry a format
/// number for the same reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Ask for the identifier of an existing user and look the user up; when `verify_password`
    /// names the merged password node, ask for and verify the password in the same prompt.
    IdentifyUser {
        /// Accepted identifier kinds.
        identifier_types: Vec<IdentifierType>,
        /// The merged `password_input` node, if the prompt also asks for the password.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verify_password: Option<String>,
        /// Whether the prompt also offers a sign-in with any passkey of the site (autofill).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        passkey: bool,
    },
    /// Ask for the identifier of a user to be created; it must not be taken. When `new_password`
    /// is set, the same prompt also asks for the new password.
    CollectIdentifier {
        /// Accepted identifier kinds.
        identifier_types: Vec<IdentifierType>,
        /// The merged `password_input` node and its policy, if the prompt also sets a password.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_password: Option<MergedPassword>,
    },
    /// Ask for the confirmation code of an invitation and redeem it: a valid code fixes the new
    /// account's identifier to the invited e-mail address. The compiler puts this step first in
    /// every `invited_registration` program (on the invitation's node id [`INVITATION_NODE_ID`]);
    /// the invitation is consumed when the user is created.
    RedeemInvitation,
    /// Ask for the identified user's password and verify it.
    VerifyPassword,
    /// Ask for a new password and check it against the policy.
    SetPassword(PasswordPolicy),
    /// Let the user pick a social provider.
    SelectSocialProvider {
        /// Provider slugs offered.
        providers: Vec<String>,
    },
    /// Ask for a second factor.
    VerifyMfa {
        /// Accepted methods.
        methods: Vec<MfaMethod>,
    },
    /// Ask for the one-time code sent by an earlier step.
    VerifyOtp {
        /// Label for the code field.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
    /// Register a passkey for the user.
    WebauthnRegister {
        /// User-verification requirement.
        user_verification: UserVerification,
        /// The step of the node's `fallback` edge: the other way in, offered beside the
        /// ceremony and taken when the user has no passkey.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback: Option<usize>,
    },
    /// Authenticate with a passkey.
    WebauthnAuthenticate {
        /// User-verification requirement.
        user_verification: UserVerification,
        /// The step of the node's `fallback` edge: the other way in, offered beside the
        /// ceremony and taken when the user has no passkey.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback: Option<usize>,
    },
    /// Ask for profile fields, stored as attributes.
    Prompt {
        /// The fields, in order.
        fields: Vec<PromptField>,
    },
    /// Enrol a TOTP authenticator.
    EnrollTotp {
        /// Issuer shown in authenticator apps.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issuer: Option<String>,
        /// Code length.
        digits: u8,
        /// Code period in seconds.
        period: u32,
    },
    /// Send an e-mail, optionally with a one-time code.
    SendEmail {
        /// Template name.
        template: String,
        /// Whether to generate and include a code.
        with_code: bool,
    },
    /// Send an SMS, optionally with a one-time code.
    SendSms {
        /// Template name.
        template: String,
        /// Whether to generate and include a code.
        with_code: bool,
    },
    /// Call a webhook; continue at `if_true` on a 2xx answer (its mapping applied), at
    /// `if_false` on anything else.
    CallWebhook(Box<WebhookCall>),
    /// Set an execution attribute.
    SetAttribute {
        /// Attribute name.
        attribute: String,
        /// Value to store.
        value: Value,
    },
    /// An embedder's node type, run by the handler registered under `node_type`.
    Custom {
        /// The registered type name.
        node_type: String,
        /// Its raw configuration.
        config: Value,
    },
    /// Continue at `target`.
    Jump {
        /// The next step.
        target: usize,
    },
    /// Evaluate `condition`; continue at `if_true` or `if_false`.
    Branch {
        /// A CEL expression.
        condition: String,
        /// Step when the condition holds.
        if_true: usize,
        /// Step when it does not.
        if_false: usize,
    },
    /// Evaluate `expression`; continue at the case whose value equals its string form, else at
    /// `default`.
    Switch {
        /// A CEL expression.
        expression: String,
        /// The cases, in edge order.
        cases: Vec<SwitchCase>,
        /// Step when no case matches.
        default: usize,
    },
    /// End successfully, doing what the flow type calls for.
    Succeed {
        /// What completing means for this flow type.
        completion: Completion,
        /// Whether the user is signed in at the end.
        sign_in: bool,
        /// Where the client goes next.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        redirect_url: Option<String>,
        /// A message for the completion page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// End unsuccessfully.
    Fail {
        /// Stable machine code.
        code: String,
        /// Message for the user.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

/// Everything a `call_webhook` step needs: the request, the mapping of the answer and where
/// to continue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookCall {
    /// The `http(s)` URL.
    pub url: String,
    /// The HTTP method.
    pub method: WebhookMethod,
    /// Extra request headers, name to value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Time limit of one attempt, in milliseconds.
    pub timeout_ms: u32,
    /// The body template (`${expr}`); `None` sends the default body (methods with a body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Attribute path to the CEL expression that sets it from the answer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response: BTreeMap<String, String>,
    /// How many times a failed attempt may be retried.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u8,
    /// Signing secret (`whsec_…`); `None` uses the server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Step after a 2xx answer whose mapping applied.
    pub if_true: usize,
    /// Step after anything else.
    pub if_false: usize,
}

fn is_zero(value: &u8) -> bool {
    *value == 0
}

/// The policy of a password that is being set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// Minimum length in characters.
    pub min_length: u32,
    /// Minimum strength score (1 to 4) of the strength estimator. Programs stored before the
    /// score existed read as the default score, so they refuse guessable passwords too.
    #[serde(default = "default_min_score")]
    pub min_score: u8,
    /// Whether the password is asked for twice.
    pub confirm: bool,
}

/// The score of a policy that does not name one (stored before `min_score` existed).
fn default_min_score() -> u8 {
    flow_model::DEFAULT_PASSWORD_SCORE
}

/// A `password_input` merged into the identifier prompt of a flow that creates a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedPassword {
    /// The password node's id.
    pub node_id: String,
    /// Its policy.
    #[serde(flatten)]
    pub policy: PasswordPolicy,
}

/// One case of a switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchCase {
    /// The value that selects this case.
    pub value: String,
    /// The step it continues at.
    pub target: usize,
}

/// What a successful end does, fixed by the flow type at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    /// Sign the identified user in (login).
    Authenticate,
    /// Create the user from the collected attributes (registration, invitation).
    CreateUser,
    /// Store the new password (password reset, account recovery).
    UpdatePassword,
    /// Store the enrolled factor (MFA setup).
    StoreFactor,
}

impl Op {
    /// Whether the step waits for the user before it can finish.
    pub fn waits_for_input(&self) -> bool {
        matches!(
            self,
            Self::IdentifyUser { .. }
                | Self::CollectIdentifier { .. }
                | Self::RedeemInvitation
                | Self::VerifyPassword
                | Self::SetPassword(_)
                | Self::SelectSocialProvider { .. }
                | Self::VerifyMfa { .. }
                | Self::VerifyOtp { .. }
                | Self::WebauthnRegister { .. }
                | Self::WebauthnAuthenticate { .. }
                | Self::Prompt { .. }
                | Self::EnrollTotp { .. }
        )
    }

    /// Whether the step ends the execution.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeed { .. } | Self::Fail { .. })
    }

    /// Whether, once done, execution continues with the next step in the list.
    pub fn falls_through(&self) -> bool {
        !self.is_terminal()
            && !matches!(
                self,
                Self::Jump { .. }
                    | Self::Branch { .. }
                    | Self::Switch { .. }
                    | Self::CallWebhook(_)
            )
    }

    /// The explicit jump targets of the step.
    pub fn targets(&self) -> Vec<usize> {
        match self {
            Self::Jump { target } => vec![*target],
            Self::Branch {
                if_true, if_false, ..
            } => vec![*if_true, *if_false],
            Self::CallWebhook(call) => vec![call.if_true, call.if_false],
            Self::Switch { cases, default, .. } => cases
                .iter()
                .map(|case| case.target)
                .chain([*default])
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The `op` tag, as stored.
    pub fn name(&self) -> &'static str {
        match self {
            Self::IdentifyUser { .. } => "identify_user",
            Self::CollectIdentifier { .. } => "collect_identifier",
            Self::RedeemInvitation => "redeem_invitation",
            Self::VerifyPassword => "verify_password",
            Self::SetPassword(_) => "set_password",
            Self::SelectSocialProvider { .. } => "select_social_provider",
            Self::VerifyMfa { .. } => "verify_mfa",
            Self::VerifyOtp { .. } => "verify_otp",
            Self::WebauthnRegister { .. } => "webauthn_register",
            Self::WebauthnAuthenticate { .. } => "webauthn_authenticate",
            Self::Prompt { .. } => "prompt",
            Self::EnrollTotp { .. } => "enroll_totp",
            Self::SendEmail { .. } => "send_email",
            Self::SendSms { .. } => "send_sms",
            Self::CallWebhook(_) => "call_webhook",
            Self::SetAttribute { .. } => "set_attribute",
            Self::Custom { .. } => "custom",
            Self::Jump { .. } => "jump",
            Self::Branch { .. } => "branch",
            Self::Switch { .. } => "switch",
            Self::Succeed { .. } => "succeed",
            Self::Fail { .. } => "fail",
        }
    }
}

impl fmt::Display for Op {
    /// A compact form for listings: the op name and its jump targets or completion.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Self::Jump { target } => write!(f, " -> {target}"),
            Self::Branch {
                condition,
                if_true,
                if_false,
            } => {
                write!(f, " {condition:?} ? {if_true} : {if_false}")
            }
            Self::CallWebhook(call) => {
                write!(f, " {} ? {} : {}", call.method, call.if_true, call.if_false)
            }
            Self::Switch {
                expression,
                cases,
                default,
            } => {
                write!(f, " {expression:?}")?;
                for case in cases {
                    write!(f, " {:?}->{}", case.value, case.target)?;
                }
                write!(f, " default->{default}")
            }
            Self::Succeed {
                completion,
                sign_in,
                ..
            } => write!(f, " {completion:?} sign_in={sign_in}"),
            Self::Fail { code, .. } => write!(f, " {code}"),
            Self::IdentifyUser {
                verify_password: Some(node),
                ..
            } => write!(f, " +password({node})"),
            Self::CollectIdentifier {
                new_password: Some(merged),
                ..
            } => {
                write!(f, " +new_password({})", merged.node_id)
            }
            _ => Ok(()),
        }
    }
}
