//! Tests of the container images with a real Docker daemon (gated by `testkit::docker()`).
//!
//! They build `deploy/docker/Dockerfile` (targets `backend` and `frontend`, reusing Docker's
//! cache) and `deploy/docker/postgres`, check what the images hold, then run the backend, the
//! frontend and PostgreSQL on one user-defined network, hardened the way the chart runs them,
//! and probe them through the frontend's published port. Figures (start to ready, stop time,
//! rebuild time) are printed with `--nocapture`; `docs/benchmarks.md` has the command.

#[path = "images/docker.rs"]
mod docker;
#[path = "images/stack.rs"]
mod stack;

use docker::{BACKEND_IMAGE, Cleanup, FRONTEND_IMAGE, POSTGRES_IMAGE, VERSION, inspect, ok};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Held by the rebuild test and the timing test, so a cargo build in a container does not take
/// the cores from a start-up measurement.
static HEAVY: Mutex<()> = Mutex::new(());

/// The size budget of each app image (decimal MB, as `docker images` shows them).
const MAX_IMAGE_BYTES: u64 = 25_000_000;

/// The app images (and, with `postgres`, the PostgreSQL image) are built; false when Docker is
/// missing outside CI.
fn setup(postgres: bool) -> bool {
    if !testkit::docker() {
        return false;
    }
    if postgres {
        docker::require_postgres_image();
    }
    docker::require_app_images();
    true
}

#[test]
fn app_images_are_small_non_root_labelled_and_use_exec_form() {
    if !setup(false) {
        return;
    }
    let revision = docker::revision();
    for (image, binary) in [
        (BACKEND_IMAGE, "todo-backend"),
        (FRONTEND_IMAGE, "todo-frontend"),
    ] {
        let size: u64 = inspect(image, "{{.Size}}")
            .parse()
            .expect("docker prints a byte count");
        eprintln!("{image}: {:.1} MB", size as f64 / 1e6);
        assert!(
            size <= MAX_IMAGE_BYTES,
            "{image} is {size} bytes, over the 25 MB budget"
        );

        let user = inspect(image, "{{.Config.User}}");
        let (uid, gid) = user.split_once(':').unwrap_or((&user, ""));
        assert!(
            uid.parse::<u32>().is_ok_and(|u| u != 0)
                && (gid.is_empty() || gid.parse::<u32>().is_ok()),
            "{image} must run as a numeric non-root user, has {user:?}"
        );

        let labels: serde_json::Value =
            serde_json::from_str(&inspect(image, "{{json .Config.Labels}}"))
                .expect("labels are JSON");
        let label = |k: &str| {
            labels[format!("org.opencontainers.image.{k}")]
                .as_str()
                .unwrap_or("")
                .to_owned()
        };
        assert_eq!(label("title"), binary, "{image} title label");
        assert_eq!(label("version"), VERSION, "{image} version label");
        assert_eq!(label("revision"), revision, "{image} revision label");
        assert!(
            label("source").starts_with("https://"),
            "{image} source label: {labels}"
        );

        let entrypoint = inspect(image, "{{json .Config.Entrypoint}}");
        assert_eq!(
            entrypoint,
            format!("[\"/usr/local/bin/{binary}\"]"),
            "{image} exec-form entrypoint"
        );
        let health = inspect(image, "{{json .Config.Healthcheck.Test}}");
        assert_eq!(
            health,
            format!("[\"CMD\",\"/usr/local/bin/{binary}\",\"healthcheck\"]"),
            "{image} health check runs the binary without a shell"
        );
    }
}

