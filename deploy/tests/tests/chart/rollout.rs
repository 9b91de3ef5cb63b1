//! No data lost and no request dropped: the SQLite file on a claim where DATABASE_URL points (the
//! chart's defaults, the minikube values and the raw manifests), `Recreate` for the one SQLite
//! writer, the shutdown delay everywhere, rolling updates with `maxUnavailable: 0` where the
//! backend has more than one pod, PodDisruptionBudgets that keep a pod, and PostgreSQL's claim
//! kept.

use super::helms;
use crate::support::*;
use serde_norway::Value;
use std::path::{Path, PathBuf};

/// The drain the apps allow after the shutdown delay (DRAIN_DEADLINE in both apps).
const DRAIN_SECS: u64 = 25;

fn helm4() -> Option<PathBuf> {
    helms().map(|h| h[0].1.clone())
}

fn values(file: &str) -> PathBuf {
    deploy_dir().join("helm/values").join(file)
}

fn env_value<'a>(container: &'a Value, name_: &str) -> Option<&'a Value> {
    at(container, "env")
        .as_sequence()
        .and_then(|s| s.iter().find(|e| str_at(e, "name") == name_))
}

fn backend(objects: &[Value]) -> &Value {
    find(objects, "Deployment", "todo-chatbot-backend")
}

/// The SQLite file's directory holds a volume mount whose volume is a PersistentVolumeClaim
/// that is among `objects`, ReadWriteOnce with a size; returns the claim.
fn assert_claim_where_database_url_points<'a>(
    objects: &'a [Value],
    database_url: &str,
    what: &str,
) -> &'a Value {
    let file = database_url
        .strip_prefix("sqlite://")
        .unwrap_or_else(|| panic!("{what}: not a SQLite URL: {database_url}"));
    let deployment = backend(objects);
    let spec = at(deployment, "spec/template/spec");
    let container = containers(spec)[0];
    let mount = at(container, "volumeMounts")
        .as_sequence()
        .expect("volume mounts")
        .iter()
        .filter(|m| {
            let dir = str_at(m, "mountPath").trim_end_matches('/');
            file.starts_with(&format!("{dir}/"))
        })
        .max_by_key(|m| str_at(m, "mountPath").len())
        .unwrap_or_else(|| panic!("{what}: nothing is mounted above {file}"));
    let volume = at(spec, "volumes")
        .as_sequence()
        .expect("volumes")
        .iter()
        .find(|v| str_at(v, "name") == str_at(mount, "name"))
        .expect("the mount's volume");
    let claim_name = str_at(volume, "persistentVolumeClaim/claimName");
    assert!(
        !claim_name.is_empty(),
        "{what}: {file} is on volume {volume:?}, not a PersistentVolumeClaim"
    );
    assert_ne!(
        at(mount, "readOnly").as_bool(),
        Some(true),
        "{what}: the data mount is writable"
    );
    let claim = find(objects, "PersistentVolumeClaim", claim_name);
    assert_eq!(
        at(claim, "spec/accessModes"),
        &Value::Sequence(vec!["ReadWriteOnce".into()]),
        "{what}: one node writes"
    );
    assert!(
        !at(claim, "spec/resources/requests/storage").is_null(),
        "{what}: a size"
    );
    claim
}

fn strategy(deployment: &Value) -> &str {
    str_at(deployment, "spec/strategy/type")
}

