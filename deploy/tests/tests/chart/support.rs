//! Helpers of the chart tests: where things are, running helm and kubernetes-validate, parsing
//! multi-document YAML.

use serde_norway::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The release and namespace the xtask deploys under; with these the chart's object names equal
/// the raw manifests' names.
pub const RELEASE: &str = "todo-chatbot";
pub const NAMESPACE: &str = "todo";

/// The Kubernetes versions every object is validated against.
pub const KUBE_VERSIONS: [&str; 2] = ["1.28.0", "1.33.0"];

/// The placeholders of the raw manifests and what each is replaced with in these tests: the
/// chart's default image references, so both render the same images, and the namespace.
pub const PLACEHOLDERS: [(&str, &str); 4] = [
    ("${BACKEND_IMAGE}", "todo-backend:0.1.0"),
    ("${FRONTEND_IMAGE}", "todo-frontend:0.1.0"),
    ("${POSTGRES_IMAGE}", "todo-postgres:15"),
    ("${NAMESPACE}", "todo"),
];

pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("deploy/tests has a parent")
        .to_path_buf()
}

pub fn chart_dir() -> PathBuf {
    deploy_dir().join("helm/todo-chatbot")
}

pub fn raw_dir() -> PathBuf {
    deploy_dir().join("k8s")
}

/// The values cases: `None` is the chart's defaults, then every file in `deploy/helm/values/`.
pub fn values_cases() -> Vec<Option<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir().join("helm/values"))
        .expect("deploy/helm/values exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    std::iter::once(None)
        .chain(files.into_iter().map(Some))
        .collect()
}

/// A short name of a values case for messages and file names.
pub fn case_name(values: Option<&Path>) -> String {
    values.map_or("defaults".to_string(), |p| {
        p.file_stem()
            .expect("a values file has a name")
            .to_string_lossy()
            .into_owned()
    })
}

/// The applied raw manifests (not `secret.example.yaml`), sorted by file name across the main
/// folder and `postgres/`, the order the xtask applies them in.
pub fn raw_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [raw_dir(), raw_dir().join("postgres")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).expect("deploy/k8s exists"))
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && p.file_name().is_some_and(|n| n != "secret.example.yaml")
        })
        .collect();
    files.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
    files
}

/// A raw manifest with its placeholders replaced as the xtask replaces them.
pub fn raw_text(path: &Path) -> String {
    let mut text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    for (placeholder, image) in PLACEHOLDERS {
        text = text.replace(placeholder, image);
    }
    text
}

/// Every object of every applied raw manifest (placeholders replaced).
pub fn raw_objects() -> Vec<Value> {
    raw_files()
        .iter()
        .flat_map(|f| parse(&raw_text(f)))
        .collect()
}

/// Runs a command and returns its output; a command that cannot start is a test failure.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// `helm template` of the chart with a values file and extra arguments; `Err(stderr)` when helm
/// fails.
pub fn render(helm: &Path, values: Option<&Path>, extra: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(helm);
    cmd.args(["template", RELEASE])
        .arg(chart_dir())
        .args(["--namespace", NAMESPACE]);
    if let Some(v) = values {
        cmd.arg("--values").arg(v);
    }
    cmd.args(extra);
    let out = run(&mut cmd);
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("helm prints UTF-8"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Like [`render`], for a case that must render.
pub fn render_ok(helm: &Path, values: Option<&Path>, extra: &[&str]) -> String {
    render(helm, values, extra).unwrap_or_else(|stderr| {
        panic!(
            "helm template with {} {extra:?} failed:\n{stderr}",
            case_name(values)
        )
    })
}

pub use yaml_docs::documents;

/// The objects of a multi-document YAML stream.
pub fn parse(text: &str) -> Vec<Value> {
    documents(text)
        .iter()
        .map(|d| {
            serde_norway::from_str::<Value>(d).unwrap_or_else(|e| panic!("invalid YAML: {e}\n{d}"))
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// `value["a"]["b"][0]…` by a slash-separated path (a number indexes a sequence); `Null` where
/// something is missing.
pub fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    path.split('/')
        .filter(|k| !k.is_empty())
        .try_fold(value, |v, k| match (v, k.parse::<usize>()) {
            (Value::Sequence(s), Ok(i)) => s.get(i),
            _ => v.get(k),
        })
        .unwrap_or(&NULL)
}

/// `value[key]` for one key that may hold a slash, such as a label name; `Null` when missing.
pub fn key<'a>(value: &'a Value, key: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    value.get(key).unwrap_or(&NULL)
}

pub fn str_at<'a>(value: &'a Value, path: &str) -> &'a str {
    at(value, path).as_str().unwrap_or("")
}

pub fn kind(obj: &Value) -> &str {
    str_at(obj, "kind")
}

pub fn name(obj: &Value) -> &str {
    str_at(obj, "metadata/name")
}

/// The object of a kind and name; a missing one is a test failure.
pub fn find<'a>(objects: &'a [Value], kind_: &str, name_: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| kind(o) == kind_ && name(o) == name_)
        .unwrap_or_else(|| panic!("no {kind_} {name_} among the objects"))
}

/// The pod specs of an object (workloads' templates, or a Pod itself), with a label for messages.
pub fn pod_specs(obj: &Value) -> Option<&Value> {
    match kind(obj) {
        "Pod" => Some(at(obj, "spec")),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            Some(at(obj, "spec/template/spec"))
        }
        "CronJob" => Some(at(obj, "spec/jobTemplate/spec/template/spec")),
        _ => None,
    }
}

/// All containers of a pod spec, init containers included.
pub fn containers(spec: &Value) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|k| at(spec, k).as_sequence())
        .flatten()
        .collect()
}

/// The path of kubernetes-validate, or `None` after testkit's skip/fail decision.
pub fn kubernetes_validate() -> Option<PathBuf> {
    testkit::executable(
        "kubernetes-validate",
        "KUBERNETES_VALIDATE",
        &["kubernetes-validate"],
        "run `bash .ci/helm.sh` (pip install kubernetes-validate)",
    )
}

/// A fresh scratch directory for one test under cargo's per-target temporary directory.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("chart-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}
