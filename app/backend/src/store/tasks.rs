use std::sync::LazyLock;

use chrono::Utc;

use super::{Store, StoreError, on_pool};
use crate::domain::{
    Cursor, PageLimit, StatusFilter, Task, TaskDescription, TaskRef, TaskTitle, UserId,
};

/// The columns of a [`Task`], in the order `query_as` reads them.
const COLUMNS: &str = "id, number, user_id, title, description, completed, created_at, updated_at";

/// The fields an update sets; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct TaskChanges {
    pub title: Option<TaskTitle>,
    pub description: Option<TaskDescription>,
    pub completed: Option<bool>,
}

/// One page of a user's tasks, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// The `WHERE` condition that picks a task by id or by number (`$1`) for a user (`$2`).
fn key_condition(task: TaskRef) -> (&'static str, i64) {
    match task {
        TaskRef::Id(id) => ("id = $1 AND user_id = $2", id.get()),
        TaskRef::Number(n) => ("number = $1 AND user_id = $2", n.get()),
    }
}

/// The `LIMIT` of a page query. The bound value goes through a `CAST`: SQLite reads a bare
/// `LIMIT $3` as a constant at prepare time and marks the statement to be prepared again
/// whenever `$3` is rebound, i.e. on every execution, even from sqlx's statement cache. Behind the
/// cast the limit is read when the statement runs and the cached program is reused (the test
/// `list_statements_read_the_limit_at_run_time` checks it).
const PAGE_LIMIT: &str = "LIMIT CAST($3 AS BIGINT)";

fn status_condition(filter: StatusFilter) -> &'static str {
    match filter {
        StatusFilter::All => "",
        StatusFilter::Pending => " AND completed = FALSE",
        StatusFilter::Completed => " AND completed = TRUE",
    }
}

const FILTERS: [StatusFilter; 3] = [
    StatusFilter::All,
    StatusFilter::Pending,
    StatusFilter::Completed,
];

fn filter_index(filter: StatusFilter) -> usize {
    match filter {
        StatusFilter::All => 0,
        StatusFilter::Pending => 1,
        StatusFilter::Completed => 2,
    }
}

/// A page of rows (`$1` user, `$2` id bound, `$3` limit), built once per filter: the same
/// `&'static str` every time, so a request neither formats the SQL nor allocates it.
fn page_rows_sql(filter: StatusFilter) -> &'static str {
    static SQL: LazyLock<[String; 3]> = LazyLock::new(|| {
        FILTERS.map(|filter| {
            format!(
                "SELECT {COLUMNS} FROM tasks WHERE user_id = $1{} AND id < $2 \
                 ORDER BY id DESC {PAGE_LIMIT}",
                status_condition(filter)
            )
        })
    });
    &SQL[filter_index(filter)]
}

/// SQLite only: the same page as [`page_rows_sql`] as one JSON array (`body`), the id of its
/// last task (`last_id`) and whether more tasks follow it.
fn page_json_sql(filter: StatusFilter) -> &'static str {
    // Stored timestamps are RFC 3339 with `+00:00`; the API writes UTC as `Z`.
    fn ts(c: &str) -> String {
        format!(
            "CASE WHEN {c} LIKE '%+00:00' THEN substr({c}, 1, length({c}) - 6) || 'Z' ELSE {c} END"
        )
    }
    static SQL: LazyLock<[String; 3]> = LazyLock::new(|| {
        FILTERS.map(|filter| {
            let status = status_condition(filter);
            format!(
                "WITH page AS (SELECT {COLUMNS} FROM tasks \
                 WHERE user_id = $1{status} AND id < $2 ORDER BY id DESC {PAGE_LIMIT}), \
                 agg AS (SELECT json_group_array(json_object('id', id, 'number', number, \
                 'user_id', user_id, 'title', title, 'description', description, \
                 'completed', json(CASE WHEN completed THEN 'true' ELSE 'false' END), \
                 'created_at', {}, 'updated_at', {}) ORDER BY id DESC) AS body, \
                 MIN(id) AS last_id FROM page) \
                 SELECT body, last_id, \
                 EXISTS(SELECT 1 FROM tasks WHERE user_id = $1{status} AND id < agg.last_id) \
                 FROM agg",
                ts("created_at"),
                ts("updated_at")
            )
        })
    });
    &SQL[filter_index(filter)]
}

