use serde_json::{Value, json};

use crate::helpers::{Db, both_dbs, error_code, spawn_app};

both_dbs!(
    task_lifecycle,
    status_filters_and_order,
    users_are_isolated,
    concurrent_creates_all_land,
);

async fn task_lifecycle(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let res = app
        .post_json(
            "/api/demo/tasks",
            &json!({ "title": "  buy milk ", "description": "2 litres" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let task: Value = res.json().await.expect("json");
    assert_eq!(task["title"], "buy milk");
    assert_eq!(task["description"], "2 litres");
    assert_eq!(task["user_id"], "demo");
    assert_eq!(task["completed"], false);
    let id = task["id"].as_i64().expect("id");
    for field in ["created_at", "updated_at"] {
        let ts = task[field].as_str().expect("timestamp");
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok(),
            "{field}={ts}"
        );
    }
    let keys: Vec<&String> = task.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 8, "{keys:?}");
    assert_eq!(task["number"], 1, "a user's first task is number 1");

    let got: Value = app
        .get(&format!("/api/demo/tasks/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(got, task);

    let res = app
        .put_json(
            &format!("/api/demo/tasks/{id}"),
            &json!({ "title": "buy oat milk" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.expect("json");
    assert_eq!(updated["title"], "buy oat milk");
    assert_eq!(updated["description"], "2 litres");
    assert_eq!(updated["created_at"], task["created_at"]);

    let res = app
        .put_json(
            &format!("/api/demo/tasks/{id}"),
            &json!({ "completed": true, "description": "" }),
        )
        .await;
    let updated: Value = res.json().await.expect("json");
    assert_eq!(
        (updated["completed"].clone(), updated["description"].clone()),
        (json!(true), json!(""))
    );

    let toggle = format!("/api/demo/tasks/{id}/complete");
    let res = app
        .client
        .patch(app.url(&toggle))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.expect("json")["completed"], false);
    let res = app
        .client
        .patch(app.url(&toggle))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.json::<Value>().await.expect("json")["completed"], true);

    let res = app
        .client
        .delete(app.url(&format!("/api/demo/tasks/{id}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 204);
    assert!(res.bytes().await.expect("body").is_empty());
    assert_eq!(
        error_code(app.get(&format!("/api/demo/tasks/{id}")).await, 404).await,
        "not_found"
    );
    let res = app
        .client
        .delete(app.url(&format!("/api/demo/tasks/{id}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(error_code(res, 404).await, "not_found");
    let res = app
        .put_json(&format!("/api/demo/tasks/{id}"), &json!({ "title": "x" }))
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let res = app
        .client
        .patch(app.url(&toggle))
        .send()
        .await
        .expect("patch");
    assert_eq!(error_code(res, 404).await, "not_found");
}

async fn status_filters_and_order(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let a = app.create_task("demo", "first").await;
    let b = app.create_task("demo", "second").await;
    let c = app.create_task("demo", "third").await;
    let path = format!("/api/demo/tasks/{}/complete", b["id"]);
    assert_eq!(
        app.client
            .patch(app.url(&path))
            .send()
            .await
            .expect("patch")
            .status(),
        200
    );

    let titles = |v: Value| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|t| t["title"].as_str().expect("title").to_owned())
            .collect()
    };
    let all = app.get("/api/demo/tasks").await.json().await.expect("json");
    assert_eq!(titles(all), ["third", "second", "first"]);
    let all = app
        .get("/api/demo/tasks?status=all")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(titles(all), ["third", "second", "first"]);
    let pending = app
        .get("/api/demo/tasks?status=pending")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(titles(pending), ["third", "first"]);
    let done = app
        .get("/api/demo/tasks?status=completed")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(titles(done), ["second"]);
    let _ = (a, c);
}

async fn users_are_isolated(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let mine = app.create_task("alice", "alice's task").await;
    app.create_task("bob", "bob's task").await;
    let id = mine["id"].as_i64().expect("id");

    let bobs: Value = app.get("/api/bob/tasks").await.json().await.expect("json");
    assert_eq!(bobs.as_array().map(Vec::len), Some(1));
    assert_eq!(bobs[0]["title"], "bob's task");

    let other = format!("/api/bob/tasks/{id}");
    let res = app.get(&other).await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "not_found");
    // The message names the task once, and says nothing about whose it is.
    assert_eq!(body["error"]["message"], format!("task {id} not found"));
    let res = app.put_json(&other, &json!({ "title": "hijacked" })).await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let res = app
        .client
        .patch(app.url(&format!("{other}/complete")))
        .send()
        .await
        .expect("patch");
    assert_eq!(error_code(res, 404).await, "not_found");
    let res = app
        .client
        .delete(app.url(&other))
        .send()
        .await
        .expect("delete");
    assert_eq!(error_code(res, 404).await, "not_found");

    let still: Value = app
        .get(&format!("/api/alice/tasks/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(still, mine);
}

async fn concurrent_creates_all_land(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let client = app.client.clone();
    let url = app.url("/api/load/tasks");
    let handles: Vec<_> = (0..200)
        .map(|i| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({ "title": format!("task {i}") }))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.expect("join").expect("request"));
    }
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(app.store.count_tasks().await.expect("count"), 200);
    let listed: Value = app
        .get("/api/load/tasks?limit=500")
        .await
        .json()
        .await
        .expect("json");
    let mut numbers: Vec<i64> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["number"].as_i64().expect("number"))
        .collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=200).collect::<Vec<i64>>(),
        "concurrent creates get distinct numbers 1..=200"
    );
}
