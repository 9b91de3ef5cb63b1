//! Paging of task lists, per-user task numbers and setting the completion state.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, both_dbs, database_url, error_code, spawn_app, spawn_app_with};
use crate::mcp::{call, connect, payload};

both_dbs!(
    pages_walk_every_task_once,
    paging_rejects_bad_limits_and_cursors,
    numbers_count_per_user_and_are_never_reused,
    complete_body_sets_the_state,
    chat_and_mcp_take_numbers,
    chat_list_is_capped_and_says_how_many_are_left,
    migration_numbers_existing_tasks_per_user,
);

async fn seed(app: &TestApp, user: &str, count: usize) -> Vec<Value> {
    let mut tasks = Vec::with_capacity(count);
    for i in 1..=count {
        tasks.push(app.create_task(user, &format!("task {i}")).await);
    }
    tasks
}

fn ids(page: &Value) -> Vec<i64> {
    page.as_array()
        .expect("array")
        .iter()
        .map(|t| t["id"].as_i64().expect("id"))
        .collect()
}

async fn chat(app: &TestApp, user: &str, message: &str) -> Value {
    let res = app
        .post_json(&format!("/api/{user}/chat"), &json!({ "message": message }))
        .await;
    assert_eq!(res.status(), 200, "chat {message:?}");
    res.json().await.expect("chat JSON")
}

async fn pages_walk_every_task_once(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let made = seed(&app, "pager", 7).await;
    seed(&app, "someone-else", 2).await;
    // Complete tasks 2, 4 and 6 so the pending listing has gaps.
    for t in made.iter().skip(1).step_by(2) {
        let res = app
            .client
            .patch(app.url(&format!("/api/pager/tasks/{}/complete", t["id"])))
            .json(&json!({ "completed": true }))
            .send()
            .await
            .expect("patch");
        assert_eq!(res.status(), 200);
    }

    for (status, want) in [("all", 7), ("pending", 4), ("completed", 3)] {
        let mut url = format!("/api/pager/tasks?status={status}&limit=2");
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(pages <= 10, "paging does not end");
            let res = app.get(&url).await;
            assert_eq!(res.status(), 200);
            let next = res
                .headers()
                .get("x-next-cursor")
                .map(|v| v.to_str().expect("ascii").to_owned());
            let link = res
                .headers()
                .get("link")
                .map(|v| v.to_str().expect("ascii").to_owned());
            let page: Value = res.json().await.expect("json");
            let page_ids = ids(&page);
            assert!(page_ids.len() <= 2, "{page}");
            seen.extend(page_ids);
            match (next, link) {
                (Some(cursor), Some(link)) => {
                    let want_link = format!(
                        "</api/pager/tasks?status={status}&limit=2&cursor={cursor}>; rel=\"next\""
                    );
                    assert_eq!(link, want_link);
                    url = link
                        .trim_start_matches('<')
                        .split_once('>')
                        .expect("link target")
                        .0
                        .to_owned();
                }
                (None, None) => break,
                other => panic!("cursor and link come together: {other:?}"),
            }
        }
        assert_eq!(seen.len(), want, "{status}: {seen:?}");
        let mut sorted = seen.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(seen, sorted, "{status}: newest first across pages");
        assert_eq!(
            seen.iter().collect::<HashSet<_>>().len(),
            want,
            "no task twice"
        );
    }

    // The list answers JSON, each task exactly as GET of that task answers it, escapes included.
    let odd = app
        .post_json(
            "/api/pager/tasks",
            &json!({ "title": "quote \" back\\slash ünï 😀 <b>", "description": "line\nnext\ttab" }),
        )
        .await;
    assert_eq!(odd.status(), 201);
    let odd: Value = odd.json().await.expect("json");
    let res = app.get("/api/pager/tasks?limit=3").await;
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let listed: Value = res.json().await.expect("json");
    assert_eq!(listed[0], odd);
    for t in listed.as_array().expect("array") {
        let one: Value = app
            .get(&format!("/api/pager/tasks/{}", t["id"]))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(&one, t);
    }
    app.client
        .delete(app.url(&format!("/api/pager/tasks/{}", odd["id"])))
        .send()
        .await
        .expect("delete");

    // Exactly a page's worth: the last page has no cursor.
    let res = app.get("/api/pager/tasks?limit=7").await;
    assert!(res.headers().get("x-next-cursor").is_none());
    assert!(res.headers().get("link").is_none());
    assert_eq!(ids(&res.json().await.expect("json")).len(), 7);
    // No limit: the default page of 100 holds all 7.
    let res = app.get("/api/pager/tasks").await;
    assert!(res.headers().get("x-next-cursor").is_none());
    assert_eq!(ids(&res.json().await.expect("json")).len(), 7);
}

