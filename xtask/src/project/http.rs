//! A small blocking HTTP client for the end-to-end checks: plain HTTP/1.1 to the app through a
//! port-forward or a NodePort URL, JSON bodies, and the MCP streamable HTTP handshake.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    headers: Vec<(String, String)>,
}

impl Answer {
    pub fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.body).with_context(|| {
            format!(
                "the answer ({}) is not JSON: {}",
                self.status,
                self.body.chars().take(200).collect::<String>()
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A client with one timeout for every request.
pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    pub fn new(timeout: Duration) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        Client { agent }
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer> {
        let mut req = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = match body {
            Some(b) => {
                let req = req
                    .header("content-type", "application/json")
                    .body(b.to_string())
                    .map_err(|e| anyhow!("bad request {method} {url}: {e}"))?;
                self.agent.run(req)
            }
            None => {
                let req = req
                    .body(())
                    .map_err(|e| anyhow!("bad request {method} {url}: {e}"))?;
                self.agent.run(req)
            }
        };
        let mut resp = resp.map_err(|e| anyhow!("{method} {url}: {e}"))?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let body = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| anyhow!("{method} {url}: reading the answer: {e}"))?;
        Ok(Answer {
            status,
            content_type,
            body,
            headers,
        })
    }

    pub fn get(&self, url: &str) -> Result<Answer> {
        self.send("GET", url, None, &[])
    }

    /// Polls `url` until it answers 2xx, for at most `limit`.
    pub fn wait_ok(&self, url: &str, limit: Duration) -> Result<Answer> {
        let started = Instant::now();
        loop {
            let last = match self.get(url) {
                Ok(a) if (200..300).contains(&a.status) => return Ok(a),
                Ok(a) => format!("answered {}", a.status),
                Err(e) => format!("{e:#}"),
            };
            if started.elapsed() >= limit {
                bail!(
                    "{url} did not answer 2xx within {}s: {last}",
                    limit.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The MCP protocol version the client offers in `initialize`.
pub const MCP_PROTOCOL: &str = "2025-06-18";

/// Speaks MCP over streamable HTTP: `initialize`, `notifications/initialized`, then requests.
/// Answers may come as JSON or as a server-sent event stream; both are read.
pub struct Mcp<'a> {
    client: &'a Client,
    url: String,
    session: Option<String>,
    protocol: String,
    /// `Bearer <token>` when the API needs one.
    auth: Option<String>,
    next_id: u64,
}

impl<'a> Mcp<'a> {
    pub fn connect(client: &'a Client, url: &str, token: Option<&str>) -> Result<Mcp<'a>> {
        let mut mcp = Mcp {
            client,
            url: url.to_string(),
            session: None,
            protocol: MCP_PROTOCOL.to_string(),
            auth: token.map(|t| format!("Bearer {t}")),
            next_id: 1,
        };
        let (answer, result) = mcp.request(
            "initialize",
            json!({
                "protocolVersion": MCP_PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "xtask-verify", "version": env!("CARGO_PKG_VERSION")},
            }),
        )?;
        mcp.session = answer.header("mcp-session-id").map(str::to_string);
        if let Some(v) = result.get("protocolVersion").and_then(Value::as_str) {
            mcp.protocol = v.to_string();
        }
        mcp.notify("notifications/initialized")?;
        Ok(mcp)
    }

    fn headers(&self) -> Vec<(&str, &str)> {
        let mut h = vec![
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", self.protocol.as_str()),
        ];
        if let Some(s) = &self.session {
            h.push(("mcp-session-id", s.as_str()));
        }
        if let Some(a) = &self.auth {
            h.push(("authorization", a.as_str()));
        }
        h
    }

    fn notify(&mut self, method: &str) -> Result<()> {
        let body = json!({"jsonrpc": "2.0", "method": method});
        let a = self
            .client
            .send("POST", &self.url, Some(&body), &self.headers())?;
        if !(200..300).contains(&a.status) {
            bail!("MCP {method}: HTTP {} {}", a.status, a.body.trim());
        }
        Ok(())
    }

    /// One JSON-RPC request; returns the HTTP answer and the `result` member.
    pub fn request(&mut self, method: &str, params: Value) -> Result<(Answer, Value)> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let a = self
            .client
            .send("POST", &self.url, Some(&body), &self.headers())?;
        if !(200..300).contains(&a.status) {
            bail!(
                "MCP {method}: HTTP {} {}",
                a.status,
                a.body.chars().take(300).collect::<String>()
            );
        }
        let message = rpc_message(&a, id)?;
        if let Some(err) = message.get("error") {
            bail!("MCP {method}: error {err}");
        }
        let result = message
            .get("result")
            .cloned()
            .ok_or_else(|| anyhow!("MCP {method}: the answer has no result: {message}"))?;
        Ok((a, result))
    }
}

/// The JSON-RPC message with `id` from a JSON body or a `text/event-stream` body.
pub fn rpc_message(a: &Answer, id: u64) -> Result<Value> {
    if a.content_type.starts_with("text/event-stream") {
        for event in a.body.split("\n\n") {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            if data.is_empty() {
                continue;
            }
            if let Ok(v) = serde_json::from_str::<Value>(&data.join("\n"))
                && v.get("id").and_then(Value::as_u64) == Some(id)
            {
                return Ok(v);
            }
        }
        bail!("the event stream holds no answer to request {id}")
    } else {
        a.json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(ct: &str, body: &str) -> Answer {
        Answer {
            status: 200,
            content_type: ct.into(),
            body: body.into(),
            headers: Vec::new(),
        }
    }

    #[test]
    fn rpc_from_json_and_event_stream() {
        let j = answer(
            "application/json",
            r#"{"jsonrpc":"2.0","id":2,"result":{}}"#,
        );
        assert_eq!(rpc_message(&j, 2).expect("json")["id"], 2);
        let sse = answer(
            "text/event-stream",
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}\n\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tools\":[]}}\n\n",
        );
        assert_eq!(
            rpc_message(&sse, 3).expect("sse")["result"]["tools"],
            json!([])
        );
        assert!(rpc_message(&sse, 9).is_err());
    }
}
