//! Sign-up and login when the backend has auth on; the proxy's bearer token from the cookie.

use serde_json::{Value, json};

use crate::helpers::{location, spawn_app_with};

const SECRET: &str = "a-test-secret-that-is-long-enough-0123456789";

#[tokio::test]
async fn signup_sets_an_http_only_token_and_the_proxy_sends_it() {
    let app = spawn_app_with(Some(SECRET)).await;
    // Without a token the page sends people to the login page.
    let resp = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/login");
    let (status, login) = app.get_page("/login", None).await;
    assert_eq!(status, 200);
    assert!(login.contains("<label for=\"email\">") && login.contains("type=\"password\""));

    let resp = app
        .post_form(
            "/signup",
            &[
                ("email", "ann@example.com"),
                ("password", "correct horse battery"),
            ],
            None,
        )
        .await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let token = cookies
        .iter()
        .find(|c| c.starts_with("todo_token="))
        .unwrap();
    assert!(
        token.contains("HttpOnly") && token.contains("SameSite=Lax"),
        "{token}"
    );
    let user = cookies
        .iter()
        .find(|c| c.starts_with("todo_user="))
        .unwrap();
    let jar = format!(
        "{}; {}",
        token.split(';').next().unwrap(),
        user.split(';').next().unwrap()
    );
    let user_id = user
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("todo_user=")
        .to_owned();

    // The proxy turns the cookie into a bearer token.
    let resp = app
        .http
        .post(app.url(&format!("/api/{user_id}/tasks")))
        .header("cookie", &jar)
        .json(&json!({"title": "private"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // Without it the backend refuses.
    let resp = app
        .http
        .get(app.url(&format!("/api/{user_id}/tasks")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["code"].is_string());

    let (status, page) = app.get_page("/", Some(&jar)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("private") && page.contains("Log out"),
        "{page}"
    );

    // A wrong password is shown on the login page.
    let resp = app
        .post_form(
            "/login",
            &[
                ("email", "ann@example.com"),
                ("password", "wrong password!"),
            ],
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("set-cookie").is_none());
    let resp = app
        .post_form(
            "/login",
            &[
                ("email", "ann@example.com"),
                ("password", "correct horse battery"),
            ],
            None,
        )
        .await;
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn without_auth_the_login_page_redirects_home() {
    let app = spawn_app_with(None).await;
    let resp = app.http.get(app.url("/login")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/");
}
