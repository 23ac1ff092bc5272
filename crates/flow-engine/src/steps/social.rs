//! The `select_social_provider` step: offer the node's configured providers, send the person
//! to the chosen one (authorization code with PKCE, `state` and `nonce` kept in the
//! execution), take the code back, and find, link or create the account.
//!
//! Every failure on the way (a mismatched `state`, the provider's `error`, a rejected code, a
//! bad ID token, a provider that is down) shows the choice again with a coded error: nothing
//! is linked or created, and the person may try again.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::code::constant_time_eq;
use crate::engine::{Next, StepResult};
use crate::events::{EventDraft, EventKind};
use crate::federation::{
    AuthorizationRequest, CodeRedemption, ExternalIdentity, FederationError, FederationState,
    IdentityLink, IdentityProvider, LinkByEmail, PendingLink, ProviderChoice, SOCIAL_ACCESS_DENIED,
    SOCIAL_ACCOUNT_EXISTS, SOCIAL_ACCOUNT_NOT_FOUND, SOCIAL_INVALID_RESPONSE,
    SOCIAL_PROVIDER_UNAVAILABLE, SOCIAL_PROVIDERS_UNAVAILABLE, SOCIAL_STATE_MISMATCH, SocialPrompt,
};
use crate::forms::{self, At, with_errors};
use crate::outcome::{FIELD_CODE, FIELD_PASSWORD};
use crate::{
    Engine, EngineError, Execution, FieldError, Form, NewUser, PortError, Submission, User,
    identifier,
};

use super::{Typed, add_method, typed};

/// The authentication method of a sign-in through an identity provider.
pub(crate) const METHOD_SOCIAL: &str = "social";

/// The field of the callback's `state` parameter.
pub const FIELD_STATE: &str = "state";
/// The field of the provider's `error` parameter (`access_denied`).
pub const FIELD_ERROR: &str = "error";

/// Where a social step runs.
pub(super) struct SocialStep<'a> {
    pub(super) index: usize,
    pub(super) node_id: &'a str,
    pub(super) providers: &'a [String],
}

impl Engine {
    pub(super) fn select_social_provider(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        input: Option<&Submission>,
    ) -> Result<StepResult, EngineError> {
        let offered = self.offered_providers(execution, at.providers)?;
        if offered.is_empty() {
            return Ok(StepResult::fail(
                SOCIAL_PROVIDERS_UNAVAILABLE,
                "Signing in with another account is not available here.",
            )
            .with_detail("no configured provider"));
        }
        let pending = execution
            .federation
            .as_ref()
            .filter(|state| state.step == at.index)
            .cloned();
        // A submission that picks a provider starts (again) with it, whatever was pending.
        let picked = input
            .and_then(|input| input.action_id.as_deref())
            .and_then(|action| offered.iter().find(|provider| provider.id == action));
        if let Some(provider) = picked {
            return self.send_to_provider(execution, at, &offered, provider);
        }
        match (pending, input) {
            (Some(state), Some(input)) if state.pending_link.is_some() => {
                self.prove_existing_account(execution, at, &offered, state, input)
            }
            (Some(state), Some(input)) => self.callback(execution, at, &offered, state, input),
            (Some(state), None) => Ok(StepResult::wait(redirect_form(at, &state), "prompt")),
            (None, _) if offered.len() == 1 => {
                self.send_to_provider(execution, at, &offered, &offered[0])
            }
            (None, _) => Ok(StepResult::wait(choice_form(at, &offered), "prompt")),
        }
    }

    /// The providers the node names that the tenant has configured, in the node's order.
    fn offered_providers(
        &self,
        execution: &Execution,
        names: &[String],
    ) -> Result<Vec<IdentityProvider>, EngineError> {
        if self.ports.federation.is_none() {
            return Ok(Vec::new());
        }
        let store = &self.ports.identity_providers;
        let mut offered = Vec::with_capacity(names.len());
        for name in names {
            if let Some(provider) = store.get(&execution.tenant, name)? {
                offered.push(provider);
            }
        }
        Ok(offered)
    }

