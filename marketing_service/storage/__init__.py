"""Where marketing keeps its data: one typed Connection protocol, SQLite and PostgreSQL back ends, the schema."""
from __future__ import annotations

from marketing_service.config import MarketingConfig
from marketing_service.storage.protocol import Connection, Cursor, Storage
from marketing_service.storage.schema import iso_ago, now_iso

__all__ = ["Connection", "Cursor", "Storage", "iso_ago", "now_iso", "open_storage"]


def open_storage(config: MarketingConfig) -> Storage:
    """PostgreSQL for a `postgresql://` MARKETING_DB (DESIGN §9), else the SQLite file."""
    if config.db_url:
        from marketing_service.storage.postgres import PostgresStorage  # psycopg only where it is used

        return PostgresStorage(config.db_url, config.db_busy_timeout_ms, config.db_pool_size)
    from marketing_service.storage.sqlite import SqliteStorage

    return SqliteStorage(config.db_path, config.db_busy_timeout_ms)
