//! The in-memory outbox that serves as mailer and SMS sender.

use std::sync::Mutex;

use crate::ports::{Mailer, OutgoingMessage, SmsSender};
use crate::{PortError, lock};

/// A mailer (and SMS sender) that keeps every message in an outbox, for tests and demos.
#[derive(Debug, Default)]
pub struct MemoryOutbox {
    sent: Mutex<Vec<OutgoingMessage>>,
}

impl MemoryOutbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far, oldest first.
    pub fn messages(&self) -> Vec<OutgoingMessage> {
        lock(&self.sent).clone()
    }

    /// The most recent message sent to `to`.
    pub fn last_to(&self, to: &str) -> Option<OutgoingMessage> {
        lock(&self.sent)
            .iter()
            .rev()
            .find(|message| message.to == to)
            .cloned()
    }
}

impl Mailer for MemoryOutbox {
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError> {
        lock(&self.sent).push(message.clone());
        Ok(())
    }
}

impl SmsSender for MemoryOutbox {
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError> {
        lock(&self.sent).push(message.clone());
        Ok(())
    }
}
