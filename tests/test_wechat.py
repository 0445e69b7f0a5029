"""WeChat official account and WeCom callbacks: verified before anything is trusted,
answered within WeChat's 5 seconds, retries absorbed, alerts falling through to the next
channel. Callbacks are signed and encrypted in the test (tests/fakes/wechat_api.py), and
every outbound call lands at the in-process fake WeChat API over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from bot.settings import Settings
from conversations.clock import FrozenClock
from handlers.identity import issue_code
from store.db import transaction
from store.models import (
    Acknowledgement,
    Alert,
    InboundMessage,
    Incident,
    Notification,
    Person,
    SharedValue,
    Suggestion,
)
from tests.fakes.wechat_api import (
    Callbacks,
    FakeWeChatApi,
    encrypt,
    sha1_signature,
)
from tests.wechat_chat import (
    WxChat,
    api,
    app_client,
    client,
    client_db,
    count,
    run,
    said,
    slow_steps,
    stored,
    wechat_services,
    wechat_settings,
    wx,
    wx_db,
)

__all__ = ["api", "client", "client_db", "wx", "wx_db"]  # fixtures from tests/wechat_chat

SUGGESTION = [("提建议", "哪方面"), ("4", "请写下"), ("食堂晚餐能不能多一个素菜窗口", "是否实名"),
              ("实名", "请核对"), ("确认提交", "S-2026-0001")]


# --- the URL verification handshake ------------------------------------------------------


@pytest.mark.parametrize("kind", ["wechat", "wecom"])
async def test_the_url_verification_echoes_only_a_signed_request(
        client: httpx.AsyncClient, wx: Services, kind: str) -> None:
    cb = Callbacks(kind, wx.clock)
    path = f"/{kind}/callback"
    good = cb.verification("echo-5830")
    r = await client.get(path, params=good)
    assert (r.status_code, r.text) == (200, "echo-5830")
    forged = dict(cb.verification("echo-5831"))
    forged["signature" if kind == "wechat" else "msg_signature"] = "0" * 40
    assert (await client.get(path, params=forged)).status_code == 403
    old = cb.verification("echo-5832")
    wx.clock.advance(timedelta(minutes=6))  # type: ignore[attr-defined]
    assert (await client.get(path, params=old)).status_code == 403


# --- refused requests --------------------------------------------------------------------

XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       "<xml><ToUserName>gh</ToUserName><Encrypt>&xxe;</Encrypt></xml>")
_LOLS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">' + _LOLS
          + "]><xml><Encrypt>&lol9;</Encrypt></xml>")


def signed_outer(cb: Callbacks, outer: str, encrypted: str) -> tuple[dict[str, str], bytes]:
    """An outer body the attacker controls, with signatures over the Encrypt it names."""
    ts, nonce = str(int(cb.clock.now().timestamp())), cb.next_nonce()
    params = {"timestamp": ts, "nonce": nonce,
              "msg_signature": sha1_signature(cb.token, ts, nonce, encrypted)}
    if cb.kind == "wechat":
        params |= {"signature": sha1_signature(cb.token, ts, nonce), "encrypt_type": "aes"}
    return params, outer.encode()


@pytest.mark.parametrize("kind", ["wechat", "wecom"])
async def test_forged_tampered_stale_and_hostile_requests_get_4xx_and_store_nothing(
        client_db: httpx.AsyncClient, wx_db: Services, api: FakeWeChatApi, kind: str) -> None:
    client, svc = client_db, wx_db
    chat = WxChat(client, svc, api, kind, "o_attacked" if kind == "wechat" else "wk_attacked")
    cb = chat.callbacks
    before = stored(svc)
    message = chat.inner("text", Content="提建议")
    refused: list[tuple[str, int]] = []

    async def expect(name: str, params: dict[str, str], body: bytes | Any, status: int) -> None:
        r = await client.post(chat.path, params=params, content=body)
        refused.append((name, r.status_code))
        assert r.status_code == status, (name, r.status_code, r.text)

    params, body = cb.post(message)
    await expect("forged signature", {**params, "msg_signature": "f" * 40}, body, 403)
    await expect("no signature", {k: v for k, v in params.items() if "signature" not in k},
                 body, 403)
    params, body = cb.post(message)
    tampered = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[A")
    await expect("tampered body", params, tampered, 403)
    # Signed correctly, but sealed with another key / for another account.
    other = encrypt(cb.aes_key[::-1][:42] + "A", cb.receiver, message)
    outer = f"<xml><Encrypt><![CDATA[{other}]]></Encrypt></xml>"
    await expect("wrong key", *signed_outer(cb, outer, other), 400)
    elsewhere = encrypt(cb.aes_key, "wxanotheraccount00", message)
    outer = f"<xml><Encrypt><![CDATA[{elsewhere}]]></Encrypt></xml>"
    await expect("another receiver", *signed_outer(cb, outer, elsewhere), 400)
    stale = int(svc.clock.now().timestamp()) - 301
    await expect("stale timestamp", *cb.post(message, timestamp=stale), 403)
    future = int(svc.clock.now().timestamp()) + 301
    await expect("future timestamp", *cb.post(message, timestamp=future), 403)
    await expect("XXE", *signed_outer(cb, XXE, "&xxe;"), 400)
    await expect("billion laughs", *signed_outer(cb, LAUGHS, "&lol9;"), 400)
    # Hostile XML inside a genuine envelope is refused too.
    inner_xxe = XXE.replace("<Encrypt>&xxe;</Encrypt>", "<Content>&xxe;</Content>")
    await expect("XXE inside", *cb.post(inner_xxe), 400)
    inner_laughs = LAUGHS.replace("<Encrypt>&lol9;</Encrypt>", "<Content>&lol9;</Content>")
    await expect("billion laughs inside", *cb.post(inner_laughs), 400)
    big = cb.post(chat.inner("text", Content="长" * 12_000))
    await expect("oversized", *big, 413)

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length announced
        for _ in range(40):
            yield b"<xml>" + b" " * 1024

    await expect("oversized, chunked", cb.post(message)[0], chunked(), 413)
    assert stored(svc) == before
    assert api.calls == [] and count(svc, Suggestion) == 0

    # A genuine request is taken once; the same request again (a replay, or WeChat asking
    # again because the answer was lost) changes nothing and gets the same answer.
    params, body = cb.post(message)
    first = await chat.post_raw(params, body)
    assert first.status_code == 200 and "哪方面" in chat.new_texts()[0]
    after = stored(svc)
    replayed = await client.post(chat.path, params=params, content=body)
    assert replayed.status_code == 200 and cb.read_reply(replayed.text)["Content"] == \
        cb.read_reply(first.text)["Content"]
    assert stored(svc) == after and count(svc, InboundMessage) == before[0] + 1
    assert chat.new_texts() == [] and api.sent() == []
    # A request whose nonce was seen but whose message was never recorded: refused.
    unanswered = cb.post(chat.inner("event", event=True, Event="VIEW", EventKey="x"))
    assert (await client.post(chat.path, params=unanswered[0],
                              content=unanswered[1])).status_code == 200
    await expect("replayed, nothing recorded", *unanswered, 409)
    assert stored(svc) == after


async def test_wecom_refuses_another_applications_message(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    chat = WxChat(client, wx, api, "wecom", "demo_zhaoguoqiang")
    inner = chat.inner("text", Content="菜单").replace("<AgentID>1000002<", "<AgentID>1000009<")
    r = await client.post("/wecom/callback", params=chat.callbacks.post(inner)[0],
                          content=chat.callbacks.post(inner)[1])
    assert r.status_code == 403 and count(wx, InboundMessage) == 0
    params, body = chat.callbacks.post(inner)
    r = await client.post("/wecom/callback", params=params, content=body)
    assert r.status_code == 403 and count(wx, InboundMessage) == 0
    params, body = chat.callbacks.post(inner.replace("<AgentID>1000009<", "<AgentID>1000002<"))
    r = await client.post("/wecom/callback", params=params, content=body)
    assert r.status_code == 200 and count(wx, InboundMessage) == 1


def test_plaintext_mode_is_refused_unless_development(api: FakeWeChatApi) -> None:
    plain = {k: v for k, v in wechat_settings(api).items() if not k.startswith("wecom")}
    plain.update(wechat_aes_key=None, wechat_plaintext=True)
    for env in ("production", "test"):
        with pytest.raises(ValueError, match="plaintext mode is refused"):
            Settings(env=env, secret_key="s" * 20, _env_file=None, **plain)
    with pytest.raises(ValueError, match="EncodingAESKey"):
        Settings(env="test", _env_file=None, **{**plain, "wechat_plaintext": False})
    assert Settings(env="development", _env_file=None, **plain).wechat_plaintext


async def test_plaintext_mode_works_in_development(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> None:
    from bot.bootstrap import build
    from store.state import SqlStateStore
    from tests.conftest import prepared_engine

    engine = prepared_engine(sqlite_url, clock.now())
    settings = Settings(env="development", database_url=sqlite_url, secret_key="dev-secret",
                        scheduler_enabled=False, _env_file=None,
                        **wechat_settings(api, wechat_aes_key=None, wechat_plaintext=True))
    svc = build(settings, clock=clock, db=engine, states=SqlStateStore(engine))
    try:
        async for client in app_client(svc):
            chat = WxChat(client, svc, api, "wechat", "o_dev")
            params, body = chat.callbacks.plain_post(chat.inner("text", Content="提建议"))
            r = await client.post("/wechat/callback", params=params, content=body)
            assert r.status_code == 200 and "哪方面" in r.text
            assert "<Encrypt>" not in r.text
            forged = {**params, "signature": "0" * 40, "nonce": "other"}
            r = await client.post("/wechat/callback", params=forged, content=body)
            assert r.status_code == 403
    finally:
        svc.close()


# --- the 5-second rule -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wechat", "wecom"])
async def test_three_retries_of_one_message_make_one_record_and_one_reply(
        client_db: httpx.AsyncClient, wx_db: Services, api: FakeWeChatApi, kind: str) -> None:
    chat = WxChat(client_db, wx_db, api, kind, "o_retry" if kind == "wechat" else "demo_hejun")
    await run(chat, SUGGESTION[:-1])
    confirm = chat.inner("text", Content="确认提交")
    answers = []
    for _ in range(4):  # the message and WeChat's three retries, each signed afresh
        r = await chat.send_inner(confirm)
        assert r.status_code == 200
        answers += chat.new_texts()
    assert count(wx_db, Suggestion) == 1
    # Answered passively: each retry (WeChat did not get the answer) gets the same one.
    assert len(answers) == 4 and len(set(answers)) == 1 and "S-2026-0001" in answers[0]
    assert chat.sent() == []  # nothing went by customer-service message
    with Session(wx_db.db) as s:
        rows = s.exec(select(InboundMessage).where(
            InboundMessage.conversation_key == f"{kind}:{chat.user}")).all()
    assert len(rows) == len(SUGGESTION)


async def test_event_retries_are_absorbed_by_sender_and_create_time(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    chat = WxChat(client, wx, api, "wechat", "o_follower")
    follow = chat.inner("event", event=True, Event="subscribe", EventKey="")
    for _ in range(3):
        assert (await chat.send_inner(follow)).status_code == 200
    texts = chat.new_texts()
    assert len(texts) == 3 and set(texts) == {texts[0]} and said("zh", "menu.welcome") in texts[0]
    assert count(wx, InboundMessage) == 1


async def test_a_slow_step_answers_success_and_the_replies_come_by_message(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> None:
    svc = wechat_services(sqlite_url, clock, api, wechat_reply_deadline_seconds=0.8)
    try:
        async for client in app_client(svc):
            chat = WxChat(client, svc, api, "wechat", "o_slow")
            slow_steps(svc, 1.4)
            message = chat.inner("text", Content="提建议")
            began = time.monotonic()
            params, body = chat.callbacks.post(message)
            r = await client.post("/wechat/callback", params=params, content=body)
            answered = time.monotonic() - began
            assert (r.status_code, r.text) == (200, "success")
            assert answered < 1.4  # answered before the step was done
            await asyncio.to_thread(svc.wechat.settle_all)
            texts = chat.new_texts()
            assert len(texts) == 1 and "（1/3）" in texts[0] and "哪方面" in texts[0]
            assert api.sent(to="o_slow")[0].path == "/cgi-bin/message/custom/send"
            # A retry after the step finished: the same message, no second step or reply.
            r = await chat.send_inner(message)
            assert (r.status_code, r.text) == (200, "success")
            assert chat.new_texts() == [] and count(svc, InboundMessage) == 1
            with Session(svc.db) as s:
                rows = s.exec(select(Notification)).all()
            assert [(n.status, n.delivered_channel, n.delivered_ref) for n in rows] == [
                ("sent", "wechat", None)] * len(rows)
    finally:
        svc.close()


# --- alerts to leaders -------------------------------------------------------------------


async def bind(client: httpx.AsyncClient, svc: Services, api: FakeWeChatApi, person_key: str,
               openid: str) -> WxChat:
    """A person links their official-account follow with a one-time code."""
    with transaction(svc.db) as s:
        found = s.exec(select(Person).where(Person.key == person_key)).one()
        code = issue_code(s, person=found, channel="wechat", now=svc.clock.now(),
                          ttl=timedelta(hours=1))
    chat = WxChat(client, svc, api, "wechat", openid)
    texts = await chat.say(f"绑定 {code}")
    assert any(found.name in x for x in texts), texts
    return chat


async def test_an_alert_refused_with_45015_goes_to_the_leaders_next_channel_at_once(
        client_db: httpx.AsyncClient, wx_db: Services, api: FakeWeChatApi) -> None:
    svc = wx_db
    director_wecom = WxChat(client_db, svc, api, "wecom", "demo_chenlihua")
    await director_wecom.say("菜单")  # the director has used WeCom…
    svc.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    await bind(client_db, svc, api, "chen_lihua", "o_director")  # …and the account since
    duty = WxChat(client_db, svc, api, "wecom", "demo_sunhongmei")
    await duty.say("菜单")
    api.fail_next("/cgi-bin/message/custom/send", 45015, to="o_director")
    worker = WxChat(client_db, svc, api, "wechat", "o_worker")
    await run(worker, [("紧急情况报告", "发生了什么"), ("二十多人在厂门口聚集", "在哪里"),
                       ("厂区东门", "多少人"), ("立即发送", "已报告")])
    with Session(svc.db) as s:
        director = s.exec(select(Person).where(Person.key == "chen_lihua")).one()
        alert = s.exec(select(Alert).where(Alert.recipient_id == director.id)).one()
        push = s.exec(select(Notification).where(Notification.alert_id == alert.id)).one()
    assert push.tried_channels == ["wechat"] and push.status == "pending"
    assert push.next_attempt_at <= svc.clock.now()  # at once: no back-off
    await asyncio.to_thread(svc.dispatcher.drain)
    with Session(svc.db) as s:
        push = s.exec(select(Notification).where(Notification.alert_id == alert.id)).one()
    assert (push.status, push.delivered_channel) == ("sent", "wecom")
    [shown] = director_wecom.new_texts()
    assert shown.startswith("【紧急】E-2026-0001") and "「收到 E-2026-0001」" in shown
    # The director acknowledges by the reply keyword; the reporter hears of it.
    texts = await director_wecom.say("收到 E-2026-0001")
    assert any("已确认收到" in x for x in texts), texts
    with Session(svc.db) as s:
        ack = s.exec(select(Acknowledgement)).one()
        incident = s.exec(select(Incident)).one()
    assert (ack.person_id, ack.channel) == (director.id, "wecom")
    assert incident.acknowledged_at is not None
    await asyncio.to_thread(svc.dispatcher.drain)
    assert any("陈丽华 已收到，正在处理" in x for x in worker.new_texts())


@pytest.mark.parametrize("status", [400, 502])
async def test_an_alert_refused_by_an_http_error_is_retried_on_the_same_channel(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi, status: int) -> None:
    """Not WeChat saying the person cannot be reached (a proxy, an outage): the same
    channel again after a back-off, not the leader's next channel."""
    director_wecom = WxChat(client, wx, api, "wecom", "demo_chenlihua")
    await director_wecom.say("菜单")
    wx.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    director = await bind(client, wx, api, "chen_lihua", "o_director")
    api.fail_next("/cgi-bin/message/custom/send", 0, to="o_director", status=status)
    worker = WxChat(client, wx, api, "wechat", "o_worker")
    await run(worker, [("紧急情况报告", "发生了什么"), ("二十多人在厂门口聚集", "在哪里"),
                       ("厂区东门", "多少人"), ("立即发送", "已报告")])
    with Session(wx.db) as s:
        person = s.exec(select(Person).where(Person.key == "chen_lihua")).one()
        alert = s.exec(select(Alert).where(Alert.recipient_id == person.id)).one()
        push = s.exec(select(Notification).where(Notification.alert_id == alert.id)).one()
    assert (push.status, push.tried_channels, push.attempts) == ("pending", [], 1)
    assert push.last_error == f"wechat http {status}"
    assert push.next_attempt_at > wx.clock.now()  # a back-off
    await asyncio.to_thread(wx.dispatcher.drain)  # not due yet
    with Session(wx.db) as s:
        assert s.get(Notification, push.id).status == "pending"  # type: ignore[union-attr]
    wx.clock.advance(timedelta(seconds=10))  # type: ignore[attr-defined]
    await asyncio.to_thread(wx.dispatcher.drain)
    with Session(wx.db) as s:
        push = s.exec(select(Notification).where(Notification.alert_id == alert.id)).one()
    assert (push.status, push.delivered_channel) == ("sent", "wechat")
    assert any(x.startswith("【紧急】E-2026-0001") for x in director.new_texts())
    assert director_wecom.new_texts() == []