    /// Starts a sign-in with `provider`: new `state`, nonce and PKCE verifier, then the
    /// redirect form.
    fn send_to_provider(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        offered: &[IdentityProvider],
        provider: &IdentityProvider,
    ) -> Result<StepResult, EngineError> {
        let Some(client) = &self.ports.federation else {
            return Ok(StepResult::fail(
                SOCIAL_PROVIDERS_UNAVAILABLE,
                "Signing in with another account is not available here.",
            ));
        };
        let redirect_uri = if execution.request.server_callback {
            self.config.federation.callback_url(&provider.id)
        } else {
            provider
                .redirect_uri
                .clone()
                .unwrap_or_else(|| self.config.federation.callback_url(&provider.id))
        };
        let (state, nonce, verifier) = (self.token(), self.token(), self.token());
        let url = client.authorization_url(&AuthorizationRequest {
            provider,
            redirect_uri: &redirect_uri,
            state: &state,
            nonce: &nonce,
            pkce_verifier: &verifier,
        });
        let url = match url {
            Ok(url) => url,
            Err(error) => {
                execution.federation = None;
                return Ok(self.social_error(execution, at, offered, &error));
            }
        };
        let started = FederationState {
            step: at.index,
            provider: provider.id.clone(),
            state,
            nonce,
            verifier,
            redirect_uri,
            url,
            pending_link: None,
            link_on_create: None,
        };
        let form = redirect_form(at, &started);
        execution.federation = Some(started);
        Ok(StepResult::wait(form, "redirect").with_detail(provider.id.clone()))
    }

    /// The person is back from the provider with a code (or the provider's error).
    fn callback(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        offered: &[IdentityProvider],
        state: FederationState,
        input: &Submission,
    ) -> Result<StepResult, EngineError> {
        // Whatever happens now, this state has been used.
        execution.federation = None;
        let returned = input.value(FIELD_STATE).unwrap_or_default();
        if !constant_time_eq(returned.as_bytes(), state.state.as_bytes()) {
            return Ok(self.social_refused(
                execution,
                at,
                offered,
                SOCIAL_STATE_MISMATCH,
                STATE_MISMATCH_MESSAGE,
            ));
        }
        if let Some(error) = input.value(FIELD_ERROR) {
            return Ok(self
                .social_refused(
                    execution,
                    at,
                    offered,
                    SOCIAL_ACCESS_DENIED,
                    ACCESS_DENIED_MESSAGE,
                )
                .with_detail(cut(error)));
        }
        let Some(code) = input.value(FIELD_CODE) else {
            return Ok(self.social_refused(
                execution,
                at,
                offered,
                SOCIAL_INVALID_RESPONSE,
                INVALID_RESPONSE_MESSAGE,
            ));
        };
        let Some(provider) = offered
            .iter()
            .find(|provider| provider.id == state.provider)
        else {
            return Ok(self.social_refused(
                execution,
                at,
                offered,
                SOCIAL_PROVIDER_UNAVAILABLE,
                UNAVAILABLE_MESSAGE,
            ));
        };
        let Some(client) = &self.ports.federation else {
            return Ok(self.social_refused(
                execution,
                at,
                offered,
                SOCIAL_PROVIDER_UNAVAILABLE,
                UNAVAILABLE_MESSAGE,
            ));
        };
        let claims = client.redeem(&CodeRedemption {
            provider,
            redirect_uri: &state.redirect_uri,
            code,
            nonce: &state.nonce,
            pkce_verifier: &state.verifier,
        });
        let claims = match claims {
            Ok(claims) => claims,
            Err(error) => return Ok(self.social_error(execution, at, offered, &error)),
        };
        let Some(identity) = ExternalIdentity::from_claims(&claims, &provider.claims) else {
            return Ok(self
                .social_refused(
                    execution,
                    at,
                    offered,
                    SOCIAL_INVALID_RESPONSE,
                    INVALID_RESPONSE_MESSAGE,
                )
                .with_detail("no subject"));
        };
        self.account_for(execution, at, offered, provider, state, identity)
    }

