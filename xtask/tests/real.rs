//! `cargo xtask build --no-cluster` with the real Docker Engine, on the project's own
//! Dockerfile. Needs a Docker daemon and the base images (`.ci/docker.sh`,
//! `.ci/base-images.sh`); outside CI it skips loudly without one.

use std::path::Path;
use std::process::Command;

/// A scratch project whose Dockerfile needs no base image, so this runs in seconds: the real
/// engine's build, inspect output, USER and size are read by the xtask, and a second run builds
/// nothing.
#[test]
fn build_no_cluster_on_a_scratch_project_then_nothing_to_rebuild() {
    if !testkit::docker() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    let unique = format!(
        "{}-{}",
        std::process::id(),
        dir.path().display().to_string().len()
    );
    write("Cargo.lock", &format!("# {unique}\n"));
    write(
        "deploy/docker/Dockerfile",
        "FROM scratch AS backend\nCOPY Cargo.lock /data/lock\nUSER 65532:65532\n",
    );
    write(
        "deploy/pipeline.toml",
        "[build]\ninputs = [\"Cargo.lock\"]\n[images.backend]\nname = \"xtask-real-test\"\ntarget = \"backend\"\nbudget_mb = 1\n",
    );
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["build", "--no-cluster", "--json"])
            .env("XTASK_PROJECT_ROOT", dir.path())
            .output()
            .expect("run xtask");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{:?}\n{stdout}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str::<serde_json::Value>(&stdout).expect("a JSON report")
    };
    let first = run();
    assert_eq!(first["done"].as_array().map(Vec::len), Some(1), "{first}");
    let gates = first["gates"].as_array().expect("gates");
    assert_eq!(gates.len(), 3, "{first}");
    assert!(gates.iter().all(|g| g["passed"] == true), "{first}");
    assert!(first.to_string().contains("USER 65532:65532"), "{first}");
    let second = run();
    assert_eq!(second["done"].as_array().map(Vec::len), Some(0), "{second}");
    let image = first["observed"]["images"][0]["image"]
        .as_str()
        .expect("image")
        .to_string();
    let _ = Command::new("docker")
        .args(["image", "rm", &image])
        .output();
}

/// `build --fast` with the real engine: the iteration profile reaches the Dockerfile as the
/// build argument PROFILE, and the iteration image has a tag of its own beside the release one.
#[test]
fn build_fast_passes_the_iteration_profile_to_the_real_engine() {
    if !testkit::docker() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write(
        "Cargo.lock",
        &format!("# {} {}\n", std::process::id(), dir.path().display()),
    );
    write(
        "deploy/docker/Dockerfile",
        "FROM scratch AS backend\nARG PROFILE=release\nLABEL io.todo-chatbot.profile=$PROFILE\nCOPY Cargo.lock /data/lock\nUSER 65532:65532\n",
    );
    write(
        "deploy/pipeline.toml",
        "[build]\ninputs = [\"Cargo.lock\"]\n[images.backend]\nname = \"xtask-real-fast\"\ntarget = \"backend\"\nbudget_mb = 1\n",
    );
    let build = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["build", "--no-cluster", "--json"])
            .args(extra)
            .env("XTASK_PROJECT_ROOT", dir.path())
            .output()
            .expect("run xtask");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{:?}\n{stdout}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON report");
        report["observed"]["images"][0]["image"]
            .as_str()
            .expect("image")
            .to_string()
    };
    let label = |image: &str| {
        let out = Command::new("docker")
            .args([
                "image",
                "inspect",
                image,
                "--format",
                "{{index .Config.Labels \"io.todo-chatbot.profile\"}}",
            ])
            .output()
            .expect("docker image inspect");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let fast = build(&["--fast"]);
    let release = build(&[]);
    assert_ne!(fast, release, "the profiles have tags of their own");
    assert_eq!(label(&fast), "iter");
    assert_eq!(label(&release), "release");
    for image in [fast, release] {
        let _ = Command::new("docker")
            .args(["image", "rm", &image])
            .output();
    }
}

#[test]
fn build_no_cluster_builds_both_images_and_passes_its_gates() {
    if !testkit::docker() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["build", "--no-cluster", "--json"])
        .current_dir(root)
        .env_remove("XTASK_PROJECT_ROOT")
        .output()
        .expect("run xtask");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "xtask build failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status.code()
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON report");
    let gates = report["gates"].as_array().expect("gates");
    assert_eq!(
        gates.len(),
        6,
        "present, non-root and size for two images: {report}"
    );
    for g in gates {
        assert_eq!(g["passed"], true, "{g}");
    }
    for image in report["observed"]["images"].as_array().expect("images") {
        let name = image["image"].as_str().expect("name:tag");
        let inspect = Command::new("docker")
            .args(["image", "inspect", name, "--format", "{{.Config.User}}"])
            .output()
            .expect("docker image inspect");
        assert!(inspect.status.success(), "{name} is in the local daemon");
        eprintln!(
            "{name}: user {}",
            String::from_utf8_lossy(&inspect.stdout).trim()
        );
    }
}
