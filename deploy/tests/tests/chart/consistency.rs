//! The raw manifests and the chart describe the same app: same names, images, ports, probes,
//! environment, resources and security; labels, selectors, placeholders, checksums, network
//! policy and helm test pods as documented.

use super::helms;
use crate::support::*;
use serde_norway::Value;
use std::collections::BTreeSet;

/// The parts of a workload that must agree between the raw manifests and the chart.
fn essentials(obj: &Value) -> Value {
    let spec = pod_specs(obj).expect("a workload");
    let containers: Vec<Value> = containers(spec)
        .into_iter()
        .map(|c| {
            let env_names: Vec<Value> = at(c, "env")
                .as_sequence()
                .map(|s| s.iter().map(|e| at(e, "name").clone()).collect())
                .unwrap_or_default();
            let mut m = serde_norway::Mapping::new();
            for key in [
                "name",
                "image",
                "imagePullPolicy",
                "ports",
                "livenessProbe",
                "readinessProbe",
                "resources",
                "securityContext",
                "volumeMounts",
            ] {
                m.insert(key.into(), at(c, key).clone());
            }
            let set: BTreeSet<String> = env_names
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            m.insert(
                "envNames".into(),
                Value::Sequence(set.into_iter().map(Value::String).collect()),
            );
            Value::Mapping(m)
        })
        .collect();
    let mut m = serde_norway::Mapping::new();
    m.insert("name".into(), at(obj, "metadata/name").clone());
    m.insert("selector".into(), at(obj, "spec/selector").clone());
    m.insert("containers".into(), Value::Sequence(containers));
    for key in [
        "securityContext",
        "terminationGracePeriodSeconds",
        "automountServiceAccountToken",
        "enableServiceLinks",
    ] {
        m.insert(key.into(), at(spec, key).clone());
    }
    if kind(obj) == "Deployment" {
        m.insert("strategy".into(), at(obj, "spec/strategy").clone());
    }
    // Immutable fields: a switch between raw manifests and Helm can patch the object only when
    // they are equal.
    if kind(obj) == "StatefulSet" {
        for key in [
            "serviceName",
            "volumeClaimTemplates",
            "podManagementPolicy",
            "persistentVolumeClaimRetentionPolicy",
        ] {
            m.insert(key.into(), at(obj, &format!("spec/{key}")).clone());
        }
    }
    Value::Mapping(m)
}

fn service_essentials(obj: &Value) -> Value {
    let mut m = serde_norway::Mapping::new();
    for key in [
        "metadata/name",
        "spec/type",
        "spec/clusterIP",
        "spec/selector",
        "spec/ports",
    ] {
        m.insert(key.into(), at(obj, key).clone());
    }
    Value::Mapping(m)
}

/// Equal values (mappings compare without regard to key order), else a failure that lists the
/// lines only one side has.
fn assert_same(raw: &Value, chart: &Value, what: &str) {
    if raw == chart {
        return;
    }
    let (raw, chart) = (
        serde_norway::to_string(raw).unwrap_or_default(),
        serde_norway::to_string(chart).unwrap_or_default(),
    );
    let only = |a: &str, b: &str| -> String {
        let other: BTreeSet<&str> = b.lines().collect();
        a.lines()
            .filter(|l| !other.contains(l))
            .collect::<Vec<_>>()
            .join("\n")
    };
    panic!(
        "{what} differs between deploy/k8s and the chart\nonly in deploy/k8s:\n{}\nonly in the chart:\n{}\nraw:\n{raw}\nchart:\n{chart}",
        only(&raw, &chart),
        only(&chart, &raw)
    );
}

#[test]
fn raw_manifests_and_the_default_chart_deploy_the_same_app() {
    let Some(helms) = helms() else { return };
    let (_, helm) = &helms[0];
    let raw = raw_objects();
    let chart = parse(&render_ok(helm, None, &[]));
    // The chart's in-cluster PostgreSQL is compared with the raw postgres/ files.
    let internal = parse(&render_ok(
        helm,
        None,
        &[
            "--set",
            "database.mode=internal",
            "--set",
            "networkPolicy.enabled=false",
        ],
    ));

    for name in ["todo-chatbot-backend", "todo-chatbot-frontend"] {
        assert_same(
            &essentials(find(&raw, "Deployment", name)),
            &essentials(find(&chart, "Deployment", name)),
            &format!("Deployment {name}"),
        );
        assert_same(
            &service_essentials(find(&raw, "Service", name)),
            &service_essentials(find(&chart, "Service", name)),
            &format!("Service {name}"),
        );
    }
    assert_same(
        &essentials(find(&raw, "StatefulSet", "todo-chatbot-postgres")),
        &essentials(find(&internal, "StatefulSet", "todo-chatbot-postgres")),
        "StatefulSet todo-chatbot-postgres",
    );
    assert_same(
        &service_essentials(find(&raw, "Service", "todo-chatbot-postgres")),
        &service_essentials(find(&internal, "Service", "todo-chatbot-postgres")),
        "Service todo-chatbot-postgres",
    );
    assert_same(
        at(find(&raw, "ConfigMap", "todo-chatbot-config"), "data"),
        at(find(&chart, "ConfigMap", "todo-chatbot-config"), "data"),
        "ConfigMap todo-chatbot-config",
    );
    // The SQLite claim: same name and spec, so a switch between them keeps the data.
    let claim = |objects: &[Value]| {
        let c = find(objects, "PersistentVolumeClaim", "todo-chatbot-sqlite");
        at(c, "spec").clone()
    };
    assert_same(
        &claim(&raw),
        &claim(&chart),
        "PersistentVolumeClaim todo-chatbot-sqlite",
    );
    // The Secret name the raw manifests read is the one the chart makes.
    find(&chart, "Secret", "todo-chatbot-secrets");
}

