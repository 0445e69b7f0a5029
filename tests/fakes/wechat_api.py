"""An in-process fake of the WeChat official-account and WeCom APIs over real HTTP, and a
builder of callbacks signed and encrypted the way WeChat makes them.

``FakeWeChatApi`` serves on ``127.0.0.1:<free port>`` (uvicorn in a background thread)::

    GET  /cgi-bin/token?grant_type=client_credential&appid=&secret=   official account
    GET  /cgi-bin/gettoken?corpid=&corpsecret=                         WeCom
    POST /cgi-bin/message/custom/send?access_token=     customer-service message
    POST /cgi-bin/message/template/send?access_token=   template message
    POST /cgi-bin/message/send?access_token=            WeCom application message
    POST /cgi-bin/menu/create?access_token=[&agentid=]  custom menu
    GET  /cgi-bin/media/get?access_token=&media_id=     a temporary media file's bytes
    POST /cgi-bin/media/upload?access_token=&type=      a temporary media file (multipart
                                                        field `media`): its media_id

Media files are put in with ``add_media`` or uploaded (recorded in ``uploads``); an unknown
(or expired) id answers 40007, also in an image, voice, video or file message.
Only the newest token of each account is valid (WeChat keeps the old one a few minutes;
being strict shows a process that fetches needlessly). Texts over 2048 bytes answer 45002.
Errors are injected with ``fail_next`` (an errcode, or an HTTP status). Every call is
recorded.

``Callbacks`` computes signatures with hashlib and the WXBizMsgCrypt envelope (random 16
bytes, 4-byte length, message, receiver id, PKCS#7 to 32 bytes, AES-256-CBC with the key's
first 16 bytes as IV) with ``cryptography`` directly: independently of the code under test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from xml.etree.ElementTree import fromstring

import uvicorn
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

APP_ID, APP_SECRET, OA_TOKEN = "wx0123456789abcdef", "oa-secret", "oatoken123"
OA_AES_KEY = base64.b64encode(b"O" * 16 + b"A" * 16).decode().rstrip("=")
OA_ORIGINAL_ID = "gh_0123456789ab"
CORP_ID, CORP_SECRET, WECOM_TOKEN = "ww0123456789abcdef", "corp-secret", "wecomtok"
AGENT_ID = 1000002
WECOM_AES_KEY = base64.b64encode(b"W" * 16 + b"C" * 16).decode().rstrip("=")
TEXT_LIMIT = 2048
MEDIA_TYPES = ("image", "voice", "video", "file")


def _multipart(content_type: str, body: bytes, name: str) -> tuple[str, bytes, str] | None:
    """(filename, bytes, type) of the form field `name` of a multipart/form-data body."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            data = part.get_payload(decode=True)
            return (part.get_filename() or "", data if isinstance(data, bytes) else b"",
                    part.get_content_type())
    return None


@dataclass
class Call:
    path: str
    params: dict[str, str]
    body: dict[str, Any]

    @property
    def to(self) -> str:
        return str(self.body.get("touser", ""))

    @property
    def text(self) -> str:
        if "template_id" in self.body:
            return str(self.body["data"]["content"]["value"])
        return str(self.body.get("text", {}).get("content", ""))


@dataclass
class Upload:
    kind: str  # image | voice | video | file
    filename: str
    content: bytes
    mime_type: str
    media_id: str
    account: str  # oa | wecom


@dataclass
class _Failure:
    path: str
    errcode: int
    to: str | None
    times: int
    status: int = 200


@dataclass
class _Delay:
    path: str
    seconds: float
    to: str | None


class _QuickServer(uvicorn.Server):
    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            await asyncio.sleep(0.01)


