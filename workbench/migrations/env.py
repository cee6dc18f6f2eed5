"""Alembic environment of the workbench database (see ``workbench.migrations``).

Run programmatically: the caller puts an open ``connection`` (or an ``engine``) in
``config.attributes``; otherwise an engine is made from ``sqlalchemy.url`` or
``workbench.db.default_url()``. SQLite gets batch mode (ALTER TABLE by copy).
"""

from __future__ import annotations

from alembic import context

config = context.config


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=None,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    from workbench.db import default_url
    context.configure(url=config.get_main_option("sqlalchemy.url") or default_url(),
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        _run(conn)
        return
    engine = config.attributes.get("engine")
    if engine is None:
        from workbench.db import make_engine
        engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    with engine.begin() as connection:
        _run(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
