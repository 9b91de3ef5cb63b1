//! The serve loop over real sockets: read timeouts, keep-alive, and the shutdown phases.
//!
//! Timings are short (fractions of a second) and every bound is a timeout the test configures:
//! a wait is checked against the setting it comes from, never against a guess of machine speed.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Response, StatusCode};
use axum::routing::{get, post};
use testkit::load::Outcome;
use todo_serve::{Lifecycle, Options, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TIMEOUT: Duration = Duration::from_millis(600);

fn timeout_answer() -> Response<Body> {
    Response::builder()
        .status(StatusCode::REQUEST_TIMEOUT)
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"error":{"code":"request_timeout","message":"late"}}"#,
        ))
        .unwrap()
}

struct Running {
    addr: SocketAddr,
    lifecycle: Lifecycle,
    stop: Option<oneshot::Sender<()>>,
    done: JoinHandle<()>,
}

impl Running {
    async fn start(options: Options) -> Self {
        let lifecycle = Lifecycle::new();
        let router = Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(1200)).await;
                    "slow"
                }),
            )
            .route("/echo", post(|body: String| async move { body }))
            // Answers without reading the body, as a size limit does.
            .route(
                "/refuse",
                post(|| async { (StatusCode::PAYLOAD_TOO_LARGE, "too large") }),
            )
            .route(
                "/ready",
                get(|State(l): State<Lifecycle>| async move {
                    if l.is_stopping() {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    }
                }),
            )
            .with_state(lifecycle.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let server = Server {
            listener,
            router,
            options,
            lifecycle: lifecycle.clone(),
            read_timeout: timeout_answer,
        };
        let done = tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        Self {
            addr,
            lifecycle,
            stop: Some(tx),
            done,
        }
    }

    fn signal(&mut self) {
        let _ = self.stop.take().unwrap().send(());
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.unwrap()
    }
}

fn options() -> Options {
    Options {
        header_read_timeout: TIMEOUT,
        body_read_timeout: TIMEOUT,
        idle_timeout: TIMEOUT * 2,
        ..Options::default()
    }
}

/// Everything the server sends until it closes the connection, and how long that took.
async fn read_to_close(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut out)).await;
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_half_sent_head_gets_408_after_the_header_timeout() {
    let server = Running::start(options()).await;
    let mut s = server.connect().await;
    s.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (answer, waited) = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert!(waited >= TIMEOUT.mul_f64(0.9), "closed after {waited:?}");
    assert!(waited < TIMEOUT * 10, "closed after {waited:?}");
}

#[tokio::test]
async fn a_trickled_head_does_not_reset_the_timer() {
    let server = Running::start(options()).await;
    let mut s = server.connect().await;
    let started = Instant::now();
    let mut answer = Vec::new();
    // One byte every tenth of the timeout: each byte is on time, the head as a whole is not.
    for b in b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if s.write_all(&[*b]).await.is_err() {
            break;
        }
        tokio::time::sleep(TIMEOUT / 10).await;
        if started.elapsed() > TIMEOUT * 3 {
            break;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
}

#[tokio::test]
async fn a_silent_connection_is_closed_without_an_answer() {
    let server = Running::start(options()).await;
    let mut s = server.connect().await;
    let (answer, waited) = read_to_close(&mut s).await;
    assert_eq!(answer, "");
    assert!(
        waited >= TIMEOUT.mul_f64(0.9) && waited < TIMEOUT * 10,
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_short_body_gets_the_apps_408() {
    let server = Running::start(options()).await;
    let mut s = server.connect().await;
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part")
        .await
        .unwrap();
    let (answer, waited) = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(answer.contains(r#""message":"late""#), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(waited >= TIMEOUT.mul_f64(0.9), "{waited:?}");
}

#[tokio::test]
async fn keep_alive_serves_many_requests_then_closes_when_idle() {
    let server = Running::start(options()).await;
    let mut s = server.connect().await;
    for _ in 0..3 {
        s.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(
            text.starts_with("HTTP/1.1 200 ") && text.ends_with("ok"),
            "{text}"
        );
        // Pauses shorter than the idle timeout keep the connection.
        tokio::time::sleep(TIMEOUT / 2).await;
    }
    let (rest, waited) = read_to_close(&mut s).await;
    assert_eq!(rest, "");
    assert!(
        waited >= TIMEOUT && waited < TIMEOUT * 10,
        "idle close after {waited:?}"
    );
}

#[tokio::test]
async fn during_the_delay_it_serves_and_asks_clients_to_reconnect() {
    let mut server = Running::start(Options {
        shutdown_delay: Duration::from_millis(1500),
        ..options()
    })
    .await;
    let mut http = testkit::load::Client::new(&format!("http://{}", server.addr));
    assert_eq!(http.get("/ready").await.0, Outcome::Ok);
    let started = Instant::now();
    server.signal();
    // /ready turns 503 at once (first poll after the signal).
    let mut ready = String::new();
    while started.elapsed() < Duration::from_millis(500) {
        ready = http.get("/ready").await.1;
        if ready == "status 503" {
            break;
        }
    }
    assert_eq!(ready, "status 503");
    assert!(server.lifecycle.is_stopping());
    // New connections are still accepted and answered, with `Connection: close`.
    let mut s = server.connect().await;
    s.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "test too slow"
    );
    server.done.await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "stopped before the delay"
    );
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "still accepting"
    );
}

#[tokio::test]
async fn the_drain_closes_idle_and_half_sent_connections_and_waits_for_handled_ones() {
    let options = Options {
        drain_deadline: Duration::from_secs(30),
        header_read_timeout: Duration::from_secs(60),
        body_read_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        ..Options::default()
    };
    let mut server = Running::start(options).await;
    // An idle keep-alive connection.
    let mut idle = server.connect().await;
    idle.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("200 OK"));
    // A half-sent head, a half-sent body, a request being handled.
    let mut head = server.connect().await;
    head.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut body = server.connect().await;
    body.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npart")
        .await
        .unwrap();
    let mut slow = server.connect().await;
    slow.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    server.signal();
    let (idle_rest, idle_after) = read_to_close(&mut idle).await;
    let (head_answer, head_after) = read_to_close(&mut head).await;
    let (body_answer, _) = read_to_close(&mut body).await;
    let (slow_answer, _) = read_to_close(&mut slow).await;
    server.done.await.unwrap();
    let stopped = started.elapsed();

    assert_eq!(idle_rest, "");
    assert_eq!(
        head_answer, "",
        "a half-sent head is closed without an answer"
    );
    assert!(body_answer.starts_with("HTTP/1.1 408 "), "{body_answer}");
    assert!(slow_answer.starts_with("HTTP/1.1 200 "), "{slow_answer}");
    assert!(slow_answer.ends_with("slow"), "{slow_answer}");
    // The idle and half-sent connections did not wait for the slow request (1.2 s).
    assert!(
        idle_after < stopped && head_after < stopped,
        "{idle_after:?} {head_after:?} {stopped:?}"
    );
    // The drain waited for the one request being handled, not for the 30 s deadline.
    assert!(
        stopped < options.drain_deadline / 5,
        "stopped after {stopped:?}"
    );
}

#[tokio::test]
async fn the_drain_deadline_ends_requests_that_take_too_long() {
    let mut server = Running::start(Options {
        drain_deadline: Duration::from_millis(300),
        ..options()
    })
    .await;
    let mut slow = server.connect().await;
    slow.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    server.signal();
    server.done.await.unwrap();
    let stopped = started.elapsed();
    let (answer, _) = read_to_close(&mut slow).await;
    assert_eq!(
        answer, "",
        "the handler (1.2 s) outlived the 0.3 s deadline"
    );
    assert!(stopped < Duration::from_millis(1200), "waited {stopped:?}");
}

/// Sends a request head with a `length`-byte body, then the body as fast as the server takes
/// it, then reads the answer, as a client that writes its whole request before reading does.
/// Returns how many body bytes were written (the first write error ends the writes), the bytes
/// read, how the read ended, and when the connection closed, counted from the end of the writes.
async fn send_then_read(
    addr: SocketAddr,
    length: usize,
) -> (usize, String, std::io::Result<()>, Duration) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!("POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'y'; 64 * 1024];
    let mut sent = 0;
    while sent < length {
        let n = chunk.len().min(length - sent);
        if s.write_all(&chunk[..n]).await.is_err() {
            break;
        }
        sent += n;
    }
    let started = Instant::now();
    let mut out = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out))
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
        .map(|_| ());
    (
        sent,
        String::from_utf8_lossy(&out).into_owned(),
        ended,
        started.elapsed(),
    )
}

