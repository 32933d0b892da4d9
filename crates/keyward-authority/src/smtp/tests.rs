use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::*;

#[test]
fn urls_are_read_and_passwords_stay_off_plain_connections() {
    let s = SmtpSettings::parse("smtp://127.0.0.1:2525", "keyward@example.com").unwrap();
    assert_eq!((s.host.as_str(), s.port, s.tls), ("127.0.0.1", 2525, false));
    let s = SmtpSettings::parse("smtps://me%40x.example:p%3Ass@mail.example.com", "k@example.com").unwrap();
    assert_eq!((s.port, s.tls, s.user.as_deref()), (465, true, Some("me@x.example")));
    assert_eq!(s.password.as_deref().map(String::as_str), Some("p:ss"));
    assert!(!format!("{s:?}").contains("p:ss"));
    for bad in [
        "http://mail.example.com",
        "smtp://u:p@mail.example.com",
        "smtp://",
        "mail.example.com",
    ] {
        assert!(SmtpSettings::parse(bad, "k@example.com").is_err(), "{bad}");
    }
    assert!(SmtpSettings::parse("smtp://localhost", "no address").is_err());
}

#[test]
fn lines_starting_with_a_dot_are_stuffed() {
    assert_eq!(dot_stuff("a\r\n.b\r\n..c\r\n"), "a\r\n..b\r\n...c\r\n.\r\n");
    assert_eq!(dot_stuff("a"), "a\r\n.\r\n");
}

/// A scripted server: answers each command with `replies` in order, records what it got.
async fn server(replies: Vec<&'static str>) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut stream = BufReader::new(stream);
        let mut got = Vec::new();
        stream.get_mut().write_all(b"220 test ESMTP\r\n").await.unwrap();
        let mut replies = replies.into_iter();
        let mut in_data = false;
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await.unwrap() == 0 {
                break;
            }
            got.push(line.clone());
            if in_data && line != ".\r\n" {
                continue;
            }
            in_data = line == "DATA\r\n";
            let Some(reply) = replies.next() else { break };
            stream.get_mut().write_all(reply.as_bytes()).await.unwrap();
        }
        got
    });
    (port, task)
}

#[tokio::test]
async fn a_message_is_sent_with_dot_stuffing() {
    let (port, task) = server(vec![
        "250-test\r\n250 SIZE 1000\r\n",
        "250 ok\r\n",
        "250 ok\r\n",
        "354 go on\r\n",
        "250 queued\r\n",
        "221 bye\r\n",
    ])
    .await;
    let settings = SmtpSettings::parse(&format!("smtp://127.0.0.1:{port}"), "keyward@example.com").unwrap();
    settings
        .send("ann@example.com", "Your code", "Your code is 123456.\n.hidden line")
        .await
        .unwrap();
    let got = task.await.unwrap();
    assert_eq!(got[0], "EHLO keyward\r\n");
    assert_eq!(got[1], "MAIL FROM:<keyward@example.com>\r\n");
    assert_eq!(got[2], "RCPT TO:<ann@example.com>\r\n");
    assert_eq!(got[3], "DATA\r\n");
    assert!(got.contains(&"Subject: Your code\r\n".to_owned()), "{got:?}");
    assert!(got.contains(&"..hidden line\r\n".to_owned()), "{got:?}");
    assert_eq!(got.last().unwrap(), "QUIT\r\n");
}

#[tokio::test]
async fn a_refused_recipient_is_an_error_naming_the_step() {
    let (port, _task) = server(vec!["250 hi\r\n", "250 ok\r\n", "550 no such user\r\n"]).await;
    let settings = SmtpSettings::parse(&format!("smtp://127.0.0.1:{port}"), "keyward@example.com").unwrap();
    let e = settings.send("nobody@example.com", "s", "b").await.unwrap_err();
    assert!(
        matches!(&e, SmtpError::Refused { step: "RCPT TO", reply } if reply.contains("550")),
        "{e}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let settings = SmtpSettings::parse(&format!("smtp://127.0.0.1:{port}"), "keyward@example.com").unwrap();
    assert!(matches!(
        settings.send("a@example.com", "s", "b").await,
        Err(SmtpError::Io(_))
    ));
}
