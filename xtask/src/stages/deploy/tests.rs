use super::secret::random_password;
use super::*;

fn doc(order: &str, kind: &str, name: &str, secret: bool) -> Doc {
    let mut text = format!("apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n");
    if kind == "Deployment" {
        text.push_str("spec:\n  secretKeyRef: todo-chatbot-secrets\n");
    }
    Doc::new(order, &text, secret).expect("doc")
}

fn docs() -> Vec<Doc> {
    vec![
        doc("00", "Namespace", "todo", false),
        doc("10", "ConfigMap", "todo-chatbot-config", false),
        doc("15", "Secret", SECRET_NAME, true),
        doc("30", "Deployment", "todo-chatbot-backend", false),
    ]
}

fn observed(objects: Vec<Found>, ns_hash: Option<String>) -> Observed {
    Observed {
        mode: "raw",
        context: "demo".into(),
        namespace: "todo".into(),
        namespace_exists: ns_hash.is_some() || !objects.is_empty(),
        namespace_hash: ns_hash,
        database: Database::Sqlite,
        images: BTreeMap::new(),
        objects,
        release: None,
        helm: None,
        to_push: Vec::new(),
    }
}

fn found(d: &Doc, hash: Option<&str>, managed_by: &str) -> Found {
    Found {
        kind: d.kind.clone(),
        name: d.name.clone(),
        managed_by: managed_by.into(),
        hash: hash.map(String::from),
    }
}

fn want<'a>(docs: &'a [Doc], helm: bool) -> Desired<'a> {
    Desired {
        helm,
        release: "todo-chatbot",
        docs,
        helm_hash: "h1",
        password_generated: false,
    }
}

fn texts(steps: &[Step]) -> Vec<String> {
    steps.iter().map(|s| s.to_string()).collect()
}

#[test]
fn empty_cluster_applies_everything_in_order() {
    let d = docs();
    let steps = plan(&want(&d, false), &observed(vec![], None));
    assert_eq!(
        texts(&steps),
        [
            "apply namespace/todo (new)",
            "apply configmap/todo-chatbot-config (new)",
            "apply secret/todo-chatbot-secrets (new)",
            "apply deployment/todo-chatbot-backend (new)",
        ]
    );
}

#[test]
fn matching_hashes_plan_nothing() {
    let d = docs();
    let objects = d[1..]
        .iter()
        .map(|x| found(x, Some(&x.hash), "kubectl"))
        .collect();
    let o = observed(objects, Some(d[0].hash.clone()));
    assert!(plan(&want(&d, false), &o).is_empty());
}

#[test]
fn a_changed_secret_restarts_the_deployments_it_feeds() {
    let d = docs();
    let objects = d[1..]
        .iter()
        .map(|x| found(x, Some(if x.secret { "old" } else { &x.hash }), "kubectl"))
        .collect();
    let o = observed(objects, Some(d[0].hash.clone()));
    assert_eq!(
        texts(&plan(&want(&d, false), &o)),
        [
            "apply secret/todo-chatbot-secrets (changed)",
            "restart deployment/todo-chatbot-backend (its Secret changed)",
        ]
    );
}

#[test]
fn helm_over_raw_removes_the_raw_objects_then_installs() {
    let all = docs();
    let helm_docs: Vec<Doc> = all
        .iter()
        .filter(|x| x.kind == "Namespace" || x.secret)
        .cloned()
        .collect();
    let objects = all[1..]
        .iter()
        .map(|x| {
            found(
                x,
                Some(&x.hash),
                if x.secret {
                    "todo-chatbot-xtask"
                } else {
                    "kubectl"
                },
            )
        })
        .collect();
    let o = observed(objects, Some(all[0].hash.clone()));
    assert_eq!(
        texts(&plan(&want(&helm_docs, true), &o)),
        [
            "remove the raw manifests' objects before Helm takes over: configmap/todo-chatbot-config deployment/todo-chatbot-backend",
            "helm install release todo-chatbot",
        ]
    );
}

#[test]
fn helm_release_with_the_same_inputs_is_left_alone() {
    let all = docs();
    let helm_docs: Vec<Doc> = all
        .iter()
        .filter(|x| x.kind == "Namespace")
        .cloned()
        .collect();
    let mut o = observed(vec![], Some(all[0].hash.clone()));
    let status = |status: &str, description: &str| helm::Status {
        status: status.into(),
        description: description.into(),
        revision: 2,
        chart: "todo-chatbot-0.1.0".into(),
        tests: vec![],
    };
    o.release = Some(status("deployed", "cargo xtask deploy --helm, inputs h1"));
    assert!(plan(&want(&helm_docs, true), &o).is_empty());
    o.release = Some(status("deployed", "cargo xtask deploy --helm, inputs h0"));
    assert_eq!(
        texts(&plan(&want(&helm_docs, true), &o)),
        ["helm upgrade release todo-chatbot"]
    );
    o.release = Some(status("failed", "cargo xtask deploy --helm, inputs h1"));
    assert_eq!(plan(&want(&helm_docs, true), &o).len(), 1);
}

