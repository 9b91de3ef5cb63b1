//! The HTTP edge of `/mcp`: everything the MCP library would answer in plain text is answered
//! here first, in the API's language.
//!
//! - a `Host` outside the allow-list: 403 `host_not_allowed` (against DNS rebinding);
//! - a method other than POST: 405 with `Allow: POST`; an `Accept` without both
//!   `application/json` and `text/event-stream`: 406; a body that is not `application/json`:
//!   415; a body over the limit, with `Content-Length` or chunked: 413. All in the JSON error
//!   shape `{"error":{"code","message"}}`.
//! - a body that reaches JSON-RPC but is not JSON: 400 with JSON-RPC error -32700; JSON that is
//!   not a JSON-RPC 2.0 message (a batch, a key given twice): -32600; a well-formed message
//!   whose params do not fit its method: -32602.
//!
//! Any other non-JSON error the library still gives is rewritten into the JSON error shape.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Value, json};

use crate::error::{ApiError, json_error};
use crate::state::AppState;

/// The largest error body of the MCP library that is rewritten (its messages are short).
const LIBRARY_ERROR_MAX: usize = 16 * 1024;

/// Refuses requests whose `Host` (or HTTP/2 authority) is not allowed.
pub async fn check_host(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or_default();
    if !state.mcp_hosts.allows(host) {
        return ApiError::HostNotAllowed(format!(
            "host {host:?} is not allowed for /mcp; add it to MCP_ALLOWED_HOSTS"
        ))
        .into_response();
    }
    next.run(req).await
}

/// Checks method, headers and body, then passes a well-formed JSON-RPC message on.
pub async fn gate(State(limit): State<usize>, req: Request, next: Next) -> Response {
    match admit(limit, req).await {
        Ok(req) => rewrite_library_error(next.run(req).await).await,
        Err(response) => response,
    }
}

async fn admit(limit: usize, req: Request) -> Result<Request, Response> {
    if req.method() != Method::POST {
        let mut response = ApiError::MethodNotAllowed.into_response();
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return Err(response);
    }
    let headers = req.headers();
    if !accepts_json_and_sse(headers) {
        return Err(ApiError::NotAcceptable(
            "Accept must list both application/json and text/event-stream".into(),
        )
        .into_response());
    }
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType(
            "expected Content-Type: application/json".into(),
        )
        .into_response());
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge.into_response());
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(ApiError::PayloadTooLarge.into_response());
        }
        Err(e) => {
            return Err(ApiError::BadRequest {
                code: "bad_request",
                message: format!("the request body could not be read: {e}"),
            }
            .into_response());
        }
    };
    check_json_rpc(&bytes).map_err(IntoResponse::into_response)?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    let mut json = false;
    let mut sse = false;
    for value in headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        for entry in value.split(',') {
            let mut params = entry.split(';');
            let essence = params.next().unwrap_or_default().trim();
            let refused = params.any(|p| {
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("q")
                        && v.trim().parse::<f32>().is_ok_and(|q| q == 0.0)
                })
            });
            if refused {
                continue;
            }
            json |= essence.eq_ignore_ascii_case("application/json");
            sse |= essence.eq_ignore_ascii_case("text/event-stream");
        }
    }
    json && sse
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// A JSON-RPC error for a message that cannot be handled.
#[derive(Debug)]
struct RpcError {
    code: i64,
    message: String,
    id: Value,
}

fn rpc_error(code: i64, message: &str, id: Value) -> RpcError {
    RpcError {
        code,
        message: message.to_owned(),
        id,
    }
}

impl IntoResponse for RpcError {
    /// HTTP 400 with the JSON-RPC error object as the body.
    fn into_response(self) -> Response {
        let body = json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": { "code": self.code, "message": self.message },
        });
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    }
}

