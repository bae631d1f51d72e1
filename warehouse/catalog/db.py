"""Engine and sessions of the catalog database (SQLite in WAL mode, or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event, inspect, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from warehouse.catalog.models import Base, utcnow


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers (API requests) proceed while a batch writes; busy_timeout waits out
    # the short write locks instead of failing with "database is locked".
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Catalog:
    """The catalog database. One instance per process; sessions are short-lived.

    Example:
        >>> cat = Catalog("sqlite:///:memory:")
        >>> with cat.session() as s:
        ...     pass
    """

    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if self.engine.dialect.name == "postgresql":
            # API replicas starting together would race to create the same tables: one at a time, the others
            # then find them made (the lock ends with the connection)
            with self.engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
                Base.metadata.create_all(conn)
        else:
            Base.metadata.create_all(self.engine)
        add_missing_columns(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any exception."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def add_missing_columns(engine: Engine) -> list[str]:
    """Additive migration: columns the models have and an existing catalog lacks are added (nullable, no
    default), so a home made by an earlier release opens without a manual step. Returns ``table.column`` added."""
    inspector = inspect(engine)
    added = []
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    kind = column.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
                    added.append(f"{table.name}.{column.name}")
    return added


def lock_row(session: Session, model, key: str):
    """Load a row for a read-modify-write that no other writer can interleave with.

    The row is touched (``updated_at``) first: PostgreSQL then holds its row lock, SQLite its write
    lock, until the session commits — so two processes finishing parts of one batch at the same
    moment cannot overwrite each other's results.
    """
    pk = model.__mapper__.primary_key[0]
    session.execute(update(model).where(pk == key).values(updated_at=utcnow()))
    return session.get(model, key, populate_existing=True)
