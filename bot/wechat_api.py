"""The outbound WeChat APIs (official account and WeCom) over HTTP, and their errors.

The access token is kept in the shared store (Redis or the database) with a lease on
refreshing it: fetching a new official-account token invalidates the old one, so only one
process fetches and the others read what it stored. The base URL is a setting, for WeCom
private deployments and proxies.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import Session

from bot.channels import DeliveryError
from store.shared import SharedStore

log = logging.getLogger(__name__)

# The token was refused: fetch a new one and try once more.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# This account cannot reach the person now: 45015 outside the 48-hour customer-service
# window, 45047 too many customer-service messages without an answer, 43004 / 43019 not a
# follower or blocked, 40003 / 60111 / 81013 unknown or unreachable user, 45009 the daily
# quota spent, 48001 / 48002 not allowed: try the person's next channel at once.
FALLBACK_ERRORS = frozenset({45015, 45047, 43004, 43019, 40003, 60111, 81013, 45009, 48001,
                             48002, 301002})
TOKEN_MARGIN = timedelta(minutes=5)  # refresh this long before WeChat's expiry
LEASE = timedelta(seconds=30)


class ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


@dataclass(frozen=True)
class Account:
    """One account's credentials: the official account (app id, secret) or a WeCom
    application (corp id, secret, agent id)."""

    kind: str  # "wechat" | "wecom"
    api_url: str
    app_id: str
    secret: str
    agent_id: int | None = None
    alert_template_id: str | None = None


class WeChatApi:
    """Calls one account's API with its shared access token."""

    def __init__(self, account: Account, shared: SharedStore, *,
                 client: httpx.Client | None = None, lease_wait: float = 10.0) -> None:
        self.account, self.shared = account, shared
        self.http = client or httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0))
        self.lease_wait = lease_wait
        self._key = f"token:{account.kind}:{account.app_id}"

    def close(self) -> None:
        self.http.close()

    # --- tokens ------------------------------------------------------------------------

    def token(self, *, refused: str | None = None, session: Session | None = None) -> str:
        """The account's access token; `refused`: the one WeChat just refused, so a new
        one is fetched unless another process already did. `session`: the caller's open
        transaction (the outbox dispatcher's), for the shared store to work in."""
        deadline = time.monotonic() + self.lease_wait
        lease = f"lease:{self._key}"
        while True:
            current = self.shared.get(self._key, session=session)
            if current and current != refused:
                return current
            if self.shared.add_once(lease, "1", LEASE, session=session):
                try:
                    current = self.shared.get(self._key, session=session)
                    if current and current != refused:  # fetched while we asked
                        return current
                    token, expires_in = self._fetch_token()
                    ttl = max(timedelta(seconds=expires_in) - TOKEN_MARGIN,
                              timedelta(seconds=60))
                    self.shared.put(self._key, token, ttl, session=session)
                    return token
                finally:
                    self.shared.delete(lease, session=session)
            if time.monotonic() > deadline:
                raise ApiError(-1, "access token: another process holds the refresh lease")
            time.sleep(0.05)

    def _fetch_token(self) -> tuple[str, int]:
        a = self.account
        if a.kind == "wecom":
            url, params = "/cgi-bin/gettoken", {"corpid": a.app_id, "corpsecret": a.secret}
        else:
            url, params = "/cgi-bin/token", {"grant_type": "client_credential",
                                             "appid": a.app_id, "secret": a.secret}
        data = self._json(self.http.get(a.api_url.rstrip("/") + url, params=params))
        log.info("wechat: fetched a new %s access token", a.kind)
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    # --- calls -------------------------------------------------------------------------

    def post(self, path: str, body: dict[str, Any], *, session: Session | None = None,
             **params: Any) -> dict[str, Any]:
        """POST with the access token; a refused token is refreshed once."""
        token = self.token(session=session)
        for attempt in (1, 2):
            response = self.http.post(self.account.api_url.rstrip("/") + path,
                                      params={"access_token": token, **params}, json=body)
            try:
                return self._json(response)
            except ApiError as err:
                if err.errcode in TOKEN_ERRORS and attempt == 1:
                    token = self.token(refused=token, session=session)
                    continue
                raise
        raise AssertionError("unreachable")

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        response.raise_for_status()
        data = response.json()
        if not isinstance(data, dict):
            raise ApiError(-1, "not a JSON object")
        code = int(data.get("errcode") or 0)
        if code:
            raise ApiError(code, str(data.get("errmsg", "")))
        return data

    # --- messages ----------------------------------------------------------------------

    def send_text(self, to: str, text: str, *,
                  session: Session | None = None) -> dict[str, Any]:
        """A customer-service message (official account) or an application message
        (WeCom) of one text under the length limit."""
        a = self.account
        if a.kind == "wecom":
            data = self.post("/cgi-bin/message/send", {
                "touser": to, "msgtype": "text", "agentid": a.agent_id,
                "text": {"content": text}}, session=session)
            if data.get("invaliduser"):  # answered 0, but not to this person
                raise ApiError(81013, f"invalid user {data['invaliduser']}")
            return data
        return self.post("/cgi-bin/message/custom/send", {
            "touser": to, "msgtype": "text", "text": {"content": text}}, session=session)

    def send_media(self, to: str, msgtype: str, media_id: str, *, title: str | None = None,
                   session: Session | None = None) -> dict[str, Any]:
        """An image, voice, video or (WeCom) file message of a temporary media id; a
        video carries `title` (the official account's customer-service video has no
        thumbnail then, as wechatpy sends it)."""
        content: dict[str, Any] = {"media_id": media_id}
        if msgtype == "video" and title:
            content["title"] = title
        a = self.account
        if a.kind == "wecom":
            data = self.post("/cgi-bin/message/send", {
                "touser": to, "msgtype": msgtype, "agentid": a.agent_id, msgtype: content},
                session=session)
            if data.get("invaliduser"):
                raise ApiError(81013, f"invalid user {data['invaliduser']}")
            return data
        return self.post("/cgi-bin/message/custom/send", {
            "touser": to, "msgtype": msgtype, msgtype: content}, session=session)

    def upload_media(self, kind: str, data: bytes, *, filename: str, mime_type: str,
                     session: Session | None = None) -> str:
        """Upload a temporary media file (media/upload, `kind` image | voice | video |
        file: the same call on both APIs, its id lasts three days); its media id."""
        token = self.token(session=session)
        url = self.account.api_url.rstrip("/") + "/cgi-bin/media/upload"
        for attempt in (1, 2):
            response = self.http.post(url, params={"access_token": token, "type": kind},
                                      files={"media": (filename, data, mime_type)})
            try:
                answer = self._json(response)
            except ApiError as err:
                if err.errcode in TOKEN_ERRORS and attempt == 1:
                    token = self.token(refused=token, session=session)
                    continue
                raise
            media_id = answer.get("media_id")
            if not isinstance(media_id, str) or not media_id:
                raise ApiError(-1, "media/upload answered no media_id")
            return media_id
        raise AssertionError("unreachable")

    def send_template(self, to: str, text: str, *,
                      session: Session | None = None) -> dict[str, Any]:
        """The official account's template message: not bound to the 48-hour window."""
        return self.post("/cgi-bin/message/template/send", {
            "touser": to, "template_id": self.account.alert_template_id,
            "data": {"content": {"value": text}}}, session=session)

    def get_media(self, media_id: str, *, limit: int,
                  timeout: float | None = None) -> tuple[bytes, str]:
        """A temporary media file's bytes and type (media/get: the same call on both
        APIs); ApiError -2 when it is larger than `limit` bytes, -3 when it has not all
        come within `timeout` seconds (each read has its own, shorter timeout)."""
        end = None if timeout is None else time.monotonic() + timeout
        token = self.token()
        url = self.account.api_url.rstrip("/") + "/cgi-bin/media/get"
        for attempt in (1, 2):
            with self.http.stream("GET", url, params={"access_token": token,
                                                      "media_id": media_id}) as response:
                response.raise_for_status()
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if kind in ("application/json", "text/json", "text/plain"):  # an error
                    try:
                        data = json.loads(response.read()[:4096])
                    except ValueError as err:
                        raise ApiError(-1, f"media/get answered {kind}") from err
                    if isinstance(data, dict) and isinstance(data.get("video_url"), str) \
                            and data["video_url"].startswith(("http://", "https://")):
                        # A video (official account): media/get gives where to fetch it.
                        return self._download(data["video_url"], limit, end, timeout)
                    code = int(data.get("errcode") or 0) if isinstance(data, dict) else -1
                    if code in TOKEN_ERRORS and attempt == 1:
                        token = self.token(refused=token)
                        continue
                    raise ApiError(code or -1, str(data.get("errmsg", "")) if code else
                                   "media/get answered no file")
                return _read(response, limit, end, timeout), kind or "application/octet-stream"
        raise AssertionError("unreachable")

    def _download(self, url: str, limit: int, end: float | None,
                  timeout: float | None) -> tuple[bytes, str]:
        with self.http.stream("GET", url) as response:
            response.raise_for_status()
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if not kind or kind in ("application/octet-stream", "text/plain"):
                kind = "video/mp4"  # WeChat's videos are MP4, whatever the CDN says
            return _read(response, limit, end, timeout), kind

    def create_menu(self, menu: dict[str, Any]) -> dict[str, Any]:
        if self.account.kind == "wecom":
            return self.post("/cgi-bin/menu/create", menu, agentid=self.account.agent_id)
        return self.post("/cgi-bin/menu/create", menu)


