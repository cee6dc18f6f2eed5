"""The one Alembic environment of the workbench database.

Every store that lives in the workbench database (run log, ...) adds its tables through a
revision in ``versions/``; :func:`upgrade` applies them to an engine programmatically, with a
:class:`alembic.config.Config` built in code (no ``alembic.ini``). The Alembic command line
works too: ``alembic -x url=sqlite:///var/workbench.db -c /dev/null upgrade head`` is not
needed; use ``python -c "from workbench.migrations import upgrade; ..."`` or
``workbench logs migrate``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

SCRIPT_LOCATION: Path = Path(__file__).resolve().parent


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic :class:`Config` for this environment; ``engine`` is handed to ``env.py``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False)
                            .replace("%", "%%"))
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision`` (default: the newest)."""
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision in ``versions/``."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