async fn paging_rejects_bad_limits_and_cursors(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    seed(&app, "strict", 3).await;
    for limit in [
        "0",
        "501",
        "-1",
        "+5",
        "05",
        "1.5",
        "1e2",
        "abc",
        "",
        "%201",
        "99999999999",
    ] {
        let res = app.get(&format!("/api/strict/tasks?limit={limit}")).await;
        assert_eq!(error_code(res, 422).await, "invalid_query", "limit={limit}");
    }
    for ok in ["1", "500"] {
        let res = app.get(&format!("/api/strict/tasks?limit={ok}")).await;
        assert_eq!(res.status(), 200, "limit={ok}");
    }
    for cursor in ["", "abc", "t0", "t-1", "tZZ", "12", "t%20"] {
        let res = app.get(&format!("/api/strict/tasks?cursor={cursor}")).await;
        assert_eq!(
            error_code(res, 422).await,
            "invalid_cursor",
            "cursor={cursor}"
        );
    }
    // Unknown status still answers its own code.
    let res = app.get("/api/strict/tasks?status=done").await;
    assert_eq!(error_code(res, 422).await, "invalid_status");
    // A cursor past every task is an empty last page, not an error.
    let res = app.get("/api/strict/tasks?cursor=t1").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("x-next-cursor").is_none());
    assert_eq!(res.json::<Value>().await.expect("json"), json!([]));
}

async fn numbers_count_per_user_and_are_never_reused(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    seed(&app, "other", 5).await;
    let mine = seed(&app, "numbered", 3).await;
    let numbers: Vec<i64> = mine
        .iter()
        .map(|t| t["number"].as_i64().expect("number"))
        .collect();
    assert_eq!(numbers, [1, 2, 3], "numbers count per user");
    assert!(mine[0]["id"].as_i64() > Some(5), "ids stay global");

    // Deleting the newest task does not free its number.
    let res = app
        .client
        .delete(app.url(&format!("/api/numbered/tasks/{}", mine[2]["id"])))
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 204);
    let next = app.create_task("numbered", "after the delete").await;
    assert_eq!(next["number"], 4);
    // GET by id shows the same number.
    let got: Value = app
        .get(&format!("/api/numbered/tasks/{}", next["id"]))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(got["number"], 4);
}

async fn complete_body_sets_the_state(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let task = app.create_task("setter", "idempotent").await;
    let path = app.url(&format!("/api/setter/tasks/{}/complete", task["id"]));
    let set = |body: Value| {
        let req = app.client.patch(&path).json(&body);
        async move { req.send().await.expect("patch") }
    };
    for (body, want) in [
        (json!({ "completed": true }), true),
        (json!({ "completed": true }), true),
        (json!({ "completed": false }), false),
        (json!({ "completed": false }), false),
    ] {
        let res = set(body.clone()).await;
        assert_eq!(res.status(), 200, "{body}");
        assert_eq!(
            res.json::<Value>().await.expect("json")["completed"],
            want,
            "{body}"
        );
    }
    // No body still flips the state.
    let res = app.client.patch(&path).send().await.expect("patch");
    assert_eq!(res.json::<Value>().await.expect("json")["completed"], true);

    for (body, status, code) in [
        (json!({}), 422, "invalid_body"),
        (json!({ "completed": "yes" }), 422, "invalid_body"),
        (json!({ "completed": true, "x": 1 }), 422, "invalid_body"),
    ] {
        let res = set(body.clone()).await;
        assert_eq!(error_code(res, status).await, code, "{body}");
    }
    let res = app
        .client
        .patch(&path)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .expect("patch");
    assert_eq!(error_code(res, 400).await, "malformed_json");
    let res = app
        .client
        .patch(&path)
        .header("content-type", "text/plain")
        .body("completed=true")
        .send()
        .await
        .expect("patch");
    assert_eq!(error_code(res, 415).await, "unsupported_media_type");
    // The failed requests changed nothing.
    let got: Value = app
        .get(&format!("/api/setter/tasks/{}", task["id"]))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(got["completed"], true);
}

