"""The users table (``example_users``), through the postgres_gorm plugin's engine."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from users_service.gen.users_toolkit import DbPlugin

__all__ = ["DuplicateEmailError", "InvalidPageTokenError", "Page", "UserRecord", "UserStore"]


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One row of ``example_users``."""

    id: str
    email: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Page:
    """Users of one page, and the token of the next page (empty on the last one)."""

    users: list[UserRecord]
    next_page_token: str


class DuplicateEmailError(ValueError):
    """A user with this email exists already."""

    def __init__(self, email: str) -> None:
        super().__init__(email)
        self.email = email

    def __str__(self) -> str:
        return f"a user with email {self.email!r} exists already"


class InvalidPageTokenError(ValueError):
    """A page token this service did not hand out."""

    def __str__(self) -> str:
        return "page_token is not a token a previous ListUsers returned"


_COLUMNS = "id::text AS id, email, name, created_at"


class UserStore:
    """Reads and writes users; every method is one statement in its own transaction."""

    def __init__(self, db: DbPlugin) -> None:
        self._db = db

    async def create(self, email: str, name: str) -> UserRecord:
        statement = text(
            f"INSERT INTO example_users (id, email, name) VALUES (:id, :email, :name) "  # noqa: S608 - constant column list
            f"RETURNING {_COLUMNS}"
        )
        try:
            async with self._db.db().begin() as connection:
                row = (
                    await connection.execute(
                        statement, {"id": uuid.uuid4(), "email": email, "name": name}
                    )
                ).one()
        except IntegrityError as error:
            raise DuplicateEmailError(email) from error
        return UserRecord(row.id, row.email, row.name, row.created_at)

    async def get(self, user_id: str) -> UserRecord | None:
        statement = text(f"SELECT {_COLUMNS} FROM example_users WHERE id = :id")  # noqa: S608 - constant column list
        async with self._db.db().connect() as connection:
            row = (await connection.execute(statement, {"id": uuid.UUID(user_id)})).one_or_none()
        return None if row is None else UserRecord(row.id, row.email, row.name, row.created_at)

    async def delete(self, user_id: str) -> bool:
        statement = text("DELETE FROM example_users WHERE id = :id")
        async with self._db.db().begin() as connection:
            result = await connection.execute(statement, {"id": uuid.UUID(user_id)})
        return bool(result.rowcount)

    async def list(self, page_size: int, page_token: str) -> Page:
        after = _decode_token(page_token) if page_token else 0
        # One row more than asked tells whether another page follows.
        statement = text(
            f"SELECT seq, {_COLUMNS} FROM example_users WHERE seq > :after "  # noqa: S608 - constant column list
            "ORDER BY seq LIMIT :limit"
        )
        async with self._db.db().connect() as connection:
            rows = (
                await connection.execute(statement, {"after": after, "limit": page_size + 1})
            ).all()
        users = [UserRecord(r.id, r.email, r.name, r.created_at) for r in rows[:page_size]]
        more = len(rows) > page_size
        return Page(users, _encode_token(rows[page_size - 1].seq) if more else "")


def _encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"after:{seq}".encode()).decode()


def _decode_token(token: str) -> int:
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        seq = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidPageTokenError from None
    if kind != "after" or seq < 0:
        raise InvalidPageTokenError
    return seq