#[test]
fn app_images_hold_no_source_secrets_shell_or_package_manager() {
    if !setup(false) {
        return;
    }
    for image in [BACKEND_IMAGE, FRONTEND_IMAGE] {
        let mut guard = Cleanup::default();
        let name = guard.container(&docker::unique("export"));
        ok(&["create", "--name", &name, image]);
        let files = stack::exported_files(&name);
        assert!(
            files.len() > 10,
            "{image}: the export lists too few files: {files:?}"
        );
        assert!(
            files.iter().any(|f| f.starts_with("usr/local/bin/todo-")),
            "{image}: no binary"
        );
        let forbidden: Vec<&String> = files
            .iter()
            .filter(|f| {
                let base = f.rsplit('/').next().unwrap_or(f);
                f.ends_with(".rs")
                    || base == "Cargo.toml"
                    || base == "Cargo.lock"
                    || base == ".env"
                    || base.starts_with(".env.")
                    || f.split('/').any(|part| part == ".git" || part == "target")
                    || (is_executable_dir(f)
                        && matches!(base, "sh" | "bash" | "dash" | "apt" | "apt-get" | "dpkg"))
            })
            .collect();
        assert!(
            forbidden.is_empty(),
            "{image} holds files it must not: {forbidden:?}"
        );
    }
}

/// True for a path in a directory programs are run from: a shell or package manager there counts,
/// a data directory that happens to share the name (`etc/dpkg`) does not.
fn is_executable_dir(path: &str) -> bool {
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    matches!(
        dir,
        "bin" | "sbin" | "usr/bin" | "usr/sbin" | "usr/local/bin" | "usr/local/sbin"
    )
}

#[test]
fn build_context_excludes_secrets_and_build_output() {
    if !testkit::docker() {
        return;
    }
    // A throw-away build that lists what .dockerignore lets through from the repository root.
    let listing = stack::context_listing();
    let bad: Vec<&String> = listing
        .iter()
        .filter(|f| {
            let base = f.rsplit('/').next().unwrap_or(f);
            base == ".env"
                || base.ends_with(".db")
                || f.split('/')
                    .any(|part| part == ".git" || part == "target" || part.starts_with("target-"))
        })
        .collect();
    assert!(bad.is_empty(), "the build context holds {bad:?}");
    assert!(
        listing.iter().any(|f| f == "Cargo.lock"),
        "Cargo.lock missing from the context"
    );
}

/// deploy/docker/buildkit.Dockerfile is Dockerfile plus BuildKit cache mounts: once the
/// `--mount` flags and the comments are left out, the two hold the same instructions.
#[test]
fn buildkit_dockerfile_is_the_classic_one_plus_cache_mounts() {
    let dir = docker::repo_root().join("deploy/docker");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("cannot read deploy/docker/{name}: {e}"))
    };
    let classic = dockerfile_instructions(&read("Dockerfile"));
    let buildkit = dockerfile_instructions(&read("buildkit.Dockerfile"));
    assert!(
        !classic.iter().any(|i| i.contains("--mount")),
        "Dockerfile must build with the classic builder, which rejects `RUN --mount`"
    );
    let mounted = buildkit
        .iter()
        .filter(|i| i.starts_with("RUN --mount=type=cache"))
        .count();
    assert_eq!(
        mounted, 3,
        "buildkit.Dockerfile: the dependency and both app builds use cache mounts"
    );
    let without_mounts: Vec<String> = buildkit
        .iter()
        .map(|i| {
            i.split(' ')
                .filter(|word| !word.starts_with("--mount="))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        without_mounts, classic,
        "buildkit.Dockerfile differs from Dockerfile by more than its cache mounts"
    );
}

