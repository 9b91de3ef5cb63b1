//! The chart's features render as documented: helm test pods, network policy, database modes,
//! the existing Secret, registry image references, the optional objects and the notes.

use super::helms;
use crate::support::*;
use serde_norway::Value;
use std::path::Path;
use std::process::Command;

fn helm4() -> Option<std::path::PathBuf> {
    helms().map(|h| h[0].1.clone())
}

fn objects(helm: &Path, values: Option<&str>, extra: &[&str]) -> Vec<Value> {
    let file = values.map(|v| deploy_dir().join("helm/values").join(v));
    parse(&render_ok(helm, file.as_deref(), extra))
}

fn of_kind<'a>(objects: &'a [Value], kind_: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| kind(o) == kind_).collect()
}

/// The env entry of a container by name.
fn env<'a>(container: &'a Value, name_: &str) -> &'a Value {
    at(container, "env")
        .as_sequence()
        .and_then(|s| s.iter().find(|e| str_at(e, "name") == name_))
        .unwrap_or_else(|| panic!("no env {name_}"))
}

fn container<'a>(objects: &'a [Value], deployment: &str) -> &'a Value {
    containers(at(
        find(objects, "Deployment", deployment),
        "spec/template/spec",
    ))[0]
}

#[test]
fn helm_test_pods_run_the_app_images_own_healthcheck() {
    let Some(helm) = helm4() else { return };
    let objects = objects(&helm, None, &[]);
    let tests = of_kind(&objects, "Pod");
    let mut checks: Vec<(String, String)> = tests
        .iter()
        .map(|pod| {
            assert_eq!(
                key(at(pod, "metadata/annotations"), "helm.sh/hook").as_str(),
                Some("test"),
                "{}: a helm test hook",
                name(pod)
            );
            assert_eq!(
                key(at(pod, "metadata/labels"), "app.kubernetes.io/component").as_str(),
                Some("test"),
                "{}: the label the backend NetworkPolicy admits",
                name(pod)
            );
            assert_eq!(str_at(pod, "spec/restartPolicy"), "Never");
            let c = containers(at(pod, "spec"))[0];
            let args: Vec<&str> = at(c, "args")
                .as_sequence()
                .map(|s| s.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            assert_eq!(args.len(), 2, "{}: healthcheck URL", name(pod));
            assert_eq!(
                args[0],
                "healthcheck",
                "{}: the image's own subcommand",
                name(pod)
            );
            assert!(at(c, "command").is_null(), "the image's entrypoint runs");
            (str_at(c, "image").to_string(), args[1].to_string())
        })
        .collect();
    checks.sort();
    let backend = str_at(container(&objects, "todo-chatbot-backend"), "image").to_string();
    let frontend = str_at(container(&objects, "todo-chatbot-frontend"), "image").to_string();
    assert_eq!(
        checks,
        [
            (
                backend.clone(),
                "http://todo-chatbot-backend:8000/health".to_string()
            ),
            (
                backend,
                "http://todo-chatbot-backend:8000/ready".to_string()
            ),
            (frontend, "http://todo-chatbot-frontend:80/".to_string()),
        ]
    );
    let off = self::objects(&helm, None, &["--set", "tests.enabled=false"]);
    assert!(of_kind(&off, "Pod").is_empty(), "tests.enabled=false");

    // With auth on, "/" redirects (303) and the healthcheck wants a 2xx: the log-in page.
    let frontend_url = |extra: &[&str]| -> Vec<String> {
        of_kind(&self::objects(&helm, None, extra), "Pod")
            .iter()
            .map(|p| str_at(containers(at(p, "spec"))[0], "args/1").to_string())
            .filter(|u| u.starts_with("http://todo-chatbot-frontend"))
            .collect()
    };
    assert_eq!(
        frontend_url(&[
            "--set",
            "secrets.authSecret=0123456789abcdef0123456789abcdef"
        ]),
        ["http://todo-chatbot-frontend:80/login"]
    );
    assert_eq!(
        frontend_url(&[
            "--set",
            "secrets.existingSecret=env",
            "--set",
            "tests.frontendPath=/login"
        ]),
        ["http://todo-chatbot-frontend:80/login"]
    );
}

/// The `matchLabels` of the pod selectors a policy rule admits.
fn peers(rule: &Value, field: &str) -> Vec<Value> {
    at(rule, field)
        .as_sequence()
        .map(|s| {
            s.iter()
                .map(|p| at(p, "podSelector/matchLabels").clone())
                .collect()
        })
        .unwrap_or_default()
}

fn selector_of(objects: &[Value], kind_: &str, name_: &str) -> Value {
    at(find(objects, kind_, name_), "spec/selector/matchLabels").clone()
}

/// The TCP and UDP ports of a rule.
fn ports(rule: &Value) -> Vec<u64> {
    at(rule, "ports")
        .as_sequence()
        .map(|s| s.iter().filter_map(|p| at(p, "port").as_u64()).collect())
        .unwrap_or_default()
}

/// The egress rule to addresses outside the cluster (ipBlock peers), if any.
fn public_rule(egress: &[Value]) -> Option<&Value> {
    egress.iter().find(|r| !at(r, "to/0/ipBlock").is_null())
}

/// Every rule on port 53 goes to the kube-dns pods of kube-system and nowhere else, and there is
/// one.
fn assert_dns_only_to_the_cluster_dns(egress: &[Value], what: &str) {
    let dns: Vec<&Value> = egress.iter().filter(|r| ports(r).contains(&53)).collect();
    assert_eq!(dns.len(), 1, "{what}: one DNS rule");
    let rule = dns[0];
    assert_eq!(ports(rule), [53, 53], "{what}: DNS on UDP and TCP only");
    let to = at(rule, "to")
        .as_sequence()
        .expect("a DNS rule names its peers");
    assert_eq!(to.len(), 1, "{what}: {to:?}");
    assert_eq!(
        key(
            at(&to[0], "namespaceSelector/matchLabels"),
            "kubernetes.io/metadata.name"
        )
        .as_str(),
        Some("kube-system"),
        "{what}: DNS in kube-system"
    );
    assert_eq!(
        key(at(&to[0], "podSelector/matchLabels"), "k8s-app").as_str(),
        Some("kube-dns"),
        "{what}: the DNS pods"
    );
}

/// The rule's only peer is 0.0.0.0/0 with the private, shared, loopback and link-local ranges
/// (where pods, Services and nodes live) cut out.
fn assert_public_internet_only(rule: &Value) {
    let to = at(rule, "to").as_sequence().expect("peers");
    assert_eq!(to.len(), 1, "{to:?}");
    assert_eq!(str_at(&to[0], "ipBlock/cidr"), "0.0.0.0/0");
    let except: Vec<&str> = at(&to[0], "ipBlock/except")
        .as_sequence()
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for range in [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "127.0.0.0/8",
    ] {
        assert!(except.contains(&range), "{range} not cut out: {except:?}");
    }
    assert!(
        except.iter().all(|e| !e.contains(':')),
        "IPv6 ranges only go with ::/0: {except:?}"
    );
}

#[test]
fn network_policy_egress_is_configurable_and_extra_peers_reach_the_backend() {
    let Some(helm) = helm4() else { return };
    let backend_policy = |extra: &[&str]| {
        let objects = objects(&helm, None, extra);
        find(&objects, "NetworkPolicy", "todo-chatbot-backend").clone()
    };
    // Off: no rule to outside the cluster, DNS stays.
    let off = backend_policy(&["--set-json", "networkPolicy.egressCidrs=[]"]);
    let egress = at(&off, "spec/egress").as_sequence().expect("egress");
    assert!(public_rule(egress).is_none(), "{egress:?}");
    assert_dns_only_to_the_cluster_dns(egress, "egress off");

    // Listed ranges: 0.0.0.0/0 and ::/0 get their family's exceptions, a narrow range none.
    let listed = backend_policy(&[
        "--set-json",
        r#"networkPolicy.egressCidrs=["203.0.113.0/24","::/0"]"#,
    ]);
    let to = at(
        public_rule(at(&listed, "spec/egress").as_sequence().expect("egress")).expect("rule"),
        "to",
    )
    .clone();
    assert_eq!(str_at(&to, "0/ipBlock/cidr"), "203.0.113.0/24");
    assert!(at(&to, "0/ipBlock/except").is_null(), "{to:?}");
    assert_eq!(str_at(&to, "1/ipBlock/cidr"), "::/0");
    let v6: Vec<&str> = at(&to, "1/ipBlock/except")
        .as_sequence()
        .expect("IPv6 exceptions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        v6.contains(&"fc00::/7") && v6.iter().all(|e| e.contains(':')),
        "{v6:?}"
    );

    // Mode external adds the database port; without any range the render refuses.
    let external = objects(&helm, Some("external-db.yaml"), &[]);
    let policy = find(&external, "NetworkPolicy", "todo-chatbot-backend");
    let rule = public_rule(at(policy, "spec/egress").as_sequence().expect("egress")).expect("rule");
    assert_eq!(ports(rule), [443, 5432]);
    let stderr = render(
        &helm,
        Some(&deploy_dir().join("helm/values/external-db.yaml")),
        &["--set-json", "networkPolicy.egressCidrs=[]"],
    )
    .expect_err("external with no egress must fail");
    assert!(stderr.contains("networkPolicy.egressCidrs"), "{stderr}");

    // No ports would leave a rule that allows every port: refused, but for mode external, whose
    // rule keeps the database port.
    let stderr = render(&helm, None, &["--set-json", "networkPolicy.egressPorts=[]"])
        .expect_err("a ruleless port list must fail");
    assert!(
        stderr.contains("networkPolicy.egressPorts is empty")
            && stderr.contains("allows every port"),
        "{stderr}"
    );
    let external = objects(
        &helm,
        Some("external-db.yaml"),
        &["--set-json", "networkPolicy.egressPorts=[]"],
    );
    let policy = find(&external, "NetworkPolicy", "todo-chatbot-backend");
    let rule = public_rule(at(policy, "spec/egress").as_sequence().expect("egress")).expect("rule");
    assert_eq!(ports(rule), [5432]);

    // Another namespace (kagent) let in to the backend, on the backend's port only.
    let kagent = backend_policy(&[
        "--set-json",
        r#"networkPolicy.backendExtraFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"kagent"}}}]"#,
    ]);
    let from = at(&kagent, "spec/ingress/0/from")
        .as_sequence()
        .expect("from");
    assert_eq!(from.len(), 3, "{from:?}");
    assert_eq!(
        key(
            at(&from[2], "namespaceSelector/matchLabels"),
            "kubernetes.io/metadata.name"
        )
        .as_str(),
        Some("kagent")
    );
    assert_eq!(str_at(&kagent, "spec/ingress/0/ports/0/port"), "http");
}

#[test]
fn network_policy_lets_only_the_frontend_and_tests_reach_the_backend() {
    let Some(helm) = helm4() else { return };
    let objects = objects(&helm, Some("internal-postgres.yaml"), &[]);
    let frontend = selector_of(&objects, "Deployment", "todo-chatbot-frontend");
    let backend = selector_of(&objects, "Deployment", "todo-chatbot-backend");
    let database = selector_of(&objects, "StatefulSet", "todo-chatbot-postgres");
    let test_pod = at(of_kind(&objects, "Pod")[0], "metadata/labels").clone();

    let policy = find(&objects, "NetworkPolicy", "todo-chatbot-backend");
    assert_eq!(at(policy, "spec/podSelector/matchLabels"), &backend);
    let ingress = at(policy, "spec/ingress")
        .as_sequence()
        .expect("ingress rules");
    assert_eq!(ingress.len(), 1, "one ingress rule");
    let admitted = peers(&ingress[0], "from");
    assert_eq!(
        admitted.len(),
        2,
        "only the frontend and the test pods: {admitted:?}"
    );
    assert_eq!(admitted[0], frontend);
    let test_selector = admitted[1].as_mapping().expect("a selector");
    for (k, v) in test_selector {
        assert_eq!(test_pod.get(k), Some(v), "the test pods carry {k:?}");
    }
    let egress = at(policy, "spec/egress")
        .as_sequence()
        .expect("egress rules");
    assert_dns_only_to_the_cluster_dns(egress, "backend");
    assert!(
        egress.iter().any(|r| peers(r, "to").contains(&database)),
        "the backend may reach PostgreSQL"
    );
    let public = public_rule(egress).expect("the backend may reach the model API");
    assert_eq!(ports(public), [443]);
    assert_public_internet_only(public);

    let policy = find(&objects, "NetworkPolicy", "todo-chatbot-postgres");
    let ingress = at(policy, "spec/ingress")
        .as_sequence()
        .expect("ingress rules");
    assert_eq!(
        peers(&ingress[0], "from"),
        std::slice::from_ref(&backend),
        "only the backend reaches PostgreSQL"
    );
    assert!(
        at(policy, "spec/egress").is_null(),
        "PostgreSQL connects nowhere"
    );

    let policy = find(&objects, "NetworkPolicy", "todo-chatbot-frontend");
    let egress = at(policy, "spec/egress")
        .as_sequence()
        .expect("egress rules");
    assert_dns_only_to_the_cluster_dns(egress, "frontend");
    assert!(
        public_rule(egress).is_none(),
        "the frontend connects out nowhere"
    );
    assert!(
        egress
            .iter()
            .any(|r| peers(r, "to") == std::slice::from_ref(&backend))
    );

    let off = self::objects(&helm, None, &["--set", "networkPolicy.enabled=false"]);
    assert!(of_kind(&off, "NetworkPolicy").is_empty());
}

#[test]
fn database_modes_set_database_url_as_documented() {
    let Some(helm) = helm4() else { return };
    let sqlite = objects(&helm, None, &[]);
    let backend = container(&sqlite, "todo-chatbot-backend");
    assert_eq!(
        str_at(env(backend, "DATABASE_URL"), "value"),
        "sqlite:///data/todo.db"
    );
    assert!(of_kind(&sqlite, "StatefulSet").is_empty());

    let internal = objects(&helm, Some("internal-postgres.yaml"), &[]);
    let backend = container(&internal, "todo-chatbot-backend");
    // No password in the URL: one from an existing Secret may hold "/", "@", "#" or "%", which
    // an expanded $(VAR) would leave unescaped and the URL unparseable. The driver reads
    // PGPASSWORD instead.
    assert_eq!(
        str_at(env(backend, "DATABASE_URL"), "value"),
        "postgres://todo@todo-chatbot-postgres:5432/todo"
    );
    let password = env(backend, "PGPASSWORD");
    assert_eq!(
        str_at(password, "valueFrom/secretKeyRef/name"),
        "todo-chatbot-secrets"
    );
    assert_eq!(
        str_at(password, "valueFrom/secretKeyRef/key"),
        "POSTGRES_PASSWORD"
    );
    assert!(
        at(backend, "env")
            .as_sequence()
            .expect("env")
            .iter()
            .all(|e| !str_at(e, "value").contains("$(")),
        "no variable expanded into another"
    );
    let secret = find(&internal, "Secret", "todo-chatbot-secrets");
    assert!(!at(secret, "data/POSTGRES_PASSWORD").is_null());
    assert_eq!(
        key(
            at(secret, "metadata/annotations"),
            "helm.sh/resource-policy"
        )
        .as_str(),
        Some("keep"),
        "the password outlives an uninstall, like the volume"
    );

    let external = objects(&helm, Some("external-db.yaml"), &[]);
    let backend = container(&external, "todo-chatbot-backend");
    assert_eq!(
        at(env(backend, "DATABASE_URL"), "valueFrom/secretKeyRef/name").as_str(),
        Some("todo-chatbot-secrets"),
        "the Secret `cargo xtask deploy` makes"
    );
}

#[test]
fn an_existing_secret_replaces_the_charts_own() {
    let Some(helm) = helm4() else { return };
    let objects = objects(
        &helm,
        None,
        &[
            "--set",
            "secrets.existingSecret=my-env",
            "--set",
            "database.mode=internal",
        ],
    );
    assert!(of_kind(&objects, "Secret").is_empty(), "no Secret rendered");
    let mut refs = 0;
    for obj in &objects {
        let Some(spec) = pod_specs(obj) else { continue };
        for c in containers(spec) {
            for e in at(c, "env").as_sequence().into_iter().flatten() {
                if let Some(n) = at(e, "valueFrom/secretKeyRef/name").as_str() {
                    assert_eq!(n, "my-env", "{} {}", name(obj), str_at(e, "name"));
                    refs += 1;
                }
            }
        }
        let annotations = at(obj, "spec/template/metadata/annotations");
        assert!(
            key(annotations, "checksum/secret").is_null(),
            "{}",
            name(obj)
        );
    }
    assert!(refs >= 4, "backend and PostgreSQL read the existing Secret");

    // Values meant for the chart's own Secret are not read beside an existing one: refused, not
    // dropped unseen.
    for value in [
        "secrets.openaiApiKey=sk-test",
        "secrets.authSecret=0123456789abcdef",
        "secrets.databaseUrl=postgres://u:p@db/todo",
    ] {
        let stderr = render(
            &helm,
            None,
            &[
                "--set",
                "secrets.existingSecret=my-env",
                "--set",
                "database.mode=external",
                "--set",
                value,
            ],
        )
        .expect_err(value);
        assert!(
            stderr.contains("secrets.existingSecret (my-env) names your own Secret")
                && !stderr.contains("sk-test"),
            "{value}: {stderr}"
        );
    }
}

#[test]
fn registry_and_tags_make_the_image_references() {
    let Some(helm) = helm4() else { return };
    let objects = objects(
        &helm,
        None,
        &[
            "--set",
            "image.registry=registry.example.com/team",
            "--set",
            "image.pullPolicy=Always",
            "--set-string",
            "backend.image.tag=0123456",
            "--set-string",
            "frontend.image.tag=abcdef1",
        ],
    );
    let mut seen = 0;
    for obj in &objects {
        let Some(spec) = pod_specs(obj) else { continue };
        for c in containers(spec) {
            let image = str_at(c, "image");
            assert!(
                image == "registry.example.com/team/todo-backend:0123456"
                    || image == "registry.example.com/team/todo-frontend:abcdef1",
                "{}: {image}",
                name(obj)
            );
            assert_eq!(str_at(c, "imagePullPolicy"), "Always");
            seen += 1;
        }
    }
    assert_eq!(seen, 5, "two Deployments and three test pods");
}

#[test]
fn optional_objects_render_only_when_enabled() {
    let Some(helm) = helm4() else { return };
    let defaults = objects(&helm, None, &[]);
    for k in [
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "StatefulSet",
    ] {
        assert!(of_kind(&defaults, k).is_empty(), "{k} in the defaults");
    }
    let all = objects(&helm, Some("ingress-hpa-pdb.yaml"), &[]);
    let ingress = of_kind(&all, "Ingress");
    assert_eq!(ingress.len(), 1);
    assert_eq!(
        str_at(ingress[0], "spec/rules/0/http/paths/0/backend/service/name"),
        "todo-chatbot-frontend"
    );
    let hpas = of_kind(&all, "HorizontalPodAutoscaler");
    assert_eq!(hpas.len(), 2);
    for hpa in hpas {
        let target = str_at(hpa, "spec/scaleTargetRef/name");
        let deployment = find(&all, "Deployment", target);
        assert!(
            at(deployment, "spec/replicas").is_null(),
            "{target}: the autoscaler owns the replica count"
        );
    }
    let pdbs = of_kind(&all, "PodDisruptionBudget");
    assert_eq!(pdbs.len(), 2);
    for pdb in pdbs {
        let deployment = find(&all, "Deployment", name(pdb));
        assert_eq!(
            at(pdb, "spec/selector/matchLabels"),
            at(deployment, "spec/selector/matchLabels")
        );
    }
}

#[test]
fn notes_say_how_to_open_the_app() {
    let Some(helm) = helm4() else { return };
    // helm 3.17's install --dry-run needs a cluster; helm 4's --dry-run=client does not.
    let notes = |extra: &[&str]| {
        let out = run(Command::new(&helm)
            .args(["install", RELEASE])
            .arg(chart_dir())
            .args(["--namespace", NAMESPACE, "--dry-run=client"])
            .args(extra));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        stdout
            .split_once("NOTES:")
            .map(|(_, n)| n.to_string())
            .expect("NOTES printed")
    };
    let lb = notes(&[]);
    assert!(
        lb.contains("minikube service todo-chatbot-frontend -n todo -p todo-chatbot --url"),
        "{lb}"
    );
    assert!(lb.contains("helm test todo-chatbot -n todo"), "{lb}");
    // SQLite on its claim: kept data, and the outage of a redeploy with the way around it.
    assert!(lb.contains("claim todo-chatbot-sqlite"), "{lb}");
    assert!(
        lb.contains("kubectl delete pvc todo-chatbot-sqlite -n todo"),
        "{lb}"
    );
    assert!(
        lb.contains("short outage") && lb.contains("database.mode=internal or external"),
        "{lb}"
    );
    let ephemeral = notes(&["--set", "database.sqlite.persistence.enabled=false"]);
    assert!(
        ephemeral.contains("redeploy starts with an empty database"),
        "{ephemeral}"
    );
    let internal = notes(&["--set", "database.mode=internal"]);
    assert!(
        internal.contains("claim data-todo-chatbot-postgres-0") && !internal.contains("outage"),
        "{internal}"
    );
    let node_port = notes(&["--set", "frontend.service.type=NodePort"]);
    assert!(
        node_port.contains("minikube service todo-chatbot-frontend -n todo -p todo-chatbot --url"),
        "{node_port}"
    );
    let cluster_ip = notes(&["--set", "frontend.service.type=ClusterIP"]);
    assert!(cluster_ip.contains("kubectl port-forward -n todo service/todo-chatbot-frontend"));
    let ingress = notes(&[
        "--set",
        "ingress.enabled=true",
        "--set",
        "ingress.host=todo.test",
    ]);
    assert!(ingress.contains("http://todo.test/"), "{ingress}");
}

#[test]
fn long_release_names_give_valid_unique_object_names() {
    let Some(helm) = helm4() else { return };
    // 53 characters, the longest release name helm accepts; and the longest fullnameOverride.
    let release = "a-very-long-release-name-that-goes-on-and-on-for-ever";
    let fullname = "x".repeat(50);
    let fullname_override = format!("fullnameOverride={fullname}");
    for (values, extra) in [
        ("ingress-hpa-pdb.yaml", &[][..]),
        ("internal-postgres.yaml", &[][..]),
        ("internal-postgres.yaml", &["--set", &fullname_override][..]),
    ] {
        let out = run(Command::new(&helm)
            .args(["template", release])
            .arg(chart_dir())
            .args(["--values"])
            .arg(deploy_dir().join("helm/values").join(values))
            .args(extra));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let objects = parse(&String::from_utf8_lossy(&out.stdout));
        let mut names = std::collections::BTreeSet::new();
        for obj in &objects {
            let n = name(obj);
            assert!(
                n.len() <= 63 && !n.ends_with('-') && !n.is_empty(),
                "{values} {extra:?}: {} {n:?}: not a DNS label",
                kind(obj)
            );
            // The controller labels a StatefulSet's pods with controller-revision-hash
            // "<name>-<hash of up to 10 characters>", itself a label value (63 at most): a
            // longer name gives a StatefulSet whose pod is never created.
            if kind(obj) == "StatefulSet" {
                assert!(
                    n.len() <= 52,
                    "{values} {extra:?}: StatefulSet {n:?} is {} characters, more than 52",
                    n.len()
                );
            }
            assert!(
                names.insert((kind(obj).to_string(), n.to_string())),
                "{values} {extra:?}: {} {n} twice",
                kind(obj)
            );
            for v in at(obj, "metadata/labels")
                .as_mapping()
                .into_iter()
                .flat_map(|m| m.values())
            {
                assert!(
                    v.as_str().is_some_and(|v| v.len() <= 63),
                    "{}: label value {v:?}",
                    n
                );
            }
        }
        // The backend reaches PostgreSQL at the Service of the StatefulSet's (shortened) name.
        if let Some(sts) = objects.iter().find(|o| kind(o) == "StatefulSet") {
            let service = find(&objects, "Service", str_at(sts, "spec/serviceName"));
            let backend = objects
                .iter()
                .find(|o| kind(o) == "Deployment" && name(o).ends_with("-backend"))
                .expect("a backend Deployment");
            let url = str_at(
                env(
                    containers(at(backend, "spec/template/spec"))[0],
                    "DATABASE_URL",
                ),
                "value",
            );
            assert!(
                url.contains(&format!("@{}:5432/", name(service))),
                "{values} {extra:?}: {url}"
            );
        }
    }
}

/// Release names and overrides that YAML reads as a boolean or a number stay strings in every
/// label and name; a name Kubernetes cannot give a Service fails the render with the reason.
#[test]
fn release_names_that_read_as_scalars_stay_strings() {
    let Some(helms) = helms() else { return };
    for (major, helm) in &helms {
        for (release, extra) in [
            ("on", &["--set", "database.mode=internal"][..]),
            ("yes", &["--set-string", "nameOverride=true"][..]),
            (
                "no",
                &[
                    "--set",
                    "ingress.enabled=true",
                    "--set-string",
                    "ingress.className=true",
                    "--set-string",
                    "ingress.tlsSecretName=1234",
                    "--set-string",
                    "serviceAccount.name=2025",
                    "--set-string",
                    "secrets.existingSecret=1",
                    "--set-string",
                    "database.sqlite.persistence.storageClass=0",
                ][..],
            ),
        ] {
            let out = run(Command::new(helm)
                .args(["template", release])
                .arg(chart_dir())
                .args(extra));
            assert!(
                out.status.success(),
                "helm v{major} {release} {extra:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let objects = parse(&String::from_utf8_lossy(&out.stdout));
            for obj in &objects {
                let what = format!("helm v{major} {release} {extra:?}: {}", kind(obj));
                assert!(at(obj, "metadata/name").is_string(), "{what}: name");
                let mut maps = vec![
                    at(obj, "metadata/labels"),
                    at(obj, "spec/selector/matchLabels"),
                    at(obj, "spec/template/metadata/labels"),
                ];
                if kind(obj) == "Service" {
                    maps.push(at(obj, "spec/selector"));
                }
                for rule in ["ingress", "egress"] {
                    for r in at(obj, &format!("spec/{rule}"))
                        .as_sequence()
                        .into_iter()
                        .flatten()
                    {
                        for peer in ["from", "to"] {
                            for p in at(r, peer).as_sequence().into_iter().flatten() {
                                maps.push(at(p, "podSelector/matchLabels"));
                            }
                        }
                    }
                }
                for m in maps.iter().filter_map(|m| m.as_mapping()) {
                    for v in m.values() {
                        assert!(v.is_string(), "{what}: label value {v:?}");
                    }
                }
                for field in [
                    "spec/ingressClassName",
                    "spec/tls/0/secretName",
                    "spec/storageClassName",
                    "spec/template/spec/serviceAccountName",
                ] {
                    let v = at(obj, field);
                    assert!(v.is_null() || v.is_string(), "{what}: {field} {v:?}");
                }
                if let Some(spec) = pod_specs(obj) {
                    for c in containers(spec) {
                        for e in at(c, "env").as_sequence().into_iter().flatten() {
                            let v = at(e, "valueFrom/secretKeyRef/name");
                            assert!(v.is_null() || v.is_string(), "{what}: {v:?}");
                        }
                    }
                }
            }
        }
        // A Service's name must start with a letter.
        let out = run(Command::new(helm)
            .args(["template", "2025"])
            .arg(chart_dir()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("must start with a letter"),
            "helm v{major}: release 2025: {stderr}"
        );
    }
}

/// A fixed node port lands on the frontend Service of a type that has one; with ClusterIP the
/// render says why it cannot.
#[test]
fn frontend_node_port_is_set_where_the_service_has_one() {
    let Some(helms) = helms() else { return };
    for (major, helm) in &helms {
        for service_type in ["NodePort", "LoadBalancer"] {
            let objects = parse(&render_ok(
                helm,
                None,
                &[
                    "--set",
                    &format!("frontend.service.type={service_type}"),
                    "--set",
                    "frontend.service.nodePort=30080",
                ],
            ));
            let service = find(&objects, "Service", "todo-chatbot-frontend");
            assert_eq!(
                at(service, "spec/ports/0/nodePort").as_u64(),
                Some(30080),
                "helm v{major} {service_type}"
            );
        }
        let objects = parse(&render_ok(
            helm,
            None,
            &["--set", "frontend.service.type=NodePort"],
        ));
        let service = find(&objects, "Service", "todo-chatbot-frontend");
        assert!(
            at(service, "spec/ports/0/nodePort").is_null(),
            "0: the cluster picks"
        );
        let stderr = render(
            helm,
            None,
            &[
                "--set",
                "frontend.service.type=ClusterIP",
                "--set",
                "frontend.service.nodePort=30080",
            ],
        )
        .expect_err("a node port on a ClusterIP Service");
        assert!(
            stderr.contains("frontend.service.nodePort (30080) needs"),
            "helm v{major}: {stderr}"
        );
    }
}
