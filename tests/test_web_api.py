"""The web chat's JSON API through the real app (ASGI, no network): cookie sessions, the
dedupe of retried messages, request limits, invite links and the push inbox."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner
from sqlmodel import Session, col, func, select

from bot import invites
from bot.bootstrap import Services
from conversations import catalog
from conversations.clock import FrozenClock
from conversations.engine import Reply
from store import outbox
from store.db import is_postgres, transaction
from store.models import Alert, Case, Contact, Incident, Person, Suggestion
from tests.calendar_helpers import publish_roster
from tests.test_flow_booking import (
    PHONE_BUTTON,
    TOPIC,
    done_text,
    slot_button,
    slot_label,
    upcoming,
)
from web.app import COOKIE, MAX_BODY, create_app

_ids = itertools.count(1)


class WebChat:
    """One browser: its own cookie jar, posting like the page does."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.replies: list[dict[str, Any]] = []

    async def post(self, *, text: str | None = None, action: str | None = None,
                   message_id: str | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"id": message_id or f"msg-{next(_ids):06d}"}
        if text is not None:
            body["text"] = text
        if action is not None:
            body["action"] = action
        r = await self.client.post("/api/chat", json=body)
        assert r.status_code == 200, r.text
        self.replies = r.json()["replies"]
        return self.replies

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.post(text=text)

    async def press(self, label: str) -> list[dict[str, Any]]:
        """Press the button labelled `label` of the last answer (post its value)."""
        return await self.post(action=self.button(label)["value"])

    def button(self, label: str) -> dict[str, Any]:
        for reply in reversed(self.replies):
            for b in reply["buttons"]:
                if b["label"] == label:
                    return dict(b)
        raise AssertionError(f"no button {label!r}; shown: {self.labels()}")

    def labels(self) -> list[str]:
        return [b["label"] for r in self.replies for b in r["buttons"]]

    @property
    def text(self) -> str:
        return "\n".join(r["text"] for r in self.replies)

    async def inbox(self, after: int = 0) -> list[dict[str, Any]]:
        r = await self.client.get("/api/inbox", params={"after": after})
        assert r.status_code == 200, r.text
        messages: list[dict[str, Any]] = r.json()["messages"]
        return messages

    async def poll(self, after: int, since: int, seen: str | None = None) -> dict[str, Any]:
        """A poll of the page: what came after `after`, what was edited since `since`, what
        the poll that answered `seen` could not see yet."""
        params: dict[str, Any] = {"after": after, "since": since}
        if seen is not None:
            params["seen"] = seen
        r = await self.client.get("/api/inbox", params=params)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    async def me(self) -> dict[str, Any]:
        r = await self.client.get("/api/me")
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data


@pytest.fixture
async def browsers(services: Services) -> AsyncIterator[list[httpx.AsyncClient]]:
    """A factory list: clients made by `new_client` share the app, never their cookies."""
    app = create_app(services, run_scheduler=False)
    clients: list[httpx.AsyncClient] = []
    transport = httpx.ASGITransport(app=app)
    for _ in range(3):
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
    try:
        yield clients
    finally:
        for c in clients:
            await c.aclose()


@pytest.fixture
def client(browsers: list[httpx.AsyncClient]) -> httpx.AsyncClient:
    return browsers[0]


def count(services: Services, model: type[Any]) -> int:
    with Session(services.db) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


async def login(client: httpx.AsyncClient, services: Services, person_key: str) -> None:
    token = invites.make_token(services.settings.secret_key, person_key)
    r = await client.get(f"/i/{token}")
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/"
    assert COOKIE in client.cookies


# --- page and static files --------------------------------------------------------------


async def test_page_and_static_files_are_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert re.search(r"<html[^>]* lang=", html)
    for testid in ("messages", "input", "send"):
        assert f'data-testid="{testid}"' in html
    # Every resource of the page is our own: nothing from a CDN or font service.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    for name in re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", html):
        r = await client.get(name)
        assert r.status_code == 200, name
    assert (await client.get("/static/../app.py")).status_code == 404
    # The icon a browser asks for by itself on every page load is there (no 404 a load).
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"
    assert '<link rel="icon" href="/favicon.ico"' in html
    assert (await client.get("/static/nope.js")).status_code == 404


