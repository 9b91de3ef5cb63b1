//! axum's `Form`, `Query` and `Path` with their rejections in the JSON error shape.
//!
//! axum's own rejections answer in plain text; these wrappers keep their status (400, 413, 415
//! or 422) and explanation and answer an [`AppError::Rejected`] like every other failure of the
//! frontend.

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A form body (`application/x-www-form-urlencoded`).
pub struct Form<T>(pub T);

/// The query string of a page.
pub struct Query<T>(pub T);

/// The path parameters of a route.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(value)| Self(value))
            .map_err(|e: FormRejection| rejected(e.status(), "invalid_form", e.body_text()))
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|e: QueryRejection| rejected(e.status(), "invalid_query", e.body_text()))
    }
}

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|e: PathRejection| rejected(e.status(), "invalid_path", e.body_text()))
    }
}

/// The code of a rejection: its own for a body too large or of the wrong type, else `code`.
fn rejected(status: StatusCode, code: &'static str, message: String) -> AppError {
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ => code,
    };
    AppError::Rejected {
        status,
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_type_rejections_keep_their_own_codes() {
        for (status, code) in [
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_form"),
        ] {
            let e = rejected(status, "invalid_form", "why".into());
            assert_eq!(e.status_and_code(), (status, code));
            assert_eq!(e.to_string(), "why");
        }
    }
}