@dataclass
class FakeWeChatApi:
    host: str = "127.0.0.1"
    port: int | None = None
    calls: list[Call] = field(default_factory=list)
    token_fetches: dict[str, int] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)
    _failures: list[_Failure] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    links: set[str] = field(default_factory=set)  # media given as a video_url to download
    _delays: list[_Delay] = field(default_factory=list)
    media_delay: float = 0.0  # seconds media/get takes (a slow download)
    uploads: list[Upload] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Any = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- control ---------------------------------------------------------------------

    def fail_next(self, path: str, errcode: int, *, to: str | None = None,
                  times: int = 1, status: int = 200) -> None:
        """The next `times` calls to `path` (for `to`, if given) answer `errcode`, or
        the HTTP `status` when it is not 200 (a proxy, a WeChat outage)."""
        with self._lock:
            self._failures.append(_Failure(path, errcode, to, times, status))

    def clear_failures(self) -> None:
        """Calls answer again as they would (failures asked for and not yet given)."""
        with self._lock:
            self._failures.clear()

    def delay_next(self, path: str, seconds: float, *, to: str | None = None) -> None:
        """The next call to `path` (for `to`, if given) takes `seconds` (a slow network)."""
        with self._lock:
            self._delays.append(_Delay(path, seconds, to))

    def _delay(self, path: str, to: str) -> float:
        with self._lock:
            for d in self._delays:
                if d.path == path and d.to in (None, to):
                    self._delays.remove(d)
                    return d.seconds
        return 0.0

    def add_media(self, media_id: str, content: bytes, mime_type: str, *,
                  as_link: bool = False) -> None:
        """media/get of `media_id` gives `content`; `as_link`: as the official account
        gives a video, a JSON {"video_url": ...} to download it from."""
        with self._lock:
            self.media[media_id] = (content, mime_type)
            if as_link:
                self.links.add(media_id)

    def _failure(self, path: str, to: str) -> JSONResponse | None:
        for f in self._failures:
            if f.path == path and f.times > 0 and f.to in (None, to):
                f.times -= 1
                if f.status != 200:
                    return JSONResponse({"error": "injected"}, status_code=f.status)
                return JSONResponse({"errcode": f.errcode, "errmsg": "injected"})
        return None

    def expire_tokens(self) -> None:
        """WeChat revokes the tokens (as when another party fetched a new one)."""
        with self._lock:
            self._tokens = {k: v + "-revoked" for k, v in self._tokens.items()}

    def media_sent(self, to: str | None = None) -> list[tuple[str, str]]:
        """(msgtype, media_id) of each image, voice, video or file message (to `to`)."""
        return [(c.body["msgtype"], c.body[c.body["msgtype"]]["media_id"])
                for c in self.sent(to) if c.body.get("msgtype") in MEDIA_TYPES]

    def sent(self, to: str | None = None, path: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if "/message/" in c.path
                    and (to is None or c.to == to) and (path is None or c.path == path)]

    # --- the app ---------------------------------------------------------------------

    def _token(self, account: str) -> JSONResponse:
        with self._lock:
            n = self.token_fetches.get(account, 0) + 1
            self.token_fetches[account] = n
            self._tokens[account] = f"TOKEN-{account}-{n}"
            return JSONResponse({"access_token": self._tokens[account], "expires_in": 7200})

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/cgi-bin/token")
        def token(grant_type: str, appid: str, secret: str) -> JSONResponse:
            if (grant_type, appid, secret) != ("client_credential", APP_ID, APP_SECRET):
                return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
            return self._token("oa")

        @app.get("/cgi-bin/gettoken")
        def gettoken(corpid: str, corpsecret: str) -> JSONResponse:
            if (corpid, corpsecret) != (CORP_ID, CORP_SECRET):
                return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
            return self._token("wecom")

        @app.get("/cgi-bin/media/get")
        async def media_get(request: Request) -> Response:
            params = dict(request.query_params)
            if self.media_delay:
                await asyncio.sleep(self.media_delay)
            with self._lock:
                token = params.get("access_token")
                if token not in self._tokens.values():
                    return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
                media_id = params.get("media_id", "")
                self.calls.append(Call("/cgi-bin/media/get", params, {}))
                failed = self._failure("/cgi-bin/media/get", media_id)
                if failed is not None:
                    return failed
                found = self.media.get(media_id)
            if found is None:
                return JSONResponse({"errcode": 40007, "errmsg": "invalid media_id"})
            if media_id in self.links:
                return JSONResponse({"video_url": f"{self.url}/video/{media_id}"})
            return Response(found[0], media_type=found[1])

        @app.get("/video/{media_id}")
        def video(media_id: str) -> Response:
            """The download link of a video (no token: a CDN's URL)."""
            with self._lock:
                self.calls.append(Call("/video", {"media_id": media_id}, {}))
                found = self.media.get(media_id)
            if found is None:
                return Response(status_code=404)
            return Response(found[0], media_type="application/octet-stream")

        @app.post("/cgi-bin/media/upload")
        async def media_upload(request: Request) -> JSONResponse:
            params = dict(request.query_params)
            body = await request.body()
            with self._lock:
                account = next((a for a, t in self._tokens.items()
                                if t == params.get("access_token")), None)
                if account is None:
                    return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
                self.calls.append(Call("/cgi-bin/media/upload", params, {}))
                failed = self._failure("/cgi-bin/media/upload", "")
                if failed is not None:
                    return failed
                kind = params.get("type", "")
                if kind not in MEDIA_TYPES:
                    return JSONResponse({"errcode": 40004, "errmsg": "invalid media type"})
                part = _multipart(request.headers.get("content-type", ""), body, "media")
                if part is None:
                    return JSONResponse({"errcode": 41005, "errmsg": "media data missing"})
                filename, content, mime = part
                media_id = f"UP-{account}-{len(self.uploads) + 1}"
                self.uploads.append(Upload(kind, filename, content, mime, media_id, account))
                self.media[media_id] = (content, mime)
            return JSONResponse({"type": kind, "media_id": media_id, "created_at": 0})

        @app.post("/cgi-bin/{path:path}")
        async def call(path: str, request: Request) -> JSONResponse:
            full = f"/cgi-bin/{path}"
            params = dict(request.query_params)
            body = await request.json()
            delay = self._delay(full, str(body.get("touser", "")))
            if delay:
                await asyncio.sleep(delay)
            account = "wecom" if full == "/cgi-bin/message/send" or "agentid" in params \
                else "oa"
            with self._lock:
                if params.get("access_token") != self._tokens.get(account):
                    return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
                to = str(body.get("touser", ""))
                failed = self._failure(full, to)
                if failed is not None:
                    return failed
                content = body.get("text", {}).get("content", "")
                if len(content.encode()) > TEXT_LIMIT:
                    return JSONResponse({"errcode": 45002, "errmsg": "content size out of limit"})
                msgtype = body.get("msgtype")
                if msgtype in MEDIA_TYPES and "/message/" in full:
                    if msgtype == "file" and account != "wecom":
                        return JSONResponse({"errcode": 40008, "errmsg": "invalid message type"})
                    if body.get(msgtype, {}).get("media_id") not in self.media:
                        return JSONResponse({"errcode": 40007, "errmsg": "invalid media_id"})
                self.calls.append(Call(full, params, body))
            answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
            if full.endswith(("/message/send", "/template/send")):
                answer["msgid"] = len(self.calls)
            return JSONResponse(answer)

        return app

    def start(self) -> FakeWeChatApi:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_config=None, log_level="warning",
                                access_log=False, lifespan="off", http="h11", ws="none",
                                loop="asyncio")
        self._server = _QuickServer(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        daemon=True, name=f"FakeWeChatApi:{self.port}")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("FakeWeChatApi did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = self._thread = None

    def __enter__(self) -> FakeWeChatApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- callbacks as WeChat makes them ----------------------------------------------------


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _key(aes_key: str) -> bytes:
    return base64.b64decode(aes_key + "=")


def encrypt(aes_key: str, receiver: str, plain: str) -> str:
    key = _key(aes_key)
    data = plain.encode()
    raw = os.urandom(16) + struct.pack(">I", len(data)) + data + receiver.encode()
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(raw) + enc.finalize()).decode()


