"""Survey settings from the environment (prefix DVCOPS_SURVEY_), like the template's core/config.py.

Secrets (admin password, HMAC key, a database URL with a password) are SecretStr so they never
show in a repr, a log line or an error message. There is no default admin password: without
DVCOPS_SURVEY_ADMIN_USER and DVCOPS_SURVEY_ADMIN_PASSWORD every admin request gets 401.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from dvcops.state import StateDir
from survey.errors import SurveyError

ENV_PREFIX = "DVCOPS_SURVEY_"
API_V1 = "/api/v1"
"""Every API router carries this prefix itself, so a route's path is its full URL template (the metrics label)."""
_WEAK_PASSWORDS = {"changethis", "changeme", "password", "admin", "123456", "matkhau"}


class SurveySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

    catalog: Path | None = None
    """The province catalogue: its services and agencies are what citizens can rate."""
    state: Path | None = None
    """State directory (default: DVCOPS_STATE or ./.dvcops); holds the SQLite file and the key file."""
    database_url: SecretStr | None = None
    """sqlite:///path or postgresql://user:password@host:port/db; default SQLite in the state dir."""
    hmac_key: SecretStr | None = None
    """Key for the dossier-code hash; required with PostgreSQL so every server hashes the same way."""
    admin_user: str | None = None
    admin_password: SecretStr | None = None
    instruments: Path | None = None
    """An instruments file replacing the packaged instruments.yml."""
    rate_limit_per_minute: int = 30
    """Ratings one client (IP address) may submit per minute; more get 429 with Retry-After."""
    max_body_bytes: int = 16_384
    """Larger request bodies get 413 (a rating with a 2,000-character comment is under 10 KiB)."""
    invitations: Literal["required", "optional"] = "optional"
    """`required` (production): a rating needs a valid invitation (survey/invitations.py) or its channel's API
    key, else 403; `optional`: a rating may come without one (a bad one is still refused)."""
    channel_keys: dict[Literal["kiosk", "mobile", "api"], SecretStr] = {}
    """API keys of kiosks and apps, per channel, as JSON: {"kiosk": "...", "mobile": "..."} (header
    X-Survey-Channel-Key); each at least 32 characters."""
    public_url: str | None = None
    """The survey's public address, for invitation links (e.g. https://danhgia.tinh.gov.vn)."""
    batch_max: int = 256
    """Most ratings committed in one transaction by the group-commit writer (at most 500: one multi-row
    INSERT must stay under SQLite's 32,766 parameters)."""

    @field_validator("admin_password")
    @classmethod
    def _strong(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        pw = v.get_secret_value()
        if len(pw) < 12 or pw.lower() in _WEAK_PASSWORDS:
            raise ValueError("too weak: use at least 12 characters that are not a well-known default")
        return v

    @field_validator("hmac_key")
    @classmethod
    def _long_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        if len(v.get_secret_value()) < 32:
            raise ValueError("too short: use at least 32 random characters (e.g. `openssl rand -hex 32`)")
        return v

    @field_validator("channel_keys")
    @classmethod
    def _long_channel_keys(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for channel, key in v.items():
            if len(key.get_secret_value()) < 32:
                raise ValueError(f"{channel}: too short: use at least 32 random characters "
                                 "(e.g. `openssl rand -hex 32`)")
        return v

    @field_validator("rate_limit_per_minute", "max_body_bytes", "batch_max")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"{v}: expected a whole number >= 1")
        return v

    @field_validator("batch_max")
    @classmethod
    def _batch_fits(cls, v: int) -> int:
        if v > 500:
            raise ValueError(f"{v}: expected at most 500")
        return v

    # ------------------------------------------------------------------ derived values

    @property
    def state_dir(self) -> StateDir:
        return StateDir(self.state)

    @property
    def admin_enabled(self) -> bool:
        return bool(self.admin_user and self.admin_password)

    def database(self) -> URL:
        """The database URL (psycopg 3 for PostgreSQL); SurveyError names the setting when it is malformed."""
        if self.database_url is None or not self.database_url.get_secret_value():
            path = self.state_dir.path("survey", "ratings.sqlite3")
            return make_url(f"sqlite:///{path}")
        raw = self.database_url.get_secret_value()
        try:
            url = make_url(raw.replace("postgres://", "postgresql://", 1) if raw.startswith("postgres://") else raw)
        except ArgumentError:
            raise SurveyError(f"{ENV_PREFIX}DATABASE_URL: not a database URL: expected sqlite:///path or "
                              "postgresql://user:password@host:port/database") from None
        if url.get_backend_name() == "postgresql":
            return url.set(drivername="postgresql+psycopg")
        if url.get_backend_name() == "sqlite" and url.database:
            return url
        raise SurveyError(f"{ENV_PREFIX}DATABASE_URL: {url.render_as_string(hide_password=True)!r}: expected "
                          "sqlite:///path or postgresql://user:password@host:port/database")

    def key(self) -> bytes:
        """The HMAC key: the setting, or (SQLite only) a random key kept in <state>/survey/hmac.key, mode 0600."""
        if self.hmac_key is not None:
            return self.hmac_key.get_secret_value().encode()
        if self.database().get_backend_name() != "sqlite":
            raise SurveyError(f"{ENV_PREFIX}HMAC_KEY is not set: with PostgreSQL every survey server must hash "
                              "dossier codes with the same key (e.g. `openssl rand -hex 32`)")
        return _key_file(self.state_dir.path("survey", "hmac.key"))


def _key_file(path: Path) -> bytes:
    """Read the key file, creating it (mode 0600, never overwritten) on first use."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SurveyError(f"{path}: the HMAC key file is readable by others: run chmod 600 {path}") from None
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise SurveyError(f"{path}: the HMAC key file is damaged (shorter than 32 characters)") from None
        return key
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
        f.flush()
        os.fsync(f.fileno())
    return path.read_bytes().strip()


def load_settings(**overrides: Any) -> SurveySettings:
    """Settings from the environment plus overrides; a bad value is one line naming the variable."""
    try:
        return SurveySettings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            name = f"{ENV_PREFIX}{str(err['loc'][0]).upper()}" if err["loc"] else ENV_PREFIX
            lines.append(f"{name}: {err['msg'].removeprefix('Value error, ')}")
        raise SurveyError(*lines) from None
