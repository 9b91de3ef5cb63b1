//! The offline agent: plain-English requests mapped to the five tools by fixed rules.

use serde_json::{Value, json};

use super::{Agent, AgentError, Reply, ToolCallRecord, Turn, run_tool};
use crate::domain::{PageLimit, StatusFilter, Task};
use crate::store::StoreError;
use crate::tools::{
    ADD_TASK, COMPLETE_TASK, DELETE_TASK, LIST_TASKS, TOOL_LIST_MAX, TaskList, UPDATE_TASK,
};

/// Deterministic and offline: the same message always makes the same tool calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesAgent;

/// Which task a request points at.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// The user's task number, as the page shows it.
    Number(i64),
    Title(String),
}

/// What a message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Intent {
    Help,
    Greeting,
    Add(String),
    List(&'static str),
    Complete(Target, bool),
    Delete(Target),
    Rename(Target, String),
    Unknown,
}

/// The help text, with examples that use the user's own task numbers: the newest pending task
/// for "mark … as done", the newest task for rename and delete. A user without tasks sees the
/// number the first new task will get.
async fn help(turn: &Turn<'_>) -> Result<String, StoreError> {
    let newest = turn
        .store
        .list_tasks(turn.user, StatusFilter::All, one(), None)
        .await?
        .tasks;
    let pending = turn
        .store
        .list_tasks(turn.user, StatusFilter::Pending, one(), None)
        .await?
        .tasks;
    let (done_example, other_example) = match (pending.first(), newest.first()) {
        (Some(p), Some(n)) => (p, n),
        (None, Some(n)) => (n, n),
        _ => {
            let next = turn.store.next_task_number(turn.user).await?;
            return Ok(format!(
                "I can manage your tasks. Try:\n\
                 - \"add buy milk\" or \"remind me to call mom tomorrow\"\n\
                 - \"what's pending?\", \"show completed\" or \"list my tasks\"\n\
                 Each task gets a number, shown beside it in your list; your next task will be \
                 #{next}. Then say \"mark {next} as done\", \"rename {next} to pay rent\" or \
                 \"delete task {next}\", or name the task: \"complete buy milk\"."
            ));
        }
    };
    let d = done_example.number;
    let n = other_example.number;
    Ok(format!(
        "I can manage your tasks. Try:\n\
         - \"add buy milk\" or \"remind me to call mom tomorrow\"\n\
         - \"what's pending?\", \"show completed\" or \"list my tasks\"\n\
         - \"mark {d} as done\" or \"complete {}\"\n\
         - \"rename {n} to pay rent\"\n\
         - \"delete task {n}\"\n\
         The numbers are the ones shown beside your tasks.",
        clip(&done_example.title, 40)
    ))
}

fn one() -> PageLimit {
    PageLimit::new(1).unwrap_or_default()
}

