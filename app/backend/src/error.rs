//! The one error type of the HTTP API and its one mapping to a status and a JSON body.
//!
//! Every error answers `{"error":{"code":"snake_case","message":"..."}}`. 5xx bodies never carry
//! internals; the cause chain goes to the log once, here.

use std::time::Duration;

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::agent::AgentError;
use crate::domain::ValidationError;
use crate::store::StoreError;
use crate::tools::ToolError;

/// Everything a handler can fail with.
#[derive(thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body is larger than the 64 KiB limit")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after: Duration,
    },
    #[error("the server is busy; retry shortly")]
    Busy { retry_after: Duration },
    #[error("{0}")]
    HostNotAllowed(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{0}")]
    AuthDisabled(String),
    #[error("the language model failed: {0}")]
    Model(String),
    #[error("the database is not ready")]
    NotReady,
    #[error("the request took too long")]
    Timeout,
    #[error("the request was not received in time")]
    RequestTimeout,
    #[error("the backend is shutting down")]
    ShuttingDown,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl std::fmt::Debug for ApiError {
    /// Prints the whole cause chain, for the log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::Validation(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.code),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::NotAcceptable(_) => (StatusCode::NOT_ACCEPTABLE, "not_acceptable"),
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            Self::HostNotAllowed(_) => (StatusCode::FORBIDDEN, "host_not_allowed"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            Self::AuthDisabled(_) => (StatusCode::NOT_FOUND, "auth_disabled"),
            Self::Model(_) => (StatusCode::BAD_GATEWAY, "model_error"),
            Self::NotReady => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            Self::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, todo_serve::TIMEOUT_CODE),
            Self::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    /// When to try again, for `Retry-After`.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::TooManyRequests { retry_after, .. } | Self::Busy { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }
}

/// Whole seconds, rounded up, at least 1.
fn retry_after_header(wait: Duration) -> HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

/// The JSON error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable code for programs and a message for people.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// A response in the JSON error shape for a status and code that no [`ApiError`] names (used to
/// rewrite the plain-text errors of libraries).
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message: message.to_owned(),
        },
    };
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let retry_after = self.retry_after();
        if status.is_server_error() && retry_after.is_none() {
            tracing::error!(error = ?self, code, "request failed");
        } else {
            tracing::debug!(error = %self, code, "request rejected");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: self.to_string(),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(wait) = retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, retry_after_header(wait));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::EmailTaken => Self::Conflict {
                code: "email_taken",
                message: e.to_string(),
            },
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<ToolError> for ApiError {
    fn from(e: ToolError) -> Self {
        match e {
            // `TaskRef` already reads "task 12" (or "task #3").
            ToolError::NotFound(id) => Self::NotFound(format!("{id} not found")),
            ToolError::Invalid(v) => Self::Validation(v),
            ToolError::UnknownTool(_) => Self::Internal(Box::new(e)),
            ToolError::Store(s) => s.into(),
        }
    }
}

impl From<AgentError> for ApiError {
    fn from(e: AgentError) -> Self {
        match e {
            AgentError::Model(message) => Self::Model(message),
            AgentError::Store(s) => s.into(),
        }
    }
}

/// `axum::Json` whose rejections answer in the JSON error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejection.into()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => {
                Self::Validation(ValidationError::new("invalid_body", e.body_text()))
            }
            JsonRejection::JsonSyntaxError(e) => Self::BadRequest {
                code: "malformed_json",
                message: e.body_text(),
            },
            JsonRejection::MissingJsonContentType(_) => {
                Self::UnsupportedMediaType("expected Content-Type: application/json".to_owned())
            }
            other => unreadable_body(other.status(), other.body_text()),
        }
    }
}

/// A body read as bytes (not through `Json`): its rejections in the JSON error shape.
impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        unreadable_body(rejection.status(), rejection.body_text())
    }
}

/// A body that could not be read at all: over the size limit (413), else a broken encoding
/// (400 `bad_request`).
fn unreadable_body(status: StatusCode, message: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest {
            code: "bad_request",
            message,
        }
    }
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `error: cause: cause…` on one line, for logs.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
