//! Passkeys (WebAuthn) for the `webauthn` steps: the relying party's settings, the ceremonies
//! of webauthn-rs, and reading what clients send back.
//!
//! webauthn-rs does the cryptography and the checks of the specification (challenge, origin,
//! RP id hash, signature, user verification, counter); this module keeps its state in plain
//! JSON so that an execution can carry a ceremony from one request (and replica) to the next.

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Webauthn, WebauthnBuilder, WebauthnError,
};

use crate::{StoredPasskey, UserId};

/// The most bytes of a credential a client may send back (a registration with a large
/// attestation is a few KiB).
pub const MAX_CREDENTIAL_BYTES: usize = 64 * 1024;

/// What to do when a passkey's signature counter did not increase (a sign of a cloned
/// authenticator, per the WebAuthn specification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignCountPolicy {
    /// Refuse the sign-in (`passkey_counter_regressed`).
    #[default]
    Refuse,
    /// Let it in, and record the regression in the trace and the event log.
    Report,
}

impl SignCountPolicy {
    /// The policy named `name` (`refuse`, `report`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "refuse" => Some(Self::Refuse),
            "report" => Some(Self::Report),
            _ => None,
        }
    }
}

/// The relying party passkeys are registered for and used with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySettings {
    /// The RP id (a domain: `example.com`); `None` turns passkeys off, and `webauthn` steps
    /// answer `passkeys_unavailable`.
    pub rp_id: Option<String>,
    /// The name authenticators show.
    pub rp_name: String,
    /// The origins ceremonies may come from (`https://login.example.com`); each must be the
    /// RP id or below it.
    pub origins: Vec<String>,
    /// How long a challenge may be answered, in seconds (recommended: 300).
    pub challenge_ttl_secs: i64,
    /// What a counter that went backwards does.
    pub sign_count: SignCountPolicy,
}

impl PasskeySettings {
    /// Settings for a server reached at `public_url`: the RP id is its host, the one allowed
    /// origin is the URL's origin. A loopback address (`127.0.0.1`, `[::1]`) cannot be an RP
    /// id; it becomes `localhost` with the origin `http://localhost:<port>` (browsers treat
    /// localhost as secure). Any other IP address turns passkeys off.
    pub fn for_public_url(public_url: &str) -> Self {
        let off = Self {
            rp_id: None,
            rp_name: "flowd".to_owned(),
            origins: Vec::new(),
            challenge_ttl_secs: 300,
            sign_count: SignCountPolicy::Refuse,
        };
        let Ok(url) = Url::parse(public_url) else {
            return off;
        };
        let port = url
            .port()
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        let loopback = url
            .host_str()
            .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|host| host.parse::<std::net::IpAddr>().ok())
            .map(|ip| ip.is_loopback());
        let (rp_id, origin) = match (url.domain(), loopback) {
            (Some(domain), _) => (domain.to_owned(), url.origin().ascii_serialization()),
            (None, Some(true)) => ("localhost".to_owned(), format!("http://localhost{port}")),
            _ => return off,
        };
        Self {
            rp_id: Some(rp_id),
            origins: vec![origin],
            ..off
        }
    }

    /// Whether `origin` (`https://login.example.com`) is one ceremonies may come from.
    pub fn allows_origin(&self, origin: &str) -> bool {
        let wanted = origin.trim_end_matches('/');
        self.origins
            .iter()
            .any(|allowed| allowed.trim_end_matches('/') == wanted)
    }
}

/// The relying party built from [`PasskeySettings`], or why there is none.
pub(crate) struct RelyingParty {
    webauthn: Option<Webauthn>,
    pub(crate) settings: PasskeySettings,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A ceremony that could not be completed, with the stable code a person's form shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// `credential_malformed`, `passkey_rejected`, `passkey_unknown`, ...
    pub(crate) code: &'static str,
    /// What webauthn-rs said, for the trace (never shown to the person).
    pub(crate) detail: String,
}