/// -32700 for text that is not JSON, -32600 for JSON that is not a JSON-RPC 2.0 message,
/// -32602 for a message whose params do not fit its method.
fn check_json_rpc(bytes: &Bytes) -> Result<(), RpcError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| rpc_error(-32700, &format!("Parse error: {e}"), Value::Null))?;
    let id = value
        .get("id")
        .filter(|id| id.is_string() || id.is_number())
        .cloned()
        .unwrap_or(Value::Null);
    let envelope_ok = value.as_object().is_some_and(|m| {
        let id_ok = m
            .get("id")
            .is_none_or(|id| id.is_string() || id.is_number() || id.is_null());
        let kind_ok = match m.get("method") {
            Some(method) => method.is_string(),
            None => m.contains_key("result") || m.contains_key("error"),
        };
        m.get("jsonrpc").and_then(Value::as_str) == Some("2.0") && id_ok && kind_ok
    });
    if !envelope_ok {
        return Err(rpc_error(
            -32600,
            "Invalid Request: expected a JSON-RPC 2.0 object with \"jsonrpc\":\"2.0\" and a string \"method\"",
            id,
        ));
    }
    // The library parses the bytes, so they are what is checked. Its types refuse a key given
    // twice (which it would answer with a 415), where the `Value` above kept the last one: when
    // the bytes fail but the `Value` fits, such a duplicate is the difference, an invalid
    // request rather than invalid params.
    let Err(bytes_error) = serde_json::from_slice::<rmcp::model::ClientJsonRpcMessage>(bytes)
    else {
        return Ok(());
    };
    match serde_json::from_value::<rmcp::model::ClientJsonRpcMessage>(value) {
        Err(e) => Err(rpc_error(-32602, &format!("Invalid params: {e}"), id)),
        Ok(_) => Err(rpc_error(
            -32600,
            &format!("Invalid Request: {bytes_error}"),
            id,
        )),
    }
}

/// Turns a non-JSON error answer of the MCP library into the JSON error shape, same status.
async fn rewrite_library_error(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match Limited::new(body, LIBRARY_ERROR_MAX).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes())
            .trim()
            .to_owned(),
        Err(_) => String::new(),
    };
    if status.is_server_error() {
        tracing::error!(%status, message = %text, "MCP request failed");
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal_error",
        _ => "mcp_error",
    };
    let message = if status.is_server_error() || text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned()
    } else {
        text
    };
    let mut rewritten = json_error(status, code, &message);
    for name in [ALLOW, axum::http::header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn code_of(body: &str) -> Option<i64> {
        let response = check_json_rpc(&Bytes::from(body.to_owned()))
            .err()?
            .into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let value: Value = serde_json::from_slice(&bytes).expect("JSON-RPC error body");
        assert_eq!(value["jsonrpc"], "2.0");
        value["error"]["code"].as_i64()
    }

    #[tokio::test]
    async fn classifies_bodies() {
        assert_eq!(code_of("").await, Some(-32700));
        assert_eq!(code_of("{\"jsonrpc\":").await, Some(-32700));
        assert_eq!(code_of("[1,2]").await, Some(-32600));
        assert_eq!(code_of("{\"hello\":1}").await, Some(-32600));
        assert_eq!(
            code_of("{\"jsonrpc\":\"1.0\",\"method\":\"ping\",\"id\":1}").await,
            Some(-32600)
        );
        assert_eq!(
            code_of("{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":1}").await,
            Some(-32600)
        );
        assert_eq!(
            code_of("{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"id\":1,\"params\":5}").await,
            Some(-32602)
        );
        assert_eq!(
            code_of("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"method\":\"ping\",\"id\":1}").await,
            Some(-32600)
        );
        assert_eq!(
            code_of("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}").await,
            None
        );
    }

    #[test]
    fn accept_needs_both_types() {
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(ACCEPT, HeaderValue::from_str(v).expect("header"));
            h
        };
        assert!(accepts_json_and_sse(&headers(
            "application/json, text/event-stream"
        )));
        assert!(accepts_json_and_sse(&headers(
            "text/event-stream;q=0.5, Application/JSON"
        )));
        assert!(!accepts_json_and_sse(&headers("application/json")));
        assert!(!accepts_json_and_sse(&headers(
            "application/json, text/event-stream;q=0"
        )));
        assert!(!accepts_json_and_sse(&HeaderMap::new()));
    }
}