#[async_trait::async_trait]
impl Agent for RulesAgent {
    fn name(&self) -> &'static str {
        "rules"
    }

    async fn respond(&self, turn: Turn<'_>) -> Result<Reply, AgentError> {
        let mut calls = Vec::new();
        let response = match parse(turn.message) {
            Intent::Help => help(&turn).await?,
            Intent::Greeting => {
                "Hello! I keep your to-do list. Say \"help\" to see what I can do.".to_owned()
            }
            Intent::Unknown => format!(
                "Sorry, I didn't understand \"{}\". I can add, list, complete, rename and delete \
                 tasks: try \"add buy milk\", \"what's pending?\" or \"help\".",
                clip(turn.message.trim(), 80)
            ),
            Intent::Add(title) => {
                let call =
                    run_tool(turn.store, turn.user, ADD_TASK, json!({ "title": title })).await?;
                let text = match as_task(&call.result) {
                    Some(t) => format!("Added \"{}\" to your list as task #{}.", t.title, t.number),
                    None => format!("I couldn't add that: {}.", error_text(&call.result)),
                };
                calls.push(call);
                text
            }
            Intent::List(status) => {
                let call = run_tool(
                    turn.store,
                    turn.user,
                    LIST_TASKS,
                    json!({ "status": status }),
                )
                .await?;
                let text = describe_list(status, &call.result);
                calls.push(call);
                text
            }
            Intent::Complete(target, done) => {
                match resolve(&turn, &mut calls, target, !done).await? {
                    Err(text) => text,
                    Ok(number) => {
                        let args = json!({ "number": number, "completed": done });
                        let call = run_tool(turn.store, turn.user, COMPLETE_TASK, args).await?;
                        let text = match as_task(&call.result) {
                            Some(t) if done => {
                                format!("Nice! Task #{} \"{}\" is done.", t.number, t.title)
                            }
                            Some(t) => {
                                format!("Task #{} \"{}\" is pending again.", t.number, t.title)
                            }
                            None => not_found_or_error(number, &call.result),
                        };
                        calls.push(call);
                        text
                    }
                }
            }
            Intent::Delete(target) => match resolve(&turn, &mut calls, target, false).await? {
                Err(text) => text,
                Ok(number) => {
                    let args = json!({ "number": number });
                    let call = run_tool(turn.store, turn.user, DELETE_TASK, args).await?;
                    let text = match as_task(&call.result) {
                        Some(t) => format!("Deleted task #{} \"{}\".", t.number, t.title),
                        None => not_found_or_error(number, &call.result),
                    };
                    calls.push(call);
                    text
                }
            },
            Intent::Rename(target, title) => match resolve(&turn, &mut calls, target, false).await?
            {
                Err(text) => text,
                Ok(number) => {
                    let args = json!({ "number": number, "title": title });
                    let call = run_tool(turn.store, turn.user, UPDATE_TASK, args).await?;
                    let text = match as_task(&call.result) {
                        Some(t) => format!("Renamed task #{} to \"{}\".", t.number, t.title),
                        None => not_found_or_error(number, &call.result),
                    };
                    calls.push(call);
                    text
                }
            },
        };
        Ok(Reply {
            response,
            tool_calls: calls,
        })
    }
}