#[test]
fn the_sqlite_file_is_on_a_claim_in_the_defaults_the_minikube_values_and_the_raw_manifests() {
    let Some(helm) = helm4() else { return };
    for (case, file) in [
        ("defaults", None),
        ("minikube", Some(values("minikube.yaml"))),
    ] {
        let objects = parse(&render_ok(&helm, file.as_deref(), &[]));
        let container = containers(at(backend(&objects), "spec/template/spec"))[0];
        let url = str_at(
            env_value(container, "DATABASE_URL").expect("DATABASE_URL"),
            "value",
        );
        let claim = assert_claim_where_database_url_points(&objects, url, case);
        assert_eq!(name(claim), "todo-chatbot-sqlite", "{case}");
        assert!(
            at(claim, "spec/storageClassName").is_null(),
            "{case}: the cluster's default StorageClass"
        );
        assert_eq!(
            key(at(claim, "metadata/annotations"), "helm.sh/resource-policy").as_str(),
            Some("keep"),
            "{case}: the data outlives helm uninstall"
        );
        assert_eq!(strategy(backend(&objects)), "Recreate", "{case}");
    }

    // The raw manifests read DATABASE_URL from the Secret; its documented SQLite value.
    let secret = parse(&raw_text(&raw_dir().join("secret.example.yaml")));
    let url = str_at(&secret[0], "stringData/DATABASE_URL");
    let raw = raw_objects();
    let claim = assert_claim_where_database_url_points(&raw, url, "raw");
    assert_eq!(name(claim), "todo-chatbot-sqlite");
    assert!(
        at(claim, "spec/storageClassName").is_null(),
        "raw: the cluster's default StorageClass"
    );
    assert_eq!(strategy(backend(&raw)), "Recreate", "raw");

    // Size and class come from the values.
    let objects = parse(&render_ok(
        &helm,
        None,
        &[
            "--set",
            "database.sqlite.persistence.size=5Gi",
            "--set",
            "database.sqlite.persistence.storageClass=fast-ssd",
        ],
    ));
    let claim = find(&objects, "PersistentVolumeClaim", "todo-chatbot-sqlite");
    assert_eq!(str_at(claim, "spec/resources/requests/storage"), "5Gi");
    assert_eq!(str_at(claim, "spec/storageClassName"), "fast-ssd");

    // Without persistence the file is in an emptyDir, and the one writer still goes first.
    let objects = parse(&render_ok(
        &helm,
        None,
        &["--set", "database.sqlite.persistence.enabled=false"],
    ));
    assert!(
        objects.iter().all(|o| kind(o) != "PersistentVolumeClaim"),
        "no claim without persistence"
    );
    assert_eq!(strategy(backend(&objects)), "Recreate");
}

/// Every Deployment: SHUTDOWN_DELAY set, a grace period that covers delay and drain; with more
/// than one pod (or an autoscaler) a rolling update that never drops below the wanted pods.
fn assert_graceful(objects: &[Value], case: &str) {
    let deployments: Vec<&Value> = objects.iter().filter(|o| kind(o) == "Deployment").collect();
    assert_eq!(deployments.len(), 2, "{case}: backend and frontend");
    for d in deployments {
        let what = format!("{case}: {}", name(d));
        let spec = at(d, "spec/template/spec");
        let delay: u64 = str_at(
            env_value(containers(spec)[0], "SHUTDOWN_DELAY")
                .unwrap_or_else(|| panic!("{what}: no SHUTDOWN_DELAY")),
            "value",
        )
        .parse()
        .unwrap_or_else(|e| panic!("{what}: SHUTDOWN_DELAY is not whole seconds: {e}"));
        assert_eq!(delay, 5, "{what}: the delay covers endpoint propagation");
        let grace = at(spec, "terminationGracePeriodSeconds")
            .as_u64()
            .unwrap_or_else(|| panic!("{what}: no grace period"));
        assert!(
            grace >= delay + DRAIN_SECS,
            "{what}: grace {grace} s < delay {delay} s + drain {DRAIN_SECS} s"
        );
        // The autoscaler owns the count when spec.replicas is absent; it keeps two or more.
        let replicas = at(d, "spec/replicas").as_u64().unwrap_or(2);
        if replicas > 1 {
            assert_eq!(strategy(d), "RollingUpdate", "{what}");
            assert_eq!(
                at(d, "spec/strategy/rollingUpdate/maxUnavailable").as_u64(),
                Some(0),
                "{what}: a new pod is ready before an old one stops"
            );
        }
    }
}

