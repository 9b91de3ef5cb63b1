use chrono::Utc;

use super::{Store, StoreError, on_pool};
use crate::domain::{Conversation, Message, Role, UserId};

impl Store {
    pub async fn get_conversation(
        &self,
        user: &UserId,
        id: i64,
    ) -> Result<Option<Conversation>, StoreError> {
        let sql = "SELECT id, user_id, created_at, updated_at FROM conversations \
                   WHERE id = $1 AND user_id = $2";
        Ok(
            on_pool!(self, pool => sqlx::query_as::<_, Conversation>(sql)
            .bind(id)
            .bind(user.as_str())
            .fetch_optional(pool)
            .await?),
        )
    }

    /// The user's conversations, most recently active first.
    pub async fn list_conversations(&self, user: &UserId) -> Result<Vec<Conversation>, StoreError> {
        let sql = "SELECT id, user_id, created_at, updated_at FROM conversations \
                   WHERE user_id = $1 ORDER BY updated_at DESC, id DESC";
        Ok(
            on_pool!(self, pool => sqlx::query_as::<_, Conversation>(sql)
            .bind(user.as_str())
            .fetch_all(pool)
            .await?),
        )
    }

    /// The conversation's messages, oldest first.
    pub async fn list_messages(
        &self,
        user: &UserId,
        conversation_id: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = "SELECT id, conversation_id, user_id, role, content, created_at FROM messages \
                   WHERE conversation_id = $1 AND user_id = $2 ORDER BY id ASC";
        Ok(on_pool!(self, pool => sqlx::query_as::<_, Message>(sql)
            .bind(conversation_id)
            .bind(user.as_str())
            .fetch_all(pool)
            .await?))
    }

    /// Stores one chat turn in a single transaction: the conversation (created when
    /// `conversation_id` is `None`), then `messages` in order, then the conversation's
    /// `updated_at`. Either all of it is written or nothing is.
    pub async fn save_turn(
        &self,
        user: &UserId,
        conversation_id: Option<i64>,
        messages: &[(Role, &str)],
    ) -> Result<i64, StoreError> {
        let now = Utc::now();
        let create = "INSERT INTO conversations (user_id, created_at, updated_at) \
                      VALUES ($1, $2, $2) RETURNING id";
        let insert = "INSERT INTO messages (conversation_id, user_id, role, content, created_at) \
                      VALUES ($1, $2, $3, $4, $5)";
        let touch = "UPDATE conversations SET updated_at = $2 WHERE id = $1";
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = match conversation_id {
                Some(id) => id,
                None => {
                    sqlx::query_scalar::<_, i64>(create)
                        .bind(user.as_str())
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?
                }
            };
            for (role, content) in messages {
                sqlx::query(insert)
                    .bind(id)
                    .bind(user.as_str())
                    .bind(role.as_str())
                    .bind(*content)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(touch).bind(id).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            id
        }))
    }
}