/// Finds the task number a target names. A title is looked up with `list_tasks`, page by page
/// through all the user's tasks; `Err` is the reply when no single task matches.
/// `prefer_completed` favours completed tasks among equal title matches.
async fn resolve(
    turn: &Turn<'_>,
    calls: &mut Vec<ToolCallRecord>,
    target: Target,
    prefer_completed: bool,
) -> Result<Result<i64, String>, AgentError> {
    let wanted = match target {
        Target::Number(number) => return Ok(Ok(number)),
        Target::Title(title) => title,
    };
    let mut tasks: Vec<Task> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = json!({ "status": "all", "limit": TOOL_LIST_MAX });
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        let call = run_tool(turn.store, turn.user, LIST_TASKS, args).await?;
        let page = as_list(&call.result);
        calls.push(call);
        let Some(page) = page else { break };
        tasks.extend(page.tasks);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let needle = wanted.to_lowercase();
    let exact: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.title.to_lowercase() == needle)
        .collect();
    let candidates = if exact.is_empty() {
        tasks
            .iter()
            .filter(|t| t.title.to_lowercase().contains(&needle))
            .collect()
    } else {
        exact
    };
    let preferred: Vec<&&Task> = candidates
        .iter()
        .filter(|t| t.completed == prefer_completed)
        .collect();
    Ok(match (candidates.as_slice(), preferred.as_slice()) {
        ([], _) => Err(format!(
            "I couldn't find a task matching \"{wanted}\". Say \"list my tasks\" to see them."
        )),
        ([one], _) => Ok(one.number),
        (_, [one]) => Ok(one.number),
        (many, _) => Err(format!(
            "More than one task matches \"{wanted}\": {}. Which one? Use its number.",
            many.iter()
                .map(|t| format!("#{} \"{}\"", t.number, t.title))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    })
}

fn as_task(value: &Value) -> Option<Task> {
    serde_json::from_value(value.clone()).ok()
}

fn as_list(value: &Value) -> Option<TaskList> {
    serde_json::from_value(value.clone()).ok()
}

fn error_text(value: &Value) -> String {
    value["error"]
        .as_str()
        .unwrap_or("something went wrong")
        .to_owned()
}

fn not_found_or_error(number: i64, result: &Value) -> String {
    let text = error_text(result);
    if text.contains("not found") {
        format!("I couldn't find task #{number}. Say \"list my tasks\" to see your tasks.")
    } else {
        format!("That didn't work: {text}.")
    }
}

/// The list in words, capped at the tool's page, with how many tasks it left out.
fn describe_list(status: &str, result: &Value) -> String {
    let Some(TaskList {
        tasks, remaining, ..
    }) = as_list(result)
    else {
        return format!("I couldn't list your tasks: {}.", error_text(result));
    };
    if tasks.is_empty() {
        return match status {
            "pending" => "You have no pending tasks. Nice work!".to_owned(),
            "completed" => "You haven't completed any tasks yet.".to_owned(),
            _ => "Your list is empty. Try \"add buy milk\".".to_owned(),
        };
    }
    let kind = match status {
        "pending" => "pending ",
        "completed" => "completed ",
        _ => "",
    };
    let total = i64::try_from(tasks.len())
        .unwrap_or(i64::MAX)
        .saturating_add(remaining);
    let noun = if total == 1 { "task" } else { "tasks" };
    let mut text = if remaining > 0 {
        format!(
            "You have {total} {kind}{noun}; here are the newest {}:",
            tasks.len()
        )
    } else {
        format!("You have {total} {kind}{noun}:")
    };
    for t in &tasks {
        let mark = if status == "all" && t.completed {
            " (done)"
        } else {
            ""
        };
        text.push_str(&format!("\n#{} {}{mark}", t.number, t.title));
    }
    if remaining > 0 {
        let more = if remaining == 1 { "task" } else { "tasks" };
        text.push_str(&format!(
            "\n…and {remaining} more {more} not shown here; the task list on the page has them all."
        ));
    }
    text
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Strips `prefix` (ASCII case-insensitive) when a word boundary follows; returns the rest.
fn after<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = &s[prefix.len()..];
    (prefix.ends_with(' ')
        || prefix.ends_with(':')
        || rest.is_empty()
        || rest.starts_with([' ', ':']))
    .then(|| rest.trim())
}

fn after_any<'a>(s: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|p| after(s, p))
}

/// Strips `suffix` (ASCII case-insensitive); returns the text before it.
fn before<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| s[..cut].trim())
}

fn before_any<'a>(s: &'a str, suffixes: &[&str]) -> Option<(&'a str, usize)> {
    suffixes
        .iter()
        .enumerate()
        .find_map(|(i, suf)| before(s, suf).map(|rest| (rest, i)))
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for (open, close) in [('"', '"'), ('\'', '\''), ('“', '”')] {
        if let Some(inner) = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            return inner.trim();
        }
    }
    s
}

fn target(s: &str) -> Option<Target> {
    let s = unquote(s);
    let s = after_any(
        s,
        &[
            "task number",
            "task no.",
            "task",
            "number",
            "the task",
            "no.",
        ],
    )
    .unwrap_or(s);
    let s = s.strip_prefix('#').unwrap_or(s).trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Target::Number(s.parse().unwrap_or(i64::MAX)));
    }
    let s = after(s, "the").unwrap_or(s);
    Some(Target::Title(unquote(s).to_owned()))
}

