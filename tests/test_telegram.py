"""The workroom on Telegram: the real python-telegram-bot stack over real HTTP against the
in-process fake Bot API server (tests/fakes/telegram_api.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, func, select

from bot.bootstrap import Services
from bot.telegram import parse
from conversations.catalog import t
from conversations.clock import FrozenClock
from handlers.identity import issue_code
from handlers.inbound import Inbound
from store import outbox
from store.db import make_engine, transaction
from store.models import (
    Acknowledgement,
    Alert,
    Contact,
    InboundMessage,
    InboxMessage,
    InviteCode,
    Notification,
    Person,
    Suggestion,
)
from tests.conftest import make_services
from tests.fakes.telegram_api import BOT_USERNAME, FakeBotApi, callback_update, text_update
from tests.transcript import Chat
from web.app import create_app
from web.telegram import PATH, SECRET_HEADER

SECRET = "webhook-secret-0123456789"
# The Telegram ids store/demo/org.yaml gives 陈丽华 (director), 赵国强, 孙红梅 (on duty).
DIRECTOR, ZHAO, SUN = 900000001, 900000002, 900000003


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


def telegram_services(url: str, clock: FrozenClock, fake: FakeBotApi, mode: str,
                      engine: Any = None) -> Services:
    # Transcripts type faster than a person: the per-chat pace has its own tests.
    return make_services(url, clock, engine=engine, telegram_token=fake.token,
                         telegram_api_url=fake.base_url, telegram_file_url=fake.base_file_url,
                         telegram_mode=mode, telegram_webhook_secret=SECRET,
                         telegram_chat_burst=1000, telegram_per_second=1000)


@pytest.fixture
def tg(sqlite_url: str, clock: FrozenClock, fake: FakeBotApi) -> Iterator[Services]:
    svc = telegram_services(sqlite_url, clock, fake, "webhook")
    yield svc
    svc.close()


@pytest.fixture
async def client(tg: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(tg, run_scheduler=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://wr.test") as c:
        c.telegram = tg.telegram  # type: ignore[attr-defined]  # TgChat waits for its sends
        yield c


class TgChat:
    """One Telegram user talking to the bot through the webhook."""

    def __init__(self, client: httpx.AsyncClient, fake: FakeBotApi, chat_id: int,
                 language: str = "zh-hans") -> None:
        self.client, self.fake, self.chat_id, self.language = client, fake, chat_id, language
        self.seen = 0

    async def post(self, update: dict[str, Any], secret: str = SECRET) -> httpx.Response:
        """Deliver an update; return once the replies it made have left."""
        r = await self.client.post(PATH, json=update, headers={SECRET_HEADER: secret})
        await self.client.telegram.settled()  # type: ignore[attr-defined]
        return r

    async def say(self, text: str) -> list[str]:
        r = await self.post(text_update(self.chat_id, text, language_code=self.language))
        assert r.status_code == 200
        return self.new_texts()

    async def press(self, label: str) -> list[str]:
        for call in reversed(self.fake.sent_messages(self.chat_id)):
            markup = call.params.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        update = callback_update(
                            self.chat_id, button["callback_data"],
                            message_id=call.result["message_id"], message_text=call.text,
                            reply_markup=markup, language_code=self.language)
                        r = await self.post(update)
                        assert r.status_code == 200
                        return self.new_texts()
        raise AssertionError(f"no inline button {label!r} in chat {self.chat_id}")

    def new_texts(self) -> list[str]:
        sent = self.fake.sent_messages(self.chat_id)
        texts = [c.text for c in sent[self.seen:]]
        self.seen = len(sent)
        return texts


def _count(svc: Services, model: Any) -> int:
    with Session(svc.db) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


SUGGESTION_ZH = [("提建议", "哪方面"), ("[食堂生活]", "请写下"),
                 ("食堂晚餐能不能多一个素菜窗口", "是否实名"), ("[实名]", "请核对"),
                 ("[确认提交]", "S-2026-0001")]
SUGGESTION_EN = [("Make a suggestion", "What is your suggestion about"),
                 ("[Canteen and living]", "Please write"),
                 ("Could dinner have one more vegetable counter?", "Submit with your name"),
                 ("[With my name]", "Please check"), ("[Submit]", "S-2026-0001")]


async def run(chat: TgChat, steps: list[tuple[str, str]]) -> None:
    for said, expected in steps:
        texts = await (chat.press(said[1:-1]) if said.startswith("[") else chat.say(said))
        assert any(expected in t for t in texts), f"after {said!r}: {texts}"


@pytest.mark.parametrize(("language", "steps"), [("zh-hans", SUGGESTION_ZH),
                                                 ("en", SUGGESTION_EN)])
async def test_a_suggestion_through_the_webhook(client: httpx.AsyncClient, fake: FakeBotApi,
                                                tg: Services, language: str,
                                                steps: list[tuple[str, str]]) -> None:
    chat = TgChat(client, fake, 7001, language)
    texts = await chat.say("/start")
    menu = fake.sent_messages(7001)[-1].params["reply_markup"]
    assert "keyboard" in menu  # the main menu is a reply keyboard
    assert texts
    await run(chat, steps)
    with Session(tg.db) as s:
        row = s.exec(select(Suggestion)).one()
    assert row.topic == "living" and row.channel == "telegram"
    assert all("parse_mode" not in c.params for c in fake.sent_messages(7001))
    # every press stopped its spinner and showed the chosen option under the question
    assert len(fake.calls_to("answerCallbackQuery")) == 3
    assert any("→ " in c.params["text"] for c in fake.calls_to("editMessageText"))


async def test_a_forged_secret_is_refused_and_stores_nothing(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    chat = TgChat(client, fake, 7002)
    for secret in ("", "wrong-secret-0123456789", SECRET[:-1]):
        r = await chat.post(text_update(7002, "提建议"), secret=secret)
        assert r.status_code == 403
    assert _count(tg, InboundMessage) == 0 and fake.sent_messages() == []


async def test_a_duplicate_update_makes_one_record_and_one_reply(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    chat = TgChat(client, fake, 7003)
    await run(chat, SUGGESTION_ZH[:-1])
    msg = fake.sent_messages(7003)[-1]
    confirm = callback_update(7003, "cmd:confirm", message_id=msg.result["message_id"],
                              message_text=msg.text, reply_markup=msg.params["reply_markup"])
    for _ in range(3):  # Telegram delivers the same update again
        assert (await chat.post(confirm)).status_code == 200
    assert _count(tg, Suggestion) == 1
    assert sum("S-2026-0001" in t for t in chat.new_texts()) == 1


async def test_start_with_an_invite_code_links_the_chat_to_the_person(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    with transaction(tg.db) as s:
        leader = s.exec(select(Person).where(Person.key == "zhao_guoqiang")).one()
        code = issue_code(s, person=leader, channel="telegram", now=tg.clock.now(),
                          ttl=__import__("datetime").timedelta(hours=1))
    chat = TgChat(client, fake, 7004)
    texts = await chat.say(f"/start {code}")
    assert any("赵国强" in t for t in texts)
    assert any("待确认的提醒" in str(c.params.get("reply_markup"))
               for c in fake.sent_messages(7004))  # a leader's menu
    other = TgChat(client, fake, 7005)
    texts = await other.say(f"/start {code}")  # one-time: a second use is refused
    assert any("无效" in t for t in texts)
    # Tapped again from the chat it linked: signed in already, not "invalid".
    again = await chat.say(f"/start {code}")
    assert again[0].startswith(t("zh", "link.already", name="赵国强")), again


async def test_a_chat_signed_in_as_one_person_does_not_become_another(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """A leader's phone opening a colleague's link: the chat stays the leader's (their
    alerts keep coming), the reader is told why, and the link still works for the
    colleague's own chat."""
    from datetime import timedelta

    def code_for(key: str) -> str:
        with transaction(tg.db) as s:
            found = s.exec(select(Person).where(Person.key == key)).one()
            return issue_code(s, person=found, channel="telegram", now=tg.clock.now(),
                              ttl=timedelta(hours=1))

    leader = TgChat(client, fake, 7006)
    await leader.say(f"/start {code_for('zhao_guoqiang')}")
    director_code = code_for("chen_lihua")
    said = await leader.say(f"/start {director_code}")
    assert said[0].startswith(t("zh", "link.taken", name="赵国强")), said
    with Session(tg.db) as s:
        contact = s.exec(select(Contact).where(Contact.channel == "telegram",
                                               Contact.address == "7006")).one()
        assert s.get(Person, contact.person_id).key == "zhao_guoqiang"  # type: ignore[union-attr]
    director = TgChat(client, fake, 7007)
    said = await director.say(f"/start {director_code}")
    assert said[0].startswith(t("zh", "link.done", name="陈丽华")), said