    /// Finds the account of `identity`: the linked one, an existing one with its e-mail
    /// address (linked directly or after proof), or a new one.
    fn account_for(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        offered: &[IdentityProvider],
        provider: &IdentityProvider,
        state: FederationState,
        identity: ExternalIdentity,
    ) -> Result<StepResult, EngineError> {
        let tenant = execution.tenant.clone();
        let links = &self.ports.identity_links;
        let linked = links.linked_user(&tenant, &provider.id, &identity.subject)?;
        if execution.program.flow_type.creates_user() {
            return self.register_with(execution, at, offered, provider, state, identity, linked);
        }
        if let Some(id) = linked {
            return match self.ports.users.get(&tenant, &id)? {
                Some(user) if user.disabled_at.is_none() => {
                    Ok(self.signed_in(execution, &user, &provider.id, "linked"))
                }
                _ => Ok(self
                    .social_refused(
                        execution,
                        at,
                        offered,
                        SOCIAL_ACCOUNT_NOT_FOUND,
                        NOT_FOUND_MESSAGE,
                    )
                    .with_detail("linked user disabled or gone")),
            };
        }
        let existing = match identity
            .email
            .as_deref()
            .and_then(identifier::canonical_identifier)
        {
            Some(email) => self.ports.users.find_by_identifier(&tenant, &email)?,
            None => None,
        };
        let link = IdentityLink {
            provider: provider.id.clone(),
            subject: identity.subject.clone(),
            email: identity.email.clone(),
            linked_at: self.ports.clock.now_secs(),
        };
        if let Some(user) = existing {
            if user.disabled_at.is_some() {
                return Ok(self
                    .social_refused(
                        execution,
                        at,
                        offered,
                        SOCIAL_ACCOUNT_NOT_FOUND,
                        NOT_FOUND_MESSAGE,
                    )
                    .with_detail("user disabled"));
            }
            if provider.link_by_email == LinkByEmail::Verified && identity.email_verified {
                return self.link_and_sign_in(execution, at, offered, &user, &link, "linked:email");
            }
            let proofs = self.proofs(&tenant, &user.id)?;
            if !proofs.any() {
                return Ok(self.social_refused(
                    execution,
                    at,
                    offered,
                    SOCIAL_ACCOUNT_EXISTS,
                    ACCOUNT_EXISTS_MESSAGE,
                ));
            }
            let mut state = state;
            state.pending_link = Some(PendingLink {
                user_id: user.id.clone(),
                identifier: user.identifier.clone(),
                subject: identity.subject,
                email: identity.email,
            });
            let form = self.link_prompt(execution, at, &state, &proofs)?;
            execution.federation = Some(state);
            return Ok(StepResult::wait(form, "prove_account"));
        }
        if !provider.create_users {
            return Ok(self.social_refused(
                execution,
                at,
                offered,
                SOCIAL_ACCOUNT_NOT_FOUND,
                NOT_FOUND_MESSAGE,
            ));
        }
        let user = match self.create_federated_user(&tenant, provider, &identity)? {
            Some(user) => user,
            None => {
                return Ok(self
                    .social_refused(
                        execution,
                        at,
                        offered,
                        SOCIAL_ACCOUNT_EXISTS,
                        ACCOUNT_EXISTS_MESSAGE,
                    )
                    .with_detail("identifier taken"));
            }
        };
        if let Some(refused) = self.link(execution, at, offered, &user, &link)? {
            // Another request linked this provider account first: it keeps it.
            self.ports.users.delete(&tenant, &user.id)?;
            return Ok(refused);
        }
        Ok(self
            .signed_in(execution, &user, &provider.id, "created")
            .with_event(EventDraft::success(EventKind::Registration).because("social")))
    }