def decrypt(aes_key: str, receiver: str, encrypted: str) -> str:
    key = _key(aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    raw = dec.update(base64.b64decode(encrypted)) + dec.finalize()
    raw = raw[:-raw[-1]]
    (length,) = struct.unpack(">I", raw[16:20])
    assert raw[20 + length:].decode() == receiver, "reply sealed for another receiver"
    return raw[20:20 + length].decode()


def fields(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in fromstring(xml)}


@dataclass
class Callbacks:
    """Builds what WeChat posts to the callback URL of one account."""

    kind: str  # "wechat" (official account) | "wecom"
    clock: Any  # .now() -> aware datetime: WeChat's clock as the app sees it
    _nonce: int = 0

    @property
    def token(self) -> str:
        return OA_TOKEN if self.kind == "wechat" else WECOM_TOKEN

    @property
    def aes_key(self) -> str:
        return OA_AES_KEY if self.kind == "wechat" else WECOM_AES_KEY

    @property
    def receiver(self) -> str:
        return APP_ID if self.kind == "wechat" else CORP_ID

    @property
    def to_user(self) -> str:
        return OA_ORIGINAL_ID if self.kind == "wechat" else CORP_ID

    def next_nonce(self) -> str:
        self._nonce += 1
        return f"{self._nonce:04d}{os.urandom(3).hex()}"

    def inner(self, sender: str, msg_type: str, created: int, msg_id: int | None,
              **extra: str) -> str:
        parts = [f"<ToUserName><![CDATA[{self.to_user}]]></ToUserName>",
                 f"<FromUserName><![CDATA[{sender}]]></FromUserName>",
                 f"<CreateTime>{created}</CreateTime>",
                 f"<MsgType><![CDATA[{msg_type}]]></MsgType>"]
        parts += [f"<{k}><![CDATA[{v}]]></{k}>" for k, v in extra.items()]
        if msg_id is not None:
            parts.append(f"<MsgId>{msg_id}</MsgId>")
        if self.kind == "wecom":
            parts.append(f"<AgentID>{AGENT_ID}</AgentID>")
        return "<xml>" + "".join(parts) + "</xml>"

    def post(self, inner_xml: str, *, timestamp: int | None = None,
             nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of a safe-mode callback carrying `inner_xml`."""
        ts = str(timestamp if timestamp is not None else int(self.clock.now().timestamp()))
        nonce = nonce or self.next_nonce()
        encrypted = encrypt(self.aes_key, self.receiver, inner_xml)
        msg_signature = sha1_signature(self.token, ts, nonce, encrypted)
        if self.kind == "wechat":
            params = {"signature": sha1_signature(self.token, ts, nonce), "timestamp": ts,
                      "nonce": nonce, "openid": "x", "encrypt_type": "aes",
                      "msg_signature": msg_signature}
            body = (f"<xml><ToUserName><![CDATA[{self.to_user}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        else:
            params = {"msg_signature": msg_signature, "timestamp": ts, "nonce": nonce}
            body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
                    f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID>"
                    f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        return params, body.encode()

    def plain_post(self, inner_xml: str) -> tuple[dict[str, str], bytes]:
        """A plaintext-mode callback (official account, development only)."""
        ts, nonce = str(int(self.clock.now().timestamp())), self.next_nonce()
        return ({"signature": sha1_signature(self.token, ts, nonce), "timestamp": ts,
                 "nonce": nonce}, inner_xml.encode())

    def verification(self, echo: str) -> dict[str, str]:
        """The URL verification GET's parameters."""
        ts, nonce = str(int(self.clock.now().timestamp())), self.next_nonce()
        if self.kind == "wechat":
            return {"signature": sha1_signature(self.token, ts, nonce), "timestamp": ts,
                    "nonce": nonce, "echostr": echo}
        encrypted = encrypt(self.aes_key, self.receiver, echo)
        return {"msg_signature": sha1_signature(self.token, ts, nonce, encrypted),
                "timestamp": ts, "nonce": nonce, "echostr": encrypted}

    def read_reply(self, body: str) -> dict[str, str]:
        """Check a passive reply's signature and open it."""
        outer = fields(body)
        assert outer["MsgSignature"] == sha1_signature(
            self.token, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"]), "bad signature"
        return fields(decrypt(self.aes_key, self.receiver, outer["Encrypt"]))