# --- anonymous visitor ------------------------------------------------------------------


async def test_first_message_sets_cookie_and_shows_menu(client: httpx.AsyncClient) -> None:
    assert COOKIE not in client.cookies
    empty = (await client.get("/api/inbox")).json()
    assert empty["messages"] == [] and empty["edited"] == []
    r = await client.post("/api/chat", json={"id": "hello-0001", "text": "菜单"})
    assert r.status_code == 200
    assert COOKIE in r.cookies
    replies = r.json()["replies"]
    assert "职工群众工作室" in replies[-1]["text"]
    values = [b["value"] for b in replies[-1]["buttons"]]
    assert "flow:suggestion" in values and "flow:complaint" in values
    assert all(b["kind"] == "choice" for b in replies[-1]["buttons"])
    # The same browser keeps its session: the second message needs no new cookie.
    r2 = await client.post("/api/chat", json={"id": "hello-0002", "action": "flow:suggestion"})
    assert r2.status_code == 200
    assert COOKIE not in r2.cookies
    assert "感谢您提建议" in r2.json()["replies"][0]["text"]
    me = (await client.get("/api/me")).json()
    assert me.pop("session") and me.pop("zone") == "Asia/Shanghai" and me.pop("file_max")
    assert me == {"name": "", "role": "employee", "verified": False, "lang": "zh"}


async def test_suggestion_through_the_api(client: httpx.AsyncClient, services: Services) -> None:
    web = WebChat(client)
    await web.say("菜单")
    await web.press("提建议")
    assert "（1/3）" in web.text
    await web.press("安全生产")
    await web.say("铸造车间通风不好，夏天太热，建议加装排风扇。")
    await web.press("实名")
    assert "请核对" in web.text
    await web.press("确认提交")
    assert re.search(r"S-2026-\d{4}", web.text), web.text
    with Session(services.db) as s:
        row = s.exec(select(Suggestion)).one()
    assert row.number == "S-2026-0001"
    assert row.channel == "web" and row.topic == "safety" and not row.anonymous


async def test_same_message_id_is_answered_once(client: httpx.AsyncClient,
                                                services: Services) -> None:
    web = WebChat(client)
    await web.say("菜单")
    await web.press("提建议")
    await web.press("工资福利")
    await web.say("希望加班费按时发放，不要拖到下个月。")
    await web.press("匿名")
    confirm = web.button("确认提交")["value"]
    first = await client.post("/api/chat", json={"id": "retry-me-42", "action": confirm})
    again = await client.post("/api/chat", json={"id": "retry-me-42", "action": confirm})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert re.search(r"S-2026-\d{4}", first.text)
    assert count(services, Suggestion) == 1
    web.replies = again.json()["replies"]
    # A retried text message is not taken as a second answer either.
    await web.press("提建议")
    await web.press("其他")
    said = {"id": "typed-0001", "text": "食堂饭菜价格可以公示一下。"}
    one = await client.post("/api/chat", json=said)
    two = await client.post("/api/chat", json=said)
    assert one.json() == two.json()
    assert "（3/3）" in one.json()["replies"][-1]["text"]


@pytest.mark.parametrize("body", [
    {"id": "short", "text": "菜单"},                    # id under 8 characters
    {"id": "has spaces in it", "text": "菜单"},        # id outside [A-Za-z0-9_-]
    {"id": "x" * 65, "text": "菜单"},                  # id over 64 characters
    {"id": "no-text-or-action"},                      # neither text nor action
    {"text": "菜单"},                                  # no id
    {"id": "too-long-text", "text": "字" * 4001},      # text over 4000 characters
])
async def test_bad_messages_are_refused(client: httpx.AsyncClient, services: Services,
                                        body: dict[str, Any]) -> None:
    r = await client.post("/api/chat", json=body)
    assert r.status_code == 422, r.text
    with Session(services.db) as s:
        assert s.exec(select(Person).where(col(Person.key).startswith("web-"))).first() is None


