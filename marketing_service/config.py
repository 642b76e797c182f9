"""Every environment variable the marketing service reads, in one typed object (DESIGN §5)."""
from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

from http_common.env import ConfigError, Env, refuse_weak_secret

__all__ = ["ConfigError", "MarketingConfig"]
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


@dataclass(frozen=True)
class MarketingConfig:
    churn_url: str = "http://localhost:9696"
    churn_api_token: str = ""  # CHURN_API_TOKEN: sent as a Bearer token when churn requires one (DESIGN §11)
    db_path: Path = Path("var/marketing.db")
    db_url: str = ""  # MARKETING_DB=postgresql://...: PostgreSQL instead of the SQLite file (DESIGN §9)
    db_pool_size: int = 10  # PostgreSQL connections per worker process: its threads, the background loop, downloads
    mailer: str = "log"
    mail_dir: Path = Path("var/mail")
    mail_from: str = "Retention Team <offers@example.com>"
    mail_domain: str = "example.com"  # MAIL_DOMAIN (default: MAIL_FROM's domain): the Message-IDs' right side
    mail_max_attempts: int = 8  # MAIL_MAX_ATTEMPTS: attempts in all, the first included (DESIGN §12)
    mail_backoff_seconds: float = 2.0  # MAIL_BACKOFF_SECONDS: before attempt n+1, up to this · 2^(n-1), capped at 300
    mail_rate_per_minute: float = 0.0  # MAIL_RATE_PER_MINUTE: 0 is no limit; else spread over time per instance
    smtp_host: str = "localhost"
    smtp_port: int = 25
    secret_key: str = ""
    secret_key_fallbacks: tuple[str, ...] = ()  # SECRET_KEY_FALLBACKS: older keys still accepted (sessions, links)
    environment: str = "development"  # MARKETING_ENV: "production" refuses unsafe secrets and sends Secure cookies
    admin_password: str = ""  # MARKETING_ADMIN_PASSWORD: the first start's `admin` password (DESIGN §11)
    proxy_hops: int = 0  # PROXY_HOPS: proxies in front that set X-Forwarded-For/-Proto (the sign-in throttle's address)
    campaign: str = "retention"
    max_body_mb: float = 2
    churn_connect_timeout: float = 1.0
    churn_read_timeout: float = 5.0
    poll_interval: float = 1.0
    lease_seconds: float = 30.0
    shadow_poll_seconds: float = 10.0  # SHADOW_POLL_SECONDS: how often churn's shadow records are pulled; 0 never
    db_busy_timeout_ms: int = 15_000
    background: bool = True
    session_cookie_secure: bool = False
    max_upload_mb: float = 50  # a campaign's customer list
    offer_cooldown_days: float = 30  # at most one offer per customer this often, across campaigns
    public_url: str = "http://localhost:8000"  # where people reach these pages: the base of unsubscribe links
    metrics_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR: set by gunicorn.conf.py for its workers

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MarketingConfig:
        read = Env(env)
        churn_url = read.text("CHURN_URL", cls.churn_url).rstrip("/")
        public_url = read.text("PUBLIC_URL", cls.public_url).rstrip("/")
        for name, url in (("PUBLIC_URL", public_url), ("CHURN_URL", churn_url)):
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"{name} must start with http:// or https://, got {url!r}")
        database = read.raw("MARKETING_DB")
        db_url = database if database.startswith(POSTGRES_SCHEMES) else ""
        if "://" in database and not db_url:
            raise ConfigError(f"MARKETING_DB must be a file path or a postgresql:// URL, got {database.split('://')[0]}://...")
        secret_key = read.raw("SECRET_KEY")
        if db_url and not secret_key:
            # Instances sharing a database must sign alike: an unsubscribe link from one works on every other.
            raise ConfigError("SECRET_KEY must be set when MARKETING_DB is a PostgreSQL URL (shared by every instance)")
        environment = read.choice("MARKETING_ENV", cls.environment, ("development", "production"))
        if environment == "production":
            refuse_weak_secret("SECRET_KEY", secret_key, " with MARKETING_ENV=production")
        admin_password = read.as_given("MARKETING_ADMIN_PASSWORD", "")
        if admin_password and not 8 <= len(admin_password) <= 1024:
            raise ConfigError("MARKETING_ADMIN_PASSWORD must be 8 to 1024 characters long")
        mail_from = read.text("MAIL_FROM", cls.mail_from)
        mail_domain = read.text("MAIL_DOMAIN", parseaddr(mail_from)[1].rpartition("@")[2]).lower()
        if not DOMAIN.fullmatch(mail_domain):
            raise ConfigError(f"MAIL_DOMAIN (or MAIL_FROM's domain) must be a domain like example.com, got {mail_domain!r}")
        fallbacks = tuple(key.strip() for key in read.raw("SECRET_KEY_FALLBACKS").split(",") if key.strip())
        return cls(
            churn_url=churn_url,
            churn_api_token=read.text("CHURN_API_TOKEN", ""),
            db_path=Path(database) if database and not db_url else cls.db_path,
            db_url=db_url,
            db_pool_size=read.integer("DB_POOL_SIZE", cls.db_pool_size, 2, maximum=1000),
            mailer=read.choice("MAILER", cls.mailer, ("log", "smtp")),
            mail_dir=read.path("MAIL_DIR", cls.mail_dir),
            mail_from=mail_from,
            mail_domain=mail_domain,
            mail_max_attempts=read.integer("MAIL_MAX_ATTEMPTS", cls.mail_max_attempts, 1, maximum=100),
            mail_backoff_seconds=read.number("MAIL_BACKOFF_SECONDS", cls.mail_backoff_seconds, 0, maximum=300),
            mail_rate_per_minute=read.number("MAIL_RATE_PER_MINUTE", cls.mail_rate_per_minute, 0, maximum=1_000_000),
            smtp_host=read.text("SMTP_HOST", cls.smtp_host),
            smtp_port=read.integer("SMTP_PORT", cls.smtp_port, 1, maximum=65535),
            secret_key=secret_key,
            secret_key_fallbacks=fallbacks,
            environment=environment,
            admin_password=admin_password,
            proxy_hops=read.integer("PROXY_HOPS", cls.proxy_hops, 0),
            campaign=read.text("CAMPAIGN", cls.campaign),
            max_body_mb=read.number("MAX_BODY_MB", cls.max_body_mb, 0.01, maximum=1024),
            churn_connect_timeout=read.number("CHURN_CONNECT_TIMEOUT", cls.churn_connect_timeout, 0.01, maximum=300),
            churn_read_timeout=read.number("CHURN_READ_TIMEOUT", cls.churn_read_timeout, 0.01, maximum=600),
            poll_interval=read.number("POLL_INTERVAL", cls.poll_interval, 0.05, maximum=3600),
            lease_seconds=read.number("LEASE_SECONDS", cls.lease_seconds, 1, maximum=86400),
            shadow_poll_seconds=read.number("SHADOW_POLL_SECONDS", cls.shadow_poll_seconds, 0, maximum=86400),
            db_busy_timeout_ms=read.integer("DB_BUSY_TIMEOUT_MS", cls.db_busy_timeout_ms, 0, maximum=3_600_000),
            background=read.flag("BACKGROUND", True),
            session_cookie_secure=read.flag("SESSION_COOKIE_SECURE", environment == "production"),
            public_url=public_url,
            max_upload_mb=read.number("MAX_UPLOAD_MB", cls.max_upload_mb, 0.01, maximum=1024),
            offer_cooldown_days=read.number("OFFER_COOLDOWN_DAYS", cls.offer_cooldown_days, 0, maximum=3650),
            metrics_dir=read.raw("PROMETHEUS_MULTIPROC_DIR") or None,
        )

    @property
    def production(self) -> bool:
        return self.environment == "production"

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
