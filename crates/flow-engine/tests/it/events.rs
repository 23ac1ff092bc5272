//! The event log of the default flows: registration, sign-ins and their failures (with the
//! reason), a lockout, a recovery with its password change; with user, identifier, flow,
//! execution and client; never a secret.

use flow_engine::{
    EngineConfig, Event, EventLog, EventQuery, FIELD_CODE, FIELD_IDENTIFIER, FIELD_PASSWORD,
    Outcome, RequestContext, TenantId,
};

use crate::common::{Harness, test_config};

const EMAIL: &str = "erin@example.com";
const PASSWORD: &str = "correct horse battery staple";
const NEW: &str = "a brand new passphrase";

fn events(harness: &Harness) -> Vec<Event> {
    let query = EventQuery {
        limit: 100,
        ..EventQuery::default()
    };
    let mut events = harness
        .memory
        .events
        .list(&TenantId::default(), &query)
        .unwrap();
    events.reverse();
    events
}

/// Each event as `kind outcome reason`.
fn summary(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|event| {
            format!(
                "{} {} {}",
                event.kind.as_str(),
                event.outcome.as_str(),
                event.reason.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

#[test]
fn each_flow_outcome_is_an_event_and_none_holds_a_secret() {
    let harness = Harness::with_config(EngineConfig {
        user_max_failures: 2,
        ..test_config()
    });
    let user = harness.register(EMAIL, PASSWORD);
    // A sign-in from a known client, with a wrong password first.
    let client = RequestContext::from_request(
        TenantId::default(),
        Some("203.0.113.9".to_owned()),
        Some("events-test/1.0"),
        None,
        None,
    );
    let (id, _) = harness.engine.start(&harness.login, client).unwrap();
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    harness.submit(&id, &[(FIELD_PASSWORD, "not the password")]);
    let done = harness.submit(&id, &[(FIELD_PASSWORD, PASSWORD)]);
    assert!(matches!(done, Outcome::Complete { .. }), "{done:?}");
    // Two wrong passwords lock the user; an unknown identifier has no user but its identifier.
    harness.login(EMAIL, "wrong one");
    harness.login(EMAIL, "wrong two");
    harness.login("nobody@example.com", "whatever it is");
    // A recovery: a wrong code, then the right one and a new password.
    let (recovery, _) = harness.start(&harness.recovery);
    harness.submit(&recovery, &[(FIELD_IDENTIFIER, EMAIL)]);
    let code = harness.memory.outbox.last_to(EMAIL).unwrap().code.unwrap();
    let wrong = if code.starts_with('0') {
        "111111"
    } else {
        "000000"
    };
    harness.submit(&recovery, &[(FIELD_CODE, wrong)]);
    harness.submit(&recovery, &[(FIELD_CODE, &code)]);
    let reset = harness.submit(&recovery, &[(FIELD_PASSWORD, NEW)]);
    assert!(matches!(reset, Outcome::Complete { .. }), "{reset:?}");

    let events = events(&harness);
    assert_eq!(
        summary(&events),
        [
            "registration success -",
            "sign_in failure invalid_credentials",
            "sign_in success -",
            "sign_in failure invalid_credentials",
            "sign_in failure account_locked",
            "lockout failure too_many_failures",
            "sign_in failure invalid_credentials",
            "recovery failure invalid_code",
            "recovery success -",
            "password_change success recovery",
        ]
    );
    let signed_in = &events[2];
    assert_eq!(signed_in.user_id.as_ref(), Some(&user));
    assert_eq!(signed_in.identifier.as_deref(), Some(EMAIL));
    assert_eq!(signed_in.execution_id, Some(id));
    assert_eq!(
        signed_in.flow_id.as_deref(),
        Some(harness.login.flow_id.as_str())
    );
    assert_eq!(signed_in.client_address.as_deref(), Some("203.0.113.9"));
    assert_eq!(signed_in.user_agent.as_deref(), Some("events-test/1.0"));
    let unknown = &events[6];
    assert_eq!(
        (unknown.user_id.as_ref(), unknown.identifier.as_deref()),
        (None, Some("nobody@example.com"))
    );
    // Ids are unique and sort by time.
    let mut ids: Vec<&str> = events.iter().map(|event| event.id.as_str()).collect();
    assert!(ids.is_sorted());
    ids.dedup();
    assert_eq!(ids.len(), events.len());
    let text = serde_json::to_string(&events).unwrap();
    for secret in [PASSWORD, NEW, "not the password", code.as_str(), "$argon2"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

/// Housekeeping deletes events older than the retention, and keeps them all with 0.
#[test]
fn housekeeping_deletes_events_past_the_retention() {
    for (retention, kept) in [(3_600, 1), (0, 2)] {
        let harness = Harness::with_config(EngineConfig {
            event_retention_secs: retention,
            ..test_config()
        });
        harness.register(EMAIL, PASSWORD);
        harness.memory.clock.as_ref().unwrap().advance_secs(7_200);
        harness.login(EMAIL, PASSWORD);
        harness.engine.delete_expired().unwrap();
        let left = summary(&events(&harness));
        assert_eq!(left.len(), kept, "retention {retention}: {left:?}");
        assert_eq!(left.last().map(String::as_str), Some("sign_in success -"));
    }
}
