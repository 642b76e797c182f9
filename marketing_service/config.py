"""Every environment variable the marketing service reads, in one typed object (DESIGN §5)."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from marketing_service.offer_rules import OfferRules

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class ConfigError(ValueError):
    """A setting the service cannot run with; the message names the variable."""


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ConfigError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {raw!r}")
    return raw in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class MarketingConfig:
    churn_url: str = "http://localhost:9696"
    db_path: Path = Path("var/marketing.db")
    db_url: str = ""  # MARKETING_DB=postgresql://...: PostgreSQL instead of the SQLite file (DESIGN §9)
    db_pool_size: int = 10  # PostgreSQL connections per worker process: its threads, the background loop, downloads
    mailer: str = "log"
    mail_dir: Path = Path("var/mail")
    mail_from: str = "Retention Team <offers@example.com>"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    secret_key: str = ""
    campaign: str = "retention"
    max_body_mb: float = 2
    churn_connect_timeout: float = 1.0
    churn_read_timeout: float = 5.0
    poll_interval: float = 1.0
    lease_seconds: float = 30.0
    db_busy_timeout_ms: int = 15_000
    background: bool = True
    session_cookie_secure: bool = False
    max_upload_mb: float = 50  # a campaign's customer list
    offer_cooldown_days: float = 30  # at most one offer per customer this often, across campaigns
    public_url: str = "http://localhost:8000"  # where people reach these pages: the base of unsubscribe links

    @property
    def offer_rules(self) -> OfferRules:
        return OfferRules(self.campaign, self.offer_cooldown_days)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MarketingConfig:
        env = os.environ if env is None else env
        mailer = env.get("MAILER", cls.mailer).strip().lower() or cls.mailer
        if mailer not in ("log", "smtp"):
            raise ConfigError(f"MAILER must be 'log' or 'smtp', got {mailer!r}")
        churn_url = (env.get("CHURN_URL", "").strip() or cls.churn_url).rstrip("/")
        public_url = (env.get("PUBLIC_URL", "").strip() or cls.public_url).rstrip("/")
        if not public_url.startswith(("http://", "https://")):
            raise ConfigError(f"PUBLIC_URL must start with http:// or https://, got {public_url!r}")
        if not churn_url.startswith(("http://", "https://")):
            raise ConfigError(f"CHURN_URL must start with http:// or https://, got {churn_url!r}")
        database = env.get("MARKETING_DB", "").strip()
        db_url = database if database.startswith(POSTGRES_SCHEMES) else ""
        if "://" in database and not db_url:
            raise ConfigError(f"MARKETING_DB must be a file path or a postgresql:// URL, got {database.split('://')[0]}://...")
        secret_key = env.get("SECRET_KEY", "").strip()
        if db_url and not secret_key:
            # Instances sharing a database must sign alike: an unsubscribe link from one works on every other.
            raise ConfigError("SECRET_KEY must be set when MARKETING_DB is a PostgreSQL URL (shared by every instance)")
        return cls(
            churn_url=churn_url,
            db_path=Path(database) if database and not db_url else cls.db_path,
            db_url=db_url,
            db_pool_size=int(_number(env, "DB_POOL_SIZE", cls.db_pool_size, 2)),
            mailer=mailer,
            mail_dir=Path(env.get("MAIL_DIR", "").strip() or cls.mail_dir),
            mail_from=env.get("MAIL_FROM", "").strip() or cls.mail_from,
            smtp_host=env.get("SMTP_HOST", "").strip() or cls.smtp_host,
            smtp_port=int(_number(env, "SMTP_PORT", cls.smtp_port, 1)),
            secret_key=secret_key,
            campaign=env.get("CAMPAIGN", "").strip() or cls.campaign,
            max_body_mb=_number(env, "MAX_BODY_MB", cls.max_body_mb, 0.01),
            churn_connect_timeout=_number(env, "CHURN_CONNECT_TIMEOUT", cls.churn_connect_timeout, 0.01),
            churn_read_timeout=_number(env, "CHURN_READ_TIMEOUT", cls.churn_read_timeout, 0.01),
            poll_interval=_number(env, "POLL_INTERVAL", cls.poll_interval, 0.05),
            lease_seconds=_number(env, "LEASE_SECONDS", cls.lease_seconds, 1),
            db_busy_timeout_ms=int(_number(env, "DB_BUSY_TIMEOUT_MS", cls.db_busy_timeout_ms, 0)),
            background=_flag(env, "BACKGROUND", True),
            session_cookie_secure=_flag(env, "SESSION_COOKIE_SECURE", False),
            public_url=public_url,
            max_upload_mb=_number(env, "MAX_UPLOAD_MB", cls.max_upload_mb, 0.01),
            offer_cooldown_days=_number(env, "OFFER_COOLDOWN_DAYS", cls.offer_cooldown_days, 0),
        )

    def resolved_secret_key(self) -> str:
        """SECRET_KEY, or one kept beside the database so every worker signs CSRF tokens alike."""
        if self.secret_key:
            return self.secret_key
        path = self.db_path.parent / ".secret_key"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Written in full to a private (0600 from its creation) file of this process, then linked into
            # place atomically: the first worker's key wins, and no worker ever reads a half-written key.
            candidate = path.with_name(f".secret_key.{os.getpid()}")
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as key_file:
                key_file.write(secrets.token_hex(32))
            try:
                os.link(candidate, path)
            except FileExistsError:
                pass
            finally:
                candidate.unlink()
        return path.read_text().strip()