/// The app.kubernetes.io/* set on every object and pod, and selectors on the stable subset that
/// match the pods they select.
fn assert_labels(objects: &[Value], managed_by: &str, case: &str) {
    const STABLE: [&str; 3] = [
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/component",
    ];
    let full: Vec<&str> = STABLE
        .iter()
        .copied()
        .chain([
            "app.kubernetes.io/version",
            "app.kubernetes.io/part-of",
            "app.kubernetes.io/managed-by",
        ])
        .collect();
    let pods: Vec<(&str, &Value)> = objects
        .iter()
        .filter(|o| pod_specs(o).is_some())
        .map(|o| {
            let labels = if kind(o) == "Pod" {
                at(o, "metadata/labels")
            } else {
                at(o, "spec/template/metadata/labels")
            };
            (name(o), labels)
        })
        .collect();
    for obj in objects {
        let what = format!("{case}: {} {}", kind(obj), name(obj));
        let labels = at(obj, "metadata/labels");
        for label in &full {
            assert!(!key(labels, label).is_null(), "{what}: no label {label}");
        }
        assert_eq!(
            key(labels, "app.kubernetes.io/managed-by").as_str(),
            Some(managed_by),
            "{what}"
        );
        let selector = match kind(obj) {
            "Deployment" | "StatefulSet" | "PodDisruptionBudget" => {
                at(obj, "spec/selector/matchLabels")
            }
            "Service" => at(obj, "spec/selector"),
            "NetworkPolicy" => at(obj, "spec/podSelector/matchLabels"),
            _ => continue,
        };
        let keys: BTreeSet<&str> = selector
            .as_mapping()
            .map(|m| m.keys().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, STABLE.into_iter().collect(), "{what}: selector keys");
        let matching = pods
            .iter()
            .filter(|(_, labels)| keys.iter().all(|k| key(labels, k) == key(selector, k)))
            .count();
        assert!(matching > 0, "{what}: the selector matches no pod");
        if kind(obj) == "Deployment" || kind(obj) == "StatefulSet" {
            let own = pods
                .iter()
                .find(|(n, _)| *n == name(obj))
                .expect("own pods");
            assert!(
                keys.iter().all(|k| key(own.1, k) == key(selector, k)),
                "{what}: selector does not match its own pod template"
            );
        }
    }
}

#[test]
fn labels_and_selectors_follow_the_standard_set() {
    let Some(helms) = helms() else { return };
    let (_, helm) = &helms[0];
    for values in values_cases() {
        let objects = parse(&render_ok(helm, values.as_deref(), &[]));
        assert_labels(&objects, "Helm", &case_name(values.as_deref()));
    }
    assert_labels(&raw_objects(), "kubectl", "raw");
}

#[test]
fn versions_agree_between_workspace_chart_and_raw_manifests() {
    let cargo = std::fs::read_to_string(deploy_dir().join("../Cargo.toml")).expect("Cargo.toml");
    let version = cargo
        .lines()
        .skip_while(|l| l.trim() != "[workspace.package]")
        .find_map(|l| l.strip_prefix("version = "))
        .expect("workspace version")
        .trim_matches('"');
    let chart: Value = serde_norway::from_str(
        &std::fs::read_to_string(chart_dir().join("Chart.yaml")).expect("Chart.yaml"),
    )
    .expect("Chart.yaml is YAML");
    assert_eq!(
        str_at(&chart, "appVersion"),
        version,
        "Chart.yaml appVersion"
    );
    for obj in raw_objects() {
        assert_eq!(
            key(at(&obj, "metadata/labels"), "app.kubernetes.io/version").as_str(),
            Some(version),
            "raw {} {}: version label",
            kind(&obj),
            name(&obj)
        );
    }
    for (_, image) in &PLACEHOLDERS[..2] {
        assert!(image.ends_with(&format!(":{version}")), "{image}");
    }
}

