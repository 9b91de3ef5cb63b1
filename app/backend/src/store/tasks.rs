use chrono::Utc;

use super::{Store, StoreError, on_pool};
use crate::domain::{StatusFilter, Task, TaskDescription, TaskId, TaskTitle, UserId};

/// The fields an update sets; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct TaskChanges {
    pub title: Option<TaskTitle>,
    pub description: Option<TaskDescription>,
    pub completed: Option<bool>,
}

impl Store {
    pub async fn insert_task(
        &self,
        user: &UserId,
        title: &TaskTitle,
        description: &TaskDescription,
    ) -> Result<Task, StoreError> {
        let now = Utc::now();
        let sql = "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at) \
             VALUES ($1, $2, $3, FALSE, $4, $4) \
             RETURNING id, user_id, title, description, completed, created_at, updated_at";
        Ok(on_pool!(self, pool => sqlx::query_as::<_, Task>(sql)
            .bind(user.as_str())
            .bind(title.as_str())
            .bind(description.as_str())
            .bind(now)
            .fetch_one(pool)
            .await?))
    }

    /// The user's tasks, newest first.
    pub async fn list_tasks(
        &self,
        user: &UserId,
        filter: StatusFilter,
    ) -> Result<Vec<Task>, StoreError> {
        let sql = match filter {
            StatusFilter::All => {
                "SELECT id, user_id, title, description, completed, created_at, updated_at \
                 FROM tasks WHERE user_id = $1 ORDER BY id DESC"
            }
            StatusFilter::Pending => {
                "SELECT id, user_id, title, description, completed, created_at, updated_at \
                 FROM tasks WHERE user_id = $1 AND completed = FALSE ORDER BY id DESC"
            }
            StatusFilter::Completed => {
                "SELECT id, user_id, title, description, completed, created_at, updated_at \
                 FROM tasks WHERE user_id = $1 AND completed = TRUE ORDER BY id DESC"
            }
        };
        Ok(on_pool!(self, pool => sqlx::query_as::<_, Task>(sql)
            .bind(user.as_str())
            .fetch_all(pool)
            .await?))
    }

    pub async fn get_task(&self, user: &UserId, id: TaskId) -> Result<Option<Task>, StoreError> {
        let sql = "SELECT id, user_id, title, description, completed, created_at, updated_at \
                   FROM tasks WHERE id = $1 AND user_id = $2";
        Ok(on_pool!(self, pool => sqlx::query_as::<_, Task>(sql)
            .bind(id.get())
            .bind(user.as_str())
            .fetch_optional(pool)
            .await?))
    }

    pub async fn update_task(
        &self,
        user: &UserId,
        id: TaskId,
        changes: &TaskChanges,
    ) -> Result<Option<Task>, StoreError> {
        let sql = "UPDATE tasks SET title = COALESCE($3, title), \
                   description = COALESCE($4, description), \
                   completed = COALESCE($5, completed), updated_at = $6 \
                   WHERE id = $1 AND user_id = $2 \
                   RETURNING id, user_id, title, description, completed, created_at, updated_at";
        let title = changes.title.as_ref().map(TaskTitle::as_str);
        let description = changes.description.as_ref().map(TaskDescription::as_str);
        Ok(on_pool!(self, pool => sqlx::query_as::<_, Task>(sql)
            .bind(id.get())
            .bind(user.as_str())
            .bind(title)
            .bind(description)
            .bind(changes.completed)
            .bind(Utc::now())
            .fetch_optional(pool)
            .await?))
    }

    /// Flips `completed` in one statement, so two toggles never lose one another.
    pub async fn toggle_task(&self, user: &UserId, id: TaskId) -> Result<Option<Task>, StoreError> {
        let sql = "UPDATE tasks SET completed = NOT completed, updated_at = $3 \
                   WHERE id = $1 AND user_id = $2 \
                   RETURNING id, user_id, title, description, completed, created_at, updated_at";
        Ok(on_pool!(self, pool => sqlx::query_as::<_, Task>(sql)
            .bind(id.get())
            .bind(user.as_str())
            .bind(Utc::now())
            .fetch_optional(pool)
            .await?))
    }

    /// Deletes and returns the task, or `None` when the user has no such task.
    pub async fn delete_task(&self, user: &UserId, id: TaskId) -> Result<Option<Task>, StoreError> {
        let sql = "DELETE FROM tasks WHERE id = $1 AND user_id = $2 \
                   RETURNING id, user_id, title, description, completed, created_at, updated_at";
        Ok(on_pool!(self, pool => sqlx::query_as::<_, Task>(sql)
            .bind(id.get())
            .bind(user.as_str())
            .fetch_optional(pool)
            .await?))
    }

    /// Counts every task row (all users); for tests and benchmarks.
    pub async fn count_tasks(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) FROM tasks";
        Ok(on_pool!(self, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await?))
    }
}