fn parse(message: &str) -> Intent {
    let mut s = message.trim().trim_end_matches(['.', '!', '?', ' ']).trim();
    s = after_any(
        s,
        &[
            "please",
            "pls",
            "can you",
            "could you",
            "would you",
            "hey,",
            "ok,",
            "okay,",
        ],
    )
    .unwrap_or(s);
    s = before(s, "please")
        .unwrap_or(s)
        .trim_end_matches([',', ' ']);
    let lower = s.to_lowercase();
    let l = lower.as_str();

    if matches!(
        l,
        "" | "help"
            | "?"
            | "commands"
            | "what can you do"
            | "what can i say"
            | "what do you do"
            | "how does this work"
            | "how do i use this"
            | "options"
            | "menu"
    ) || l.starts_with("help ")
    {
        return Intent::Help;
    }
    if matches!(
        l,
        "hi" | "hello"
            | "hey"
            | "hi there"
            | "hello there"
            | "good morning"
            | "good evening"
            | "thanks"
            | "thank you"
            | "yo"
    ) {
        return Intent::Greeting;
    }
    if let Some(rest) = after_any(s, &["rename", "change", "update", "edit"])
        && let Some(i) = rest.to_ascii_lowercase().find(" to ")
        && let Some(t) = target(&rest[..i])
    {
        let title = unquote(&rest[i + 4..]).to_owned();
        if !title.is_empty() {
            return Intent::Rename(t, title);
        }
    }
    if let Some(rest) = after(s, "mark").or_else(|| after(s, "set")) {
        const UNDONE: &[&str] = &[
            " as not done",
            " as pending",
            " as incomplete",
            " as undone",
            " as open",
            " not done",
            " undone",
            " pending",
            " incomplete",
        ];
        const DONE: &[&str] = &[
            " as done",
            " as complete",
            " as completed",
            " as finished",
            " done",
            " complete",
            " completed",
            " finished",
        ];
        if let Some((rest, _)) = before_any(rest, UNDONE)
            && let Some(t) = target(rest)
        {
            return Intent::Complete(t, false);
        }
        if let Some((rest, _)) = before_any(rest, DONE)
            && let Some(t) = target(rest)
        {
            return Intent::Complete(t, true);
        }
    }
    if let Some(rest) = after_any(s, &["uncomplete", "reopen", "undo", "unmark"])
        && let Some(t) = target(rest)
    {
        return Intent::Complete(t, false);
    }
    if let Some(rest) = after_any(
        s,
        &[
            "complete",
            "finish",
            "done with",
            "done",
            "check off",
            "tick off",
            "i finished",
            "i completed",
            "i did",
            "i've done",
            "i have done",
        ],
    ) && let Some(t) = target(rest)
    {
        return Intent::Complete(t, true);
    }
    if let Some(rest) = after_any(
        s,
        &[
            "delete",
            "remove",
            "cancel",
            "drop",
            "erase",
            "get rid of",
            "forget about",
        ],
    ) && let Some(t) = target(rest)
    {
        return Intent::Delete(t);
    }
    if let Some(status) = list_status(l) {
        return Intent::List(status);
    }
    if let Some((rest, _)) = before_any(
        s,
        &[" is done", " is finished", " is complete", " is completed"],
    ) && let Some(t) = target(rest)
    {
        return Intent::Complete(t, true);
    }
    if let Some(rest) = after_any(
        s,
        &[
            "add a new task",
            "add a task",
            "add task",
            "add new task",
            "add",
            "create a new task",
            "create a task",
            "create task",
            "create",
            "new task",
            "new todo",
            "task:",
            "todo:",
            "to-do:",
            "remind me to",
            "remind me",
            "i need to",
            "i have to",
            "i must",
            "i should",
            "don't forget to",
            "dont forget to",
            "note to self:",
            "note to self",
        ],
    ) {
        let rest = rest.trim_start_matches([':', '-', ' ']);
        let rest = after_any(rest, &["to", "called", "named"]).unwrap_or(rest);
        let rest = before_any(
            rest,
            &[
                " to my list",
                " to the list",
                " to my tasks",
                " to my todo list",
                " to my to-do list",
                " to the todo list",
                " to my todos",
                " to the tasks",
            ],
        )
        .map(|(r, _)| r)
        .unwrap_or(rest);
        let title = unquote(rest);
        if !title.is_empty() {
            return Intent::Add(title.to_owned());
        }
    }
    Intent::Unknown
}

