//! `GET /assets/{name}`: embedded files by content-hashed name, cached for a year.

use crate::routes::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

pub async fn asset(Path(name): Path<String>) -> Response {
    match crate::assets::find(&name) {
        Some(a) => (
            [
                (CONTENT_TYPE, a.content_type),
                (CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            a.bytes,
        )
            .into_response(),
        None => AppError::NotFound("no such asset").into_response(),
    }
}