#[test]
fn every_deployment_shuts_down_gracefully_and_multi_pod_modes_roll_without_loss() {
    let Some(helm) = helm4() else { return };
    let mut multi = 0;
    for file in values_cases() {
        let case = case_name(file.as_deref());
        let objects = parse(&render_ok(&helm, file.as_deref(), &[]));
        assert_graceful(&objects, &case);
        let backend = backend(&objects);
        let sqlite = containers(at(backend, "spec/template/spec"))[0];
        let is_sqlite = env_value(sqlite, "DATABASE_URL")
            .and_then(|e| at(e, "value").as_str())
            .is_some_and(|v| v.starts_with("sqlite:"));
        if is_sqlite {
            assert_eq!(strategy(backend), "Recreate", "{case}");
        } else {
            assert_eq!(strategy(backend), "RollingUpdate", "{case}");
            multi += 1;
        }
        // A budget keeps at least one pod and leaves one to evict.
        for pdb in objects.iter().filter(|o| kind(o) == "PodDisruptionBudget") {
            let min = at(pdb, "spec/minAvailable").as_u64().expect("minAvailable");
            assert!(min >= 1, "{case}: {} keeps no pod", name(pdb));
            let target = find(&objects, "Deployment", name(pdb));
            let pods = at(target, "spec/replicas").as_u64().unwrap_or_else(|| {
                let hpa = find(&objects, "HorizontalPodAutoscaler", name(pdb));
                at(hpa, "spec/minReplicas").as_u64().expect("minReplicas")
            });
            assert!(pods > min, "{case}: {} blocks every drain", name(pdb));
        }
    }
    assert!(multi >= 3, "the PostgreSQL cases were checked: {multi}");
    for case in ["internal-postgres.yaml", "external-db.yaml"] {
        let objects = parse(&render_ok(&helm, Some(&values(case)), &[]));
        let pdb = find(&objects, "PodDisruptionBudget", "todo-chatbot-backend");
        assert_eq!(at(pdb, "spec/minAvailable").as_u64(), Some(1), "{case}");
    }
    assert_graceful(&raw_objects(), "raw");
}

#[test]
fn values_that_would_drop_requests_or_block_drains_fail_the_render() {
    let Some(helm) = helm4() else { return };
    let fails = |file: Option<&Path>, args: &[&str], wanted: &[&str]| {
        let stderr = render(&helm, file, args)
            .map(|_| ())
            .expect_err(&format!("rendered {args:?}"));
        for w in wanted {
            assert!(stderr.contains(w), "{args:?}: {w:?} not in:\n{stderr}");
        }
    };
    fails(
        None,
        &["--set", "backend.terminationGracePeriodSeconds=29"],
        &["backend.terminationGracePeriodSeconds (29)", "30 or more"],
    );
    fails(
        None,
        &[
            "--set",
            "frontend.shutdownDelaySeconds=20",
            "--set",
            "frontend.terminationGracePeriodSeconds=40",
        ],
        &["frontend.terminationGracePeriodSeconds (40)", "45 or more"],
    );
    fails(
        None,
        &["--set", "backend.pdb.enabled=true"],
        &["backend.pdb.enabled with database.mode=sqlite"],
    );
    fails(
        Some(&values("internal-postgres.yaml")),
        &["--set", "backend.pdb.minAvailable=2"],
        &["backend.pdb.minAvailable (2)", "backend has 2"],
    );
    fails(
        None,
        &["--set", "frontend.pdb.enabled=true"],
        &["frontend.pdb.minAvailable (1)", "frontend has 1"],
    );
    // Within the bounds it renders.
    render_ok(
        &helm,
        None,
        &[
            "--set",
            "backend.shutdownDelaySeconds=10",
            "--set",
            "backend.terminationGracePeriodSeconds=35",
        ],
    );
}

#[test]
fn postgres_keeps_its_claim_across_redeploys_and_mode_switches() {
    let Some(helm) = helm4() else { return };
    let statefulset = |file: Option<PathBuf>, extra: &[&str]| {
        let objects = parse(&render_ok(&helm, file.as_deref(), extra));
        find(&objects, "StatefulSet", "todo-chatbot-postgres").clone()
    };
    let internal = statefulset(Some(values("internal-postgres.yaml")), &[]);
    for (k, v) in [("whenDeleted", "Retain"), ("whenScaled", "Retain")] {
        assert_eq!(
            str_at(
                &internal,
                &format!("spec/persistentVolumeClaimRetentionPolicy/{k}")
            ),
            v
        );
    }
    // The claim is data-<statefulset>-0 whatever else changes, so the next StatefulSet after a
    // switch away and back (or from the raw manifests) mounts the same one.
    let other = statefulset(
        None,
        &[
            "--set",
            "database.mode=internal",
            "--set",
            "backend.replicaCount=3",
            "--set",
            "networkPolicy.enabled=false",
        ],
    );
    for s in [&internal, &other] {
        assert_eq!(
            str_at(s, "spec/volumeClaimTemplates/0/metadata/name"),
            "data"
        );
        assert_eq!(name(s), "todo-chatbot-postgres");
    }
    let raw = raw_objects();
    let raw = find(&raw, "StatefulSet", "todo-chatbot-postgres");
    assert_eq!(
        at(raw, "spec/persistentVolumeClaimRetentionPolicy"),
        at(&internal, "spec/persistentVolumeClaimRetentionPolicy"),
        "raw and chart keep the claim alike"
    );
}