/// `Some(status)` when the message asks to see tasks.
fn list_status(l: &str) -> Option<&'static str> {
    let has = |words: &[&str]| words.iter().any(|w| l.contains(w));
    let direct = ["list", "show", "display", "view", "see "]
        .iter()
        .any(|p| l.starts_with(p));
    let question = [
        "what",
        "which",
        "do i have",
        "are there",
        "any ",
        "how many",
        "tell me",
        "give me",
        "get my",
    ]
    .iter()
    .any(|p| l.starts_with(p));
    let about_tasks = has(&[
        "task",
        "todo",
        "to do",
        "to-do",
        "pending",
        "completed",
        "done",
        "finished",
        "open",
        "remaining",
        "left",
        "list",
        "outstanding",
    ]);
    let bare = matches!(
        l,
        "tasks"
            | "my tasks"
            | "todos"
            | "my todos"
            | "pending"
            | "completed"
            | "done"
            | "all"
            | "all tasks"
            | "everything"
    );
    if !(direct || bare || (question && about_tasks)) {
        return None;
    }
    if has(&[
        "pending",
        "open",
        "remaining",
        "left",
        "incomplete",
        "unfinished",
        "not done",
        "outstanding",
        "to do",
        "todo",
        "still",
        "undone",
    ]) && !has(&["todo list", "todos"])
        && !l.split(|c: char| !c.is_alphanumeric()).any(|w| w == "all")
    {
        Some("pending")
    } else if has(&["completed", "done", "finished", "complete"]) {
        Some("completed")
    } else {
        Some("all")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: i64) -> Target {
        Target::Number(n)
    }
    fn title(s: &str) -> Target {
        Target::Title(s.to_owned())
    }

    #[test]
    fn understands_the_documented_phrasings() {
        let cases = [
            ("add buy milk", Intent::Add("buy milk".into())),
            (
                "remind me to call mom tomorrow",
                Intent::Add("call mom tomorrow".into()),
            ),
            ("what's pending?", Intent::List("pending")),
            ("show completed", Intent::List("completed")),
            ("mark 3 as done", Intent::Complete(id(3), true)),
            (
                "complete buy milk",
                Intent::Complete(title("buy milk"), true),
            ),
            ("delete task 2", Intent::Delete(id(2))),
            (
                "rename 4 to pay rent",
                Intent::Rename(id(4), "pay rent".into()),
            ),
            ("help", Intent::Help),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), want, "{text}");
        }
    }

    #[test]
    fn understands_variants() {
        let cases = [
            (
                "Add a task to Buy Milk to my list.",
                Intent::Add("Buy Milk".into()),
            ),
            (
                "please add \"water plants\"",
                Intent::Add("water plants".into()),
            ),
            ("new task: file taxes", Intent::Add("file taxes".into())),
            (
                "I need to renew my passport",
                Intent::Add("renew my passport".into()),
            ),
            ("list my tasks", Intent::List("all")),
            ("show me everything", Intent::List("all")),
            ("what do I have to do?", Intent::List("pending")),
            ("what have I finished", Intent::List("completed")),
            ("list my todo list", Intent::List("all")),
            ("show pending tasks like call mom", Intent::List("pending")),
            ("Mark task #7 complete", Intent::Complete(id(7), true)),
            ("mark 5 as not done", Intent::Complete(id(5), false)),
            ("reopen 5", Intent::Complete(id(5), false)),
            ("finish the report", Intent::Complete(title("report"), true)),
            (
                "buy milk is done",
                Intent::Complete(title("buy milk"), true),
            ),
            ("remove buy milk", Intent::Delete(title("buy milk"))),
            (
                "change task 4 to \"pay rent\"",
                Intent::Rename(id(4), "pay rent".into()),
            ),
            (
                "update buy milk to buy oat milk",
                Intent::Rename(title("buy milk"), "buy oat milk".into()),
            ),
            ("hello", Intent::Greeting),
            ("what can you do?", Intent::Help),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), want, "{text}");
        }
    }

    #[test]
    fn unknown_requests_call_no_tool() {
        for text in ["the weather is nice", "asdf", "add", "delete", "why?"] {
            assert_eq!(parse(text), Intent::Unknown, "{text}");
        }
    }

    #[test]
    fn clips_long_echoes() {
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("ab", 3), "ab");
    }
}
