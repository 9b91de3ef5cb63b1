//! Windows line ends: the same session (`doctor`, `setup`, `build`, `deploy --helm`, `status`,
//! `down`) against fakes that end every line with LF and against fakes that end every line with
//! CRLF, as minikube, kubectl, helm and docker print on Windows. Both succeed and report the
//! same thing.

mod support;

use serde_json::Value;
use support::Env;

const STEPS: &[&[&str]] = &[
    &["doctor", "--json"],
    &["setup", "--json"],
    &["build", "--json"],
    &["deploy", "--helm", "--json"],
    &["status", "--json"],
    &["down", "--json"],
];

fn project(env: &Env) {
    env.with_deploy_files();
    env.write(
        ".env",
        "OPENAI_API_KEY=sk-test-crlf-0123456789abcdef\nAUTH_SECRET=auth-secret-crlf-0123456789\n",
    );
}

/// Each step's exit code and report, with what differs between two scratch projects (their
/// directories, temporary files, durations, the release's inputs hash) taken out.
fn session(env: &Env) -> Vec<(String, i32, Value)> {
    project(env);
    let root = env.root().to_string_lossy().into_owned();
    // The xtask runs with a clean environment, so without TMPDIR its temporary files are under
    // /tmp, whatever this process's temporary folder is (on macOS a folder under /var).
    let tmp = [
        "/tmp/".to_string(),
        std::env::temp_dir().to_string_lossy().into_owned(),
    ];
    STEPS
        .iter()
        .map(|args| {
            let run = env.xtask(args);
            let mut report = run.json();
            normalise(&mut report, &root, &tmp);
            (args.join(" "), run.code, report)
        })
        .collect()
}

fn normalise(v: &mut Value, root: &str, tmp: &[String]) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !k.ends_with("_ms") && k != "elapsed");
            for value in map.values_mut() {
                normalise(value, root, tmp);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| normalise(i, root, tmp)),
        Value::String(s) => {
            let text = s.replace(root, "<root>");
            let mut words: Vec<String> = Vec::new();
            for w in text.split(' ') {
                let bare = w.trim_start_matches(['\'', '"', '=']);
                let w = if tmp.iter().any(|t| bare.starts_with(t.as_str())) {
                    "<tmp>"
                } else if words.last().is_some_and(|p| p == "inputs") {
                    // The release's inputs hash covers the random rollout token.
                    "<hash>"
                } else {
                    w
                };
                words.push(w.to_string());
            }
            *s = words.join(" ");
        }
        _ => {}
    }
}

#[test]
fn the_session_reads_crlf_output_as_it_reads_lf() {
    let lf = Env::new();
    let crlf = Env::crlf();
    let lf_steps = session(&lf);
    let crlf_steps = session(&crlf);

    // The fakes really printed CRLF: the fake docker's version line, as the xtask received it.
    let raw = std::fs::read(crlf.state.join("calls.log")).expect("call log");
    assert!(!raw.is_empty());
    let probe = crlf
        .fake("minikube")
        .arg("version")
        .output()
        .expect("run the fake");
    assert!(
        probe.stdout.windows(2).any(|w| w == b"\r\n"),
        "CRLF mode prints CRLF: {:?}",
        String::from_utf8_lossy(&probe.stdout)
    );

    for ((step, lf_code, lf_report), (_, crlf_code, crlf_report)) in
        lf_steps.iter().zip(&crlf_steps)
    {
        assert_eq!(*lf_code, 0, "{step} with LF: {lf_report:#}");
        assert_eq!(*crlf_code, 0, "{step} with CRLF: {crlf_report:#}");
        assert_eq!(
            lf_report, crlf_report,
            "{step}: the CRLF report differs from the LF one"
        );
        assert!(
            !crlf_report.to_string().contains("\\r"),
            "{step}: a carriage return reached the report: {crlf_report:#}"
        );
    }
}

/// The way Windows reaches the fakes (a copy of the shim under each tool's name, running the
/// script with bash), taken on this host: the session reports what it reports with the fakes
/// behind symlinks.
#[cfg(unix)]
#[test]
fn the_shim_runs_the_session_as_the_symlinks_do() {
    let linked = Env::new();
    let shimmed = Env::shimmed();
    let docker = std::fs::symlink_metadata(shimmed.bin.join("docker")).expect("fake docker");
    assert!(docker.is_file(), "the shim is a copy, not a link");
    let linked_steps = session(&linked);
    let shimmed_steps = session(&shimmed);
    for ((step, code, report), (_, shim_code, shim_report)) in
        linked_steps.iter().zip(&shimmed_steps)
    {
        assert_eq!(*code, 0, "{step} with symlinks: {report:#}");
        assert_eq!(*shim_code, 0, "{step} through the shim: {shim_report:#}");
        assert_eq!(report, shim_report, "{step}: the shim changed the report");
    }
    assert_eq!(
        linked.calls().len(),
        shimmed.calls().len(),
        "the same tool calls"
    );
}
