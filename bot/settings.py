"""The one settings object: WORKROOM_* environment variables and a .env file."""

from __future__ import annotations

import secrets
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WORKROOM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./workroom.db"
    redis_url: str | None = None
    secret_key: str = PLACEHOLDER_SECRET
    timezone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    default_lang: Literal["zh", "en"] = "zh"
    # Inactivity: after this many minutes a half-filled form times out.
    draft_timeout_minutes: int = Field(default=30, ge=1)
    # What happens to the draft then: kept (resume later) or dropped.
    draft_on_timeout: Literal["keep", "drop"] = "keep"
    invite_ttl_hours: int = Field(default=72, ge=1)
    outbox_interval_seconds: float = Field(default=1.0, gt=0)
    timer_interval_seconds: float = Field(default=15.0, gt=0)
    outbox_max_attempts: int = Field(default=8, ge=1)
    # A re-delivered message gets its first answer for this long; after it, the texts are
    # blanked, and the message ids themselves are kept for dedupe for `inbound_keep_hours`.
    inbound_replay_minutes: int = Field(default=60, ge=1)
    inbound_keep_hours: int = Field(default=48, ge=1)
    # The largest photo, voice note or video the web chat takes (its bytes are kept in the
    # database with the record).
    web_file_max_mb: int = Field(default=20, ge=1, le=200)
    org_file: str | None = None
    # Telegram: off without a token; "webhook" behind this app, or long "polling".
    telegram_token: str | None = None
    telegram_mode: Literal["webhook", "polling"] = "polling"
    # A self-hosted Bot API server: its URL alone will do, the file URL follows from it.
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_secret: str | None = None
    # Telegram's limits (per chat: a burst, then about 1/s; 20/min per group; 30/s in all)
    telegram_chat_burst: int = Field(default=4, ge=1)
    telegram_chat_per_second: float = Field(default=1.0, gt=0)
    telegram_group_per_minute: int = Field(default=20, ge=1)
    telegram_per_second: int = Field(default=30, ge=1)
    scheduler_enabled: bool = True
    # Each scheduler writes a heartbeat this often; `workroom doctor` calls it dead after
    # `heartbeat_max_age_seconds` without one.
    heartbeat_interval_seconds: float = Field(default=10.0, gt=0)
    heartbeat_max_age_seconds: float = Field(default=60.0, gt=0)
    # Routine pushes and case alerts in these local hours come without a sound on Telegram
    # (emergencies and answers always sound); "" turns it off.
    quiet_hours: str = "22:00-07:00"
    # An acknowledged emergency not yet handled alerts again after this many minutes, then
    # after twice as long each time, up to 8 hours (handlers/incidents.py REALERT_MAX).
    incident_realert_minutes: int = Field(default=60, ge=1)
    # --- hotline (a phone number for calls and texts; Twilio first). Off without a SID.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    # The hotline's own number (E.164, e.g. +8610…): texts and calls go out from it.
    hotline_number: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    # The public URL Twilio calls (signatures are computed over it); base_url when unset.
    hotline_public_url: str | None = None
    # "0" in the voice menu rings these (comma-separated); else the staff's phone contacts.
    hotline_staff_numbers: str | None = None
    # The chain's last step also calls its people who have a phone contact ("press 1").
    hotline_call_last_step: bool = True
    # A voice recording shorter than this (seconds) with no number of people keyed after
    # it is no report (a cough, a hang-up at the beep): the staff are told of a call that
    # left none, to call back. 0: every recording is a report.
    hotline_min_recording_seconds: int = Field(default=3, ge=0)
    # Reports of one workshop within this window go to one incident, not several chains.
    incident_link_minutes: int = Field(default=30, ge=0)
    # This many complaints of one category from one workshop within the window: the
    # director is told of a suspected group incident. 0 turns it off.
    complaint_cluster_count: int = Field(default=3, ge=0)
    complaint_cluster_hours: int = Field(default=24, ge=1)
    # The calendar jobs (roster publication, screening, reports) are planned as timers this
    # often; each run adds only what is missing.
    calendar_interval_minutes: float = Field(default=10.0, gt=0)
    # WeChat official account (公众号): off without an app id. Safe mode (an AES key) is
    # required; plaintext mode only with WORKROOM_ENV=development.
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_token: str | None = None
    wechat_aes_key: str | None = None  # EncodingAESKey: 43 characters
    wechat_plaintext: bool = False
    wechat_api_url: str = "https://api.weixin.qq.com"
    # A template message for alerts (one field, {{content.DATA}}); unset: customer service.
    wechat_alert_template_id: str | None = None
    # WeCom (企业微信) application: off without a corp id; always in safe mode.
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_api_url: str = "https://qyapi.weixin.qq.com"  # private deployments, proxies
    # WeChat waits 5 s: past this the callback answers `success` and the replies go by
    # customer-service message.
    wechat_reply_deadline_seconds: float = Field(default=4.5, gt=0, le=4.8)
    wechat_timestamp_window_seconds: int = Field(default=300, ge=30, le=3600)
    wechat_max_body_bytes: int = Field(default=32 * 1024, ge=1024, le=1024 * 1024)

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env == "production" and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError("WORKROOM_SECRET_KEY must be set to a real secret in production")
        ZoneInfo(self.timezone)  # raises on an unknown zone
        _hours(self.quiet_hours)  # raises on hours that are not hours
        api = self.telegram_api_url.rstrip("/")
        if "telegram_file_url" not in self.model_fields_set and api.endswith("/bot"):
            # Files come from the server that answers the API (Telegram's own: /file/bot).
            self.telegram_file_url = api.removesuffix("/bot") + "/file/bot"
        if self.telegram_token and self.telegram_mode == "webhook" and (
                not self.telegram_webhook_secret or len(self.telegram_webhook_secret) < 16):
            raise ValueError("webhook mode needs WORKROOM_TELEGRAM_WEBHOOK_SECRET "
                             "(16+ characters): Telegram sends it back on every delivery")
        if self.twilio_account_sid and not (self.twilio_auth_token and self.hotline_number):
            raise ValueError("the hotline needs WORKROOM_TWILIO_AUTH_TOKEN (it signs every "
                             "webhook) and WORKROOM_HOTLINE_NUMBER")
        self._check_wechat()
        return self

    def _check_wechat(self) -> None:
        if self.wechat_app_id:
            if not self.wechat_app_secret or not self.wechat_token:
                raise ValueError("the official account needs WORKROOM_WECHAT_APP_SECRET and "
                                 "WORKROOM_WECHAT_TOKEN")
            if self.wechat_plaintext:
                if self.env != "development":
                    raise ValueError("WeChat plaintext mode is refused unless "
                                     "WORKROOM_ENV=development: use safe mode (AES)")
            else:
                _aes_key("WORKROOM_WECHAT_AES_KEY", self.wechat_aes_key)
        if self.wecom_corp_id:
            if not (self.wecom_secret and self.wecom_token and self.wecom_agent_id):
                raise ValueError("WeCom needs WORKROOM_WECOM_AGENT_ID, WORKROOM_WECOM_SECRET "
                                 "and WORKROOM_WECOM_TOKEN")
            _aes_key("WORKROOM_WECOM_AES_KEY", self.wecom_aes_key)

    @property
    def hotline_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.hotline_number)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def quiet_window(self) -> tuple[time, time] | None:
        """WORKROOM_QUIET_HOURS as (start, end) local times; None when off."""
        return _hours(self.quiet_hours)