impl Refusal {
    fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

/// The code of a credential the server cannot read (garbage, truncated, wrong shape).
pub(crate) const CREDENTIAL_MALFORMED: &str = "credential_malformed";
/// The code of a credential webauthn-rs refused (challenge, origin, RP id, signature).
pub(crate) const PASSKEY_REJECTED: &str = "passkey_rejected";
/// The code of a credential this server does not know, or that belongs to someone else.
pub(crate) const PASSKEY_UNKNOWN: &str = "passkey_unknown";
/// The code of a sign-in whose counter went backwards (refused by policy).
pub(crate) const PASSKEY_COUNTER_REGRESSED: &str = "passkey_counter_regressed";
/// The code of a passkey that is already registered (to this or another account).
pub(crate) const PASSKEY_ALREADY_REGISTERED: &str = "passkey_already_registered";
/// The code of a ceremony answered after its challenge expired.
pub(crate) const CHALLENGE_EXPIRED: &str = "challenge_expired";
/// The code of an origin the client stated that is not one of the allowed ones.
pub(crate) const ORIGIN_NOT_ALLOWED: &str = "origin_not_allowed";

impl RelyingParty {
    /// The relying party of `settings`; fails with a message if the RP id and origins do not
    /// fit together (an origin outside the RP id, not `https` or `localhost`).
    pub(crate) fn new(settings: PasskeySettings) -> Result<Self, String> {
        let Some(rp_id) = settings.rp_id.as_deref() else {
            return Ok(Self {
                webauthn: None,
                settings,
            });
        };
        let origins = settings
            .origins
            .iter()
            .map(|origin| {
                Url::parse(origin).map_err(|error| format!("passkey origin {origin:?}: {error}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let Some((first, rest)) = origins.split_first() else {
            return Err("passkeys need at least one allowed origin".to_owned());
        };
        let mut builder = WebauthnBuilder::new(rp_id, first).map_err(|_| {
            format!("the passkey RP id {rp_id:?} is not the host of {first} or a parent of it")
        })?;
        for origin in rest {
            let fits = origin
                .domain()
                .is_some_and(|host| host == rp_id || host.ends_with(&format!(".{rp_id}")));
            if !fits {
                return Err(format!(
                    "the passkey origin {origin} is outside the RP id {rp_id:?}"
                ));
            }
            builder = builder.append_allowed_origin(origin);
        }
        let timeout = std::time::Duration::from_secs(timeout_secs(&settings));
        // On a development machine the port of `localhost` varies: any port of it is fine.
        let webauthn = builder
            .allow_any_port(rp_id == "localhost")
            .rp_name(&settings.rp_name)
            .timeout(timeout)
            .build()
            .map_err(|error| format!("passkey settings: {error}"))?;
        Ok(Self {
            webauthn: Some(webauthn),
            settings,
        })
    }

    /// The webauthn-rs relying party; `None` when passkeys are off.
    pub(crate) fn webauthn(&self) -> Option<&Webauthn> {
        self.webauthn.as_ref()
    }
}

/// A ceremony started by a `webauthn` step, kept in the execution until it is answered: the
/// server half of the challenge (webauthn-rs's state) and what the client was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    /// The step that started it: another step never accepts its answer.
    pub step: usize,
    /// Which ceremony.
    pub kind: CeremonyKind,
    /// webauthn-rs's state, as JSON (a discoverable sign-in's: its challenge alone). It holds
    /// the challenge: never traced or logged.
    pub state: Value,
    /// The options sent to the client (`{"publicKey": {...}}`); `null` when they follow from
    /// the state (see [`PasskeyCeremony::options`]).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub options: Value,
    /// After this instant (Unix seconds) the challenge is no longer accepted.
    pub expires_at: i64,
    /// The origin the client stated (WSO2's internal prompt), once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl PasskeyCeremony {
    /// What the client is sent for this ceremony.
    pub fn prompt(&self, settings: &PasskeySettings) -> crate::PasskeyPrompt {
        crate::PasskeyPrompt {
            ceremony: self.kind,
            options: self.options(settings),
            origin: self.origin.clone(),
        }
    }

    /// The options sent to the client: as stored, or, for a discoverable sign-in (stored as
    /// its challenge alone), rebuilt the way webauthn-rs makes them.
    pub fn options(&self, settings: &PasskeySettings) -> Value {
        match (&self.state, self.kind) {
            (Value::String(challenge), CeremonyKind::Discoverable) => serde_json::json!({
                "publicKey": {
                    "challenge": challenge,
                    "timeout": timeout_secs(settings) * 1000,
                    "rpId": settings.rp_id,
                    "allowCredentials": [],
                    "userVerification": "required",
                    "extensions": {"uvm": true},
                },
                "mediation": "conditional",
            }),
            _ => self.options.clone(),
        }
    }

    /// webauthn-rs's state of the ceremony.
    pub(crate) fn webauthn_state(&self) -> Value {
        match (&self.state, self.kind) {
            (Value::String(challenge), CeremonyKind::Discoverable) => serde_json::json!({
                "ast": {
                    "credentials": [],
                    "policy": "required",
                    "challenge": challenge,
                    "appid": null,
                    "allow_backup_eligible_upgrade": false,
                }
            }),
            _ => self.state.clone(),
        }
    }

    /// The ceremony as it is stored: a discoverable sign-in keeps only its challenge (its
    /// state and options follow from it and the settings), so that the identifier prompt that
    /// offers autofill costs the execution record little.
    pub(crate) fn compacted(mut self) -> Self {
        if self.kind == CeremonyKind::Discoverable
            && let Some(challenge) = self.state.pointer("/ast/challenge").cloned()
        {
            self.state = challenge;
            self.options = Value::Null;
        }
        self
    }
}

/// The challenge timeout of `settings`, in seconds (30 s to an hour).
fn timeout_secs(settings: &PasskeySettings) -> u64 {
    u64::try_from(settings.challenge_ttl_secs.clamp(30, 3600)).unwrap_or(300)
}

/// The kind of a passkey ceremony.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CeremonyKind {
    /// Create a passkey (`navigator.credentials.create`).
    Registration,
    /// Sign in with one of the identified user's passkeys.
    Authentication,
    /// Sign in with any passkey the authenticator holds for this site (no identifier yet;
    /// `mediation: conditional` lets browsers offer it as autofill).
    Discoverable,
}

/// The user handle WebAuthn stores with a user's passkeys: the id itself when it is a UUID
/// (users flowd created), else a UUID made from a SHA-256 of the id (imported users).
pub(crate) fn user_handle(id: &UserId) -> Uuid {
    if let Ok(uuid) = Uuid::parse_str(id.as_str()) {
        return uuid;
    }
    let digest = Sha256::digest(id.as_str().as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Reads a credential a client sent: its JSON as text, or that JSON base64url-encoded (the
/// `tokenResponse` of WSO2's documentation). A missing `rawId` is taken from `id` (WSO2's
/// portal leaves it out).
pub(crate) fn read_credential<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Refusal> {
    if text.len() > MAX_CREDENTIAL_BYTES {
        return Err(Refusal::new(CREDENTIAL_MALFORMED, "credential too large"));
    }
    let text = text.trim();
    let json: Value = match serde_json::from_str(text) {
        Ok(json) => json,
        Err(_) => {
            let decoded = URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .or_else(|_| URL_SAFE.decode(text))
                .map_err(|_| Refusal::new(CREDENTIAL_MALFORMED, "neither JSON nor base64url"))?;
            serde_json::from_slice(&decoded)
                .map_err(|error| Refusal::new(CREDENTIAL_MALFORMED, error.to_string()))?
        }
    };
    let mut json = match json {
        // WSO2's app-native shape wraps it: `{credential: {...}, requestId}`.
        Value::Object(mut object) if object.get("credential").is_some_and(Value::is_object) => {
            object.remove("credential").unwrap_or_default()
        }
        other => other,
    };
    if let Value::Object(object) = &mut json
        && !object.contains_key("rawId")
        && let Some(id) = object.get("id").cloned()
    {
        object.insert("rawId".to_owned(), id);
    }
    serde_json::from_value(json)
        .map_err(|error| Refusal::new(CREDENTIAL_MALFORMED, error.to_string()))
}

/// Reads `text` as a client's credential the way the passkey steps do, both as a
/// registration and as an assertion; the fuzz target's entry point. A refusal is always one
/// of the codes the forms show.
pub fn fuzz_credential(text: &str) -> Vec<Result<String, &'static str>> {
    let registration = read_credential::<RegisterPublicKeyCredential>(text)
        .map(|credential| credential_id_text(&credential.raw_id));
    let assertion = read_assertion(text).map(|assertion| assertion.credential_id);
    [registration, assertion]
        .into_iter()
        .map(|read| read.map_err(|refusal| refusal.code))
        .collect()
}

/// The credential id of a stored or presented credential, base64url without padding.
pub(crate) fn credential_id_text(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

/// Starts a registration for `user`: the options (with a discoverable credential preferred, so
/// that the passkey can sign in without an identifier) and the state to keep.
pub(crate) fn start_registration(
    webauthn: &Webauthn,
    handle: Uuid,
    name: &str,
    existing: &[StoredPasskey],
) -> Result<(Value, Value), String> {
    let exclude = existing
        .iter()
        .filter_map(|passkey| stored(passkey).ok())
        .map(|passkey| passkey.cred_id().clone())
        .collect::<Vec<_>>();
    let (options, state): (CreationChallengeResponse, PasskeyRegistration) = webauthn
        .start_passkey_registration(handle, name, name, Some(exclude))
        .map_err(|error| error.to_string())?;
    let mut options = serde_json::to_value(options).map_err(|error| error.to_string())?;
    // webauthn-rs asks for no resident key; platform authenticators then may make one that
    // cannot sign in without an identifier. "preferred" lets them (the server checks nothing
    // about it).
    if let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection")
        && let Value::Object(selection) = selection
    {
        selection.insert(
            "residentKey".to_owned(),
            Value::String("preferred".to_owned()),
        );
        selection.insert("requireResidentKey".to_owned(), Value::Bool(false));
    }
    let state = serde_json::to_value(state).map_err(|error| error.to_string())?;
    Ok((options, state))
}

/// Finishes a registration: the new passkey, named `name`, created at `now`.
pub(crate) fn finish_registration(
    webauthn: &Webauthn,
    state: &Value,
    credential: &str,
    name: &str,
    now: i64,
) -> Result<StoredPasskey, Refusal> {
    let state: PasskeyRegistration = serde_json::from_value(state.clone())
        .map_err(|error| Refusal::new(PASSKEY_REJECTED, format!("ceremony state: {error}")))?;
    let credential: RegisterPublicKeyCredential = read_credential(credential)?;
    let passkey = webauthn
        .finish_passkey_registration(&credential, &state)
        .map_err(refusal)?;
    let data = serde_json::to_value(&passkey)
        .map_err(|error| Refusal::new(PASSKEY_REJECTED, error.to_string()))?;
    let flag = |name: &str| {
        data.pointer(&format!("/cred/{name}"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    Ok(StoredPasskey {
        credential_id: credential_id_text(passkey.cred_id().as_ref()),
        name: name.to_owned(),
        sign_count: data
            .pointer("/cred/counter")
            .and_then(Value::as_u64)
            .and_then(|count| u32::try_from(count).ok())
            .unwrap_or(0),
        backup_eligible: flag("backup_eligible"),
        backup_state: flag("backup_state"),
        data: data.to_string(),
        created_at: now,
        last_used_at: None,
    })
}

/// Starts a sign-in with one of `passkeys` (an identified user's).
pub(crate) fn start_authentication(
    webauthn: &Webauthn,
    passkeys: &[StoredPasskey],
) -> Result<(Value, Value), String> {
    let passkeys = passkeys
        .iter()
        .filter_map(|passkey| stored(passkey).ok())
        .collect::<Vec<_>>();
    let (options, state): (RequestChallengeResponse, PasskeyAuthentication) = webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|error| error.to_string())?;
    Ok((
        serde_json::to_value(options).map_err(|error| error.to_string())?,
        serde_json::to_value(state).map_err(|error| error.to_string())?,
    ))
}

/// Starts a sign-in with whatever passkey the person's authenticator holds for this site.
pub(crate) fn start_discoverable(webauthn: &Webauthn) -> Result<(Value, Value), String> {
    let (options, state): (RequestChallengeResponse, DiscoverableAuthentication) = webauthn
        .start_discoverable_authentication()
        .map_err(|error| error.to_string())?;
    Ok((
        serde_json::to_value(options).map_err(|error| error.to_string())?,
        serde_json::to_value(state).map_err(|error| error.to_string())?,
    ))
}

/// A presented assertion, read and not yet verified: which credential it names and, for a
/// discoverable sign-in, the user handle it carries.
pub(crate) struct Assertion {
    credential: PublicKeyCredential,
    /// The credential id, base64url without padding.
    pub(crate) credential_id: String,
    /// The user handle the authenticator returned, if any.
    pub(crate) user_handle: Option<Vec<u8>>,
}

/// Reads an assertion a client sent.
pub(crate) fn read_assertion(text: &str) -> Result<Assertion, Refusal> {
    let credential: PublicKeyCredential = read_credential(text)?;
    Ok(Assertion {
        credential_id: credential_id_text(credential.get_credential_id()),
        user_handle: credential.get_user_unique_id().map(<[u8]>::to_vec),
        credential,
    })
}

/// What a verified sign-in changed about the passkey.
pub(crate) struct Used {
    /// The passkey with its new counter, backup state and time of use.
    pub(crate) passkey: StoredPasskey,
    /// Whether the counter did not increase (only with [`SignCountPolicy::Report`]; with
    /// `Refuse` such a sign-in is refused).
    pub(crate) counter_regressed: bool,
}

/// Verifies `assertion` against `passkey` with the ceremony's `state` (`kind` says which
/// webauthn-rs state it is), applying `policy` to the counter.
pub(crate) fn finish_authentication(
    webauthn: &Webauthn,
    kind: CeremonyKind,
    state: &Value,
    assertion: &Assertion,
    passkey: &StoredPasskey,
    policy: SignCountPolicy,
    now: i64,
) -> Result<Used, Refusal> {
    let mut credential = stored(passkey)?;
    let stored_count = passkey.sign_count;
    if policy == SignCountPolicy::Report {
        // webauthn-rs refuses a counter that did not increase; to only report it, it is
        // shown a counter of zero and the comparison is made here.
        credential = with_counter(&credential, 0)?;
    }
    let result = match kind {
        CeremonyKind::Authentication => {
            let mut state: PasskeyAuthentication =
                serde_json::from_value(state.clone()).map_err(|error| {
                    Refusal::new(PASSKEY_REJECTED, format!("ceremony state: {error}"))
                })?;
            if policy == SignCountPolicy::Report {
                state = authentication_state_with(&state, &credential)?;
            }
            webauthn.finish_passkey_authentication(&assertion.credential, &state)
        }
        CeremonyKind::Discoverable => {
            let state: DiscoverableAuthentication =
                serde_json::from_value(state.clone()).map_err(|error| {
                    Refusal::new(PASSKEY_REJECTED, format!("ceremony state: {error}"))
                })?;
            webauthn.finish_discoverable_authentication_v2(
                &assertion.credential,
                state,
                &credential,
            )
        }
        CeremonyKind::Registration => {
            return Err(Refusal::new(PASSKEY_REJECTED, "not a sign-in ceremony"));
        }
    }
    .map_err(refusal)?;
    let mut updated = stored(passkey)?;
    updated.update_credential(&result);
    let counter = result.counter();
    let counter_regressed = (counter > 0 || stored_count > 0) && counter <= stored_count;
    let data = serde_json::to_string(&updated)
        .map_err(|error| Refusal::new(PASSKEY_REJECTED, error.to_string()))?;
    Ok(Used {
        passkey: StoredPasskey {
            data,
            sign_count: counter.max(stored_count),
            backup_state: result.backup_state(),
            last_used_at: Some(now),
            ..passkey.clone()
        },
        counter_regressed,
    })
}

/// The webauthn-rs passkey a stored one holds.
fn stored(passkey: &StoredPasskey) -> Result<Passkey, Refusal> {
    serde_json::from_str(&passkey.data)
        .map_err(|error| Refusal::new(PASSKEY_REJECTED, format!("stored passkey: {error}")))
}

/// `passkey` with its counter set to `count` (through its serialized form: webauthn-rs has
/// no setter).
fn with_counter(passkey: &Passkey, count: u32) -> Result<Passkey, Refusal> {
    let mut json = serde_json::to_value(passkey)
        .map_err(|error| Refusal::new(PASSKEY_REJECTED, error.to_string()))?;
    if let Some(counter) = json.pointer_mut("/cred/counter") {
        *counter = Value::from(count);
    }
    serde_json::from_value(json).map_err(|error| Refusal::new(PASSKEY_REJECTED, error.to_string()))
}

/// An authentication state whose allowed credential of the same id is `credential` (so that a
/// counter reset by [`with_counter`] is what webauthn-rs compares against).
fn authentication_state_with(
    state: &PasskeyAuthentication,
    credential: &Passkey,
) -> Result<PasskeyAuthentication, Refusal> {
    let mut json = serde_json::to_value(state)
        .map_err(|error| Refusal::new(PASSKEY_REJECTED, error.to_string()))?;
    let replacement = serde_json::to_value(credential)
        .map_err(|error| Refusal::new(PASSKEY_REJECTED, error.to_string()))?;
    let id = replacement.pointer("/cred/cred_id").cloned();
    if let (Some(Value::Array(credentials)), Some(id), Some(cred)) = (
        json.pointer_mut("/ast/credentials"),
        id,
        replacement.get("cred"),
    ) {
        for entry in credentials.iter_mut() {
            if entry.get("cred_id") == Some(&id) {
                *entry = cred.clone();
            }
        }
    }
    serde_json::from_value(json).map_err(|error| Refusal::new(PASSKEY_REJECTED, error.to_string()))
}

/// The refusal of a webauthn-rs error.
fn refusal(error: WebauthnError) -> Refusal {
    let code = match error {
        WebauthnError::CredentialPossibleCompromise => PASSKEY_COUNTER_REGRESSED,
        WebauthnError::ParseNOMFailure
        | WebauthnError::ParseInsufficientBytesAvailable
        | WebauthnError::ParseCBORFailure(_)
        | WebauthnError::ParseJSONFailure(_)
        | WebauthnError::ParseBase64Failure(_) => CREDENTIAL_MALFORMED,
        _ => PASSKEY_REJECTED,
    };
    Refusal::new(code, error.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn a_compacted_discoverable_ceremony_rebuilds_what_webauthn_rs_made() {
        let settings = PasskeySettings::for_public_url("https://login.example.com");
        let party = RelyingParty::new(settings.clone()).unwrap();
        let (options, state) = start_discoverable(party.webauthn().unwrap()).unwrap();
        let full = PasskeyCeremony {
            step: 0,
            kind: CeremonyKind::Discoverable,
            state: state.clone(),
            options: options.clone(),
            expires_at: 0,
            origin: None,
        };
        let compact = full.clone().compacted();
        assert!(compact.state.is_string() && compact.options.is_null());
        assert_eq!(compact.options(&settings), options);
        assert_eq!(compact.webauthn_state(), state);
        // The rebuilt state is one webauthn-rs reads.
        let _: DiscoverableAuthentication =
            serde_json::from_value(compact.webauthn_state()).unwrap();
        // Other ceremonies are kept whole.
        let (options, state) =
            start_authentication(party.webauthn().unwrap(), &[]).unwrap_or_default();
        let other = PasskeyCeremony {
            kind: CeremonyKind::Authentication,
            state: state.clone(),
            options: options.clone(),
            ..full
        }
        .compacted();
        assert_eq!((other.state, other.options), (state, options));
    }
}