#[test]
fn raw_placeholders_are_exactly_the_documented_ones() {
    let readme = std::fs::read_to_string(raw_dir().join("README.md")).expect("README.md");
    let mut found = BTreeSet::new();
    for file in raw_files() {
        let text = std::fs::read_to_string(&file).expect("readable manifest");
        let mut rest = text.as_str();
        while let Some(start) = rest.find("${") {
            let end = rest[start..]
                .find('}')
                .map_or(rest.len(), |e| start + e + 1);
            found.insert(rest[start..end].to_string());
            rest = &rest[end..];
        }
    }
    let expected: BTreeSet<String> = PLACEHOLDERS.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(found, expected, "placeholders in deploy/k8s");
    for placeholder in &expected {
        assert!(
            readme.contains(&format!("`{placeholder}`")),
            "README lacks {placeholder}"
        );
    }
    // Substituted, no placeholder is left, and every object lands in the one namespace.
    for file in raw_files() {
        assert!(!raw_text(&file).contains("${"), "{}", file.display());
    }
    for obj in raw_objects() {
        let namespace = if kind(&obj) == "Namespace" {
            name(&obj)
        } else {
            str_at(&obj, "metadata/namespace")
        };
        assert_eq!(namespace, "todo", "{} {}", kind(&obj), name(&obj));
    }
}

#[test]
fn config_changes_roll_the_pods_through_checksums() {
    let Some(helms) = helms() else { return };
    let (_, helm) = &helms[0];
    let annotation = |extra: &[&str], deployment: &str, name: &str| {
        let objects = parse(&render_ok(helm, None, extra));
        let annotations = at(
            find(&objects, "Deployment", deployment),
            "spec/template/metadata/annotations",
        );
        key(annotations, name).as_str().unwrap_or("").to_string()
    };
    let before = annotation(&[], "todo-chatbot-frontend", "checksum/config");
    assert_eq!(before.len(), 64, "a sha256 checksum/config annotation");
    let after = annotation(
        &["--set", "config.rustLog=debug"],
        "todo-chatbot-frontend",
        "checksum/config",
    );
    assert_ne!(
        before, after,
        "a ConfigMap change must change checksum/config"
    );
    let secret_before = annotation(&[], "todo-chatbot-backend", "checksum/secret");
    let secret_after = annotation(
        &[
            "--set",
            "secrets.authSecret=0123456789abcdef0123456789abcdef",
        ],
        "todo-chatbot-backend",
        "checksum/secret",
    );
    assert_ne!(
        secret_before, secret_after,
        "a Secret change must change checksum/secret"
    );
}

/// The raw manifests carry the chart's NetworkPolicies. They are one set for every database mode,
/// so the raw backend policy is the chart's in mode external (the database port outside the
/// cluster too), and the in-cluster PostgreSQL's rules (in `postgres/`) are the chart's in mode
/// internal: the same PostgreSQL policy, and the backend's rule to it as a policy of its own.
#[test]
fn raw_manifests_carry_the_charts_network_policies() {
    let Some(helms) = helms() else { return };
    let (_, helm) = &helms[0];
    let raw = raw_objects();
    let external = parse(&render_ok(
        helm,
        Some(&deploy_dir().join("helm/values/external-db.yaml")),
        &[],
    ));
    let internal = parse(&render_ok(
        helm,
        Some(&deploy_dir().join("helm/values/internal-postgres.yaml")),
        &[],
    ));
    let spec =
        |objects: &[Value], name: &str| at(find(objects, "NetworkPolicy", name), "spec").clone();
    for name in ["todo-chatbot-backend", "todo-chatbot-frontend"] {
        assert_same(
            &spec(&raw, name),
            &spec(&external, name),
            &format!("NetworkPolicy {name}"),
        );
    }
    assert_same(
        &spec(&raw, "todo-chatbot-postgres"),
        &spec(&internal, "todo-chatbot-postgres"),
        "NetworkPolicy todo-chatbot-postgres",
    );
    // The chart's backend rule to PostgreSQL (internal mode) is the raw extra policy's only rule.
    let to_db = spec(&raw, "todo-chatbot-backend-postgres");
    assert_eq!(
        at(&to_db, "podSelector"),
        at(&spec(&internal, "todo-chatbot-backend"), "podSelector")
    );
    assert_eq!(
        at(&to_db, "policyTypes"),
        &Value::Sequence(vec!["Egress".into()])
    );
    let rules = at(&to_db, "egress").as_sequence().expect("egress rules");
    assert_eq!(rules.len(), 1);
    let chart_rules = at(&spec(&internal, "todo-chatbot-backend"), "egress")
        .as_sequence()
        .expect("egress rules")
        .clone();
    assert!(
        chart_rules.contains(&rules[0]),
        "the raw rule to PostgreSQL is not the chart's: {:?}",
        rules[0]
    );
    // Nothing else: every raw policy was compared.
    let names: BTreeSet<&str> = raw
        .iter()
        .filter(|o| kind(o) == "NetworkPolicy")
        .map(name)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "todo-chatbot-backend",
            "todo-chatbot-backend-postgres",
            "todo-chatbot-frontend",
            "todo-chatbot-postgres",
        ])
    );
}
