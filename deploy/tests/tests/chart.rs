//! Tests of the Helm chart `deploy/helm/todo-chatbot` and the raw manifests `deploy/k8s/` with
//! real helm (v4 and v3, gated by `testkit::helm`) and kubernetes-validate: lint, render with
//! every values file, strict validation against the Kubernetes 1.28 and 1.33 schemas, the values
//! schema, the render-time checks, the restricted security settings, persistence and graceful
//! rollouts, and that the raw manifests and the chart deploy the same app.

#[path = "chart/support.rs"]
mod support;

use serde_norway::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use support::*;

/// Both helm binaries, or `None` after testkit's skip/fail decision.
fn helms() -> Option<Vec<(u8, PathBuf)>> {
    let v4 = testkit::helm(4)?;
    let v3 = testkit::helm(3)?;
    for (major, path) in [(4, &v4), (3, &v3)] {
        let out = run(Command::new(path).args(["version", "--template", "{{.Version}}"]));
        let version = String::from_utf8_lossy(&out.stdout);
        assert!(
            version.starts_with(&format!("v{major}.")),
            "{} reports {version:?}, expected helm v{major}",
            path.display()
        );
    }
    Some(vec![(4, v4), (3, v3)])
}

#[test]
fn values_files_cover_the_documented_cases() {
    let names: BTreeSet<String> = values_cases()
        .iter()
        .map(|v| case_name(v.as_deref()))
        .collect();
    for wanted in [
        "defaults",
        "minikube",
        "external-db",
        "internal-postgres",
        "ingress-hpa-pdb",
        "values-production",
    ] {
        assert!(names.contains(wanted), "no values case {wanted}: {names:?}");
    }
}