#[tokio::test]
async fn an_answer_sent_before_the_body_is_read_reaches_the_client() {
    // A client that writes its whole request before reading, as most do, must be able to write
    // it and then read the early answer: the server reads and discards the rest of the body
    // before it closes. (A close with unread data sends a reset: the client's writes fail with
    // "broken pipe", and a client like reqwest may report its request as failed.) The body is
    // larger than the sockets' buffers on both sides.
    let server = Running::start(options()).await;
    let length = 32 * 1024 * 1024;
    for _ in 0..3 {
        let (sent, answer, ended, _) = send_then_read(server.addr, length).await;
        assert_eq!(
            sent, length,
            "the server stopped reading; answer {answer:?}"
        );
        assert!(
            ended.is_ok(),
            "the read ended with {ended:?}; got {answer:?}"
        );
        assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
        assert!(answer.ends_with("too large"), "{answer}");
        assert!(answer.contains("connection: close"), "{answer}");
    }
}

#[tokio::test]
async fn a_client_that_never_stops_sending_is_closed_after_the_linger_timeout() {
    let linger = Duration::from_millis(500);
    let server = Running::start(Options {
        linger_timeout: linger,
        ..options()
    })
    .await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000\r\n\r\n")
        .await
        .unwrap();
    let (mut read, mut write) = s.into_split();
    let reader = tokio::spawn(async move {
        let mut out = Vec::new();
        let _ = read.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    });
    // Writes until the server closes, at most 20 linger timeouts.
    let started = Instant::now();
    let chunk = vec![b'y'; 16 * 1024];
    let mut stopped_by_server = false;
    while started.elapsed() < linger * 20 {
        if write.write_all(&chunk).await.is_err() {
            stopped_by_server = true;
            break;
        }
    }
    let waited = started.elapsed();
    assert!(stopped_by_server, "still accepted after {waited:?}");
    assert!(waited < linger * 10, "closed after {waited:?}");
    let answer = reader.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
}

#[tokio::test]
async fn a_client_that_stops_after_the_answer_costs_at_most_the_linger_timeout() {
    // Half a body, then nothing: the answer comes at once, the close after the linger timeout
    // (the client neither sends nor closes).
    let linger = Duration::from_millis(500);
    let server = Running::start(Options {
        linger_timeout: linger,
        ..options()
    })
    .await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
        .await
        .unwrap();
    let (answer, waited) = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    // The FIN follows the answer at once; the server lingers after it, which the client does not
    // see, so probe the socket: after the linger timeout a write is refused.
    assert!(waited < linger, "FIN after {waited:?}");
    tokio::time::sleep(linger * 3).await;
    let mut refused = false;
    for _ in 0..5 {
        if s.write_all(b"more").await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the server still reads after 3 linger timeouts");
}
