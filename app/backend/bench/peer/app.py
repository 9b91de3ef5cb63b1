"""The benchmark's peer: the backend's task list and create routes in FastAPI + SQLModel.

Same SQLite schema as the backend's first migration plus the per-user number, same JSON fields,
same query (`WHERE user_id = ? ORDER BY id DESC LIMIT ?`). Run by ../run.sh as
`uvicorn app:app --workers N`; the database file comes from PEER_DATABASE.
"""

import os
from datetime import datetime, timezone
from typing import Optional

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel
from sqlalchemy import event
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    id: Optional[int] = Field(default=None, primary_key=True)
    number: int
    user_id: str = Field(index=True)
    title: str
    description: str = ""
    completed: bool = False
    created_at: datetime
    updated_at: datetime


class NewTask(BaseModel):
    title: str
    description: Optional[str] = None


engine = create_engine(
    "sqlite:///" + os.environ["PEER_DATABASE"],
    connect_args={"check_same_thread": False, "timeout": 10},
)


@event.listens_for(engine, "connect")
def _pragmas(conn, _record):
    # The backend's settings: WAL, synchronous=NORMAL.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


SQLModel.metadata.create_all(engine)
app = FastAPI()


@app.get("/ready")
def ready():
    return {"status": "ready"}


@app.get("/api/{user_id}/tasks", response_model=list[Task])
def list_tasks(user_id: str, status: str = "all", limit: int = 100):
    if status not in ("all", "pending", "completed") or not 1 <= limit <= 500:
        raise HTTPException(status_code=422, detail="invalid query")
    with Session(engine) as session:
        query = select(Task).where(Task.user_id == user_id)
        if status != "all":
            query = query.where(Task.completed == (status == "completed"))
        return session.exec(query.order_by(Task.id.desc()).limit(limit)).all()


@app.post("/api/{user_id}/tasks", response_model=Task, status_code=201)
def create_task(user_id: str, body: NewTask, response: Response):
    title = body.title.strip()
    description = (body.description or "").strip()
    if not 1 <= len(title) <= 200 or len(description) > 2000:
        raise HTTPException(status_code=422, detail="invalid task")
    now = datetime.now(timezone.utc)
    with Session(engine) as session:
        last = session.exec(
            select(Task.number).where(Task.user_id == user_id).order_by(Task.number.desc()).limit(1)
        ).first()
        task = Task(
            user_id=user_id,
            number=(last or 0) + 1,
            title=title,
            description=description,
            created_at=now,
            updated_at=now,
        )
        session.add(task)
        session.commit()
        session.refresh(task)
        return task
