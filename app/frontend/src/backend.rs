//! The HTTP client that talks to the backend, for the proxy and for the pages.
//!
//! One pooled hyper client with a connect timeout; every call also has an overall deadline so a
//! hung backend never hangs a page.

use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::BackendUrl;

/// How long a TCP connect to the backend may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the backend may take to start answering a proxied request (a chat turn with a
/// remote model can be slow).
pub const PROXY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a proxied answer's body may stall (the backend sending nothing more) before it is
/// cut off. The backend computes each answer before it sends the head, so its body flows at once.
pub const PROXY_BODY_IDLE: Duration = Duration::from_secs(15);
/// How long a page waits for one backend call before showing the "unavailable" notice.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a form waits for slow backend work: a chat turn or a password hash.
pub const SLOW_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest JSON answer a page reads from the backend.
const MAX_JSON: usize = 4 * 1024 * 1024;

/// Why a backend call gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("the backend could not be reached: {0}")]
    Unreachable(String),
    #[error("the backend did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the backend answered {status}: {message}")]
    Status {
        status: StatusCode,
        code: String,
        message: String,
    },
    #[error("the backend's answer could not be read: {0}")]
    BadAnswer(String),
}

impl BackendError {
    /// True when the backend is down or hung rather than refusing the request.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::Timeout(_))
    }

    /// The HTTP status of an answered call, if any.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A cheap-to-clone handle on the backend.
#[derive(Clone)]
pub struct Backend {
    client: Client<HttpConnector, Body>,
    base: BackendUrl,
    body_idle: Duration,
}

impl Backend {
    pub fn new(base: BackendUrl) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Self {
            client,
            base,
            body_idle: PROXY_BODY_IDLE,
        }
    }

    /// The same backend with another [`PROXY_BODY_IDLE`] (tests shorten it).
    pub fn with_body_idle(mut self, idle: Duration) -> Self {
        self.body_idle = idle;
        self
    }

    pub fn base(&self) -> &BackendUrl {
        &self.base
    }

    /// How long a proxied answer's body may stall.
    pub fn body_idle(&self) -> Duration {
        self.body_idle
    }

    /// Sends `req` (whose URI holds only a path and query) to the backend and returns the
    /// streaming answer once its head arrives.
    pub async fn send(
        &self,
        mut req: Request<Body>,
        timeout: Duration,
    ) -> Result<Response<Incoming>, BackendError> {
        let path_and_query = req
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        *req.uri_mut() = self
            .base
            .join(&path_and_query)
            .map_err(|e| BackendError::BadAnswer(format!("bad path {path_and_query:?}: {e}")))?;
        match tokio::time::timeout(timeout, self.client.request(req)).await {
            Err(_) => Err(BackendError::Timeout(timeout)),
            Ok(Err(e)) => Err(BackendError::Unreachable(error_chain(&e))),
            Ok(Ok(resp)) => Ok(resp),
        }
    }

    /// One JSON call: `body` is sent as JSON when given; a 2xx answer is decoded as `T`
    /// (an empty 204 answer decodes from `null`), anything else becomes [`BackendError`].
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&impl Serialize>,
    ) -> Result<T, BackendError> {
        self.call_within(PAGE_TIMEOUT, method, path, token, body)
            .await
    }

    /// [`Self::call`] with its own deadline.
    pub async fn call_within<T: DeserializeOwned>(
        &self,
        timeout: Duration,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&impl Serialize>,
    ) -> Result<T, BackendError> {
        self.call_with_headers(timeout, method, path, token, body)
            .await
            .map(|(_, value)| value)
    }

    /// [`Self::call_within`] that also returns the answer's headers (a list's next cursor).
    pub async fn call_with_headers<T: DeserializeOwned>(
        &self,
        timeout: Duration,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&impl Serialize>,
    ) -> Result<(hyper::HeaderMap, T), BackendError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(ACCEPT, "application/json");
        if let Some(token) = token
            && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
        {
            builder = builder.header(AUTHORIZATION, value);
        }
        let body = match body {
            Some(b) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                Body::from(
                    serde_json::to_vec(b).map_err(|e| BackendError::BadAnswer(e.to_string()))?,
                )
            }
            None => Body::empty(),
        };
        let req = builder
            .body(body)
            .map_err(|e| BackendError::BadAnswer(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + timeout;
        let resp = self.send(req, timeout).await?;
        let status = resp.status();
        let (parts, body) = resp.into_parts();
        let bytes = tokio::time::timeout_at(deadline, read_limited(body))
            .await
            .map_err(|_| BackendError::Timeout(timeout))??;
        if !status.is_success() {
            return Err(status_error(status, &bytes));
        }
        let bytes = if bytes.is_empty() {
            Bytes::from_static(b"null")
        } else {
            bytes
        };
        let value =
            serde_json::from_slice(&bytes).map_err(|e| BackendError::BadAnswer(e.to_string()))?;
        Ok((parts.headers, value))
    }
}

async fn read_limited(body: Incoming) -> Result<Bytes, BackendError> {
    Limited::new(body, MAX_JSON)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| BackendError::BadAnswer(e.to_string()))
}

/// Reads the backend's `{"error":{"code","message"}}` shape, falling back to the status text.
fn status_error(status: StatusCode, body: &[u8]) -> BackendError {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.pointer(&format!("/error/{name}")))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    BackendError::Status {
        status,
        code: field("code").unwrap_or_else(|| "backend_error".into()),
        message: field("message")
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
    }
}

/// The error and its sources on one line, for logs and 502 messages.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shape_is_read() {
        let e = status_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            br#"{"error":{"code":"invalid_title","message":"title is empty"}}"#,
        );
        match e {
            BackendError::Status { code, message, .. } => {
                assert_eq!(code, "invalid_title");
                assert_eq!(message, "title is empty");
            }
            other => panic!("{other:?}"),
        }
        let e = status_error(StatusCode::NOT_FOUND, b"<html>");
        assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
        assert!(e.to_string().contains("Not Found"));
    }
}