#[test]
fn chart_lints_strictly_with_every_values_file() {
    let Some(helms) = helms() else { return };
    std::thread::scope(|s| {
        for (major, helm) in &helms {
            s.spawn(move || {
                for values in values_cases() {
                    let mut cmd = Command::new(helm);
                    cmd.args(["lint", "--strict"]).arg(chart_dir());
                    if let Some(v) = &values {
                        cmd.arg("--values").arg(v);
                    }
                    let out = run(&mut cmd);
                    assert!(
                        out.status.success(),
                        "helm v{major} lint --strict with {} failed:\n{}{}",
                        case_name(values.as_deref()),
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });
}

/// Renders every values case with both helm majors and validates those objects and every raw
/// manifest strictly against each Kubernetes version, in one kubernetes-validate call per version
/// (it is slow per object). A document that is byte-for-byte the same as one already written (most
/// of them repeat across values files and helm majors) is validated once, in the first file that
/// has it.
#[test]
fn every_rendered_object_and_raw_manifest_is_valid_kubernetes() {
    let Some(helms) = helms() else { return };
    let Some(validate) = kubernetes_validate() else {
        return;
    };
    let dir = scratch("validate");
    let mut seen = BTreeSet::new();
    let mut files = Vec::new();
    let mut objects = 0;
    let mut write_new = |file_name: String, text: &str| {
        let fresh: Vec<String> = documents(text)
            .into_iter()
            .filter(|d| seen.insert(d.clone()))
            .collect();
        if fresh.is_empty() {
            return;
        }
        objects += fresh.len();
        let file = dir.join(file_name);
        std::fs::write(&file, fresh.join("---\n")).expect("scratch directory is writable");
        files.push(file);
    };
    for (major, helm) in &helms {
        for values in values_cases() {
            let text = render_ok(helm, values.as_deref(), &[]);
            write_new(
                format!("helm{major}-{}.yaml", case_name(values.as_deref())),
                &text,
            );
        }
    }
    for raw in raw_files()
        .iter()
        .chain([&raw_dir().join("secret.example.yaml")])
    {
        let name = raw.file_name().expect("a file").to_string_lossy();
        write_new(format!("raw-{name}"), &raw_text(raw));
    }

    std::thread::scope(|s| {
        for version in KUBE_VERSIONS {
            let (validate, files) = (&validate, &files);
            s.spawn(move || {
                let out = run(Command::new(validate)
                    .args(["--strict", "--kubernetes-version", version])
                    .args(files));
                let stdout = String::from_utf8_lossy(&out.stdout);
                let problems: Vec<&str> =
                    stdout.lines().filter(|l| !l.starts_with("INFO")).collect();
                assert!(
                    out.status.success() && problems.is_empty(),
                    "kubernetes-validate --strict -k {version} found problems:\n{}\n{}",
                    problems.join("\n"),
                    String::from_utf8_lossy(&out.stderr)
                );
                // Every object was really checked, none skipped as unknown.
                let passed = stdout.matches(" passed for resource ").count();
                assert_eq!(
                    passed, objects,
                    "kubernetes-validate -k {version} checked {passed} of {objects} objects:\n{stdout}"
                );
            });
        }
    });
}

#[test]
fn values_schema_rejects_bad_values_in_both_helm_majors() {
    let Some(helms) = helms() else { return };
    let cases: [(&[&str], &str, &str); 7] = [
        (
            &["--set", "replicas=2"],
            "unknown top-level key",
            "replicas",
        ),
        (
            &["--set", "backend.image.name=x"],
            "unknown nested key",
            "name",
        ),
        (
            &["--set", "backend.replicaCount=-1"],
            "negative replicas",
            "replicaCount",
        ),
        (&["--set", "backend.port=eighty"], "wrong type", "port"),
        (
            &["--set", "database.mode=mysql"],
            "value outside the enum",
            "mode",
        ),
        (
            &["--set", "fullnameOverride=Todo_App"],
            "a name Kubernetes refuses",
            "fullnameOverride",
        ),
        (
            &["--set-json", "networkPolicy.backendExtraFrom=[{}]"],
            "an empty NetworkPolicy peer",
            "backendExtraFrom",
        ),
    ];
    for (major, helm) in &helms {
        for (args, what, key) in cases {
            let stderr = render(helm, None, args)
                .map(|_| ())
                .expect_err(&format!("helm v{major} accepted {what}: {args:?}"));
            assert!(
                stderr.contains("values don't meet the specifications of the schema")
                    && stderr.contains(key),
                "helm v{major} rejected {what} {args:?} without the schema error naming {key}:\n{stderr}"
            );
        }
        // The defaults and a correct override pass.
        render_ok(helm, None, &["--set", "frontend.replicaCount=3"]);
    }
}

#[test]
fn sqlite_with_more_than_one_backend_fails_with_a_clear_message() {
    let Some(helms) = helms() else { return };
    for (major, helm) in &helms {
        for args in [
            &["--set", "backend.replicaCount=2"][..],
            &["--set", "backend.autoscaling.enabled=true"][..],
        ] {
            let stderr = render(helm, None, args)
                .map(|_| ())
                .expect_err(&format!("helm v{major} rendered sqlite with {args:?}"));
            assert!(
                stderr.contains("database.mode=sqlite keeps the data in one pod's file")
                    && stderr.contains("database.mode=external"),
                "helm v{major} {args:?}: not the sqlite message:\n{stderr}"
            );
        }
        let stderr = render(helm, None, &["--set", "database.mode=external"])
            .expect_err("external without a URL must fail");
        assert!(
            stderr.contains("secrets.existingSecret"),
            "helm v{major}: {stderr}"
        );
        render_ok(
            helm,
            None,
            &[
                "--set",
                "database.mode=internal",
                "--set",
                "backend.replicaCount=2",
            ],
        );
    }
}

/// The restricted Pod Security Standard, plus the project's own rules, on a pod spec.
fn assert_restricted(spec: &Value, what: &str) {
    let pod = at(spec, "securityContext");
    assert_eq!(
        at(pod, "runAsNonRoot").as_bool(),
        Some(true),
        "{what}: pod runAsNonRoot"
    );
    assert!(
        at(pod, "runAsUser").as_u64().is_some_and(|u| u != 0),
        "{what}: pod runAsUser must be a non-zero uid"
    );
    assert_eq!(
        str_at(pod, "seccompProfile/type"),
        "RuntimeDefault",
        "{what}: pod seccomp"
    );
    assert_eq!(
        at(spec, "automountServiceAccountToken").as_bool(),
        Some(false),
        "{what}: service account token must not be mounted"
    );
    let all = containers(spec);
    assert!(!all.is_empty(), "{what}: no containers");
    for c in all {
        let cname = format!("{what} container {}", str_at(c, "name"));
        let sc = at(c, "securityContext");
        assert_eq!(
            at(sc, "runAsNonRoot").as_bool(),
            Some(true),
            "{cname}: runAsNonRoot"
        );
        assert_eq!(
            at(sc, "runAsUser"),
            at(pod, "runAsUser"),
            "{cname}: runAsUser"
        );
        assert_eq!(
            at(sc, "allowPrivilegeEscalation").as_bool(),
            Some(false),
            "{cname}: allowPrivilegeEscalation"
        );
        assert_eq!(
            at(sc, "readOnlyRootFilesystem").as_bool(),
            Some(true),
            "{cname}: readOnlyRootFilesystem"
        );
        let drops: Vec<&str> = at(sc, "capabilities/drop")
            .as_sequence()
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(drops, ["ALL"], "{cname}: capabilities.drop");
        assert!(
            at(sc, "capabilities/add").is_null(),
            "{cname}: adds capabilities"
        );
        assert_eq!(
            str_at(sc, "seccompProfile/type"),
            "RuntimeDefault",
            "{cname}: seccomp"
        );
        assert!(
            at(sc, "privileged").as_bool() != Some(true),
            "{cname}: privileged"
        );
        // The app images run as 65532; only PostgreSQL runs as its image's own user.
        let image = str_at(c, "image");
        if !image.contains("todo-postgres") {
            assert_eq!(at(sc, "runAsUser").as_u64(), Some(65532), "{cname}: uid");
        }
        assert!(
            !at(c, "resources/limits/memory").is_null()
                && !at(c, "resources/requests/cpu").is_null(),
            "{cname}: resources"
        );
    }
}

#[test]
fn every_pod_runs_restricted() {
    let Some(helms) = helms() else { return };
    let (_, helm) = &helms[0];
    let mut pods = 0;
    for values in values_cases() {
        let case = case_name(values.as_deref());
        for obj in parse(&render_ok(helm, values.as_deref(), &[])) {
            if let Some(spec) = pod_specs(&obj) {
                assert_restricted(spec, &format!("{case}: {} {}", kind(&obj), name(&obj)));
                pods += 1;
            }
        }
    }
    for obj in raw_objects() {
        if let Some(spec) = pod_specs(&obj) {
            assert_restricted(spec, &format!("raw: {} {}", kind(&obj), name(&obj)));
            pods += 1;
        }
    }
    // Per case at least backend, frontend and the three test pods.
    assert!(
        pods >= 5 * values_cases().len(),
        "only {pods} pod specs seen"
    );
}

#[path = "chart/consistency.rs"]
mod consistency;

#[path = "chart/features.rs"]
mod features;

#[path = "chart/rollout.rs"]
mod rollout;

/// Every value in values.yaml is explained: a leaf key has a comment right above it, or sits under
/// a commented group (`resources`, `liveness`).
#[test]
fn every_value_in_values_yaml_is_commented() {
    let text = std::fs::read_to_string(chart_dir().join("values.yaml")).expect("values.yaml");
    // (indent, documented) of the open groups, and what the previous line was.
    let mut groups: Vec<(usize, bool)> = Vec::new();
    let mut after_comment = false;
    let mut missing = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            after_comment = false;
            continue;
        }
        if trimmed.starts_with('#') {
            after_comment = true;
            continue;
        }
        let Some((key, rest)) = trimmed.split_once(':') else {
            after_comment = false;
            continue;
        };
        if key.starts_with('-') || key.contains(' ') {
            after_comment = false;
            continue;
        }
        let indent = line.len() - trimmed.len();
        while groups.last().is_some_and(|(i, _)| *i >= indent) {
            groups.pop();
        }
        let inherited = groups.iter().any(|(_, d)| *d);
        if rest.trim().is_empty() {
            groups.push((indent, after_comment));
        } else if !after_comment && !inherited {
            missing.push(format!("line {}: {line}", number + 1));
        }
        after_comment = false;
    }
    assert!(
        missing.is_empty(),
        "values.yaml keys without a comment:\n{}",
        missing.join("\n")
    );
}

/// Every object in values.schema.json closes its keys (`additionalProperties: false`) or types
/// them (a map of strings), except Kubernetes structures passed through unchanged.
#[test]
fn values_schema_is_closed_everywhere() {
    fn walk(node: &serde_json::Value, path: &str, open: &mut Vec<String>) {
        // Passed to Kubernetes as they are; the API server validates them.
        const PASSTHROUGH: [&str; 4] = [
            "/properties/global",
            "/definitions/affinity/properties/nodeAffinity",
            "/definitions/affinity/properties/podAffinity",
            "/definitions/affinity/properties/podAntiAffinity",
        ];
        let Some(map) = node.as_object() else { return };
        if map.get("type").and_then(|t| t.as_str()) == Some("object")
            && !PASSTHROUGH.contains(&path)
        {
            match map.get("additionalProperties") {
                Some(serde_json::Value::Bool(false)) | Some(serde_json::Value::Object(_)) => {}
                _ => open.push(path.to_string()),
            }
        }
        for (key, child) in map {
            match child {
                serde_json::Value::Object(_) => walk(child, &format!("{path}/{key}"), open),
                serde_json::Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        walk(item, &format!("{path}/{key}/{i}"), open);
                    }
                }
                _ => {}
            }
        }
    }
    let text = std::fs::read_to_string(chart_dir().join("values.schema.json")).expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(
        schema["$schema"], "http://json-schema.org/draft-07/schema#",
        "draft-07: understood by helm 3.17's and helm 4's validators alike"
    );
    let mut open = Vec::new();
    walk(&schema, "", &mut open);
    assert!(
        open.is_empty(),
        "schema objects open to unknown keys: {open:?}"
    );
}