async def test_an_alert_is_acknowledged_by_its_addressee_only(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    with transaction(tg.db) as s:
        director = s.exec(select(Person).where(Person.key == "chen_lihua")).one()
        code = issue_code(s, person=director, channel="telegram", now=tg.clock.now(),
                          ttl=__import__("datetime").timedelta(hours=1))
    boss = TgChat(client, fake, 7100)
    await boss.say(f"/start {code}")
    worker = TgChat(client, fake, 7200)
    await run(worker, [("紧急情况报告", "发生了什么"), ("三十多人在厂门口聚集", "在哪里"),
                       ("厂区东门", "多少人"), ("[立即发送]", "已报告")])
    await asyncio.to_thread(tg.dispatcher.drain)
    texts = boss.new_texts()
    assert any("【紧急】" in t for t in texts)
    with Session(tg.db) as s:
        alert = s.exec(select(Alert).where(Alert.recipient_id == director.id)).one()
    stranger = TgChat(client, fake, 7300)
    await stranger.post(callback_update(7300, f"ack:{alert.id}", message_id=1))
    assert any("不能由您确认" in t for t in stranger.new_texts())
    assert _count(tg, Acknowledgement) == 0
    pressed = await boss.press("收到")
    assert any("已确认收到" in t for t in pressed), pressed
    await asyncio.to_thread(tg.dispatcher.drain)
    assert any("已收到，正在处理" in t for t in worker.new_texts())
    # The alert itself now says who acknowledged it and when, with no button left.
    edits = [c for c in fake.calls_to("editMessageText") if c.params["chat_id"] == 7100]
    assert "✅ 陈丽华 已于 2026-11-23 09:00 确认收到" in edits[-1].params["text"]
    assert "【紧急】" in edits[-1].params["text"] and "reply_markup" not in edits[-1].params
    with Session(tg.db) as s:
        ack = s.exec(select(Acknowledgement)).one()
    assert (ack.person_id, ack.channel) == (director.id, "telegram")


def test_commands_are_registered_in_both_languages(tg: Services, fake: FakeBotApi) -> None:
    tg.telegram.register_commands()
    zh = {c["command"]: c["description"] for c in fake.commands(language_code="")}
    en = {c["command"]: c["description"] for c in fake.commands(language_code="en")}
    assert set(zh) == set(en) == {"start", "menu", "cancel", "help", "status", "lang"}
    assert zh["cancel"] == "放弃当前填写" and en["cancel"] == "Drop the current form"


def test_cli_makes_a_telegram_invite_and_sets_the_webhook(
        sqlite_url: str, clock: FrozenClock, fake: FakeBotApi, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.settings import get_settings
    from tests.conftest import prepared_engine

    prepared_engine(sqlite_url, clock.now()).dispose()
    for name, value in {"DATABASE_URL": sqlite_url, "SECRET_KEY": "cli",
                        "TELEGRAM_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url,
                        "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": SECRET,
                        "BASE_URL": "https://workroom.example.org"}.items():
        monkeypatch.setenv(f"WORKROOM_{name}", value)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        link = runner.invoke(app, ["invite", "zhao_guoqiang", "--channel", "telegram"])
        assert link.exit_code == 0, link.output
        # The deep link opens this bot: its name as Telegram gives it (getMe).
        assert link.output.startswith(f"https://t.me/{BOT_USERNAME}?start=")
        # The link alone on its line, then what the staff member tells the person.
        _, told = link.output.strip().split("\n")
        assert told == t("zh", "telegram.invite", name="赵国强", hours=72)
        done = runner.invoke(app, ["telegram", "set-webhook"])
        assert done.exit_code == 0, done.output
    finally:
        get_settings.cache_clear()
    assert fake.webhook_url == "https://workroom.example.org/telegram/webhook"
    assert fake.webhook_secret == SECRET
    # Edits are asked for too: the worker who edits an answer is told it is not read.
    assert fake.calls_to("setWebhook")[-1].params["allowed_updates"] == [
        "message", "edited_message", "callback_query"]


def test_a_telegram_invite_needs_the_bot_and_opens_the_chat_as_the_person(
        sqlite_url: str, clock: FrozenClock, fake: FakeBotApi, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The link made by `workroom invite --channel telegram` is the one the person taps:
    it opens this bot and its code links their chat; with no bot set, no code is made."""
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.settings import get_settings
    from tests.conftest import prepared_engine

    prepared_engine(sqlite_url, clock.now()).dispose()
    for name, value in {"DATABASE_URL": sqlite_url, "SECRET_KEY": "cli"}.items():
        monkeypatch.setenv(f"WORKROOM_{name}", value)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    get_settings.cache_clear()
    try:
        refused = runner.invoke(app, ["invite", "zhao_guoqiang", "--channel", "telegram"])
        assert refused.exit_code == 2 and "WORKROOM_TELEGRAM_TOKEN" in refused.output
        for name, value in {"TELEGRAM_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url,
                            "TELEGRAM_FILE_URL": fake.base_file_url}.items():
            monkeypatch.setenv(f"WORKROOM_{name}", value)
        get_settings.cache_clear()
        made = runner.invoke(app, ["invite", "zhao_guoqiang", "--channel", "telegram"])
    finally:
        get_settings.cache_clear()
    assert made.exit_code == 0, made.output
    bot, _, code = made.output.strip().split("\n")[0].partition("?start=")
    assert bot == f"https://t.me/{BOT_USERNAME}"
    svc = telegram_services(sqlite_url, clock, fake, "polling", engine=make_engine(sqlite_url))
    try:
        assert _count(svc, InviteCode) == 1  # the refused invite made none
        opened = parse(text_update(7006, f"/start {code}"))
        assert opened is not None
        [done] = svc.workroom.process(opened)
        assert "赵国强" in done.text
    finally:
        svc.close()


async def test_an_invite_opens_the_chat_in_the_persons_own_language(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Daniel Hughes reads English (the org file says so) and his phone is set to German:
    his invite opens the bot in English, the whole reply, and he stays English."""

    with transaction(tg.db) as s:
        daniel = s.exec(select(Person).where(Person.key == "daniel_hughes")).one()
        assert daniel.lang == "en"
        code = issue_code(s, person=daniel, channel="telegram", now=tg.clock.now(),
                          ttl=__import__("datetime").timedelta(hours=1))
    chat = TgChat(client, fake, 7012, "de")
    assert await chat.say(f"/start {code}") == [
        t("en", "link.done", name="Daniel Hughes") + "\n\n" + t("en", "menu.welcome")]
    assert await chat.say("/help") == [t("en", "help.menu") + "\n\n" + t("en", "menu.prompt")]
    with Session(tg.db) as s:
        assert s.get(Person, daniel.id).lang == "en"  # type: ignore[union-attr]


async def test_an_invite_opened_in_a_group_links_nobody(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """A leader's invite sent in a group would make every member of the group that leader:
    their alerts, the cases they handle. It is refused there and still works in private."""
    with transaction(tg.db) as s:
        leader = s.exec(select(Person).where(Person.key == "zhao_guoqiang")).one()
        code = issue_code(s, person=leader, channel="telegram", now=tg.clock.now(),
                          ttl=__import__("datetime").timedelta(hours=1))
    group = TgChat(client, fake, -100666)
    texts = await group.say(f"/start@{BOT_USERNAME} {code}")
    # Only the notice: no menu keyboard for the whole group, no person for it.
    assert texts == ["请在与本机器人的私聊中打开邀请链接：群聊不能确认身份。"]
    assert "reply_markup" not in fake.sent_messages(-100666)[-1].params
    with Session(tg.db) as s:
        linked = s.exec(select(Contact).where(Contact.person_id == leader.id,
                                              Contact.channel == "telegram")).all()
        assert s.exec(select(Contact).where(Contact.address == "-100666")).all() == []
    assert [c.address for c in linked] == [str(ZHAO)]  # the org file's own, no group
    texts = await TgChat(client, fake, 7007).say(f"/start {code}")
    assert any("赵国强" in t for t in texts)  # the code is still good, in private


async def test_a_delivery_whose_step_fails_is_refused_and_its_redelivery_taken_once(
        tg: Services, fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """The webhook answers 2xx only once the update's step is committed: a step that
    fails answers 500, stores nothing and says nothing, and Telegram's next delivery of
    the same update is taken once."""
    step = tg.workroom.engine.step
    broken = {"on": True}

    def failing(raw: Any, **kw: Any) -> Any:
        if broken["on"]:
            raise RuntimeError("the database went away mid-step")
        return step(raw, **kw)

    monkeypatch.setattr(tg.workroom.engine, "step", failing)
    transport = httpx.ASGITransport(app=create_app(tg, run_scheduler=False),
                                    raise_app_exceptions=False)  # as uvicorn: a 500
    update = text_update(7008, "提建议")
    async with httpx.AsyncClient(transport=transport, base_url="http://wr.test") as c:
        r = await c.post(PATH, json=update, headers={SECRET_HEADER: SECRET})
        await tg.telegram.settled()
        assert r.status_code == 500
        assert _count(tg, InboundMessage) == 0 and fake.sent_messages(7008) == []
        broken["on"] = False
        for _ in range(2):  # Telegram tries again; and once more, as if our 200 was lost
            r = await c.post(PATH, json=update, headers={SECRET_HEADER: SECRET})
            await tg.telegram.settled()
            assert r.status_code == 200
    [reply] = fake.sent_messages(7008)
    assert "哪方面" in reply.text
    assert _count(tg, InboundMessage) == 1


async def test_a_second_press_of_an_alert_says_who_acknowledged_it_and_when(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Paged at night, a leader presses 收到 twice, or after the director acknowledged his
    alert for him: each press is told who acknowledged it (their own press again: that
    they did) and when, and one
    acknowledgement is kept per alert."""
    director, sun = TgChat(client, fake, DIRECTOR), TgChat(client, fake, SUN)
    for leader in (director, sun):
        await leader.say("/start")
    worker = TgChat(client, fake, 7009)
    await run(worker, [("紧急情况报告", "发生了什么"), ("三十多人在厂门口聚集", "在哪里"),
                       ("厂区东门", "多少人"), ("[立即发送]", "已报告")])
    await asyncio.to_thread(tg.dispatcher.drain)
    alert_of = {}
    for leader in (director, sun):
        [shown] = [c for c in fake.sent_messages(leader.chat_id) if "【紧急】" in c.text]
        alert_of[leader.chat_id] = shown
        leader.new_texts()
    for expected in ("已确认收到（09:00）。", "您已于 09:00 确认过这条提醒。"):
        assert (await director.press("收到"))[0].startswith(expected)
    # The director acknowledges Sun's alert for him, at the web console.
    with Session(tg.db) as s:
        sun_alert = s.exec(select(Alert).where(Alert.recipient_id == select(Person.id).where(
            Person.key == "sun_hongmei").scalar_subquery())).one()
    tg.workroom.process(Inbound("console", "p:chen_lihua", "console-ack-1",
                                action=f"ack:{sun_alert.id}"))
    await asyncio.to_thread(tg.dispatcher.drain)
    shown = fake.get_message(SUN, alert_of[SUN].result["message_id"])
    assert shown is not None and "✅ 陈丽华 已于 2026-11-23 09:00 确认收到" in shown["text"]
    assert "reply_markup" not in shown  # its button is gone
    # Sun had the alert open and presses the button a moment too late.
    update = callback_update(SUN, f"ack:{sun_alert.id}",
                             message_id=alert_of[SUN].result["message_id"],
                             message_text=alert_of[SUN].text,
                             reply_markup=alert_of[SUN].params["reply_markup"])
    assert (await sun.post(update)).status_code == 200
    assert sun.new_texts()[0].startswith("这条提醒已由 陈丽华 于 09:00 确认。")
    own = alert_of[DIRECTOR].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    with Session(tg.db) as s:
        chen = s.exec(select(Person.id).where(Person.key == "chen_lihua")).one()
        acks = {(f"ack:{a.alert_id}", a.person_id, a.channel)
                for a in s.exec(select(Acknowledgement))}
    assert acks == {(own, chen, "telegram"), (f"ack:{sun_alert.id}", chen, "console")}


async def test_an_alert_to_a_leader_who_blocked_the_bot_reaches_them_another_way(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Telegram refuses the alert (403: the leader blocked the bot, or never pressed
    Start), and the leader has used no other channel: the alert is not dropped into a
    web inbox nobody opens (and counted delivered); the staff are told, in words they can
    act on, that it could not reach them. (The chain goes on: nobody acknowledged.)"""
    director = TgChat(client, fake, DIRECTOR)
    await director.say("/start")
    fake.block(DIRECTOR)
    worker = TgChat(client, fake, 7010)
    await run(worker, [("紧急情况报告", "发生了什么"), ("三十多人在厂门口聚集", "在哪里"),
                       ("厂区东门", "多少人"), ("[立即发送]", "已报告")])
    await asyncio.to_thread(tg.dispatcher.drain)
    refused = [c for c in fake.sent_messages(DIRECTOR, include_failed=True) if not c.ok]
    assert [c.status for c in refused] == [403]
    with Session(tg.db) as s:
        shown = s.exec(select(InboxMessage).where(InboxMessage.address == "p:chen_lihua")).all()
        told = s.exec(select(Notification).where(
            Notification.message_key == "notice.delivery_refused")).all()
        staff = s.exec(select(Person).where(Person.key == "liu_fang")).one()
    assert shown == []
    assert [n.recipient_id for n in told] == [staff.id]
    assert "【紧急】E-2026-0001" in told[0].params["text"]


def test_the_workroom_starts_while_telegram_cannot_be_reached(
        sqlite_url: str, clock: FrozenClock) -> None:
    """Telegram out of reach at start (blocked, its self-hosted server still booting): the
    web chat, the hotline, WeChat and the scheduler must come up all the same, and the
    Telegram sends wait in the outbox for Telegram to come back."""
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    svc = make_services(sqlite_url, clock, telegram_token="123456:TEST-TOKEN",
                        telegram_api_url=f"http://127.0.0.1:{port}/bot")
    try:
        worker = Chat(svc, person="li_ming")
        worker.say("菜单")
        assert "您好" in worker.text or "请选择" in worker.text
        with transaction(svc.db) as s:
            outbox.enqueue(s, key="tg-down", channel="telegram", address="7011",
                           message="notice.raw", params={"text": "稍后送达"}, now=clock.now())
        assert svc.dispatcher.run_once() == 0
        with Session(svc.db) as s:
            row = s.exec(select(Notification).where(
                Notification.idempotency_key == "tg-down")).one()
        assert (row.status, row.attempts) == ("pending", 1)  # tried again later
        assert row.last_error is not None and row.last_error.startswith("network")
    finally:
        svc.close()