/// The iteration images (`--build-arg PROFILE=iter`, `cargo xtask build --fast`) come from the
/// same Dockerfile: every cargo build and every binary it copies follows `PROFILE` (default
/// `release`), and Cargo knows the `iter` profile. A real `iter` image build is not run here: it
/// needs its own dependency layer, half an hour of the 2 CI cores (docs/benchmarks.md, "Images");
/// `deploy/docker/bench.sh iter` builds and times one, and xtask's real-Docker test checks the
/// engine receives the argument.
#[test]
fn dockerfile_builds_the_profile_it_is_given() {
    let root = docker::repo_root();
    for name in ["Dockerfile", "buildkit.Dockerfile"] {
        let text = std::fs::read_to_string(root.join("deploy/docker").join(name))
            .unwrap_or_else(|e| panic!("cannot read deploy/docker/{name}: {e}"));
        let instructions = dockerfile_instructions(&text);
        assert!(
            instructions.iter().any(|i| i == "ARG PROFILE=release"),
            "{name}: no `ARG PROFILE=release`"
        );
        let builds: Vec<&str> = instructions
            .iter()
            .flat_map(|i| i.split(';'))
            .map(str::trim)
            .filter(|c| c.starts_with("cargo build"))
            .collect();
        assert_eq!(
            builds.len(),
            4,
            "{name}: two dependency builds, one per app"
        );
        for build in builds {
            assert!(
                build.contains("--profile \"$PROFILE\""),
                "{name}: `{build}` ignores PROFILE"
            );
        }
        let copies: Vec<&str> = instructions
            .iter()
            .flat_map(|i| i.split(';'))
            .map(str::trim)
            .filter(|c| c.starts_with("cp ") && c.contains("target/"))
            .collect();
        assert_eq!(copies.len(), 2, "{name}: one binary copied per app");
        for copy in copies {
            assert!(
                copy.contains("/$PROFILE/"),
                "{name}: `{copy}` copies another profile's binary"
            );
        }
    }
    // Cargo accepts `--profile iter` (a profile it does not know is an error): build the
    // workspace's one crate without dependencies with it, in a throw-away target directory.
    let target = std::env::temp_dir().join(format!("todo-iter-profile-{}", std::process::id()));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["build", "--locked", "--profile", "iter", "-p", "todo-types"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&root)
        .output()
        .expect("run cargo");
    let built = target.join("iter").is_dir();
    let _ = std::fs::remove_dir_all(&target);
    assert!(
        out.status.success(),
        "cargo build --profile iter: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(built, "no target/iter after a build with --profile iter");
}

/// The instructions of a Dockerfile: continuation lines joined, comments and blank lines left
/// out, runs of white space made one space.
fn dockerfile_instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push(current.split_whitespace().collect::<Vec<_>>().join(" "));
                current.clear();
            }
        }
    }
    out
}

#[test]
fn postgres_image_honours_the_official_environment() {
    if !testkit::docker() {
        return;
    }
    docker::require_postgres_image();

    let mut guard = Cleanup::default();
    let net = guard.network(&docker::unique("net"));
    let pg = guard.container(&docker::unique("pg"));
    stack::start_postgres(&pg, Some(&net));
    assert_eq!(inspect(POSTGRES_IMAGE, "{{.Config.User}}"), "999:999");
    let whoami = stack::psql(
        &net,
        &pg,
        "todo",
        "secret",
        "select current_user || ' ' || current_database()",
    )
    .expect("the configured user reaches the configured database");
    assert_eq!(whoami, "todo todo");
    let refused = stack::psql(&net, &pg, "todo", "wrong", "select 1");
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("password authentication failed")),
        "a wrong password must be refused over the network: {refused:?}"
    );
    let data = ok(&[
        "exec",
        &pg,
        "sh",
        "-c",
        "test -s /var/lib/postgresql/data/PG_VERSION && id -u",
    ]);
    assert_eq!(
        data, "999",
        "data under /var/lib/postgresql/data, server not root"
    );
}