def _read(response: httpx.Response, limit: int, end: float | None,
          timeout: float | None) -> bytes:
    """A file's bytes as they come; ApiError -2 past `limit` bytes, -3 past `end`."""
    body = bytearray()
    for part in response.iter_bytes():
        body += part
        if len(body) > limit:
            raise ApiError(-2, f"media larger than {limit} bytes")
        if end is not None and time.monotonic() > end:
            raise ApiError(-3, f"media not all read after {timeout:.0f}s")
    return bytes(body)


def delivery_error(err: Exception) -> DeliveryError:
    """What the outbox makes of a failed call: the person's next channel at once when
    WeChat says this account cannot reach them (FALLBACK_ERRORS); else a retry with
    back-off on the same channel (an HTTP error of WeChat or of a proxy before it is not
    the person's: it passes), at the pace asked for when a 429 says so."""
    if isinstance(err, ApiError):
        return DeliveryError(f"wechat {err}", fallback=err.errcode in FALLBACK_ERRORS)
    if isinstance(err, httpx.HTTPStatusError):
        status = err.response.status_code
        wait = err.response.headers.get("retry-after", "")
        retry_after = float(wait) if status == 429 and wait.isdigit() else None
        return DeliveryError(f"wechat http {status}", retry_after=retry_after)
    return DeliveryError(f"wechat network: {type(err).__name__}: {err}")
