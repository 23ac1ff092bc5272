//! [`FileSmsOutbox`]: text messages as files in a directory, for development (the `.sms.json`
//! counterpart of the mailer's `.eml` outbox).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use flow_engine::{OutgoingMessage, PortError, SmsSender};
use serde::{Deserialize, Serialize};

use crate::error::{SmsConfigError, SmsError};
use crate::{Renderer, e164, random_hex, render};

/// The longest text written, in characters (as much as a provider takes).
const MAX_TEXT_CHARS: usize = 1600;

/// One message file of a [`FileSmsOutbox`]: `{to, text, template, locale, sent_at}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The recipient, E.164.
    pub to: String,
    /// The text, as the renderer made it (with the code in it).
    pub text: String,
    /// The template name.
    pub template: String,
    /// The recipient's preferred locale, if known.
    pub locale: Option<String>,
    /// When it was written, Unix seconds.
    pub sent_at: i64,
}

/// The engine's [`SmsSender`] into a directory: one `{unix millis}-{random}.sms.json` file per
/// message, holding an [`OutboxEntry`]. A file is written under a temporary name and renamed,
/// so a reader never sees half of one; file names sort by time.
pub struct FileSmsOutbox {
    dir: PathBuf,
    renderer: Renderer,
}

impl std::fmt::Debug for FileSmsOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSmsOutbox")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl FileSmsOutbox {
    /// An outbox writing into `dir` (created if missing), with texts made by `renderer`.
    pub fn new(dir: impl Into<PathBuf>, renderer: Renderer) -> Result<Self, SmsConfigError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|error| {
            SmsConfigError::new("dir", format!("cannot create {}: {error}", dir.display()))
        })?;
        Ok(Self { dir, renderer })
    }

    /// The directory the messages go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl SmsSender for FileSmsOutbox {
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError> {
        let to = e164(&message.to).ok_or(SmsError::InvalidNumber)?;
        let text = render(&self.renderer, message, MAX_TEXT_CHARS)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let entry = OutboxEntry {
            to,
            text,
            template: message.template.clone(),
            locale: message.locale.clone(),
            sent_at: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
        };
        let json = serde_json::to_vec_pretty(&entry)
            .map_err(|error| SmsError::Unavailable(format!("outbox: {error}")))?;
        let name = format!("{:013}-{}.sms.json", now.as_millis(), random_hex(8));
        let unavailable = |what: &str, error: std::io::Error| {
            PortError::from(SmsError::Unavailable(format!("outbox {what}: {error}")))
        };
        // The directory may have been removed since; recreate it rather than fail.
        std::fs::create_dir_all(&self.dir).map_err(|error| unavailable("directory", error))?;
        let temporary = self.dir.join(format!(".{name}.tmp"));
        std::fs::write(&temporary, json).map_err(|error| unavailable("write", error))?;
        std::fs::rename(&temporary, self.dir.join(&name)).map_err(|error| {
            let _ = std::fs::remove_file(&temporary);
            unavailable("rename", error)
        })?;
        tracing::debug!(file = %name, "text message written to the outbox");
        Ok(())
    }
}