    /// In a flow that creates the account (registration): the provider's answer fills in the
    /// identifier and attributes, and the link is made when the account is created. An
    /// account that is linked already, or that has the provider's e-mail address, is refused:
    /// the person signs in instead.
    #[allow(clippy::too_many_arguments)]
    fn register_with(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        offered: &[IdentityProvider],
        provider: &IdentityProvider,
        state: FederationState,
        identity: ExternalIdentity,
        linked: Option<crate::UserId>,
    ) -> Result<StepResult, EngineError> {
        let identifier = identifier::canonical_identifier(&new_identifier(provider, &identity));
        let taken = match &identifier {
            Some(identifier) => self
                .ports
                .users
                .find_by_identifier(&execution.tenant, identifier)?
                .is_some(),
            None => true,
        };
        let Some(identifier) = identifier.filter(|_| linked.is_none() && !taken) else {
            return Ok(self.social_refused(
                execution,
                at,
                offered,
                SOCIAL_ACCOUNT_EXISTS,
                REGISTERED_MESSAGE,
            ));
        };
        execution.identifier = Some(identifier);
        for (key, value) in federated_attributes(&identity) {
            execution.attributes.entry(key).or_insert(value);
        }
        let link = IdentityLink {
            provider: provider.id.clone(),
            subject: identity.subject,
            email: identity.email,
            linked_at: self.ports.clock.now_secs(),
        };
        execution.federation = Some(FederationState {
            link_on_create: Some(link),
            ..state
        });
        add_method(execution, METHOD_SOCIAL);
        Ok(StepResult::advance("accepted").with_detail(format!("{}:register", provider.id)))
    }

    /// The password of the account the provider's e-mail named: right, and the account is
    /// linked and signed in.
    fn prove_existing_account(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        offered: &[IdentityProvider],
        state: FederationState,
        input: &Submission,
    ) -> Result<StepResult, EngineError> {
        let Some(pending) = state.pending_link.clone() else {
            return Ok(StepResult::wait(choice_form(at, offered), "prompt"));
        };
        let proofs = self.proofs(&execution.tenant, &pending.user_id)?;
        // The answer is checked as the account's own (its lockout, its passkeys' counters);
        // the execution holds the user only while it is.
        execution.user_id = Some(pending.user_id.clone());
        execution.identifier = Some(pending.identifier.clone());
        let checked = self.check_proof(execution, at, &state, &proofs, input)?;
        if !matches!(checked.next, Next::Advance) {
            execution.user_id = None;
            execution.identifier = None;
            execution
                .methods
                .retain(|method| method != "password" && method != super::passkey::METHOD_WEBAUTHN);
            return Ok(checked);
        }
        execution.federation = None;
        let Some(user) = self.ports.users.get(&execution.tenant, &pending.user_id)? else {
            return Ok(self.social_refused(
                execution,
                at,
                offered,
                SOCIAL_ACCOUNT_NOT_FOUND,
                NOT_FOUND_MESSAGE,
            ));
        };
        let link = IdentityLink {
            provider: state.provider.clone(),
            subject: pending.subject,
            email: pending.email,
            linked_at: self.ports.clock.now_secs(),
        };
        let how = checked.detail.as_deref().unwrap_or("password").to_owned();
        self.link_and_sign_in(
            execution,
            at,
            offered,
            &user,
            &link,
            &format!("linked:{how}"),
        )
    }

    /// What the account can be proven with: its password, its passkeys.
    fn proofs(
        &self,
        tenant: &crate::TenantId,
        user: &crate::UserId,
    ) -> Result<Proofs, EngineError> {
        Ok(Proofs {
            password: self.ports.users.password_hash(tenant, user)?.is_some(),
            passkeys: self.ports.users.passkeys(tenant, user)?,
        })
    }

    /// The link form: the account's password, and its passkeys offered beside it (a new
    /// challenge, or the one the execution holds for this step).
    fn link_prompt(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        state: &FederationState,
        proofs: &Proofs,
    ) -> Result<Form, EngineError> {
        let offer = if proofs.passkeys.is_empty() {
            None
        } else {
            self.offer_sign_in(execution, at.index, Some(&proofs.passkeys))?
        };
        Ok(link_form(at, state, proofs.password, offer))
    }

    /// Checks the person's answer on the link form: a passkey of the account, or its
    /// password. Advances when it proves the account (the detail says how).
    fn check_proof(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        state: &FederationState,
        proofs: &Proofs,
        input: &Submission,
    ) -> Result<StepResult, EngineError> {
        let form = self.link_prompt(execution, at, state, proofs)?;
        if form.passkey.is_some()
            && let Some(answer) = input.raw(crate::FIELD_CREDENTIAL)
        {
            return Ok(
                match self.answer_offer(execution, at.index, Some(&proofs.passkeys), answer)? {
                    Ok(result) => result.with_detail("passkey"),
                    Err((refusal, renewed)) => {
                        let shown = link_form(at, state, proofs.password, renewed);
                        self.refuse(execution, shown, &refusal)
                    }
                },
            );
        }
        if !proofs.password {
            return Ok(StepResult::wait(form, "prompt"));
        }
        let password = match typed(&form, Some(input), FIELD_PASSWORD, Typed::Raw) {
            Ok(password) => password,
            Err(wait) => return Ok(*wait),
        };
        let checked = self.check_password(execution, password, form)?;
        Ok(if matches!(checked.next, Next::Advance) {
            checked.with_detail("password")
        } else {
            checked
        })
    }

