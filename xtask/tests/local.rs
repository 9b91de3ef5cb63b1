//! `local`: the real xtask builds and starts the real backend and frontend on SQLite, the page
//! answers through the frontend, and a SIGTERM (what Ctrl-C does to the process group) stops
//! both apps and exits 0.

mod apps;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn local_runs_both_apps_and_stops_them_cleanly() {
    let backend_port = apps::free_port();
    let frontend_port = apps::free_port();
    // Build next to this test binary so nothing is built twice.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the tmp dir is inside the target dir")
        .to_path_buf();
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["local", "--backend-port", &backend_port.to_string()])
        .args(["--frontend-port", &frontend_port.to_string()])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("XTASK_PROJECT_ROOT")
        .env_remove("OPENAI_API_KEY")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xtask starts");
    // The apps' logs (and the xtask's progress) go to a pipe here: no colour codes may reach it.
    let stderr = child.stderr.take().expect("stderr");
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        text
    });
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let url = loop {
        match rx.recv_timeout(Duration::from_secs(1800)) {
            Ok(line) if line.starts_with("open ") => {
                break line
                    .trim_start_matches("open ")
                    .split_whitespace()
                    .next()
                    .expect("a URL")
                    .to_string();
            }
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                panic!("`cargo xtask local` printed no URL: {e}");
            }
        }
    };
    assert_eq!(url, format!("http://127.0.0.1:{frontend_port}"));
    let mut page = ureq::get(&url).call().expect("the page answers");
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.body_mut()
            .read_to_string()
            .expect("body")
            .contains("<")
    );
    let mut tasks = ureq::get(&format!("{url}/api/demo/tasks"))
        .call()
        .expect("the API answers through the frontend");
    assert_eq!(tasks.status().as_u16(), 200);
    assert!(
        tasks
            .body_mut()
            .read_to_string()
            .expect("body")
            .starts_with('[')
    );

    // SIGTERM to the xtask alone (not its process group): it signals both apps at once.
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let signalled = std::time::Instant::now();
    assert!(sent.success());
    let status = child.wait().expect("xtask exits");
    let took = signalled.elapsed();
    assert_eq!(status.code(), Some(0), "Ctrl-C/SIGTERM ends `local` with 0");
    assert!(
        took < Duration::from_secs(1),
        "both apps must be stopped within 1 s of the signal, took {took:?}"
    );
    let logs = logs.join().expect("stderr read");
    assert!(
        logs.contains("todo-backend"),
        "the apps' logs are there: {logs}"
    );
    assert!(
        !logs.contains('\x1b'),
        "colour codes in output that is no terminal: {logs:?}"
    );
    for port in [backend_port, frontend_port] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "something still listens on {port}"
        );
    }
}
