//! A scratch project and fake cluster tools for running the real xtask binary.
//!
//! `Env::new()` makes a temp dir holding `bin/` (the fakes from `tests/fakes` plus the few system
//! programs they use; nothing else is on PATH, so a tool removed from `bin/` is really missing),
//! `state/` (the fakes' state and call log) and `project/` (a tiny tree with a Dockerfile and a
//! pipeline.toml). `Env::xtask(args)` runs the binary there with a clean environment.
//!
//! The fakes are bash scripts. On Unix they are put on PATH as symlinks. Windows starts only
//! executables, so there each fake is a copy of the test-only `fake-tool-shim` named after the
//! tool (`kubectl.exe`), which runs the script with bash (Git for Windows' bash, found on the
//! tests' PATH, or `FAKE_BASH`); `XTASK_FAKE_SHIM=1` takes the same path on Unix, so Linux CI
//! runs it too. `Env::bare()` is the scratch project with an empty `bin/`.
//! `Env::crlf()` makes every fake end its lines with CRLF, as tools do on Windows.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Programs the fake scripts need besides the fakes themselves.
const SYSTEM_TOOLS: &[&str] = &[
    "bash",
    "env",
    "cat",
    "mkdir",
    "rm",
    "cp",
    "ls",
    "basename",
    "dirname",
    "readlink",
    "sed",
    "grep",
    "tr",
    "cut",
    "head",
    "tail",
    "sha256sum",
    "touch",
    "sort",
    "wc",
    "sleep",
];

pub const FAKES: &[&str] = &["docker", "minikube", "kubectl", "helm"];

pub const PIPELINE: &str = r#"
[cluster]
profile = "demo"
driver = "docker"
cpus = 1
memory_mb = 2048
kubernetes_version = "v1.33.1"
addons = ["metrics-server", "ingress"]
ready_timeout_secs = 5

[build]
inputs = ["Cargo.lock", "app"]

[build.args]
RUNTIME_IMAGE = "gcr.io/distroless/cc-debian12:nonroot"

[images.backend]
name = "todo-backend"
target = "backend"
budget_mb = 100

[images.frontend]
name = "todo-frontend"
target = "frontend"
budget_mb = 80

[deploy]
namespace = "todo"
"#;

/// One line of the fakes' call log.
#[derive(Debug, Clone)]
pub struct Call {
    pub tool: String,
    pub mutating: bool,
    pub stdin: bool,
    pub argv: String,
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub bin: PathBuf,
    pub state: PathBuf,
    pub project: PathBuf,
    /// The fakes are reached through the shim rather than symlinks (see the module's doc).
    pub shim: bool,
}

impl Env {
    /// The scratch project with the fake cluster tools on PATH.
    pub fn new() -> Env {
        Env::with_fakes(shim_by_default())
    }

    /// Like [`Env::new`], with the fakes reached through the shim on every host, as on Windows.
    pub fn shimmed() -> Env {
        Env::with_fakes(true)
    }

    fn with_fakes(shim: bool) -> Env {
        let mut env = Env::bare();
        env.shim = shim;
        for f in FAKES {
            env.add_fake(f);
        }
        // Windows: the shim appends bash's own folder (Git's `usr/bin`) to the scripts' PATH.
        #[cfg(unix)]
        for t in SYSTEM_TOOLS {
            let path = which(t).unwrap_or_else(|| panic!("`{t}` is needed by the fake tools"));
            std::os::unix::fs::symlink(path, env.bin.join(t)).expect("link tool");
        }
        env
    }

    /// Like [`Env::new`], with every fake printing CRLF line ends (stdout and stderr).
    pub fn crlf() -> Env {
        let env = Env::new();
        env.knob("crlf", "1\n");
        env
    }