impl Store {
    /// Creates a task with the user's next number, in one transaction with the counter.
    pub async fn insert_task(
        &self,
        user: &UserId,
        title: &TaskTitle,
        description: &TaskDescription,
    ) -> Result<Task, StoreError> {
        let now = Utc::now();
        let next_number = "INSERT INTO task_numbers (user_id, last_number) VALUES ($1, 1) \
             ON CONFLICT (user_id) DO UPDATE SET last_number = task_numbers.last_number + 1 \
             RETURNING last_number";
        let insert = format!(
            "INSERT INTO tasks (user_id, number, title, description, completed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, FALSE, $5, $5) RETURNING {COLUMNS}"
        );
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let number: i64 = sqlx::query_scalar(next_number)
                .bind(user.as_str())
                .fetch_one(&mut *tx)
                .await?;
            let task = sqlx::query_as::<_, Task>(sqlx::AssertSqlSafe(insert))
                .bind(user.as_str())
                .bind(number)
                .bind(title.as_str())
                .bind(description.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            task
        }))
    }

    /// One page of the user's tasks, newest first: at most `limit` tasks older than `after`.
    pub async fn list_tasks(
        &self,
        user: &UserId,
        filter: StatusFilter,
        limit: PageLimit,
        after: Option<Cursor>,
    ) -> Result<TaskPage, StoreError> {
        let sql = page_rows_sql(filter);
        let before = after.map_or(i64::MAX, Cursor::before_id);
        let limit = usize::try_from(limit.get()).unwrap_or(usize::MAX);
        // One row more than asked tells whether another page follows.
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let mut tasks = on_pool!(self, pool => sqlx::query_as::<_, Task>(sqlx::AssertSqlSafe(sql))
            .bind(user.as_str())
            .bind(before)
            .bind(fetch)
            .fetch_all(pool)
            .await?);
        let next = if tasks.len() > limit {
            tasks.truncate(limit);
            tasks.last().map(|t| Cursor::after(t.id))
        } else {
            None
        };
        Ok(TaskPage { tasks, next })
    }

    /// The same page as [`Store::list_tasks`], already encoded as the JSON array the REST API
    /// answers (the fields and order of [`Task`]'s serialization).
    ///
    /// On SQLite the database builds the whole array in one statement (`json_group_array`), so
    /// the rows never cross from sqlx's SQLite worker thread one by one, no timestamp is parsed
    /// and printed again, and no `Task` is allocated (docs/benchmarks.md has the profile that
    /// led here). PostgreSQL reads the rows and serializes them.
    pub async fn list_tasks_json(
        &self,
        user: &UserId,
        filter: StatusFilter,
        limit: PageLimit,
        after: Option<Cursor>,
    ) -> Result<(String, Option<Cursor>), StoreError> {
        let pool = match self {
            Store::Sqlite(pool) => pool,
            Store::Postgres(_) => {
                let page = self.list_tasks(user, filter, limit, after).await?;
                let body = serde_json::to_string(&page.tasks)
                    .map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))?;
                return Ok((body, page.next));
            }
        };
        let sql = page_json_sql(filter);
        let before = after.map_or(i64::MAX, Cursor::before_id);
        let (body, last_id, more): (String, Option<i64>, bool) =
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(user.as_str())
                .bind(before)
                .bind(i64::from(limit.get()))
                .fetch_one(pool)
                .await?;
        let next = match (last_id, more) {
            (Some(id), true) => Some(Cursor::after(id)),
            _ => None,
        };
        Ok((body, next))
    }

    /// How many of the user's tasks a listing has past `after` (all of them without a cursor).
    pub async fn count_user_tasks(
        &self,
        user: &UserId,
        filter: StatusFilter,
        after: Option<Cursor>,
    ) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) FROM tasks WHERE user_id = $1{} AND id < $2",
            status_condition(filter)
        );
        let before = after.map_or(i64::MAX, Cursor::before_id);
        Ok(
            on_pool!(self, pool => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                .bind(user.as_str())
                .bind(before)
                .fetch_one(pool)
                .await?),
        )
    }

    /// The number the user's next task will get.
    pub async fn next_task_number(&self, user: &UserId) -> Result<i64, StoreError> {
        let sql = "SELECT last_number FROM task_numbers WHERE user_id = $1";
        let last = on_pool!(self, pool => sqlx::query_scalar::<_, i64>(sql)
            .bind(user.as_str())
            .fetch_optional(pool)
            .await?);
        Ok(last.unwrap_or(0).saturating_add(1))
    }

    pub async fn get_task(&self, user: &UserId, task: TaskRef) -> Result<Option<Task>, StoreError> {
        let (condition, key) = key_condition(task);
        let sql = format!("SELECT {COLUMNS} FROM tasks WHERE {condition}");
        Ok(
            on_pool!(self, pool => sqlx::query_as::<_, Task>(sqlx::AssertSqlSafe(sql))
                .bind(key)
                .bind(user.as_str())
                .fetch_optional(pool)
                .await?),
        )
    }

    pub async fn update_task(
        &self,
        user: &UserId,
        task: TaskRef,
        changes: &TaskChanges,
    ) -> Result<Option<Task>, StoreError> {
        let (condition, key) = key_condition(task);
        let sql = format!(
            "UPDATE tasks SET title = COALESCE($3, title), \
             description = COALESCE($4, description), \
             completed = COALESCE($5, completed), updated_at = $6 \
             WHERE {condition} RETURNING {COLUMNS}"
        );
        let title = changes.title.as_ref().map(TaskTitle::as_str);
        let description = changes.description.as_ref().map(TaskDescription::as_str);
        Ok(
            on_pool!(self, pool => sqlx::query_as::<_, Task>(sqlx::AssertSqlSafe(sql))
                .bind(key)
                .bind(user.as_str())
                .bind(title)
                .bind(description)
                .bind(changes.completed)
                .bind(Utc::now())
                .fetch_optional(pool)
                .await?),
        )
    }

    /// Flips `completed` in one statement, so two toggles never lose one another.
    pub async fn toggle_task(
        &self,
        user: &UserId,
        task: TaskRef,
    ) -> Result<Option<Task>, StoreError> {
        let (condition, key) = key_condition(task);
        let sql = format!(
            "UPDATE tasks SET completed = NOT completed, updated_at = $3 \
             WHERE {condition} RETURNING {COLUMNS}"
        );
        Ok(
            on_pool!(self, pool => sqlx::query_as::<_, Task>(sqlx::AssertSqlSafe(sql))
                .bind(key)
                .bind(user.as_str())
                .bind(Utc::now())
                .fetch_optional(pool)
                .await?),
        )
    }

    /// Deletes and returns the task, or `None` when the user has no such task.
    pub async fn delete_task(
        &self,
        user: &UserId,
        task: TaskRef,
    ) -> Result<Option<Task>, StoreError> {
        let (condition, key) = key_condition(task);
        let sql = format!("DELETE FROM tasks WHERE {condition} RETURNING {COLUMNS}");
        Ok(
            on_pool!(self, pool => sqlx::query_as::<_, Task>(sqlx::AssertSqlSafe(sql))
                .bind(key)
                .bind(user.as_str())
                .fetch_optional(pool)
                .await?),
        )
    }

    /// Counts every task row (all users); for tests and benchmarks.
    pub async fn count_tasks(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) FROM tasks";
        Ok(on_pool!(self, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await?))
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;
    use sqlx::sqlite::SqlitePool;

    use super::*;

    /// `EXPLAIN` with the parameters bound lists the program SQLite runs. A limit that SQLite took
    /// as a constant at prepare time shows as an `Integer` instruction holding the bound value,
    /// and then every new binding of `$3` prepares the statement again; a limit read at run time
    /// shows as a `Variable` instruction for parameter 3.
    #[tokio::test]
    async fn list_statements_read_the_limit_at_run_time() {
        let pool = SqlitePool::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .expect("migrations");
        let limit = 37_i64;
        for filter in FILTERS {
            for sql in [page_rows_sql(filter), page_json_sql(filter)] {
                let program = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")))
                    .bind("someone")
                    .bind(i64::MAX)
                    .bind(limit)
                    .fetch_all(&pool)
                    .await
                    .expect("EXPLAIN");
                let ops: Vec<(String, i64)> = program
                    .iter()
                    .map(|row| (row.get::<String, _>("opcode"), row.get::<i64, _>("p1")))
                    .collect();
                assert!(
                    ops.iter().any(|(op, p1)| op == "Variable" && *p1 == 3),
                    "{filter:?}: $3 is not read at run time in {sql}: {ops:?}"
                );
                assert!(
                    !ops.iter().any(|(op, p1)| op == "Integer" && *p1 == limit),
                    "{filter:?}: the limit {limit} is compiled into {sql}: {ops:?}"
                );
            }
        }
    }
}
