//! The default invited-registration flow: an administrator's invitation is redeemed with its
//! code, fixes the account's identifier, and is consumed exactly once when the user is created.

use std::sync::Arc;

use flow_compiler::Program;
use flow_engine::{
    FIELD_CONFIRMATION_CODE, FIELD_PASSWORD, FieldKind, FormPurpose, InvitationService,
    InvitationState, InvitationStore, Outcome, TenantId, UserDirectory,
};
use serde_json::json;

use crate::common::{Harness, assert_trace_free_of, error_codes, failure_code, program};

const LINK: &str = "https://id.example.com/register?confirmationCode={code}";

struct Invited {
    harness: Harness,
    service: InvitationService,
    program: Arc<Program>,
}

impl Invited {
    fn new() -> Self {
        let harness = Harness::new();
        let service = InvitationService::new(&harness.memory.ports(), LINK);
        Self {
            harness,
            service,
            program: program("default-invited-registration"),
        }
    }

    /// Invites `email` and returns the mailed code.
    fn invite(&self, email: &str) -> String {
        self.service
            .create(&TenantId::default(), email, None)
            .unwrap();
        self.harness
            .memory
            .outbox
            .last_to(&email.to_lowercase())
            .and_then(|mail| mail.code)
            .unwrap()
    }

    /// Starts the flow and redeems `code`; returns the execution and the outcome.
    fn redeem(&self, code: &str) -> (flow_engine::ExecutionId, Outcome) {
        let (id, _) = self.harness.start(&self.program);
        let outcome = self.harness.submit(&id, &[(FIELD_CONFIRMATION_CODE, code)]);
        (id, outcome)
    }
}

#[test]
fn an_invitation_creates_the_invited_account_once() {
    let invited = Invited::new();
    let code = invited.invite("Invitee@Example.com");

    let (id, first) = invited.harness.start(&invited.program);
    let form = first.form().unwrap();
    assert_eq!(form.purpose, FormPurpose::RedeemInvitation);
    assert_eq!(
        form.field(FIELD_CONFIRMATION_CODE).unwrap().kind,
        FieldKind::Code
    );

    // The identifier step is skipped: the invitation fixed it.
    let second = invited
        .harness
        .submit(&id, &[(FIELD_CONFIRMATION_CODE, &code)]);
    let form = second.form().unwrap();
    assert_eq!(form.purpose, FormPurpose::SetPassword);
    assert_eq!(form.user_hint.as_deref(), Some("invitee@example.com"));
    invited
        .harness
        .submit(&id, &[(FIELD_PASSWORD, "an invited passphrase")]);
    let done = invited.harness.submit(&id, &[("given_name", "Ivy")]);
    let Outcome::Complete {
        user_id: Some(user_id),
        sign_in: true,
        ..
    } = done
    else {
        panic!("{done:?}")
    };
    let tenant = TenantId::default();
    let user = invited
        .harness
        .memory
        .users
        .get(&tenant, &user_id)
        .unwrap()
        .unwrap();
    assert_eq!(user.identifier, "invitee@example.com");
    assert_eq!(user.attributes.get("email_verified"), Some(&json!(true)));
    let listed = invited.service.list(&tenant).unwrap();
    assert_eq!(listed[0].state(i64::MAX / 2), InvitationState::Used);
    assert_trace_free_of(&invited.harness, &id, &[&code, "an invited passphrase"]);

    // The used code is refused, recoverably, and a password still signs in.
    let (_, again) = invited.redeem(&code);
    assert_eq!(error_codes(&again), ["invitation_used"]);
    let (_, login) = invited
        .harness
        .login("invitee@example.com", "an invited passphrase");
    assert!(matches!(login, Outcome::Complete { .. }), "{login:?}");
}