#[test]
fn backend_with_postgres_serves_through_the_frontend() {
    if !setup(true) {
        return;
    }
    let mut guard = Cleanup::default();
    let net = guard.network(&docker::unique("net"));
    let pg = guard.container(&docker::unique("pg"));
    stack::start_postgres(&pg, Some(&net));
    let db_url = format!("postgres://todo:secret@{pg}:5432/todo");
    let backend = guard.container(&docker::unique("backend"));
    let backend_port = stack::start_backend(&backend, &net, &db_url, &[]);
    docker::wait_ok(
        &format!("http://127.0.0.1:{backend_port}/ready"),
        Duration::from_secs(30),
        Duration::from_millis(50),
    )
    .expect("backend ready with PostgreSQL");
    let frontend = guard.container(&docker::unique("frontend"));
    let port = stack::start_frontend(&frontend, &net, &backend);
    stack::exercise_through_frontend(port, "pg");
    stack::assert_stops_cleanly(&frontend);
    stack::assert_stops_cleanly(&backend);

    // The chart's mode internal: the URL without the password, which comes as PGPASSWORD.
    let chart_style = guard.container(&docker::unique("backend"));
    let port = stack::start_backend_with(
        &chart_style,
        &net,
        &format!("postgres://todo@{pg}:5432/todo"),
        &[],
        &[("PGPASSWORD", stack::PG_PASSWORD)],
    );
    docker::wait_ok(
        &format!("http://127.0.0.1:{port}/ready"),
        Duration::from_secs(30),
        Duration::from_millis(50),
    )
    .expect("backend ready with the password from PGPASSWORD");
    stack::assert_stops_cleanly(&chart_style);
}

#[test]
fn backend_with_sqlite_on_a_volume_keeps_data_across_restarts() {
    if !setup(false) {
        return;
    }
    let mut guard = Cleanup::default();
    let net = guard.network(&docker::unique("net"));
    let volume = guard.volume(&docker::unique("data"));
    let backend = guard.container(&docker::unique("backend"));
    let mount = format!("{volume}:/data");
    let backend_port =
        stack::start_backend(&backend, &net, "sqlite:///data/todo.db", &["-v", &mount]);
    let ready = format!("http://127.0.0.1:{backend_port}/ready");
    docker::wait_ok(&ready, Duration::from_secs(30), Duration::from_millis(50))
        .expect("backend ready with SQLite");
    let frontend = guard.container(&docker::unique("frontend"));
    let port = stack::start_frontend(&frontend, &net, &backend);
    let title = stack::exercise_through_frontend(port, "sqlite");

    stack::assert_stops_cleanly(&backend);
    ok(&["start", &backend]);
    docker::wait_ok(&ready, Duration::from_secs(30), Duration::from_millis(50))
        .expect("backend ready again");
    let (status, body) = docker::get(&format!("http://127.0.0.1:{port}/api/demo/tasks"))
        .expect("list after restart");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&title),
        "the task {title:?} must survive a restart on the volume: {body}"
    );
    stack::assert_stops_cleanly(&frontend);
    stack::assert_stops_cleanly(&backend);
}

#[test]
fn containers_start_to_ready_quickly() {
    if !setup(false) {
        return;
    }
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let mut guard = Cleanup::default();
    let net = guard.network(&docker::unique("net"));
    let mut worst = Duration::ZERO;
    for round in 0..3 {
        let backend = guard.container(&docker::unique(&format!("fast{round}")));
        let (wall, process) = stack::time_start_to_ready(&backend, &net);
        eprintln!(
            "start to /ready, round {round}: {:.0} ms from `docker start`, {:.0} ms from the process start",
            wall.as_secs_f64() * 1e3,
            process.as_secs_f64() * 1e3
        );
        worst = worst.max(process);
    }
    assert!(
        worst < Duration::from_millis(300),
        "container start to /ready took {worst:?}, budget 300 ms"
    );
}