async def test_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    body = '{"id": "big-body-01", "text": "' + "x" * MAX_BODY + '"}'
    r = await client.post("/api/chat", content=body.encode(),
                          headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert COOKIE not in r.cookies


# --- invite links -----------------------------------------------------------------------


async def test_invite_link_logs_the_person_in(client: httpx.AsyncClient,
                                              services: Services) -> None:
    await login(client, services, "zhao_guoqiang")
    me = await WebChat(client).me()
    assert me.pop("session") and me.pop("zone") == "Asia/Shanghai" and me.pop("file_max")
    assert me == {"name": "赵国强", "role": "leader", "verified": True, "lang": "zh"}
    web = WebChat(client)
    await web.say("菜单")
    assert "在办的问题" in web.labels()  # a leader's menu


async def test_invite_keeps_a_persons_language(client: httpx.AsyncClient,
                                               services: Services) -> None:
    await login(client, services, "daniel_hughes")
    me = await WebChat(client).me()
    assert me["name"] == "Daniel Hughes" and me["lang"] == "en"
    web = WebChat(client)
    await web.say("menu")
    assert "Make a suggestion" in web.labels()


def _expired_token(secret: str, person_key: str, monkeypatch: pytest.MonkeyPatch,
                   hours_ago: int) -> str:
    signed_at = int(time.time()) - hours_ago * 3600
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at)
        return invites.make_token(secret, person_key)