    /// Puts the fake `tool` from `tests/fakes` on the scratch PATH: a symlink to the script, or
    /// the shim under the tool's name (`self.shim`).
    pub fn add_fake(&self, tool: &str) {
        #[cfg(unix)]
        if !self.shim {
            std::os::unix::fs::symlink(fake_scripts().join(tool), self.bin.join(tool))
                .expect("link fake");
            return;
        }
        let exe = self
            .bin
            .join(format!("{tool}{}", std::env::consts::EXE_SUFFIX));
        std::fs::copy(env!("CARGO_BIN_EXE_fake-tool-shim"), exe).expect("copy the shim");
    }

    /// A command that runs the fake `tool` directly (not through the xtask), with the fakes'
    /// environment and nothing else.
    pub fn fake(&self, tool: &str) -> Command {
        let mut cmd = Command::new(
            self.bin
                .join(format!("{tool}{}", std::env::consts::EXE_SUFFIX)),
        );
        cmd.env_clear()
            .envs(host_vars())
            .envs(self.fake_vars())
            .env("PATH", &self.bin);
        cmd
    }

    /// What the fakes read from the environment: their state, and in shim mode where the
    /// scripts and bash are.
    pub fn fake_vars(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        let mut vars = vec![("FAKE_STATE", self.state.clone().into_os_string())];
        if self.shim {
            vars.push(("FAKE_SCRIPTS", fake_scripts().into_os_string()));
            vars.push(("FAKE_BASH", bash().into_os_string()));
        }
        vars
    }

