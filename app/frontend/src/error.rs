//! The one error type of the frontend's own answers and its one mapping to a status and a JSON
//! body.
//!
//! The proxy passes the backend's answers (errors included) through unchanged; everything the
//! frontend answers by itself on failure (backend unreachable or hung, a deadline passed, a
//! request that did not arrive in time, a request body that broke off, a refused cross-site
//! form, an unknown path or method, a form, query or path that does not parse, shutting down)
//! is an [`AppError`] and answers `{"error":{"code":"snake_case","message":"..."}}`, the
//! backend's shape.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::backend::BackendError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No connection to the backend, or its answer could not be read.
    #[error("the backend cannot be reached")]
    BackendUnavailable,
    /// The backend did not answer within the proxy's deadline.
    #[error("the backend did not answer in time")]
    BackendTimeout,
    /// A page or form did not finish within its deadline.
    #[error("the page took too long to prepare")]
    PageTimeout,
    /// The client did not send the whole request in time.
    #[error("the request was not received in time")]
    RequestTimeout,
    /// The client's request body could not be read to its end (bad chunked framing, or the
    /// client stopped sending before its `Content-Length`): the client's mistake, not the
    /// backend's.
    #[error("the request body could not be read: it is malformed or ended early")]
    BrokenBody,
    /// No route has this path (or no asset this name).
    #[error("{0}")]
    NotFound(&'static str),
    /// The path exists, the method does not.
    #[error("the method is not allowed on this path")]
    MethodNotAllowed,
    /// A form, query or path the extractors could not read: the status they chose (400, 413,
    /// 415 or 422), a code, and their explanation.
    #[error("{message}")]
    Rejected {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// A state-changing form came from another site.
    #[error("{0}")]
    CrossSite(&'static str),
    /// The process is stopping; readiness probes see this.
    #[error("the frontend is shutting down")]
    ShuttingDown,
}

impl AppError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BackendUnavailable => (StatusCode::BAD_GATEWAY, "backend_unavailable"),
            Self::BackendTimeout => (StatusCode::GATEWAY_TIMEOUT, "backend_timeout"),
            Self::PageTimeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, todo_serve::TIMEOUT_CODE),
            Self::BrokenBody => (StatusCode::BAD_REQUEST, "invalid_body"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Rejected { status, code, .. } => (*status, code),
            Self::CrossSite(_) => (StatusCode::FORBIDDEN, "cross_site_request"),
            Self::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"),
        }
    }

    /// The `408` the serve loop sends when a request body is late.
    pub fn request_timeout() -> Response {
        Self::RequestTimeout.into_response()
    }
}

impl From<&BackendError> for AppError {
    fn from(e: &BackendError) -> Self {
        match e {
            BackendError::Timeout(_) => Self::BackendTimeout,
            _ => Self::BackendUnavailable,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = json!({ "error": { "code": code, "message": self.to_string() } });
        let mut resp = (status, Json(body)).into_response();
        resp.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn every_variant_answers_the_json_shape() {
        for e in [
            AppError::BackendUnavailable,
            AppError::BackendTimeout,
            AppError::PageTimeout,
            AppError::RequestTimeout,
            AppError::BrokenBody,
            AppError::NotFound("no such page"),
            AppError::MethodNotAllowed,
            AppError::Rejected {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid_form",
                message: "no".into(),
            },
            AppError::CrossSite("no"),
            AppError::ShuttingDown,
        ] {
            let (status, code) = e.status_and_code();
            let message = e.to_string();
            let resp = e.into_response();
            assert_eq!(resp.status(), status);
            assert_eq!(resp.headers()["content-type"], "application/json");
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(body["error"]["code"], code);
            assert_eq!(body["error"]["message"], message);
        }
    }
}