async fn chat_and_mcp_take_numbers(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    // Someone else's tasks push the global ids up: the chat must go by the user's numbers.
    seed(&app, "first-user", 4).await;
    let help = chat(&app, "demo", "help").await;
    let text = help["response"].as_str().expect("text");
    assert!(
        text.contains("#1"),
        "a new user's help names number 1: {text}"
    );

    let milk = chat(&app, "demo", "add buy milk").await;
    assert!(
        milk["response"].as_str().expect("text").contains("task #1"),
        "{milk}"
    );
    app.create_task("demo", "call mom").await;
    let help = chat(&app, "demo", "help").await;
    let text = help["response"].as_str().expect("text");
    assert!(text.contains("\"mark 2 as done\""), "{text}");
    assert!(text.contains("\"delete task 2\""), "{text}");
    assert!(help["tool_calls"].as_array().is_some_and(Vec::is_empty));

    let done = chat(&app, "demo", "mark 1 as done").await;
    assert_eq!(done["tool_calls"][0]["arguments"]["number"], 1);
    assert_eq!(done["tool_calls"][0]["result"]["title"], "buy milk");
    assert!(
        done["response"].as_str().expect("text").contains("Task #1"),
        "{done}"
    );
    // "mark as done" sets the state: saying it again keeps the task done.
    let again = chat(&app, "demo", "mark 1 as done").await;
    assert_eq!(again["tool_calls"][0]["result"]["completed"], true);
    // The help now suggests the task still pending.
    let help = chat(&app, "demo", "help").await;
    let text = help["response"].as_str().expect("text");
    assert!(text.contains("\"mark 2 as done\""), "{text}");
    let list = chat(&app, "demo", "list my tasks").await;
    let text = list["response"].as_str().expect("text");
    assert!(
        text.contains("#1 buy milk (done)") && text.contains("#2 call mom"),
        "{text}"
    );

    let client = connect(&app, None).await.expect("initialize");
    let renamed = call(
        &client,
        "update_task",
        json!({ "user_id": "demo", "number": 2, "title": "call dad" }),
    )
    .await
    .expect("update_task");
    assert_eq!(payload(&renamed)["title"], "call dad");
    assert_eq!(payload(&renamed)["number"], 2);
    let missing = call(
        &client,
        "complete_task",
        json!({ "user_id": "demo", "number": 3 }),
    )
    .await
    .expect("complete_task");
    assert_eq!(missing["isError"], true, "{missing}");
    assert!(
        payload(&missing)
            .as_str()
            .is_some_and(|t| t.contains("task #3 not found")),
        "{missing}"
    );
    client.cancel().await.expect("close");
}