async def test_alerts_go_by_template_message_when_one_is_set(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi) -> None:
    svc = wechat_services(sqlite_url, clock, api, wechat_alert_template_id="TPL-alert")
    try:
        async for client in app_client(svc):
            await bind(client, svc, api, "chen_lihua", "o_director")
            worker = WxChat(client, svc, api, "wecom", "demo_wangqiang")
            await run(worker, [("紧急情况报告", "发生了什么"), ("冲压机漏油起火", "在哪里"),
                               ("铸造车间", "多少人"), ("立即发送", "已报告")])
            await asyncio.to_thread(svc.dispatcher.drain)
            [call] = api.sent(to="o_director", path="/cgi-bin/message/template/send")
            assert call.body["template_id"] == "TPL-alert"
            assert call.text.startswith("【紧急】E-2026-0001")
    finally:
        svc.close()


# --- tokens in the shared store ----------------------------------------------------------


@pytest.mark.parametrize("shared", ["sql", "redis"])
async def test_processes_share_one_access_token_and_refresh_it_once(
        db_url: str, clock: FrozenClock, api: FakeWeChatApi, shared: str,
        request: pytest.FixtureRequest) -> None:
    from tests.conftest import REDIS_URL, prepared_engine

    extra: dict[str, Any] = {}
    if shared == "redis":
        request.getfixturevalue("redis_store")  # fails loudly when Redis is down
        extra["redis_url"] = REDIS_URL
    engine = prepared_engine(db_url, clock.now())
    one = wechat_services(db_url, clock, api, engine=engine, **extra)
    two = wechat_services(db_url, clock, api, engine=engine, **extra)
    try:
        if shared == "redis":
            for svc in (one, two):
                svc.wechat.shared.delete(svc.wechat.api._key)
        one.wechat.api.send_text("o_a", "一")
        two.wechat.api.send_text("o_b", "二")
        one.wechat.api.send_text("o_c", "三")
        assert api.token_fetches == {"oa": 1}
        api.expire_tokens()  # WeChat revoked it: the first process to notice refreshes…
        two.wechat.api.send_text("o_d", "四")
        one.wechat.api.send_text("o_e", "五")  # …and the other reads the new one
        assert api.token_fetches == {"oa": 2}
        assert [c.to for c in api.sent()] == ["o_a", "o_b", "o_c", "o_d", "o_e"]
        if shared == "sql":
            assert count(one, SharedValue) >= 1
    finally:
        for svc in (one, two):
            if shared == "redis":
                svc.wechat.shared.clear_all()
            svc.close()
        engine.dispose()


