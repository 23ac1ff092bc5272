//! A minimal SMTP server on loopback for the tests that read mail the real server sends:
//! it speaks just enough of RFC 5321 for lettre (greeting, EHLO, MAIL, RCPT, DATA with
//! dot-unstuffing, RSET, NOOP, QUIT), keeps every message it receives and hands them over by
//! recipient.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// One received message: the envelope recipients and the raw RFC 5322 text.
#[derive(Debug, Clone)]
pub(crate) struct Mail {
    /// `RCPT TO` addresses, as sent.
    pub(crate) recipients: Vec<String>,
    /// Headers and body, dot-unstuffed, lines joined with `\n`; a quoted-printable body is
    /// decoded, as a mail client would.
    pub(crate) text: String,
}

/// The receiver: its URL for `FLOWD_SMTP_URL` and the messages received so far.
pub(crate) struct SmtpReceiver {
    url: String,
    arrivals: Mutex<Receiver<Mail>>,
    seen: Mutex<Vec<Mail>>,
}

impl SmtpReceiver {
    /// Listens on 127.0.0.1 on a free port; every connection is served on its own thread for
    /// as long as the test process runs.
    pub(crate) fn start() -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (sender, arrivals) = channel();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sender = sender.clone();
                thread::spawn(move || serve(stream, &sender));
            }
        });
        Arc::new(Self {
            url: format!("smtp://127.0.0.1:{port}"),
            arrivals: Mutex::new(arrivals),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// `smtp://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// How many messages have arrived for `to` so far.
    pub(crate) fn count_for(&self, to: &str) -> usize {
        self.drain();
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|mail| mail.is_for(to))
            .count()
    }

    /// The latest message for `to`, waiting up to ten seconds for one to arrive.
    pub(crate) fn latest_for(&self, to: &str) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.drain();
            if let Some(mail) = self
                .seen
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|mail| mail.is_for(to))
            {
                return mail.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no mail for {to} arrived");
            if let Ok(mail) = self.arrivals.lock().unwrap().recv_timeout(left) {
                self.seen.lock().unwrap().push(mail);
            }
        }
    }

    fn drain(&self) {
        let arrivals = self.arrivals.lock().unwrap();
        let mut seen = self.seen.lock().unwrap();
        seen.extend(arrivals.try_iter());
    }
}

impl Mail {
    fn is_for(&self, to: &str) -> bool {
        self.recipients
            .iter()
            .any(|recipient| recipient.eq_ignore_ascii_case(to))
    }

    /// The first run of `len` characters that follows `marker` in the text and satisfies
    /// `allowed`, e.g. the six digits after "Your code is: ".
    pub(crate) fn find_after(&self, marker: &str, len: usize, allowed: fn(char) -> bool) -> String {
        let start = self
            .text
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker:?} in the mail:\n{}", self.text))
            + marker.len();
        let value: String = self.text[start..].chars().take(len).collect();
        assert!(
            value.chars().count() == len && value.chars().all(allowed),
            "{value:?} after {marker:?} in:\n{}",
            self.text
        );
        value
    }
}

/// Serves one SMTP connection until QUIT or the client hangs up.
fn serve(stream: TcpStream, sender: &Sender<Mail>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut say = |line: &str| writer.write_all(format!("{line}\r\n").as_bytes()).is_ok();
    if !say("220 flowd-test ESMTP ready") {
        return;
    }
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" => "250-flowd-test\r\n250 8BITMIME",
            "HELO" | "NOOP" => "250 ok",
            "MAIL" => {
                recipients.clear();
                "250 sender ok"
            }
            "RCPT" => {
                let address = command
                    .split_once(':')
                    .map(|(_, rest)| rest.trim().trim_start_matches('<').trim_end_matches('>'))
                    .unwrap_or_default();
                recipients.push(address.to_owned());
                "250 recipient ok"
            }
            "RSET" => {
                recipients.clear();
                "250 reset"
            }
            "DATA" => {
                if !say("354 go ahead") {
                    return;
                }
                let mut text = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let content = line.trim_end_matches(['\r', '\n']);
                    if content == "." {
                        break;
                    }
                    text.push_str(content.strip_prefix('.').unwrap_or(content));
                    text.push('\n');
                }
                let _ = sender.send(Mail {
                    recipients: std::mem::take(&mut recipients),
                    text: decode(&text),
                });
                "250 queued"
            }
            "QUIT" => {
                say("221 bye");
                return;
            }
            _ => "502 not implemented",
        };
        if !say(reply) {
            return;
        }
    }
}

/// Decodes the body of `message` when its `Content-Transfer-Encoding` is quoted-printable
/// (RFC 2045: `=` at a line end is a soft break, `=XX` a byte); other messages stay as they are.
fn decode(message: &str) -> String {
    let Some((headers, body)) = message.split_once("\n\n") else {
        return message.to_owned();
    };
    let quoted = headers.lines().any(|line| {
        line.to_ascii_lowercase()
            .starts_with("content-transfer-encoding: quoted-printable")
    });
    if !quoted {
        return message.to_owned();
    }
    let joined = body.replace("=\n", "");
    let mut bytes = Vec::with_capacity(joined.len());
    let mut rest = joined.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let escaped = (first == b'=')
            .then(|| tail.get(..2))
            .flatten()
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match escaped {
            Some(byte) => {
                bytes.push(byte);
                rest = &tail[2..];
            }
            None => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    format!("{headers}\n\n{}", String::from_utf8_lossy(&bytes))
}
