//! What the executor keeps in the HTTP session: the id of the running execution of each
//! flow, and who signed in. Nothing else: the flow state lives in the engine's store, so any
//! replica serves any request, and the cookie store stays far below a cookie's 4 KB.

use std::collections::BTreeMap;

use actix_session::Session;
use flow_engine::ExecutionId;
use serde::{Deserialize, Serialize};

use crate::AuthentikError;

/// Session key of the slug → execution id map.
const PLANS_KEY: &str = "flowd.plans";
/// Session key of the signed-in user.
const USER_KEY: &str = "flowd.user";
/// The most flows one session runs at once; starting one more forgets the others (a
/// session is one browser tab's journey, not a store).
pub const MAX_PLANS: usize = 8;

/// The user a successful flow signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The user's id.
    pub user_id: String,
    /// Authentication methods used (`pwd`, `otp`, ...).
    pub methods: Vec<String>,
    /// When (Unix seconds).
    pub at: i64,
    /// The flow that signed them in.
    pub flow: String,
}

/// Typed access to the executor's part of a session.
pub struct FlowSession<'a>(&'a Session);

impl<'a> FlowSession<'a> {
    /// Wraps an actix session.
    pub fn new(session: &'a Session) -> Self {
        Self(session)
    }

    /// The slug → execution map; a damaged entry counts as none.
    fn plans(&self) -> BTreeMap<String, String> {
        self.0
            .get::<BTreeMap<String, String>>(PLANS_KEY)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Every flow's running execution, by slug.
    pub fn all_plans(&self) -> Vec<(String, ExecutionId)> {
        self.plans()
            .into_iter()
            .filter_map(|(slug, id)| ExecutionId::parse(&id).map(|id| (slug, id)))
            .collect()
    }

    /// The execution running for the flow `slug`, if any.
    pub fn plan(&self, slug: &str) -> Option<ExecutionId> {
        self.plans().get(slug).and_then(|id| ExecutionId::parse(id))
    }

    /// Remembers `id` as the execution of `slug`.
    pub fn set_plan(&self, slug: &str, id: ExecutionId) -> Result<(), AuthentikError> {
        let mut plans = self.plans();
        if !plans.contains_key(slug) && plans.len() >= MAX_PLANS {
            plans.clear();
        }
        plans.insert(slug.to_owned(), id.to_string());
        self.0
            .insert(PLANS_KEY, plans)
            .map_err(|error| AuthentikError::Session(error.to_string()))
    }

    /// Forgets the execution of `slug`.
    pub fn clear_plan(&self, slug: &str) -> Result<(), AuthentikError> {
        let mut plans = self.plans();
        if plans.remove(slug).is_some() {
            self.0
                .insert(PLANS_KEY, plans)
                .map_err(|error| AuthentikError::Session(error.to_string()))?;
        }
        Ok(())
    }

    /// Forgets every execution (the cancel URL).
    pub fn clear_plans(&self) {
        self.0.remove(PLANS_KEY);
    }

    /// Signs `user` in: a new session id (against fixation), the running executions kept.
    pub fn sign_in(&self, user: &SignedIn) -> Result<(), AuthentikError> {
        self.0.renew();
        self.0
            .insert(USER_KEY, user)
            .map_err(|error| AuthentikError::Session(error.to_string()))
    }

    /// Signs out: the whole session (user and running executions) is dropped and its cookie
    /// removed.
    pub fn sign_out(&self) {
        self.0.purge();
    }

    /// Forgets who signed in (a user gone, disabled, or whose password changed since), keeping
    /// the running executions.
    pub fn forget_user(&self) {
        self.0.remove(USER_KEY);
    }

    /// Who is signed in, if anyone.
    pub fn signed_in(&self) -> Option<SignedIn> {
        self.0.get::<SignedIn>(USER_KEY).ok().flatten()
    }
}