def _hours(value: str) -> tuple[time, time] | None:
    """"22:00-07:00" -> (22:00, 07:00); "" or "off" -> None; anything else is refused."""
    if value.strip().lower() in ("", "off", "none"):
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise ValueError(f"WORKROOM_QUIET_HOURS: {value!r} is not like 22:00-07:00") from None
    if start == end:
        raise ValueError(f"WORKROOM_QUIET_HOURS: {value!r} starts and ends at the same time")
    return start, end


def _aes_key(name: str, value: str | None) -> None:
    """An EncodingAESKey is 43 characters of base64 that decode to 32 bytes."""
    import base64
    import binascii

    try:
        ok = value is not None and len(value) == 43 and len(base64.b64decode(value + "=")) == 32
    except (binascii.Error, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be the 43-character EncodingAESKey (safe mode)")


DEV_SECRET_FILE = ".workroom-secret"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings; outside production a missing secret becomes a per-install one.

    The placeholder is public, so links signed with it could be forged; a random secret
    kept in .workroom-secret (beside the SQLite file) keeps links valid across restarts.
    """
    settings = Settings()
    if settings.secret_key == PLACEHOLDER_SECRET:
        path = Path(DEV_SECRET_FILE)
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
            path.chmod(0o600)
        settings = settings.model_copy(
            update={"secret_key": path.read_text(encoding="utf-8").strip()})
    return settings
