//! The pages and forms, against the real backend.

use crate::helpers::{location, spawn_app, spawn_frontend};

#[tokio::test]
async fn index_lists_the_users_tasks_with_security_headers() {
    let app = spawn_app().await;
    app.backend_task("demo", "water the plants").await;
    app.backend_task("alice", "not for demo").await;
    let resp = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let body = resp.text().await.unwrap();
    assert!(body.contains("water the plants"), "{body}");
    assert!(!body.contains("not for demo"));
    assert!(!body.contains("Backend unavailable"));
    // No inline script anywhere: the CSP would block it.
    assert!(!body.contains("<script>") && body.contains("<script src=\"/assets/app."));
    assert!(body.contains("<main") && body.contains("<label for=\"new-title\">"));
}

#[tokio::test]
async fn task_titles_are_shown_as_text_not_markup() {
    let app = spawn_app().await;
    app.backend_task("demo", "<script>alert(1)</script>").await;
    let (status, body) = app.get_page("/", None).await;
    assert_eq!(status, 200);
    assert!(
        !body.contains("<script>alert(1)</script>"),
        "title rendered as markup"
    );
    assert!(
        body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{body}"
    );
    // The same text inside attribute values stays quoted.
    assert!(!body.contains("\"<script>"));
}

#[tokio::test]
async fn forms_add_complete_edit_and_delete_without_javascript() {
    let app = spawn_app().await;
    let resp = app
        .post_form(
            "/tasks",
            &[
                ("title", "buy bread"),
                ("description", "rye"),
                ("filter", "all"),
            ],
            None,
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert!(
        location(&resp).starts_with("/?filter=all#task-"),
        "{}",
        location(&resp)
    );
    let tasks = app.backend_tasks("demo").await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["description"], "rye");
    let id = tasks[0]["id"].as_i64().unwrap();

    let resp = app
        .post_form(
            &format!("/tasks/{id}/toggle"),
            &[("filter", "pending")],
            None,
        )
        .await;
    assert_eq!(location(&resp), format!("/?filter=pending#task-{id}"));
    assert_eq!(app.backend_tasks("demo").await[0]["completed"], true);
    let (_, completed) = app.get_page("/?filter=completed", None).await;
    assert!(completed.contains("buy bread"));
    let (_, pending) = app.get_page("/?filter=pending", None).await;
    assert!(!pending.contains("buy bread"));

    let (_, edit) = app.get_page(&format!("/?edit={id}"), None).await;
    assert!(edit.contains(&format!("action=\"/tasks/{id}/edit\"")));
    let resp = app
        .post_form(
            &format!("/tasks/{id}/edit"),
            &[("title", "buy rye bread"), ("description", "")],
            None,
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(app.backend_tasks("demo").await[0]["title"], "buy rye bread");

    let resp = app
        .post_form(&format!("/tasks/{id}/delete"), &[], None)
        .await;
    assert_eq!(resp.status(), 303);
    assert!(app.backend_tasks("demo").await.is_empty());
}

#[tokio::test]
async fn form_errors_come_back_as_a_notice() {
    let app = spawn_app().await;
    let resp = app.post_form("/tasks", &[("title", "   ")], None).await;
    let to = location(&resp);
    assert!(to.contains("error="), "{to}");
    let (_, body) = app.get_page(&to, None).await;
    assert!(body.contains("a task needs a title"), "{body}");
    // An unknown task is the backend's 404, shown, not a crash.
    let resp = app.post_form("/tasks/999999/toggle", &[], None).await;
    assert_eq!(resp.status(), 303);
    assert!(location(&resp).contains("error="));
}

#[tokio::test]
async fn the_user_cookie_chooses_whose_tasks_are_shown() {
    let app = spawn_app().await;
    app.backend_task("alice", "task of alice").await;
    let resp = app.post_form("/user", &[("user_id", "alice")], None).await;
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("todo_user=alice;") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let (_, body) = app.get_page("/", Some("todo_user=alice")).await;
    assert!(body.contains("task of alice"));
    let resp = app.post_form("/user", &[("user_id", "bad/id")], None).await;
    assert!(location(&resp).contains("error="));
    assert!(resp.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn chat_form_runs_a_turn_and_the_page_keeps_the_conversation() {
    let app = spawn_app().await;
    let resp = app
        .post_form("/chat", &[("message", "add buy milk")], None)
        .await;
    assert_eq!(resp.status(), 303);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("todo_conversation="), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let tasks = app.backend_tasks("demo").await;
    assert!(tasks.iter().any(|t| t["title"] == "buy milk"), "{tasks:?}");
    let (_, body) = app.get_page("/", Some(&pair)).await;
    assert!(body.contains("add buy milk"), "{body}");
    assert!(body.contains("class=\"msg assistant\""), "{body}");
    // Stored tool results show as the tool's name, not raw JSON.
    assert!(body.contains("Tool used: <code>add_task</code>"), "{body}");
    assert!(!body.contains("&#34;arguments&#34;") && !body.contains("&quot;arguments&quot;"));
    // Without the cookie the newest conversation is shown; after "new conversation" none is.
    let (_, fresh) = app.get_page("/", None).await;
    assert!(fresh.contains("class=\"msg user\""));
    let (_, none) = app.get_page("/", Some("todo_conversation=new")).await;
    assert!(!none.contains("class=\"msg user\""));
}

#[tokio::test]
async fn assets_have_hashed_names_types_and_long_cache() {
    let app = spawn_app().await;
    let (_, body) = app.get_page("/", None).await;
    for (ext, ty) in [
        ("css", "text/css"),
        ("js", "text/javascript"),
        ("svg", "image/svg+xml"),
    ] {
        let href = body
            .match_indices("/assets/")
            .map(|(i, _)| body[i..].split('"').next().unwrap())
            .find(|p| p.ends_with(&format!(".{ext}")))
            .unwrap()
            .to_owned();
        let resp = app.http.get(app.url(&href)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{href}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(ty)
        );
        assert_eq!(
            resp.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    }
    let resp = app
        .http
        .get(app.url("/assets/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn index_and_health_answer_200_when_the_backend_is_down() {
    // Nothing listens on this port once the listener is dropped.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (addr, _stop) = spawn_frontend(&format!("http://{free}")).await;
    let http = reqwest::Client::new();
    let resp = http.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    assert!(body.contains("Backend unavailable"), "{body}");
    let resp = http
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn the_page_shows_task_numbers_and_the_check_box_sets_the_state() {
    let app = spawn_app().await;
    // Another user's tasks push the global ids up; demo's numbers still start at 1.
    app.backend_task("alice", "alice one").await;
    app.backend_task("alice", "alice two").await;
    let first = app.backend_task("demo", "first of demo").await;
    app.backend_task("demo", "second of demo").await;
    let id = first["id"].as_i64().unwrap();
    assert_ne!(id, 1);
    let (_, body) = app.get_page("/", None).await;
    assert!(body.contains(">#1</span>"), "{body}");
    assert!(body.contains(">#2</span>"), "{body}");
    assert!(!body.contains(">#3</span>"), "{body}");
    // The form carries the state the task should get.
    assert!(
        body.contains("<input type=\"hidden\" name=\"completed\" value=\"true\">"),
        "{body}"
    );

    // Posting the same "done" twice (a double click, a resent form) leaves it done.
    for _ in 0..2 {
        let resp = app
            .post_form(
                &format!("/tasks/{id}/toggle"),
                &[("filter", "all"), ("completed", "true")],
                None,
            )
            .await;
        assert_eq!(resp.status(), 303);
        assert!(!location(&resp).contains("error="), "{}", location(&resp));
        let tasks = app.backend_tasks("demo").await;
        let task = tasks.iter().find(|t| t["id"] == id).unwrap();
        assert_eq!(task["completed"], true);
    }
    let (_, body) = app.get_page("/", None).await;
    assert!(
        body.contains("<input type=\"hidden\" name=\"completed\" value=\"false\">"),
        "a done task's form asks for pending: {body}"
    );
    let resp = app
        .post_form(
            &format!("/tasks/{id}/toggle"),
            &[("completed", "false")],
            None,
        )
        .await;
    assert_eq!(resp.status(), 303);
    let tasks = app.backend_tasks("demo").await;
    assert_eq!(
        tasks.iter().find(|t| t["id"] == id).unwrap()["completed"],
        false
    );
    // A value other than true or false is refused, and changes nothing.
    let resp = app
        .post_form(
            &format!("/tasks/{id}/toggle"),
            &[("completed", "maybe")],
            None,
        )
        .await;
    assert!(location(&resp).contains("error="));
    let tasks = app.backend_tasks("demo").await;
    assert_eq!(
        tasks.iter().find(|t| t["id"] == id).unwrap()["completed"],
        false
    );
}

/// Many long tasks: the page shows one page of them at a time and links to the next, and
/// following the links shows every task once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_pages_through_many_long_tasks() {
    let app = crate::helpers::spawn_app().await;
    let total = 2100;
    let description = "d".repeat(2000);
    let url = app.backend_url("/api/many/tasks");
    let mut pending = Vec::new();
    for i in 0..total {
        let http = app.http.clone();
        let url = url.clone();
        let body = serde_json::json!({ "title": format!("task {i}"), "description": description });
        pending.push(tokio::spawn(async move {
            http.post(url).json(&body).send().await.unwrap().status()
        }));
        if pending.len() == 16 {
            for p in pending.drain(..) {
                assert_eq!(p.await.unwrap(), 201);
            }
        }
    }
    for p in pending {
        assert_eq!(p.await.unwrap(), 201);
    }
    let mut seen = std::collections::HashSet::new();
    let mut path = "/?filter=all".to_owned();
    let mut pages = 0;
    loop {
        let (status, html) = app.get_page(&path, Some("todo_user=many")).await;
        assert_eq!(status, 200);
        assert!(!html.contains("could not be read"), "{path}");
        let ids: Vec<&str> = html
            .split("id=\"task-")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        assert!(
            !ids.is_empty() && ids.len() <= 50,
            "{path}: {} tasks",
            ids.len()
        );
        for id in ids {
            assert!(seen.insert(id.to_owned()), "task {id} shown twice");
        }
        pages += 1;
        let Some(next) = html
            .split("rel=\"next\" href=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
        else {
            break;
        };
        assert!(next.contains("cursor="), "{next}");
        // The href as a browser reads it (the template escapes `&`).
        path = next.replace("&#38;", "&").replace("&amp;", "&");
    }
    assert_eq!(seen.len(), total);
    assert_eq!(pages, total.div_ceil(50));

    // A task form on a later page comes back to that page, and its edit link keeps it.
    let (_, html) = app.get_page(&path, Some("todo_user=many")).await;
    let cursor = path
        .split("cursor=")
        .nth(1)
        .and_then(|c| c.split('#').next())
        .unwrap()
        .to_owned();
    assert!(
        html.contains(&format!("name=\"cursor\" value=\"{cursor}\"")),
        "{path}"
    );
    let id = html
        .split("id=\"task-")
        .filter_map(|s| s.split('"').next())
        .find(|id| id.bytes().all(|b| b.is_ascii_digit()))
        .unwrap()
        .to_owned();
    let resp = app
        .post_form(
            &format!("/tasks/{id}/toggle"),
            &[
                ("filter", "all"),
                ("cursor", &cursor),
                ("completed", "true"),
            ],
            Some("todo_user=many"),
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        crate::helpers::location(&resp),
        format!("/?filter=all&cursor={cursor}#task-{id}")
    );
}
