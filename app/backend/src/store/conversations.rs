use chrono::Utc;

use super::{Store, StoreError, on_pool};
use crate::domain::{Conversation, Message, Role, UserId};

impl Store {
    pub async fn create_conversation(&self, user: &UserId) -> Result<Conversation, StoreError> {
        let sql = "INSERT INTO conversations (user_id, created_at, updated_at) VALUES ($1, $2, $2) \
                   RETURNING id, user_id, created_at, updated_at";
        Ok(
            on_pool!(self, pool => sqlx::query_as::<_, Conversation>(sql)
            .bind(user.as_str())
            .bind(Utc::now())
            .fetch_one(pool)
            .await?),
        )
    }

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

    /// Appends a message and marks the conversation as active now.
    pub async fn append_message(
        &self,
        user: &UserId,
        conversation_id: i64,
        role: Role,
        content: &str,
    ) -> Result<Message, StoreError> {
        let now = Utc::now();
        let insert = "INSERT INTO messages (conversation_id, user_id, role, content, created_at) \
                      VALUES ($1, $2, $3, $4, $5) \
                      RETURNING id, conversation_id, user_id, role, content, created_at";
        let touch = "UPDATE conversations SET updated_at = $2 WHERE id = $1";
        Ok(on_pool!(self, pool => {
            let message = sqlx::query_as::<_, Message>(insert)
                .bind(conversation_id)
                .bind(user.as_str())
                .bind(role.as_str())
                .bind(content)
                .bind(now)
                .fetch_one(pool)
                .await?;
            sqlx::query(touch).bind(conversation_id).bind(now).execute(pool).await?;
            message
        }))
    }
}