    /// Links `user` to the provider account; `Some` refusal when another request linked that
    /// account first (it keeps it).
    fn link(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        offered: &[IdentityProvider],
        user: &User,
        link: &IdentityLink,
    ) -> Result<Option<StepResult>, EngineError> {
        match self
            .ports
            .identity_links
            .link(&execution.tenant, &user.id, link)
        {
            Ok(()) => Ok(None),
            Err(PortError::Duplicate) => Ok(Some(
                self.social_refused(
                    execution,
                    at,
                    offered,
                    SOCIAL_ACCOUNT_EXISTS,
                    ACCOUNT_EXISTS_MESSAGE,
                )
                .with_detail("linked concurrently"),
            )),
            Err(other) => Err(other.into()),
        }
    }

    fn link_and_sign_in(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        offered: &[IdentityProvider],
        user: &User,
        link: &IdentityLink,
        how: &str,
    ) -> Result<StepResult, EngineError> {
        if let Some(refused) = self.link(execution, at, offered, user, link)? {
            return Ok(refused);
        }
        Ok(self
            .signed_in(execution, user, &link.provider, how)
            .with_event(EventDraft::success(EventKind::CredentialAdded).because("social_link")))
    }

    /// A new user for `identity`: its verified e-mail address as the identifier, else its user
    /// name, else `{provider}-{subject}`; `None` when that identifier is taken.
    fn create_federated_user(
        &self,
        tenant: &crate::TenantId,
        provider: &IdentityProvider,
        identity: &ExternalIdentity,
    ) -> Result<Option<User>, EngineError> {
        let Some(identifier) =
            identifier::canonical_identifier(&new_identifier(provider, identity))
        else {
            return Ok(None);
        };
        let attributes = federated_attributes(identity);
        let user = NewUser {
            id: self.new_user_id(),
            identifier,
            password_hash: None,
            attributes,
            created_at: self.ports.clock.now_secs(),
            disabled_at: None,
            password_changed_at: None,
        };
        match self.ports.users.create(tenant, user) {
            Ok(user) => Ok(Some(user)),
            Err(PortError::Duplicate) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    fn signed_in(
        &self,
        execution: &mut Execution,
        user: &User,
        provider: &str,
        how: &str,
    ) -> StepResult {
        execution.federation = None;
        execution.user_id = Some(user.id.clone());
        execution.identifier = Some(user.identifier.clone());
        add_method(execution, METHOD_SOCIAL);
        StepResult::advance("accepted").with_detail(format!("{provider}:{how}"))
    }

    /// The choice again, with the error of `error`.
    fn social_error(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        offered: &[IdentityProvider],
        error: &FederationError,
    ) -> StepResult {
        let message = match error {
            FederationError::Unavailable(_) | FederationError::Misconfigured(_) => {
                UNAVAILABLE_MESSAGE
            }
            FederationError::CodeRejected(_) | FederationError::InvalidToken(_) => REJECTED_MESSAGE,
        };
        self.social_refused(execution, at, offered, error.code(), message)
            .with_detail(cut(&error.to_string()))
    }

    /// The choice again with a form error `code`; the failure counts as one of the
    /// execution's attempts (each one may cost a call to the provider).
    fn social_refused(
        &self,
        execution: &mut Execution,
        at: &SocialStep<'_>,
        offered: &[IdentityProvider],
        code: &str,
        message: &str,
    ) -> StepResult {
        let form = with_errors(
            choice_form(at, offered),
            vec![FieldError {
                field: None,
                code: code.to_owned(),
                message: message.to_owned(),
            }],
        );
        self.failed_attempt(execution, "social", form, code)
    }

    /// A random URL-safe token of 32 bytes (`state`, nonce, PKCE verifier: 43 characters).
    fn token(&self) -> String {
        let mut bytes = [0u8; 32];
        self.ports.random.fill(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

const STATE_MISMATCH_MESSAGE: &str =
    "The sign-in could not be matched to this page. Please try again.";
const ACCESS_DENIED_MESSAGE: &str = "The sign-in was cancelled.";
const INVALID_RESPONSE_MESSAGE: &str = "The provider's answer could not be used. Please try again.";
const UNAVAILABLE_MESSAGE: &str =
    "The provider cannot be reached right now. Please try again later.";
const REJECTED_MESSAGE: &str = "The sign-in could not be verified. Please try again.";
const NOT_FOUND_MESSAGE: &str = "No account is linked to this sign-in.";
const ACCOUNT_EXISTS_MESSAGE: &str =
    "An account with this e-mail address exists. Sign in to it first, then link this provider.";

const REGISTERED_MESSAGE: &str =
    "An account exists already for this sign-in or its e-mail address. Sign in instead.";

/// The identifier of an account made from `identity`: its verified e-mail address, else its
/// user name, else `{provider}-{subject}` (an unverified address is never an identifier:
/// whoever owns it could not register it then).
fn new_identifier(provider: &IdentityProvider, identity: &ExternalIdentity) -> String {
    identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)
        .map(str::to_owned)
        .or_else(|| identity.username.clone())
        .unwrap_or_else(|| format!("{}-{}", provider.id, identity.subject))
}

/// The attributes of an account made from `identity`: the mapped ones, `email` with
/// `email_verified`, and `name`.
fn federated_attributes(identity: &ExternalIdentity) -> serde_json::Map<String, Value> {
    let mut attributes = identity.attributes.clone();
    if let Some(email) = &identity.email {
        attributes.insert("email".to_owned(), Value::String(email.clone()));
        attributes.insert(
            "email_verified".to_owned(),
            Value::Bool(identity.email_verified),
        );
    }
    if let Some(name) = &identity.name {
        attributes
            .entry("name".to_owned())
            .or_insert_with(|| Value::String(name.clone()));
    }
    attributes
}

/// The choice of providers: one action per provider.
fn choice_form(at: &SocialStep<'_>, offered: &[IdentityProvider]) -> Form {
    let place = At::new(at.index, at.node_id);
    forms::social_choice(
        &place,
        SocialPrompt {
            providers: offered
                .iter()
                .map(|provider| ProviderChoice {
                    id: provider.id.clone(),
                    name: provider.display_name.clone(),
                    icon_url: provider.icon_url.clone(),
                    promoted: provider.promoted,
                })
                .collect(),
            provider: None,
            redirect_url: None,
        },
    )
}

/// Go to the provider, and come back with `code` and `state` (or `error`).
fn redirect_form(at: &SocialStep<'_>, state: &FederationState) -> Form {
    forms::social_redirect(
        &At::new(at.index, at.node_id),
        SocialPrompt {
            providers: Vec::new(),
            provider: Some(state.provider.clone()),
            redirect_url: Some(state.url.clone()),
        },
    )
}

/// What an existing account can be proven with.
struct Proofs {
    password: bool,
    passkeys: Vec<crate::StoredPasskey>,
}

impl Proofs {
    fn any(&self) -> bool {
        self.password || !self.passkeys.is_empty()
    }
}

/// The proof of the existing account, before it is linked: its password (when it has one)
/// and its passkeys (`offer`).
fn link_form(
    at: &SocialStep<'_>,
    state: &FederationState,
    password: bool,
    offer: Option<crate::PasskeyPrompt>,
) -> Form {
    let hint = state
        .pending_link
        .as_ref()
        .map(|pending| pending.identifier.as_str());
    let form = forms::social_link(
        &At::new(at.index, at.node_id).hinting(hint),
        SocialPrompt {
            providers: Vec::new(),
            provider: Some(state.provider.clone()),
            redirect_url: None,
        },
        password,
    );
    match offer {
        Some(prompt) => forms::offer_passkey(form, prompt),
        None => form,
    }
}

/// At most 200 bytes of a provider's text, for the trace.
fn cut(text: &str) -> String {
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