async def test_forged_or_expired_invite_shows_the_invalid_page(
        client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = services.settings.secret_key
    ttl = services.settings.invite_ttl_hours
    good = invites.make_token(secret, "chen_lihua")
    tokens = {
        "forged": invites.make_token("another-secret", "chen_lihua"),
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "expired": _expired_token(secret, "chen_lihua", monkeypatch, hours_ago=ttl + 1),
        "unknown person": invites.make_token(secret, "nobody_here"),
        "garbage": "not-a-token",
    }
    for why, token in tokens.items():
        r = await client.get(f"/i/{token}")
        assert r.status_code == 400, why
        assert r.headers["content-type"].startswith("text/html")
        assert "链接无效或已过期" in r.text and "invalid or has expired" in r.text, why
        assert 'href="/"' in r.text
        assert COOKIE not in client.cookies, why
    # Just inside its lifetime, the same kind of token still works.
    fresh = _expired_token(secret, "chen_lihua", monkeypatch, hours_ago=ttl - 1)
    assert (await client.get(f"/i/{fresh}")).status_code == 303
    assert (await WebChat(client).me())["role"] == "director"


async def test_tampered_cookie_is_a_new_visitor(client: httpx.AsyncClient,
                                                services: Services) -> None:
    await login(client, services, "chen_lihua")
    client.cookies.set(COOKIE, client.cookies[COOKIE][:-3] + "xyz")
    me = await WebChat(client).me()
    assert me["role"] == "employee" and me["name"] == ""


async def test_session_tag_names_the_session_not_the_address(
        browsers: list[httpx.AsyncClient], services: Services) -> None:
    """The page keeps what it showed under /api/me's session tag: one per session, a new
    one when another person signs in on the browser, and nothing to sign in with."""
    first, second = WebChat(browsers[0]), WebChat(browsers[1])
    assert (await first.me())["session"] == ""  # no cookie yet: nothing kept
    await first.say("菜单")
    await second.say("菜单")
    tag = (await first.me())["session"]
    assert re.fullmatch(r"[0-9a-f]{16,}", tag)
    assert (await first.me())["session"] == tag
    assert (await second.me())["session"] not in ("", tag)
    assert tag not in first.client.cookies[COOKIE]
    assert (await first.me())["zone"] == services.settings.timezone == "Asia/Shanghai"
    await login(first.client, services, "li_ming")
    assert (await first.me())["session"] not in ("", tag)


# --- downloads opened in the browser ---------------------------------------------------

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def test_a_refused_download_is_a_readable_page(client: httpx.AsyncClient,
                                                     services: Services) -> None:
    """Regression: a download link opened in the phone's browser showed a raw JSON page
    ({"detail": …}) when it was refused; now a page in the reader's language says why."""
    from conversations.catalog import t

    await login(client, services, "li_ming")  # an employee: not his to download
    r = await client.get("/export/roster.xlsx", headers=BROWSER)
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in r.text
    assert t("zh", "export.forbidden") in r.text and t("zh", "web.back") in r.text
    assert '"detail"' not in r.text

    await login(client, services, "liu_fang")
    r = await client.get("/export/forms.xlsx", headers=BROWSER)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert t("zh", "export.need_case", example="/export/forms.xlsx?case=C-2026-0001") in r.text
    with Session(services.db) as s:
        staff = s.exec(select(Person).where(Person.key == "liu_fang")).one()
        staff.lang = "en"
        s.add(staff)
        s.commit()
    r = await client.get("/export/report.xlsx?report=x<b>", headers=BROWSER)
    assert r.status_code == 404 and '<html lang="en">' in r.text
    assert t("en", "export.no_report") in r.text and "Back to the chat" in r.text
    assert "x<b>" not in r.text
    r = await client.get("/export/report.xlsx", headers=BROWSER)
    assert t("en", "export.need_report", example="/export/report.xlsx?report=1") in r.text
    # A client that did not ask for a page gets the error as JSON, as before.
    r = await client.get("/export/report.xlsx")
    assert r.json() == {"detail": t("en", "export.need_report",
                                    example="/export/report.xlsx?report=1")}


# --- photos and voice notes sent from the page --------------------------------------------


def _png() -> bytes:
    """A small PNG, made here (no binary fixture)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x20\x60\xd0" * 8 for _ in range(6))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 6, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def upload(chat: WebChat, content: Any, mime: str = "image/png",
                 message_id: str | None = None, **params: Any) -> httpx.Response:
    r = await chat.client.post("/api/file", content=content, headers={"content-type": mime},
                               params={"id": message_id or f"file-{next(_ids):06d}", **params})
    if r.status_code == 200:
        chat.replies = r.json()["replies"]
    return r


async def test_a_photo_sent_during_a_complaint_is_kept_with_it(
        browsers: list[httpx.AsyncClient], services: Services, clock: FrozenClock) -> None:
    """An anonymous worker adds a photo half-way through a complaint: it is kept with
    the case (the same path as every message: answered once durable, once per id), and
    the director opens it."""
    from conversations.catalog import t
    from store.models import Attachment, MediaFile

    worker, director = WebChat(browsers[0]), WebChat(browsers[1])
    photo = _png()
    await worker.say("菜单")
    await worker.press("反映问题")
    await worker.press("安全生产")
    r = await upload(worker, photo, message_id="photo-0001")
    assert r.status_code == 200, r.text
    assert t("zh", "attachment.kept", count=1) in worker.text
    assert "（2/8）" in worker.text  # the question again
    again = await upload(worker, photo, message_id="photo-0001")  # the answer was lost
    assert again.json() == r.json()
    assert count(services, MediaFile) == 1
    await worker.say("车间的防护罩坏了一个月，没人来修，很危险。")
    await worker.say("2026-10")
    await worker.say("3")
    await worker.press("跳过")
    await worker.press("铸造车间")
    await worker.say("尽快修好防护罩")
    await worker.press("匿名")
    await worker.press("确认提交")
    number = re.search(r"C-2026-\d{4}", worker.text)
    assert number, worker.text
    with Session(services.db) as s:
        [kept] = s.exec(select(Attachment)).all()
        assert (kept.channel, kept.kind, kept.mime_type) == ("web", "photo", "image/png")
    # An hour on, the file is looked at: a record took it, so it stays.
    clock.advance(timedelta(hours=2))
    services.sweeper.drain()
    await login(director.client, services, "chen_lihua")
    files = (await director.client.get(f"/api/records/{number.group(0)}/files")).json()
    [shown] = files["files"]
    assert shown["kept"] and shown["kind"] == "photo" and shown["size"] == len(photo)
    opened = await director.client.get(shown["url"])
    assert opened.status_code == 200 and opened.content == photo


async def test_a_photo_no_form_takes_is_not_kept(client: httpx.AsyncClient,
                                                 services: Services,
                                                 clock: FrozenClock) -> None:
    """At the menu a photo is told where it can be sent; its bytes are forgotten."""
    from conversations.catalog import t
    from store.models import MediaFile

    worker = WebChat(client)
    await worker.say("菜单")
    r = await upload(worker, _png())
    assert r.status_code == 200, r.text
    assert t("zh", "attachment.not_here") in worker.text
    assert count(services, MediaFile) == 1  # kept with the step, as every message is
    clock.advance(timedelta(hours=2))
    services.sweeper.drain()
    assert count(services, MediaFile) == 0


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    """A body sent in chunks, with no Content-Length: its size known only as it comes."""
    for part in parts:
        yield part


async def test_a_photo_in_a_form_left_open_is_kept_a_while_then_forgotten(
        client: httpx.AsyncClient, services: Services, clock: FrozenClock) -> None:
    """A photo held only by a form the worker left open is kept while the form is (for
    up to 30 days), then forgotten: no record ever took it."""
    from store.models import MediaFile

    worker = WebChat(client)
    await worker.say("菜单")
    await worker.press("反映问题")
    await worker.press("安全生产")
    assert (await upload(worker, _png())).status_code == 200
    clock.advance(timedelta(hours=3))
    services.sweeper.drain()
    assert count(services, MediaFile) == 1
    clock.advance(timedelta(days=31))
    services.sweeper.drain()
    assert count(services, MediaFile) == 0


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_file_refused_is_told_in_the_senders_language(
        client: httpx.AsyncClient, services: Services, lang: str) -> None:
    """Too large, not a photo / recording / video, or empty: refused, kept nowhere, in
    words the sender reads; too large is refused before the page sends its bytes."""
    from conversations.catalog import t
    from store.models import InboundMessage, MediaFile

    client.headers["accept-language"] = "en-US,en" if lang == "en" else "zh-CN,zh"
    worker = WebChat(client)
    limit = services.settings.web_file_max_mb * 1024 * 1024
    for r, status, key in [
            (await upload(worker, b"", size=limit + 1), 413, "web.file_too_big"),
            (await upload(worker, b"x" * (limit + 1)), 413, "web.file_too_big"),
            (await upload(worker, _chunks(b"x" * limit, b"x")), 413, "web.file_too_big"),
            (await upload(worker, b"hello", mime="text/plain"), 415, "web.file_kind"),
            (await upload(worker, b"<svg/>", mime="image/svg+xml"), 415, "web.file_kind"),
            (await upload(worker, b"", mime="audio/webm"), 400, "web.file_empty")]:
        said = t(lang, key, mb=services.settings.web_file_max_mb)
        assert (r.status_code, r.json()) == (status, {"detail": said})
    assert count(services, MediaFile) == 0 and count(services, InboundMessage) == 0


# --- pushes: emergency alert, acknowledgement, notice to the reporter -------------------


async def test_emergency_alert_ack_and_notice(browsers: list[httpx.AsyncClient],
                                              services: Services) -> None:
    reporter = WebChat(browsers[0])
    director = WebChat(browsers[1])
    await director.client.get("/")  # nothing yet: not logged in
    await login(director.client, services, "chen_lihua")
    assert await director.inbox() == []

    await reporter.say("菜单")
    await reporter.press("紧急情况报告")
    await reporter.say("二十多人聚集在厂门口要求发工资")
    await reporter.say("厂门口")
    assert "立即发送" in reporter.labels()
    await reporter.press("立即发送")
    match = re.search(r"E-2026-\d{4}", reporter.text)
    assert match, reporter.text
    number = match.group(0)
    assert "陈丽华" in reporter.text

    services.dispatcher.drain()
    alerts = [m for m in await director.inbox() if number in m["text"]]
    assert len(alerts) == 1, alerts
    alert = alerts[0]
    assert "【紧急】" in alert["text"] and "厂门口" in alert["text"]
    assert alert["created_at"]
    ack = [b for b in alert["buttons"] if b["value"].startswith("ack:")]
    assert len(ack) == 1 and ack[0]["label"] == "收到" and ack[0]["kind"] != "nav"
    with Session(services.db) as s:
        row = s.get(Alert, int(ack[0]["value"].removeprefix("ack:")))
        incident = s.exec(select(Incident).where(Incident.number == number)).one()
    assert row is not None and row.subject == "incident" and row.subject_id == incident.id

    # Paging: nothing after the alert's own id.
    assert [m for m in await director.inbox(after=alert["id"]) if number in m["text"]] == []

    await director.post(action=ack[0]["value"])
    assert "已确认收到" in director.text
    # A second press (another device, a stale page) is told she already acknowledged it.
    await director.post(action=ack[0]["value"])
    assert "您已于 09:00 确认过这条提醒" in director.text

    services.dispatcher.drain()
    notices = [m for m in await reporter.inbox() if number in m["text"]]
    assert len(notices) == 1, notices
    assert "陈丽华 已收到" in notices[0]["text"]
    assert notices[0]["buttons"] == []


async def test_an_edited_alert_comes_again_to_the_pages_that_show_it(
        browsers: list[httpx.AsyncClient], services: Services, clock: FrozenClock) -> None:
    """The director presses 收到: the alert is edited in place for her and for the other
    leader it went to, and their pages' next polls fetch the edits (not only new rows)."""
    reporter, director, leader = (WebChat(c) for c in browsers)
    await login(director.client, services, "chen_lihua")
    await login(leader.client, services, "sun_hongmei")
    await director.say("菜单")
    await leader.say("菜单")
    for words in ("菜单", None, "车间起火冒烟", "铸造车间"):
        await (reporter.press("紧急情况报告") if words is None else reporter.say(words))
    await reporter.press("立即发送")
    services.dispatcher.drain()
    polled = {}
    for chat in (director, leader):
        first = await chat.poll(0, 0)
        alert = next(m for m in first["messages"] if "【紧急】" in m["text"])
        assert alert["version"] == 0 and first["edited"] == []
        polled[chat] = (alert, first["cursor"])

    clock.advance(timedelta(minutes=10))
    await director.post(action=polled[director][0]["buttons"][0]["value"])
    assert "已确认收到" in director.text
    services.dispatcher.drain()
    for chat, said in ((director, "确认收到。"), (leader, "确认收到，正在处理。")):
        alert, cursor = polled[chat]
        got = await chat.poll(alert["id"], cursor)
        assert got["messages"] == []
        [edited] = got["edited"]
        assert edited["id"] == alert["id"] and edited["version"] == 1
        assert f"✅ 陈丽华 已于 2026-11-23 09:10 {said}" in edited["text"]
        assert ("收到" in [b["label"] for b in edited["buttons"]]) == (chat is leader)
        # Once the polls have moved on past it (and the margin kept for a late commit),
        # the edit is not fetched again.
        clock.advance(timedelta(minutes=5))
        later = await chat.poll(alert["id"], got["cursor"])
        assert later["cursor"] > got["cursor"]
        assert (await chat.poll(alert["id"], later["cursor"]))["edited"] == []
    assert (await reporter.poll(10**6, 0))["edited"] == []  # nothing of theirs was edited


async def test_a_push_committed_after_a_later_one_still_reaches_the_page(
        db_services: Services, clock: FrozenClock) -> None:
    """On PostgreSQL one delivery takes id N and is still open when another takes N+1 and
    commits; the page polls between and shows N+1. N, committed after, comes with the next
    poll, and no push comes twice. (On SQLite the second waits for the first to commit.)"""
    services = db_services
    app = create_app(services, run_scheduler=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        director = WebChat(client)
        await login(client, services, "chen_lihua")
        await director.say("菜单")
        with transaction(services.db) as s:
            person = s.exec(select(Person).where(Person.key == "chen_lihua")).one()
            address = s.exec(select(Contact.address).where(
                Contact.person_id == person.id, Contact.channel == "web")).one()
            n_a, n_b = (outbox.enqueue(s, key=f"late-{k}", message="x", params={},
                                       now=clock.now(), recipient_id=person.id).id or 0
                        for k in "ab")
        web = services.senders["web"]
        page = await director.poll(0, 0)
        assert page["messages"] == []
        after, since, seen = 0, page["cursor"], page.get("seen")

        first = Session(services.db)  # N: written, its transaction still open
        id_a = web.deliver(first, address=address, reply=Reply("【紧急】先写的提醒"),
                           notification_id=n_a)
        got_b: list[str | None] = []

        def second() -> None:
            with transaction(services.db) as s:
                got_b.append(web.deliver(s, address=address, reply=Reply("后写的通知"),
                                         notification_id=n_b))

        later = threading.Thread(target=second)
        later.start()
        if is_postgres(services.db):
            later.join(timeout=30)
            assert got_b and int(got_b[0] or 0) > int(id_a or 0)  # N+1 committed first
        shown: list[int] = []
        texts: list[str] = []

        async def poll() -> None:
            nonlocal after, since, seen
            got = await director.poll(after, since, seen)
            shown.extend(m["id"] for m in got["messages"])
            texts.extend(m["text"] for m in got["messages"])
            after = max([after, *(m["id"] for m in got["messages"])])
            since, seen = got["cursor"], got.get("seen")

        await poll()  # between: N+1 on PostgreSQL, nothing yet on SQLite
        first.commit()
        first.close()
        later.join(timeout=30)
        assert not later.is_alive()
        await poll()
        assert sorted(texts) == sorted(["【紧急】先写的提醒", "后写的通知"]), texts
        assert len(shown) == len(set(shown)) == 2
        await poll()
        assert len(texts) == 2  # nothing comes again


async def test_inbox_is_private_to_its_session(browsers: list[httpx.AsyncClient],
                                               services: Services) -> None:
    reporter, stranger = WebChat(browsers[0]), WebChat(browsers[1])
    await reporter.say("菜单")
    await reporter.press("紧急情况报告")
    await reporter.say("车间起火冒烟")
    await reporter.say("铸造车间")
    await reporter.press("立即发送")
    await stranger.say("菜单")
    services.dispatcher.drain()
    assert await stranger.inbox() == []
    # An anonymous stranger cannot acknowledge the director's alert either.
    with Session(services.db) as s:
        alert_id = s.exec(select(Alert.id)).first()
    await stranger.post(action=f"ack:{alert_id}")
    assert "不是发给您的" in stranger.text


async def test_complaint_by_leader_case_reaches_the_director(
        browsers: list[httpx.AsyncClient], services: Services) -> None:
    worker, director = WebChat(browsers[0]), WebChat(browsers[1])
    await login(director.client, services, "chen_lihua")
    await worker.say("菜单")
    await worker.press("反映问题")
    await worker.press("工资福利")
    await worker.say("十月份的加班费到现在还没有发，车间里很多人都没拿到。")
    await worker.say("2026-10")
    await worker.say("25")
    await worker.press("跳过")
    await worker.press("铸造车间")
    await worker.say("补发十月加班费")
    await worker.press("实名")
    await worker.press("确认提交")
    match = re.search(r"C-2026-\d{4}", worker.text)
    assert match and "领导包案" in worker.text, worker.text
    with Session(services.db) as s:
        case = s.exec(select(Case).where(Case.number == match.group(0))).one()
    assert case.leader_case and case.channel == "web"
    services.dispatcher.drain()
    inbox = await director.inbox()
    assert any(match.group(0) in m["text"] and "【领导包案】" in m["text"]
               and m["buttons"][0]["value"].startswith("ack:") for m in inbox), inbox


@pytest.mark.parametrize(("who", "lang"), [("li_ming", "zh"), ("daniel_hughes", "en")])
async def test_a_reception_is_booked_from_buttons_a_phone_shows_whole(
        client: httpx.AsyncClient, services: Services, who: str, lang: str) -> None:
    """The web chat's reception buttons say the day, start and leader, short enough for a
    phone; the place and the leaders' posts are said once above them, and the review and
    the confirmation say the reception in full. Each button held all of it before."""
    publish_roster(services)
    await login(client, services, who)
    web = WebChat(client)
    await web.say(catalog.t(lang, "menu.booking"))
    asked = web.replies[-1]
    entries = upcoming(services)
    slots = [b["label"] for b in asked["buttons"] if b["kind"] == "choice"]
    assert slots == [slot_button(services, e, lang) for e in entries]
    assert slots[1] == {"zh": "11-24 周二 08:30 吴建军", "en": "11-24 Tue 08:30 吴建军"}[lang]
    assert max(len(label) for label in slots) <= PHONE_BUTTON
    assert asked["text"].count(entries[1].place) == 1
    assert asked["text"].count(entries[1].portfolio) == 1
    await web.press(slots[1])
    await web.say(TOPIC)
    assert slot_label(services, entries[1], lang) in web.text  # the review, in full
    await web.press(catalog.t(lang, "nav.confirm"))
    assert done_text(services, lang, "V-2026-0001", entries[1]) in web.text
