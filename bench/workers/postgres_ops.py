"""A primary-key SELECT through postgres_pgx / postgres_gorm and plain asyncpg / SQLAlchemy.

Usage: ``python -m bench.workers.postgres_ops measure pool|orm DURATION`` prints
``{"select": {"rates": {"pgx": q/s, "asyncpg": q/s}, "blocks": {...}}}``
(``pool``) or the same for ``gorm``/``sqlalchemy`` (``orm``), both sides in
alternating blocks (``blocks``: each side's rate per block);
``profile SIDE DURATION`` runs one side in a profile window; ``setup`` and
``teardown`` create and drop the table.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack
from typing import Any

import asyncpg  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench.workers.timing import Op, emit, paired, profiled
from lbtoolkit.plugins import postgres_gorm, postgres_pgx
from lbtoolkit.testing import new_test_runtime, open_plugin

TABLE = "lbtoolkit_bench_items"
ROWS = 1000
QUERY = f"SELECT id, name, value FROM {TABLE} WHERE id = $1"  # noqa: S608 - a constant
HOST, PORT, USER, DATABASE = "127.0.0.1", 5432, "postgres", "test"
ENVIRON = {"PG_HOST": HOST, "PG_USERNAME": USER, "PG_DATABASE": DATABASE}
# The plugins' pool defaults (MAX_CONNECTIONS 10, MAX_IDLE_CONNECTIONS 5), given to the baselines.
MAX_CONNECTIONS, IDLE_CONNECTIONS = 10, 5
PAIRS = {"pool": ("pgx", "asyncpg"), "orm": ("gorm", "sqlalchemy")}


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = TABLE
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    value: Mapped[int] = mapped_column(Integer)


def _key(n: int) -> int:
    return n * 7919 % ROWS + 1


def _pool_select(pool: Any) -> Op:
    async def select_one(n: int) -> None:
        row = await pool.fetchrow(QUERY, _key(n))
        if row is None:
            msg = "row not found"
            raise RuntimeError(msg)

    return select_one


def _orm_select(sessions: Any) -> Op:
    async def select_one(n: int) -> None:
        session: AsyncSession
        async with sessions() as session:
            item = (await session.execute(select(Item).where(Item.id == _key(n)))).scalar_one()
            if item.id != _key(n):
                msg = "wrong row"
                raise RuntimeError(msg)

    return select_one


async def _open(side: str, stack: AsyncExitStack) -> Op:
    """The SELECT of ``side``, its pool or engine closed with ``stack``."""
    runtime = new_test_runtime("lbbench", environ=ENVIRON)
    if side == "pgx":
        pgx = postgres_pgx.new_plugin(runtime, postgres_pgx.Options(name="pg"))
        runtime.config.raise_for_issues()
        await stack.enter_async_context(open_plugin(pgx))
        return _pool_select(pgx.db())
    if side == "gorm":
        gorm = postgres_gorm.new_plugin(runtime, postgres_gorm.Options(name="pg"))
        runtime.config.raise_for_issues()
        await stack.enter_async_context(open_plugin(gorm))
        return _orm_select(gorm.session)
    if side == "asyncpg":
        pool = await asyncpg.create_pool(
            host=HOST,
            port=PORT,
            user=USER,
            database=DATABASE,
            min_size=IDLE_CONNECTIONS,
            max_size=MAX_CONNECTIONS,
        )
        stack.push_async_callback(pool.close)
        return _pool_select(pool)
    engine = create_async_engine(
        f"postgresql+asyncpg://{USER}@{HOST}:{PORT}/{DATABASE}",
        pool_size=IDLE_CONNECTIONS,
        max_overflow=MAX_CONNECTIONS - IDLE_CONNECTIONS,
    )
    stack.push_async_callback(engine.dispose)
    return _orm_select(async_sessionmaker(engine, expire_on_commit=False))


async def _setup() -> None:
    conn = await asyncpg.connect(host=HOST, port=PORT, user=USER, database=DATABASE)
    try:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id integer PRIMARY KEY, name text NOT NULL, "
            "value integer NOT NULL)"
        )
        await conn.execute(f"TRUNCATE {TABLE}")
        await conn.executemany(
            f"INSERT INTO {TABLE} (id, name, value) VALUES ($1, $2, $3)",  # noqa: S608 - a constant
            [(i, f"item-{i}", i * 3) for i in range(1, ROWS + 1)],
        )
    finally:
        await conn.close()


async def _teardown() -> None:
    conn = await asyncpg.connect(host=HOST, port=PORT, user=USER, database=DATABASE)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    finally:
        await conn.close()


async def main(mode: str, *args: str) -> None:
    if mode == "setup":
        await _setup()
        emit({})
        return
    if mode == "teardown":
        await _teardown()
        emit({})
        return
    which, duration = args[0], float(args[1])
    async with AsyncExitStack() as stack:
        if mode == "measure":
            sides = {side: await _open(side, stack) for side in PAIRS[which]}
            emit({"select": await paired(sides, duration=duration)})
        else:
            op = await _open(which, stack)
            emit({"select": await profiled(op, duration=duration, label="select")})


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