# --- the command line --------------------------------------------------------------------


def test_cli_pushes_the_menu_and_makes_a_wechat_invite(
        sqlite_url: str, clock: FrozenClock, api: FakeWeChatApi, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.settings import get_settings
    from tests.conftest import prepared_engine

    prepared_engine(sqlite_url, clock.now()).dispose()
    env = {"database_url": sqlite_url, "secret_key": "cli", **wechat_settings(api)}
    for name, value in env.items():
        monkeypatch.setenv(f"WORKROOM_{name.upper()}", str(value))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        done = runner.invoke(app, ["wechat", "menu", "push"])
        assert done.exit_code == 0, done.output
        assert "wechat: menu pushed" in done.output and "wecom: menu pushed" in done.output
        invite = runner.invoke(app, ["invite", "zhang_wei", "--channel", "wechat"])
        assert invite.exit_code == 0, invite.output
        assert invite.output.startswith("请此人关注公众号后发送：绑定 ")
    finally:
        get_settings.cache_clear()
    menus = [c for c in api.calls if c.path == "/cgi-bin/menu/create"]
    assert [("agentid" in c.params) for c in menus] == [False, True]
    top = [b["name"] for b in menus[0].body["button"]]
    assert top == ["我要办事", "紧急报告", "我的"]
    keys = [b.get("key") or [s["key"] for s in b["sub_button"]] for b in menus[0].body["button"]]
    assert keys == [["flow:suggestion", "flow:complaint", "flow:booking", "flow:letter"],
                    "flow:emergency",
                    ["query:my_cases", "cmd:menu", "cmd:lang@zh", "cmd:lang@en"]]
    for button in menus[0].body["button"]:  # WeChat's limits: 16 bytes, 60 in a submenu
        assert len(button["name"].encode()) <= 16
        assert all(len(s["name"].encode()) <= 60 for s in button.get("sub_button", []))