#[test]
fn rebuild_after_an_app_code_change_reuses_the_dependency_layer() {
    if !setup(false) {
        return;
    }
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let copy = stack::ContextCopy::new();
    // The unchanged copy is fully cached (same content as the tree the images were built from).
    let cached = docker::build_app(copy.path(), "frontend", FRONTEND_IMAGE, &docker::revision())
        .expect("cached build");
    // The frontend: its release link is the shorter one, and the classic builder also runs the
    // backend's build stage above it, which must stay cached.
    copy.touch_app_code("frontend");
    let tag = format!("todo-frontend:{}", docker::unique("rebuild"));
    let started = Instant::now();
    let rebuilt = docker::build_app(copy.path(), "frontend", &tag, &docker::revision());
    let elapsed = started.elapsed();
    docker::run(&["rmi", "--force", &tag]);
    let rebuilt = rebuilt.expect("rebuild after an app code change");
    eprintln!(
        "rebuild of the frontend image after an app code change: {:.1}s (fully cached build: {:.1}s)",
        elapsed.as_secs_f64(),
        cached.elapsed.as_secs_f64()
    );
    // The first step that runs cargo without touching sources is the dependency layer.
    assert_eq!(
        stack::step_cached(&rebuilt.text, |l| l.contains("cargo build")
            && !l.contains("find ")),
        Some(true),
        "the dependency layer must come from the cache:\n{}",
        rebuilt.text
    );
    let backend_step = stack::step_cached(&rebuilt.text, |l| l.contains("find crates app/backend"));
    assert_ne!(
        backend_step,
        Some(false),
        "a frontend change must not rebuild the backend binary:\n{}",
        rebuilt.text
    );
    assert_eq!(
        stack::step_cached(&rebuilt.text, |l| l.contains("find crates app/frontend")),
        Some(false),
        "the app build step must run again after a code change:\n{}",
        rebuilt.text
    );
}

/// What a redeploy does to the SQLite backend: a new container (a new pod, a new image tag)
/// replaces the old one on the same named volume, and every task is still there.
#[test]
fn backend_replaced_by_a_new_container_on_the_same_volume_keeps_the_tasks() {
    if !setup(false) {
        return;
    }
    let mut guard = Cleanup::default();
    let net = guard.network(&docker::unique("net"));
    let volume = guard.volume(&docker::unique("data"));
    let mount = format!("{volume}:/data");
    let start = |guard: &mut Cleanup, label: &str| {
        let name = guard.container(&docker::unique(label));
        let port = stack::start_backend(&name, &net, "sqlite:///data/todo.db", &["-v", &mount]);
        let base = format!("http://127.0.0.1:{port}");
        docker::wait_ok(
            &format!("{base}/ready"),
            Duration::from_secs(30),
            Duration::from_millis(50),
        )
        .unwrap_or_else(|e| panic!("{label} ready on the volume: {e}"));
        (name, base)
    };
    let titles = |base: &str| -> Vec<String> {
        let (status, body) =
            docker::get(&format!("{base}/api/keeper/tasks?status=all")).expect("list the tasks");
        assert_eq!(status, 200, "{body}");
        let tasks: serde_json::Value = serde_json::from_str(&body).expect("a JSON list");
        let mut t: Vec<String> = tasks
            .as_array()
            .expect("a JSON array")
            .iter()
            .filter_map(|t| t["title"].as_str().map(str::to_owned))
            .collect();
        t.sort();
        t
    };

    let (first, base) = start(&mut guard, "backend-old");
    let mut made = Vec::new();
    for i in 1..=3 {
        let title = format!("kept across containers {i}");
        let (status, task) = docker::post_json(
            &format!("{base}/api/keeper/tasks"),
            &serde_json::json!({ "title": title }),
        )
        .expect("create a task");
        assert_eq!(status, 201, "{task}");
        made.push(title);
    }
    made.sort();
    assert_eq!(titles(&base), made);

    // The old container goes entirely, as an old pod does; only the volume stays.
    stack::assert_stops_cleanly(&first);
    ok(&["rm", &first]);
    let (_second, base) = start(&mut guard, "backend-new");
    assert_eq!(
        titles(&base),
        made,
        "the new container on volume {volume} must see every task"
    );
    // And it writes there too (the volume is the non-root user's).
    let (status, task) = docker::post_json(
        &format!("{base}/api/keeper/tasks"),
        &serde_json::json!({ "title": "written by the new container" }),
    )
    .expect("create a task in the new container");
    assert_eq!(status, 201, "{task}");
    assert_eq!(titles(&base).len(), 4);
}