    /// The scratch project with an empty `bin/` as the whole PATH: no tool is found. Works on
    /// every host.
    pub fn bare() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        // The real path (on macOS the temp dir is behind the /var -> /private/var link), so the
        // directories the fakes log compare equal to these. Windows would give a `\\?\` path,
        // which some tools refuse: it keeps the plain one.
        let root = if cfg!(unix) {
            dir.path().canonicalize().expect("temp dir")
        } else {
            dir.path().to_path_buf()
        };
        let bin = root.join("bin");
        let state = root.join("state");
        let project = root.join("project");
        for d in [&bin, &state, &project] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let env = Env {
            dir,
            bin,
            state,
            project,
            // No fakes yet: nothing needs bash.
            shim: false,
        };
        env.write("Cargo.lock", "# lock\n");
        env.write("app/src/main.rs", "fn main() {}\n");
        env.write(
            "deploy/docker/Dockerfile",
            "FROM scratch AS backend\nUSER 65532\nFROM scratch AS frontend\nUSER 65532\n",
        );
        env.write("deploy/pipeline.toml", PIPELINE);
        env
    }

    /// The scratch folder holding `bin/`, `state/` and `project/`, as the xtask sees it (the
    /// real path on Unix, the plain one on Windows).
    pub fn root(&self) -> &Path {
        self.bin.parent().expect("bin is in the root")
    }

    /// Writes a file of the scratch project.
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.project.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    /// Writes a knob of the fakes' state (see the scripts' headers).
    pub fn knob(&self, rel: &str, text: &str) {
        let p = self.state.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    /// Makes `<tool>-<subcommand>` fail with `code` and `stderr`.
    pub fn fail(&self, key: &str, code: i32, stderr: &str) {
        self.knob(&format!("fail/{key}"), &format!("{code}\n{stderr}\n"));
    }

    /// Takes `tool` off the scratch PATH (`tool`, or `tool.exe` on Windows).
    pub fn remove_tool(&self, tool: &str) {
        let exe = self
            .bin
            .join(format!("{tool}{}", std::env::consts::EXE_SUFFIX));
        let path = if exe.exists() {
            exe
        } else {
            self.bin.join(tool)
        };
        std::fs::remove_file(path).expect("remove tool");
    }

    pub fn xtask(&self, args: &[&str]) -> Run {
        self.xtask_with(args, &[])
    }

    /// Runs the xtask with extra environment variables.
    pub fn xtask_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        self.xtask_from(&self.project, args, vars)
    }

    /// Runs the xtask from the project's subfolder `rel` (the project root stays the same).
    pub fn xtask_in(&self, rel: &str, args: &[&str]) -> Run {
        let dir = self.project.join(rel);
        std::fs::create_dir_all(&dir).expect("mkdir");
        self.xtask_from(&dir, args, &[])
    }

    fn xtask_from(&self, cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let out = self
            .xtask_command(cwd, args)
            .envs(vars.iter().copied())
            .output()
            .expect("run xtask");
        Run::from(out)
    }

    /// The xtask binary with `args`, run from `cwd` with a clean environment: the scratch PATH,
    /// HOME and project root, and what the fakes read.
    fn xtask_command(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
        cmd.args(args)
            .env_clear()
            .envs(host_vars())
            .envs(self.fake_vars())
            .env("PATH", &self.bin)
            .env("HOME", self.dir.path())
            .env("XTASK_PROJECT_ROOT", &self.project)
            .current_dir(cwd);
        cmd
    }

    /// Starts the xtask in the background (stdout and stderr piped), as [`Env::xtask`] runs it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.xtask_command(&self.project, args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start xtask")
    }

    /// Every call the fakes saw, in order.
    pub fn calls(&self) -> Vec<Call> {
        let text = std::fs::read_to_string(self.state.join("calls.log")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let mut f = l.splitn(4, '\t');
                let tool = f.next().unwrap_or("").to_string();
                let mutating = f.next() == Some("M");
                let stdin = f.next() == Some("pipe");
                let argv = f.next().unwrap_or("").to_string();
                Call {
                    tool,
                    mutating,
                    stdin,
                    argv,
                }
            })
            .collect()
    }

    pub fn mutating_calls(&self) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.mutating).collect()
    }

    pub fn clear_calls(&self) {
        let _ = std::fs::remove_file(self.state.join("calls.log"));
        let _ = std::fs::remove_file(self.state.join("cwd.log"));
        let _ = std::fs::remove_file(self.state.join("kube/context.log"));
    }

    /// (`--context` or "-", argv) of every kubectl call the fake saw, in order.
    pub fn kubectl_contexts(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.state.join("kube/context.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(c, a)| (c.to_string(), a.to_string()))
            .collect()
    }

    /// (tool, working directory) of every call the fakes saw, in order.
    pub fn call_dirs(&self) -> Vec<(String, PathBuf)> {
        let text = std::fs::read_to_string(self.state.join("cwd.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(t, d)| (t.to_string(), PathBuf::from(d)))
            .collect()
    }

    /// Copies the project's real raw manifests and chart into the scratch project.
    pub fn with_deploy_files(&self) {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        copy_dir(&repo.join("deploy/k8s"), &self.project.join("deploy/k8s"));
        copy_dir(
            &repo.join("deploy/helm/todo-chatbot"),
            &self.project.join("deploy/helm/todo-chatbot"),
        );
    }

    /// The raw call log and stdin log, for "never appears anywhere" checks.
    pub fn logs(&self) -> String {
        let mut s = std::fs::read_to_string(self.state.join("calls.log")).unwrap_or_default();
        s.push_str(&std::fs::read_to_string(self.state.join("stdin.log")).unwrap_or_default());
        s
    }
}

/// The Services of the app in the fake cluster (the raw manifests' names).
pub const BACKEND: &str = "todo-chatbot-backend";
pub const FRONTEND: &str = "todo-chatbot-frontend";

/// A `kubectl get -o json` list of `items` (JSON objects).
pub fn list(items: &[String]) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[{}],"metadata":{{"resourceVersion":""}}}}"#,
        items.join(",")
    )
}

/// A Running, Ready pod whose one container restarted `restarts` times.
pub fn ready_pod(name: &str, restarts: u32) -> String {
    format!(
        r#"{{"metadata":{{"name":"{name}"}},"status":{{"phase":"Running","conditions":[{{"type":"Ready","status":"True"}}],"containerStatuses":[{{"name":"app","ready":true,"restartCount":{restarts},"state":{{"running":{{}}}}}}]}}}}"#
    )
}

/// The pods list of a deployed app: one Running, Ready pod for each app.
pub fn ready_app_pods() -> String {
    list(&[
        ready_pod("todo-chatbot-backend-7d9f-abcde", 0),
        ready_pod("todo-chatbot-frontend-5c6b-fghij", 0),
    ])
}