async fn chat_list_is_capped_and_says_how_many_are_left(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    seed(&app, "busy", 45).await;
    let list = chat(&app, "busy", "list my tasks").await;
    let result = &list["tool_calls"][0]["result"];
    assert_eq!(result["tasks"].as_array().map(Vec::len), Some(20));
    assert_eq!(result["remaining"], 25);
    assert!(result["next_cursor"].is_string(), "{result}");
    let text = list["response"].as_str().expect("text");
    assert!(text.contains("You have 45 tasks"), "{text}");
    assert!(text.contains("25 more"), "{text}");
    assert!(text.contains("#45 task 45") && !text.contains("#25 task 25"));

    // The tool pages on with the cursor, and a title beyond the first page is still found.
    let client = connect(&app, None).await.expect("initialize");
    let next = call(
        &client,
        "list_tasks",
        json!({ "user_id": "busy", "limit": 30, "cursor": result["next_cursor"] }),
    )
    .await
    .expect("list_tasks");
    let next = payload(&next);
    assert_eq!(next["tasks"].as_array().map(Vec::len), Some(25));
    assert_eq!(next["remaining"], 0);
    assert!(next.get("next_cursor").is_none(), "{next}");
    for bad in [json!(0), json!(101)] {
        let res = call(
            &client,
            "list_tasks",
            json!({ "user_id": "busy", "limit": bad }),
        )
        .await
        .expect("list_tasks");
        assert_eq!(res["isError"], true, "{res}");
    }
    client.cancel().await.expect("close");
    let done = chat(&app, "busy", "complete task 3").await;
    assert_eq!(done["tool_calls"][0]["arguments"]["number"], 3);
    let by_title = chat(&app, "busy", "complete \"task 2\"").await;
    let last = by_title["tool_calls"]
        .as_array()
        .and_then(|c| c.last())
        .expect("a call");
    assert_eq!(last["name"], "complete_task");
    assert_eq!(last["arguments"]["number"], 2, "{by_title}");
}

async fn migration_numbers_existing_tasks_per_user(db: Db) {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(url) = database_url(db, &dir).await else {
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // Build the schema as the first release had it and store tasks of two users, interleaved.
    let insert = "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at) \
                  VALUES ($1, $2, '', FALSE, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')";
    let rows = [
        ("ann", "a1"),
        ("bob", "b1"),
        ("ann", "a2"),
        ("ann", "a3"),
        ("bob", "b2"),
    ];
    match db {
        Db::Sqlite => {
            let options = url
                .parse::<sqlx::sqlite::SqliteConnectOptions>()
                .expect("url")
                .create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options)
                .await
                .expect("connect");
            let migrator = sqlx::migrate::Migrator::new(root.join("migrations/sqlite"))
                .await
                .expect("migrations");
            migrator.run_to(1, &pool).await.expect("first migration");
            for (user, title) in rows {
                sqlx::query(insert)
                    .bind(user)
                    .bind(title)
                    .execute(&pool)
                    .await
                    .expect("insert");
            }
            pool.close().await;
        }
        Db::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.expect("connect");
            let migrator = sqlx::migrate::Migrator::new(root.join("migrations/postgres"))
                .await
                .expect("migrations");
            migrator.run_to(1, &pool).await.expect("first migration");
            let insert = insert.replace("'2025", "TIMESTAMPTZ '2025");
            for (user, title) in rows {
                sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
                    .bind(user)
                    .bind(title)
                    .execute(&pool)
                    .await
                    .expect("insert");
            }
            pool.close().await;
        }
    }
    let Some(app) = spawn_app_with(db, &[("DATABASE_URL", url.as_str())]).await else {
        return;
    };
    let numbered = |v: Value| -> Vec<(String, i64)> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|t| {
                (
                    t["title"].as_str().expect("title").to_owned(),
                    t["number"].as_i64().expect("number"),
                )
            })
            .collect()
    };
    let ann: Value = app.get("/api/ann/tasks").await.json().await.expect("json");
    assert_eq!(
        numbered(ann),
        [("a3".into(), 3), ("a2".into(), 2), ("a1".into(), 1)]
    );
    let bob: Value = app.get("/api/bob/tasks").await.json().await.expect("json");
    assert_eq!(numbered(bob), [("b2".into(), 2), ("b1".into(), 1)]);
    // The counters go on from the migrated numbers.
    assert_eq!(app.create_task("ann", "a4").await["number"], 4);
    assert_eq!(app.create_task("carl", "c1").await["number"], 1);
    drop(dir);
}
