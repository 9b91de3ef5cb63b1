use chrono::Utc;

use super::{Store, StoreError, on_pool};
use crate::domain::UserId;

/// A registered account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub user_id: String,
    pub email: String,
    pub password_hash: String,
}

impl Store {
    /// Registers an account; [`StoreError::EmailTaken`] when the email exists.
    pub async fn insert_user(
        &self,
        user: &UserId,
        email: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let sql =
            "INSERT INTO users (user_id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)";
        let result = on_pool!(self, pool => sqlx::query(sql)
            .bind(user.as_str())
            .bind(email)
            .bind(password_hash)
            .bind(Utc::now())
            .execute(pool)
            .await
            .map(|_| ()));
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::EmailTaken),
            other => Ok(other?),
        }
    }

    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = "SELECT user_id, email, password_hash FROM users WHERE email = $1";
        Ok(on_pool!(self, pool => sqlx::query_as::<_, UserRecord>(sql)
            .bind(email)
            .fetch_optional(pool)
            .await?))
    }
}