#[test]
fn raw_over_helm_uninstalls_first_and_takes_the_names_over() {
    let d = docs();
    let mut o = observed(
        vec![found(&d[3], None, "Helm"), found(&d[1], None, "Helm")],
        Some(d[0].hash.clone()),
    );
    o.release = Some(helm::Status {
        status: "deployed".into(),
        description: String::new(),
        revision: 1,
        chart: "todo-chatbot-0.1.0".into(),
        tests: vec![],
    });
    assert_eq!(
        texts(&plan(&want(&d, false), &o)),
        [
            "uninstall Helm release todo-chatbot before the raw manifests take over",
            "apply configmap/todo-chatbot-config (taken over)",
            "apply secret/todo-chatbot-secrets (new)",
            "apply deployment/todo-chatbot-backend (taken over)",
        ]
    );
}

#[test]
fn fullname_follows_the_chart_helper() {
    assert_eq!(helm_fullname("todo-chatbot"), "todo-chatbot");
    assert_eq!(helm_fullname("demo"), "demo-todo-chatbot");
}

#[test]
fn a_password_of_ones_own_is_percent_encoded_in_the_url() {
    use super::secret::url_userinfo;
    assert_eq!(url_userinfo("Ab9-._~"), "Ab9-._~");
    assert_eq!(url_userinfo("a/b+c=#?@:%"), "a%2Fb%2Bc%3D%23%3F%40%3A%25");
    assert_eq!(url_userinfo("pä ss"), "p%C3%A4%20ss");
    // What the backend's driver makes of it: the password it started as.
    let url = format!(
        "postgres://todo:{}@db:5432/todo",
        url_userinfo("s3/cr+t#x?")
    );
    let parsed = ureq::http::Uri::try_from(url.as_str()).expect("a valid URL");
    assert_eq!(parsed.host(), Some("db"));
}

#[test]
fn passwords_are_long_and_url_safe() {
    let a = random_password().expect("random");
    assert_eq!(a.len(), 32);
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(a, random_password().expect("random"));
}

#[test]
fn images_the_registry_lacks_are_pushed_first() {
    let d = docs();
    let mut o = observed(vec![], None);
    o.to_push = vec![("todo-backend:1".into(), "reg.example/todo-backend:1".into())];
    let steps = texts(&plan(&want(&d, false), &o));
    assert_eq!(steps[0], "push reg.example/todo-backend:1");
    assert_eq!(steps.len(), 5);
}

#[test]
fn raw_objects_no_longer_made_are_pruned() {
    let d = docs();
    let mut objects: Vec<Found> = d[1..]
        .iter()
        .map(|x| {
            found(
                x,
                Some(&x.hash),
                if x.secret {
                    "todo-chatbot-xtask"
                } else {
                    "kubectl"
                },
            )
        })
        .collect();
    objects.push(Found {
        kind: "StatefulSet".into(),
        name: "todo-chatbot-postgres".into(),
        managed_by: "kubectl".into(),
        hash: Some("x".into()),
    });
    let o = observed(objects, Some(d[0].hash.clone()));
    assert_eq!(
        texts(&plan(&want(&d, false), &o)),
        ["remove what the manifests no longer make: statefulset/todo-chatbot-postgres"]
    );
}

#[cfg(unix)]
#[test]
fn the_values_file_is_private_and_goes_away() {
    use std::os::unix::fs::PermissionsExt;
    let f = TempFile::write("values.json", "{}").expect("written");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&f.path), 0o600);
    let dir = f.path.parent().expect("dir").to_path_buf();
    assert_eq!(mode(&dir), 0o700);
    assert_ne!(
        dir,
        std::env::temp_dir(),
        "not the shared temporary directory itself"
    );
    // Created exclusively: a file (or a planted link) in its place is an error.
    let again = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&f.path);
    assert!(again.is_err());
    drop(f);
    assert!(!dir.exists());
}

#[test]
fn the_report_says_where_the_data_is_and_what_a_sqlite_redeploy_costs() {
    let sqlite = Database::Sqlite.persistence_note("todo-chatbot");
    assert!(sqlite.contains("claim todo-chatbot-sqlite"), "{sqlite}");
    assert!(
        sqlite.contains("Recreate") && sqlite.contains("short outage"),
        "{sqlite}"
    );
    assert!(
        sqlite.contains("deploy.database = \"internal\""),
        "{sqlite}"
    );
    let internal = Database::Internal.persistence_note("r-todo-chatbot");
    assert!(
        internal.contains("data-r-todo-chatbot-postgres-0") && !internal.contains("outage"),
        "{internal}"
    );
}
