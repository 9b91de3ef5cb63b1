//! `cargo xtask build --no-cluster` with the real Docker Engine, on the project's own
//! Dockerfile. Needs a Docker daemon and the base images (`.ci/docker.sh`,
//! `.ci/base-images.sh`); outside CI it skips loudly without one.

use std::path::Path;
use std::process::Command;

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
