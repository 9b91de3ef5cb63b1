// Todo chat page script. The page works without it; with it, task forms update the list in place
// and the chat talks to /api/{user}/chat through the frontend's proxy without reloading.
"use strict";

(function () {
  const user = document.body.dataset.user || "demo";

  // Replaces the task panel and notices with those of a freshly rendered page.
  function swapFrom(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    for (const id of ["tasks", "notices"]) {
      const fresh = doc.getElementById(id);
      const old = document.getElementById(id);
      if (fresh && old) old.replaceWith(document.adoptNode(fresh));
    }
  }

  async function refreshTasks() {
    const res = await fetch(location.pathname + location.search, { headers: { Accept: "text/html" } });
    if (res.ok) swapFrom(await res.text());
  }

  // Submits a task form in the background, then puts keyboard focus back where it was.
  async function submitTaskForm(form) {
    const focusId = form.classList.contains("add") ? "new-title" : null;
    const taskItem = form.closest("li[id]");
    const taskId = taskItem ? taskItem.id : null;
    form.setAttribute("aria-busy", "true");
    try {
      const res = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "text/html" },
      });
      swapFrom(await res.text());
    } catch (err) {
      form.submit();
      return;
    }
    const target =
      (focusId && document.getElementById(focusId)) ||
      (taskId && document.querySelector("#" + CSS.escape(taskId) + " button")) ||
      document.getElementById("tasks-heading");
    if (target) {
      if (target.id === "tasks-heading") target.setAttribute("tabindex", "-1");
      target.focus();
    }
  }

  // Loads an edit form (a link) without a full reload.
  async function followTaskLink(link) {
    const res = await fetch(link.href, { headers: { Accept: "text/html" } });
    if (!res.ok) { location.href = link.href; return; }
    swapFrom(await res.text());
    const hash = new URL(link.href).hash;
    const input = hash && document.querySelector(hash + " input:not([type=hidden])");
    if (input) input.focus();
  }

  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    if (form.dataset.enhance === "tasks") {
      ev.preventDefault();
      submitTaskForm(form);
    } else if (form.id === "chat-form") {
      ev.preventDefault();
      sendChat(form);
    }
  });

  document.addEventListener("click", (ev) => {
    const link = ev.target.closest && ev.target.closest("#task-list a[href^='/?']");
    if (link && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey) {
      ev.preventDefault();
      followTaskLink(link);
    }
  });

  function bubble(role, label, text) {
    const log = document.getElementById("chat-log");
    const hint = log.querySelector(".msg.hint");
    if (hint) hint.remove();
    const li = document.createElement("li");
    li.className = "msg " + role;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = label;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.append(who, body);
    log.append(li);
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function showTools(li, calls) {
    if (!calls || !calls.length) return;
    const tools = document.createElement("span");
    tools.className = "tools";
    tools.append("Tools used: ");
    calls.forEach((call, i) => {
      const code = document.createElement("code");
      code.textContent = call.name;
      if (i) tools.append(", ");
      tools.append(code);
    });
    li.append(tools);
  }

  async function sendChat(form) {
    const input = form.querySelector("#chat-message");
    const convInput = form.querySelector("input[name=conversation_id]");
    const message = input.value.trim();
    if (!message) return;
    bubble("user", "You", message);
    input.value = "";
    form.setAttribute("aria-busy", "true");
    const payload = { message };
    if (convInput.value) payload.conversation_id = Number(convInput.value);
    try {
      const res = await fetch("/api/" + encodeURIComponent(user) + "/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload),
      });
      const data = await res.json().catch(() => null);
      if (!res.ok || !data) {
        const why = data && data.error ? data.error.message : "HTTP " + res.status;
        bubble("error", "Error", "The message could not be sent: " + why);
        return;
      }
      convInput.value = String(data.conversation_id);
      document.cookie = "todo_conversation=" + data.conversation_id + "; Path=/; Max-Age=31536000; SameSite=Lax" +
        (location.protocol === "https:" ? "; Secure" : "");
      showTools(bubble("assistant", "Assistant", data.response), data.tool_calls);
      if (data.tool_calls && data.tool_calls.length) await refreshTasks();
    } catch (err) {
      bubble("error", "Error", "The message could not be sent: the server cannot be reached.");
    } finally {
      form.removeAttribute("aria-busy");
      input.focus();
    }
  }
})();
