//! A mail server for tests: an SMTP receiver on 127.0.0.1 that accepts every message and keeps
//! it, so a test can read the sign-up code the server mailed.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A received message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, dot-stuffing undone.
    pub data: String,
}

/// The receiver; it stops accepting when dropped (its thread ends with the test process).
pub struct Mailbox {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl Mailbox {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("address").port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&mails);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || {
                    let _ = converse(stream, &kept);
                });
            }
        });
        Self { port, mails }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// The messages to `to`, waiting a little for the first.
    pub fn to(&self, to: &str) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mails: Vec<Mail> = self
                .mails()
                .into_iter()
                .filter(|m| m.to.iter().any(|t| t == to))
                .collect();
            if !mails.is_empty() || Instant::now() > deadline {
                return mails;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The code in the latest message to `to`.
    pub fn code_for(&self, to: &str) -> String {
        let mails = self.to(to);
        let mail = mails
            .last()
            .unwrap_or_else(|| panic!("no mail to {to}: {:?}", self.mails()));
        code_in(&mail.data).unwrap_or_else(|| panic!("no code in {}", mail.data))
    }
}

/// The first run of 8 digits after "code is:".
pub fn code_in(text: &str) -> Option<String> {
    let after = &text[text.find("code is:")? + "code is:".len()..];
    let code: String = after.trim_start().chars().take_while(char::is_ascii_digit).collect();
    (code.len() == 8).then_some(code)
}

fn converse(stream: TcpStream, mails: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    writer.write_all(b"220 mailbox.test ESMTP\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            writer.write_all(b"250-mailbox.test\r\n250 8BITMIME\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&line);
            to.clear();
            writer.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&line));
            writer.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("DATA") {
            writer.write_all(b"354 end with .\r\n")?;
            let mut data = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            mails.lock().unwrap().push(Mail {
                from: from.clone(),
                to: to.clone(),
                data,
            });
            writer.write_all(b"250 queued\r\n")?;
        } else if upper.starts_with("QUIT") {
            writer.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            writer.write_all(b"502 not here\r\n")?;
        }
    }
}

fn address(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line.rfind('>').unwrap_or(line.len());
    line[start..end].trim().to_owned()
}
