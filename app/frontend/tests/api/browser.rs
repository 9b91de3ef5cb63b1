//! End to end in headless Chromium through chromedriver: the page as a person uses it.
//!
//! Gated by `testkit::chromium()`/`chromedriver()`: skipped loudly outside CI when they are not
//! installed (`bash .ci/chromium.sh`), a failure in CI. Set `FRONTEND_SCREENSHOT=path.png` to keep
//! a screenshot of the page.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::helpers::spawn_app;

const WAIT: Duration = Duration::from_secs(15);

/// chromedriver and its browser profile; both go away on drop.
struct Driver {
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser() -> Option<(Driver, Client)> {
    let chromium = testkit::chromium()?;
    let chromedriver = testkit::chromedriver()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        child,
        _profile: profile,
    };
    let args = [
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        "--window-size=1280,860".into(),
        format!("--user-data-dir={}", driver._profile.path().display()),
    ];
    let caps = json!({ "goog:chromeOptions": { "binary": chromium, "args": args } });
    let caps = caps.as_object().unwrap().clone();
    let started = Instant::now();
    loop {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return Some((driver, client)),
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("chromedriver did not start a session: {e}"),
        }
    }
}

/// The task list item whose title is exactly `title`.
fn task_item(title: &str) -> String {
    format!(
        "//ul[contains(@class,'tasks')]/li[.//span[@class='title' and text()={}]]",
        xpath_literal(title)
    )
}

fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else {
        format!("\"{s}\"")
    }
}

async fn wait_for(c: &Client, xpath: &str) -> Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("never appeared: {xpath}: {e}"))
}

/// Polls until `check` holds, re-finding elements each time (the script swaps them).
async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < WAIT, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn has_class(c: &Client, xpath: &str, class: &str) -> bool {
    match c.find(Locator::XPath(xpath)).await {
        Ok(el) => el
            .attr("class")
            .await
            .ok()
            .flatten()
            .is_some_and(|v| v.split_whitespace().any(|x| x == class)),
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_person_manages_tasks_with_forms_and_chat() {
    let Some((_driver, c)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let result = journey(&c, &app.url("/")).await;
    let _ = c.close().await;
    result.unwrap();
}

async fn journey(c: &Client, home: &str) -> Result<(), fantoccini::error::CmdError> {
    c.goto(home).await?;
    assert_eq!(c.title().await?, "Todo chat");

    // Add a task through the form; keyboard focus comes back to the title field.
    c.find(Locator::Id("new-title"))
        .await?
        .send_keys("water the plants")
        .await?;
    c.find(Locator::Css("form.add button[type=submit]"))
        .await?
        .click()
        .await?;
    wait_for(c, &task_item("water the plants")).await;
    let focused = c.active_element().await?.attr("id").await?;
    assert_eq!(focused.as_deref(), Some("new-title"));

    // Ask the assistant; the new task appears in the list without a reload.
    c.find(Locator::Id("chat-message"))
        .await?
        .send_keys("add buy milk")
        .await?;
    c.find(Locator::Css("#chat-form button[type=submit]"))
        .await?
        .click()
        .await?;
    let reply = wait_for(c, "//ol[@id='chat-log']/li[contains(@class,'assistant')]").await;
    let tools = reply
        .find(Locator::Css(".tools code"))
        .await?
        .text()
        .await?;
    assert_eq!(tools, "add_task");
    wait_for(c, &task_item("buy milk")).await;

    // Complete it.
    let milk = task_item("buy milk");
    c.find(Locator::XPath(&format!(
        "{milk}//button[contains(@class,'check')]"
    )))
    .await?
    .click()
    .await?;
    wait_until("buy milk is done", || has_class(c, &milk, "done")).await;

    if let Ok(path) = std::env::var("FRONTEND_SCREENSHOT") {
        std::fs::write(&path, c.screenshot().await?).unwrap();
    }

    // A hostile title is shown as text and runs nothing.
    let hostile = "<script>alert(1)</script>";
    c.find(Locator::Id("new-title"))
        .await?
        .send_keys(hostile)
        .await?;
    c.find(Locator::Css("form.add button[type=submit]"))
        .await?
        .click()
        .await?;
    wait_for(c, &task_item(hostile)).await;
    assert!(c.get_alert_text().await.is_err(), "an alert opened");

    // Delete it.
    c.find(Locator::XPath(&format!(
        "{milk}//button[contains(@class,'danger')]"
    )))
    .await?
    .click()
    .await?;
    wait_until("buy milk is gone", || async {
        c.find(Locator::XPath(&milk)).await.is_err()
    })
    .await;

    // Edit a title: the form opens in place with focus in it.
    let plants = task_item("water the plants");
    c.find(Locator::XPath(&format!("{plants}//a[text()='Edit']")))
        .await?
        .click()
        .await?;
    let field = wait_for(c, "//form[contains(@class,'edit')]//input[@name='title']").await;
    assert_eq!(
        c.active_element().await?.attr("name").await?.as_deref(),
        Some("title")
    );
    field.clear().await?;
    field.send_keys("water the ferns").await?;
    c.find(Locator::XPath(
        "//form[contains(@class,'edit')]//button[@type='submit']",
    ))
    .await?
    .click()
    .await?;
    wait_for(c, &task_item("water the ferns")).await;

    // Reload: the conversation is still there, and the list as the server has it.
    c.refresh().await?;
    wait_for(
        c,
        "//ol[@id='chat-log']/li[contains(@class,'user')]/span[@class='text' and text()='add buy milk']",
    )
    .await;
    wait_for(c, "//ol[@id='chat-log']/li[contains(@class,'assistant')]").await;
    wait_for(c, &task_item("water the ferns")).await;
    assert!(c.find(Locator::XPath(&milk)).await.is_err());
    Ok(())
}
