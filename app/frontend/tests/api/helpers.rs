//! `spawn_app()`: a real backend and a frontend in front of it, each on its own port.

use std::net::SocketAddr;

use reqwest::redirect::Policy;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running backend; dropping it does not stop it, [`TestBackend::stop`] does.
pub struct TestBackend {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestBackend {
    pub async fn spawn(auth_secret: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("todo.db").display());
        let secret = auth_secret.map(str::to_owned);
        let config = todo_backend::config::Config::from_lookup(|k| match k {
            "HOST" => Some("127.0.0.1".into()),
            "PORT" => Some("0".into()),
            "DATABASE_URL" => Some(db.clone()),
            "AGENT" => Some("rules".into()),
            "AUTH_SECRET" => secret.clone(),
            _ => None,
        })
        .unwrap();
        let app = todo_backend::startup::Application::build(&config)
            .await
            .unwrap();
        let addr = app.local_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.run_until_stopped(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            addr,
            stop: Some(tx),
            handle: Some(handle),
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the backend and waits until its port is closed.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap();
        }
    }
}

/// The frontend under test, in this process.
pub struct TestApp {
    pub addr: SocketAddr,
    pub backend: TestBackend,
    /// A client that does not follow redirects, so tests see them.
    pub http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

pub async fn spawn_frontend(backend_url: &str) -> (SocketAddr, oneshot::Sender<()>) {
    spawn_frontend_with(backend_url, &[]).await
}

/// A frontend with extra environment variables (`HEADER_READ_TIMEOUT`, ...).
pub async fn spawn_frontend_with(
    backend_url: &str,
    vars: &[(&str, &str)],
) -> (SocketAddr, oneshot::Sender<()>) {
    // The tests' reqwest shares the backend's build, whose rustls has no default crypto
    // provider: without this, a test that starts no backend (which would install it) panics on
    // its first client, or not, depending on which test ran first.
    todo_backend::startup::install_crypto_provider();
    let url = backend_url.to_owned();
    let config = todo_frontend::config::Config::from_lookup(|k| match k {
        "HOST" => Some("127.0.0.1".into()),
        "PORT" => Some("0".into()),
        "BACKEND_URL" => Some(url.clone()),
        _ => vars
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned()),
    })
    .unwrap();
    let app = todo_frontend::startup::Application::build(&config)
        .await
        .unwrap();
    let addr = app.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    (addr, tx)
}

/// A backend without auth and a frontend in front of it.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(None).await
}

pub async fn spawn_app_with(auth_secret: Option<&str>) -> TestApp {
    let backend = TestBackend::spawn(auth_secret).await;
    let (addr, stop) = spawn_frontend(&backend.url()).await;
    TestApp {
        addr,
        backend,
        http: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
        _stop: stop,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn backend_url(&self, path: &str) -> String {
        format!("{}{path}", self.backend.url())
    }

    pub async fn get_page(
        &self,
        path: &str,
        cookie: Option<&str>,
    ) -> (reqwest::StatusCode, String) {
        let mut req = self.http.get(self.url(path));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    /// Posts a form as a browser would and returns the redirect target.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> reqwest::Response {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", todo_frontend::routes::encode_query(v)))
            .collect::<Vec<_>>()
            .join("&");
        // As a browser does on every form post (the frontend refuses forms without it).
        let mut req = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", format!("http://{}", self.addr))
            .body(body);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await.unwrap()
    }

    /// Creates a task straight on the backend.
    pub async fn backend_task(&self, user: &str, title: &str) -> serde_json::Value {
        let resp = self
            .http
            .post(self.backend_url(&format!("/api/{user}/tasks")))
            .json(&serde_json::json!({ "title": title }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    pub async fn backend_tasks(&self, user: &str) -> Vec<serde_json::Value> {
        self.http
            .get(self.backend_url(&format!("/api/{user}/tasks")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// The `Location` header of a redirect.
pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_owned()
}
