"""Alembic environment: the engine comes from the caller (engine/migrate.py), never from a config file."""
from alembic import context

from engine.tables import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # alembic's own command line, for `alembic revision --autogenerate`
    from sqlalchemy import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url"))

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    context.run_migrations()
