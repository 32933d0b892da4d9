use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::*;

#[test]
fn urls_are_read_and_passwords_never_go_in_the_clear() {
    let s = SmtpSettings::parse("smtp://127.0.0.1:2525", "keyward@example.com").unwrap();
    assert_eq!((s.host.as_str(), s.port, s.tls), ("127.0.0.1", 2525, false));
    let s = SmtpSettings::parse("smtps://me%40x.example:p%3Ass@mail.example.com", "k@example.com").unwrap();
    assert_eq!((s.port, s.tls, s.user.as_deref()), (465, true, Some("me@x.example")));
    assert_eq!(s.password.as_deref().map(String::as_str), Some("p:ss"));
    assert!(!format!("{s:?}").contains("p:ss"));
    let s = SmtpSettings::parse("smtp://u:p@mail.example.com:587", "k@example.com").unwrap();
    assert!(s.starttls && !s.tls, "a password on smtp:// requires STARTTLS");
    assert!(
        !SmtpSettings::parse("smtp://mail.example.com", "k@example.com")
            .unwrap()
            .starttls
    );
    for bad in [
        "http://mail.example.com",
        "smtp://u@mail.example.com",
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
        script(stream, true, replies).await
    });
    (port, task)
}

/// Plays a script on `stream` (after the greeting, when `greet`).
async fn script<S: AsyncRead + AsyncWrite + Unpin>(stream: S, greet: bool, replies: Vec<&'static str>) -> Vec<String> {
    {
        let mut stream = BufReader::new(stream);
        let mut got = Vec::new();
        if greet {
            stream.get_mut().write_all(b"220 test ESMTP\r\n").await.unwrap();
        }
        let mut replies = replies.into_iter();
        let mut in_data = false;
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
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
    }
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

/// A CA, and a TLS acceptor for `localhost` with a certificate it issued.
fn tls_acceptor() -> (Vec<u8>, tokio_rustls::TlsAcceptor) {
    use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey, SubjectAltName};
    let ca_key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let ca = CertificateSpec::new(Name::parse("CN=Test Mail CA").unwrap())
        .certificate_authority()
        .self_signed(&ca_key)
        .unwrap();
    let key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let leaf = CertificateSpec::new(Name::parse("CN=localhost").unwrap())
        .subject_alt_name(SubjectAltName::parse("localhost").unwrap())
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(leaf.der().to_vec())],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.pkcs8_der().to_vec().into()),
        )
        .unwrap();
    (ca.der().to_vec(), tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

const AFTER_EHLO: [&str; 6] = [
    "235 authenticated\r\n",
    "250 ok\r\n",
    "250 ok\r\n",
    "354 go on\r\n",
    "250 queued\r\n",
    "221 bye\r\n",
];

#[tokio::test]
async fn implicit_tls_with_a_password() {
    let (ca, acceptor) = tls_acceptor();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let mut replies = vec!["250 hi\r\n"];
        replies.extend(AFTER_EHLO);
        script(tls, true, replies).await
    });
    let url = format!("smtps://me:secret@localhost:{port}");
    let settings = SmtpSettings::parse(&url, "keyward@example.com").unwrap().trust(ca);
    settings.send("ann@example.com", "s", "b").await.unwrap();
    let got = task.await.unwrap();
    // "\0me\0secret" in base64.
    assert_eq!(got[1], format!("AUTH PLAIN {}\r\n", STANDARD.encode("\0me\0secret")));

    // Without the CA, the certificate is refused and nothing is sent.
    let (_, acceptor) = tls_acceptor();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let _ = acceptor.accept(tcp).await;
    });
    let url = format!("smtps://me:secret@localhost:{port}");
    let e = SmtpSettings::parse(&url, "keyward@example.com")
        .unwrap()
        .send("a@example.com", "s", "b")
        .await;
    assert!(matches!(&e, Err(SmtpError::Io(m)) if m.contains("TLS")), "{e:?}");
}

#[tokio::test]
async fn starttls_before_the_password() {
    let (ca, acceptor) = tls_acceptor();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tcp = BufReader::new(tcp);
        tcp.get_mut().write_all(b"220 test ESMTP\r\n").await.unwrap();
        let mut plain = Vec::new();
        for reply in ["250-test\r\n250 STARTTLS\r\n", "220 go ahead\r\n"] {
            let mut line = String::new();
            tcp.read_line(&mut line).await.unwrap();
            plain.push(line);
            tcp.get_mut().write_all(reply.as_bytes()).await.unwrap();
        }
        let tls = acceptor.accept(tcp.into_inner()).await.unwrap();
        let mut replies = vec!["250 hi\r\n"];
        replies.extend(AFTER_EHLO);
        (plain, script(tls, false, replies).await)
    });
    let url = format!("smtp://me:secret@localhost:{port}");
    let settings = SmtpSettings::parse(&url, "keyward@example.com").unwrap().trust(ca);
    settings.send("ann@example.com", "s", "b").await.unwrap();
    let (plain, secured) = task.await.unwrap();
    assert_eq!(
        plain,
        ["EHLO keyward\r\n", "STARTTLS\r\n"],
        "nothing secret in the clear"
    );
    assert_eq!(secured[0], "EHLO keyward\r\n");
    assert!(secured[1].starts_with("AUTH PLAIN "), "{secured:?}");
    assert_eq!(secured[2], "MAIL FROM:<keyward@example.com>\r\n");
}
