"""An in-process fake of Twilio's REST API (Messages and Calls), over real HTTP.

``FakeTwilio`` serves ``POST /2010-04-01/Accounts/<SID>/Messages.json``,
``.../Calls.json`` and ``.../Calls/<CallSid>.json`` (a call's update: hanging it up)
on ``127.0.0.1:<free port>`` from a FastAPI app run by uvicorn in a background thread,
like tests/fakes/telegram_api.py does for Telegram. Requests are
checked as Twilio checks them (HTTP basic auth with the account SID and auth token,
form-encoded parameters, E.164 numbers) and recorded; errors can be injected with
``fail_next``.

``sign`` computes the X-Twilio-Signature of a webhook independently of the code under
test (HMAC-SHA1 of the URL followed by the sorted POST parameters, base64), so tests can
post webhooks as Twilio would.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

ACCOUNT_SID = "AC" + "0" * 30 + "1"
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
_E164 = re.compile(r"^\+[1-9]\d{4,14}$")


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio sends with a webhook to `url` with these parameters."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    mac = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


@dataclass
class Sent:
    """One accepted API request: a text or a call."""

    kind: str  # message | call | update (of the call `sid`)
    sid: str
    params: dict[str, str]

    @property
    def to(self) -> str:
        return self.params.get("To", "")

    @property
    def body(self) -> str:
        return self.params.get("Body", "")

    @property
    def url(self) -> str:
        return self.params.get("Url", "")


@dataclass
class _Failure:
    kind: str
    status: int
    code: int | None
    times: int
    retry_after: int | None = None


class _QuickServer(uvicorn.Server):
    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            await asyncio.sleep(0.01)


@dataclass
class FakeTwilio:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    sent: list[Sent] = field(default_factory=list)
    refused: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port: int | None = None
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = self._make_app()

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """For WORKROOM_TWILIO_API_URL: the client appends /2010-04-01/Accounts/<SID>/…"""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeTwilio:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_config=None, log_level="warning",
                                access_log=False, lifespan="off", http="h11", ws="none",
                                loop="asyncio", timeout_graceful_shutdown=2)
        self._server = _QuickServer(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"FakeTwilio:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                raise RuntimeError("FakeTwilio's server did not start")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    # --- what the tests read and control -----------------------------------------------------

    def messages(self, to: str | None = None) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.kind == "message" and (to is None or s.to == to)]

    def texts(self, to: str) -> list[str]:
        return [m.body for m in self.messages(to)]

    def calls(self, to: str | None = None) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.kind == "call" and (to is None or s.to == to)]

    def updates(self, sid: str | None = None) -> list[Sent]:
        """Requests that changed a call (Status=completed hangs it up)."""
        with self._lock:
            return [s for s in self.sent if s.kind == "update" and (sid is None or s.sid == sid)]

    def fail_next(self, kind: str, *, status: int = 500, code: int | None = None,
                  times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next `times` requests of `kind` (message | call) with an error."""
        with self._lock:
            self._failures.append(_Failure(kind, status, code, times, retry_after))

    # --- the API ------------------------------------------------------------------------

    def _make_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/2010-04-01/Accounts/{sid}/{resource}.json")
        async def create(sid: str, resource: str, request: Request) -> JSONResponse:
            params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            kind = {"Messages": "message", "Calls": "call"}.get(resource)
            if kind is None:
                return self._error(404, 20404, "The requested resource was not found")
            if not self._authorized(sid, request.headers.get("authorization", "")):
                return self._refuse(kind, 401, params, 20003, "Authenticate")
            failure = self._take_failure(kind)
            if failure is not None:
                headers = {"Retry-After": str(failure.retry_after)} \
                    if failure.retry_after is not None else None
                return self._refuse(kind, failure.status, params, failure.code,
                                    "injected failure", headers)
            for name in ("To", "From"):
                if not _E164.match(params.get(name, "")):
                    return self._refuse(kind, 400, params, 21211,
                                        f"The '{name}' number is not a valid phone number")
            if kind == "message" and not params.get("Body"):
                return self._refuse(kind, 400, params, 21602, "Message body is required")
            if kind == "message" and len(params["Body"]) > 1600:
                return self._refuse(kind, 400, params, 21617, "Body exceeds 1600 characters")
            if kind == "call" and not params.get("Url", "").startswith(("http://", "https://")):
                return self._refuse(kind, 400, params, 21205, "Url is not a valid URL")
            prefix = "SM" if kind == "message" else "CA"
            out = Sent(kind, f"{prefix}{next(self._ids):032d}", params)
            with self._lock:
                self.sent.append(out)
            return JSONResponse({"sid": out.sid, "account_sid": sid, "to": out.to,
                                 "from": params.get("From"), "status": "queued",
                                 "body": params.get("Body")}, status_code=201)

        @app.post("/2010-04-01/Accounts/{sid}/Calls/{call_sid}.json")
        async def update(sid: str, call_sid: str, request: Request) -> JSONResponse:
            params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            if not self._authorized(sid, request.headers.get("authorization", "")):
                return self._refuse("update", 401, params, 20003, "Authenticate")
            with self._lock:
                placed = any(s.kind == "call" and s.sid == call_sid for s in self.sent)
            if not placed:
                return self._refuse("update", 404, params, 20404,
                                    "The requested resource was not found")
            if params.get("Status") not in (None, "canceled", "completed"):
                return self._refuse("update", 400, params, 21218, "Invalid call status")
            failure = self._take_failure("update")
            if failure is not None:
                return self._refuse("update", failure.status, params, failure.code,
                                    "injected failure")
            with self._lock:
                self.sent.append(Sent("update", call_sid, params))
            return JSONResponse({"sid": call_sid, "account_sid": sid,
                                 "status": params.get("Status", "in-progress")})

        return app

    def _authorized(self, sid: str, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return sid == self.account_sid and hmac.compare_digest(header, f"Basic {expected}")

    def _take_failure(self, kind: str) -> _Failure | None:
        with self._lock:
            for f in self._failures:
                if f.kind == kind and f.times > 0:
                    f.times -= 1
                    return f
        return None

    def _refuse(self, kind: str, status: int, params: dict[str, str], code: int | None,
                message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        with self._lock:
            self.refused.append((kind, status, params))
        return self._error(status, code, message, headers)

    @staticmethod
    def _error(status: int, code: int | None, message: str,
               headers: dict[str, str] | None = None) -> JSONResponse:
        body: dict[str, Any] = {"status": status, "code": code, "message": message}
        return JSONResponse(body, status_code=status, headers=headers)
