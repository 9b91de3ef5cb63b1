use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;
use sqlx::Connection;
use todo_backend::config::Config;
use todo_backend::startup::Application;
use todo_backend::store::Store;
use tokio::sync::oneshot;

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs an `async fn(Db)` once per database, as two tests.
macro_rules! both_dbs {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::helpers::Db::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(crate::helpers::Db::Postgres).await
                }
            }
        )*
    };
}
pub(crate) use both_dbs;

/// A running application and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Store,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique lowercase name for a database or user.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A database URL for a fresh database, or `None` when Postgres is not available (skipped).
pub async fn database_url(db: Db, dir: &tempfile::TempDir) -> Option<String> {
    match db {
        Db::Sqlite => Some(format!("sqlite://{}", dir.path().join("todo.db").display())),
        Db::Postgres => {
            let admin = testkit::postgres_url()?;
            let name = unique("todo_test");
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut conn)
                .await
                .expect("create a test database");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b)
                .expect("URL has a path");
            Some(format!("{base}/{name}"))
        }
    }
}

/// Starts the app with default settings.
pub async fn spawn_app(db: Db) -> Option<TestApp> {
    spawn_app_with(db, &[]).await
}

/// Starts the app with extra environment settings (e.g. `AUTH_SECRET`).
pub async fn spawn_app_with(db: Db, vars: &[(&str, &str)]) -> Option<TestApp> {
    if std::env::var_os("TEST_LOG").is_some() {
        todo_backend::telemetry::init(todo_backend::config::LogFormat::Text);
    }
    todo_backend::startup::install_crypto_provider();
    let dir = tempfile::tempdir().expect("temp dir");
    let url = database_url(db, &dir).await?;
    let mut env: HashMap<String, String> = HashMap::from([
        ("HOST".into(), "127.0.0.1".into()),
        ("PORT".into(), "0".into()),
        ("DATABASE_URL".into(), url),
        ("AGENT".into(), "rules".into()),
    ]);
    for (k, v) in vars {
        env.insert((*k).into(), (*v).into());
    }
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("valid test config");
    let app = Application::build(&config).await.expect("app starts");
    let address = format!("http://{}", app.local_addr());
    let store = app.state().store.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    Some(TestApp {
        address,
        client: reqwest::Client::new(),
        store,
        stop: Some(stop),
        _dir: dir,
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("PUT")
    }

    /// Creates a task and returns its JSON.
    pub async fn create_task(&self, user: &str, title: &str) -> Value {
        let res = self
            .post_json(
                &format!("/api/{user}/tasks"),
                &serde_json::json!({ "title": title }),
            )
            .await;
        assert_eq!(res.status(), 201, "create {title}");
        res.json().await.expect("task JSON")
    }
}

/// Asserts the JSON error shape and returns the code.
pub async fn error_code(res: reqwest::Response, status: u16) -> String {
    assert_eq!(res.status(), status, "status");
    let body: Value = res.json().await.expect("error body is JSON");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error.message in {body}"
    );
    code
}