#[test]
fn unknown_revoked_and_expired_codes_are_wrong_codes_with_an_attempt_limit() {
    let invited = Invited::new();
    let tenant = TenantId::default();
    let (id, unknown) = invited.redeem("0123456789abcdef0123456789abcdef");
    assert_eq!(error_codes(&unknown), ["invalid_code"]);
    let empty = invited.harness.submit(&id, &[]);
    assert_eq!(error_codes(&empty), ["required"]);

    let revoked = invited.invite("revoked@example.com");
    let listed = invited.service.list(&tenant).unwrap();
    invited.service.revoke(&tenant, &listed[0].id).unwrap();
    let outcome = invited
        .harness
        .submit(&id, &[(FIELD_CONFIRMATION_CODE, &revoked)]);
    assert_eq!(error_codes(&outcome), ["invalid_code"]);

    // Five wrong codes in one execution end it.
    for _ in 0..2 {
        invited
            .harness
            .submit(&id, &[(FIELD_CONFIRMATION_CODE, "nope")]);
    }
    let last = invited
        .harness
        .submit(&id, &[(FIELD_CONFIRMATION_CODE, "nope")]);
    assert_eq!(failure_code(&last), "too_many_attempts");

    let expiring = invited.invite("late@example.com");
    invited
        .harness
        .memory
        .clock
        .as_ref()
        .unwrap()
        .advance_secs(flow_engine::DEFAULT_INVITATION_TTL_SECS);
    let (_, outcome) = invited.redeem(&expiring);
    assert_eq!(error_codes(&outcome), ["code_expired"]);
}

#[test]
fn two_executions_racing_on_one_code_create_one_account() {
    let invited = Invited::new();
    let code = invited.invite("race@example.com");
    let (a, _) = invited.redeem(&code);
    let (b, _) = invited.redeem(&code);
    for id in [&a, &b] {
        invited
            .harness
            .submit(id, &[(FIELD_PASSWORD, "a racing passphrase")]);
    }
    let first = invited.harness.submit(&a, &[]);
    assert!(matches!(first, Outcome::Complete { .. }), "{first:?}");
    let second = invited.harness.submit(&b, &[]);
    assert_eq!(failure_code(&second), "invitation_invalid");
}

#[test]
fn an_invitation_for_an_existing_account_ends_the_flow_and_stays_usable() {
    let invited = Invited::new();
    invited
        .harness
        .register("taken@example.com", "a registered passphrase");
    let code = invited.invite("taken@example.com");
    let (_, outcome) = invited.redeem(&code);
    assert_eq!(failure_code(&outcome), "identifier_taken");
    let invitation = invited
        .harness
        .memory
        .invitations
        .invitations(&TenantId::default())
        .unwrap()
        .remove(0);
    assert_eq!(invitation.used_at, None);
}

#[test]
fn an_invitation_for_a_look_alike_of_an_account_ends_the_flow() {
    let invited = Invited::new();
    invited
        .harness
        .register("ivan@example.com", "a registered passphrase");
    // Cyrillic а in the domain: the invitation can be made, never turned into an account.
    let code = invited.invite("ivan@ex\u{430}mple.com");
    let (_, outcome) = invited.redeem(&code);
    assert_eq!(failure_code(&outcome), "identifier_taken");
}

#[test]
fn a_program_without_the_redeeming_step_creates_no_account() {
    let invited = Invited::new();
    // As compiled before invitations existed: the same flow without its first step.
    let mut old = (*invited.program).clone();
    assert_eq!(old.steps.remove(0).op, flow_compiler::Op::RedeemInvitation);
    let old = Arc::new(old);
    let (id, _) = invited.harness.start(&old);
    invited.harness.submit(
        &id,
        &[(flow_engine::FIELD_IDENTIFIER, "sneaky@example.com")],
    );
    invited
        .harness
        .submit(&id, &[(FIELD_PASSWORD, "hollow cobalt raven sprout")]);
    let outcome = invited.harness.submit(&id, &[]);
    assert_eq!(failure_code(&outcome), "invitation_required");
    assert_eq!(
        invited
            .harness
            .memory
            .users
            .find_by_identifier(&TenantId::default(), "sneaky@example.com")
            .unwrap(),
        None
    );
}