impl Env {
    /// The fake cluster as a deploy leaves it in namespace `todo`: a ready pod for each app, the
    /// two Services (backend ClusterIP on 8000, frontend of type `frontend_type` on 80), a ready
    /// endpoint behind each, and port-forwards that reach `backend_port` and `frontend_port`.
    pub fn deployed_cluster(&self, frontend_type: &str, (backend_port, frontend_port): (u16, u16)) {
        self.knob("kube/pods-todo.json", &ready_app_pods());
        let svc = |name: &str, kind: &str, port: u16| {
            format!(
                r#"{{"metadata":{{"name":"{name}"}},"spec":{{"type":"{kind}","ports":[{{"name":"http","port":{port}}}]}},"status":{{"loadBalancer":{{}}}}}}"#
            )
        };
        self.knob(
            "kube/services-todo.json",
            &list(&[
                svc(BACKEND, "ClusterIP", 8000),
                svc(FRONTEND, frontend_type, 80),
            ]),
        );
        let slice = |name: &str| {
            format!(
                r#"{{"metadata":{{"name":"{name}-x1","labels":{{"kubernetes.io/service-name":"{name}"}}}},"endpoints":[{{"addresses":["10.244.0.7"],"conditions":{{"ready":true}}}}]}}"#
            )
        };
        self.knob(
            "kube/endpointslices-todo.json",
            &list(&[slice(BACKEND), slice(FRONTEND)]),
        );
        self.knob(
            &format!("kube/forward/{BACKEND}"),
            &backend_port.to_string(),
        );
        self.knob(
            &format!("kube/forward/{FRONTEND}"),
            &frontend_port.to_string(),
        );
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).expect("copy");
        }
    }
}

/// What a program needs from the environment on this host beyond PATH: on Windows `SystemRoot`
/// (sockets and some system libraries need it) and `TEMP`/`TMP` (else the temporary folder is the
/// Windows folder); nothing elsewhere. `PATHEXT` stays out, so the xtask must find `tool.exe`
/// without it.
fn host_vars() -> Vec<(&'static str, std::ffi::OsString)> {
    if !cfg!(windows) {
        return Vec::new();
    }
    ["SystemRoot", "TEMP", "TMP"]
        .into_iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (k, v)))
        .collect()
}

fn which(name: &str) -> Option<PathBuf> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&std::env::var_os("PATH")?)
        .chain(["/usr/bin".into(), "/bin".into()])
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
}

/// The folder of the fake scripts.
fn fake_scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fakes")
}

/// Whether [`Env::new`] reaches the fakes through the shim: always on Windows, on Unix when
/// `XTASK_FAKE_SHIM` is set (to anything but `0`).
fn shim_by_default() -> bool {
    cfg!(windows) || std::env::var_os("XTASK_FAKE_SHIM").is_some_and(|v| v != "0")
}

/// The bash that runs the fakes in shim mode (looked up once per test binary): `FAKE_BASH`,
/// else the first `bash` on PATH. On
/// Windows that must be Git for Windows' bash (its folder holds `sed`, `grep` and the rest), not
/// the WSL launcher in System32.
fn bash() -> PathBuf {
    static BASH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BASH.get_or_init(find_bash).clone()
}

fn find_bash() -> PathBuf {
    if let Some(b) = std::env::var_os("FAKE_BASH").filter(|b| !b.is_empty()) {
        return PathBuf::from(b);
    }
    let found = which("bash").expect("bash runs the fake tools: put it on PATH or set FAKE_BASH");
    assert!(
        !found
            .to_string_lossy()
            .to_ascii_lowercase()
            .contains("system32"),
        "{} is the WSL launcher, which cannot run the fakes with Windows paths: put Git for \
         Windows' usr/bin first on PATH, or set FAKE_BASH",
        found.display()
    );
    found
}

/// What one xtask run printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(&self) -> &Run {
        assert_eq!(self.code, 0, "expected success\n{self}");
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}
