-- Per-user task numbers: 1, 2, 3... for each user, in creation order, never reused.
-- task_numbers holds each user's last number, so a deleted task's number is not handed out again.
ALTER TABLE tasks ADD COLUMN number BIGINT NOT NULL DEFAULT 0;

UPDATE tasks SET number = ranked.n
FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY id) AS n FROM tasks) AS ranked
WHERE ranked.id = tasks.id;

ALTER TABLE tasks ALTER COLUMN number DROP DEFAULT;

CREATE UNIQUE INDEX tasks_user_number ON tasks (user_id, number);

CREATE TABLE task_numbers (
    user_id TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL
);

INSERT INTO task_numbers (user_id, last_number)
SELECT user_id, MAX(number) FROM tasks GROUP BY user_id;
