"""The group-event hotline through Twilio: signed webhooks posted as Twilio would (the
signature computed here), the TwiML answered, and the texts and calls the workroom asks
for captured at a fake Twilio REST API over real HTTP (tests/fakes/twilio_api.py)."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlmodel import Session, SQLModel, col, select

from bot.bootstrap import Services
from bot.channels import located
from bot.hotline import sms_text
from conversations.clock import FrozenClock
from conversations.engine import LOCATION, Button, Reply
from handlers import notices
from handlers.grouping import brief
from handlers.hotline import MENU_TRIES
from handlers.inbound import Inbound
from handlers.incidents import incident_params
from store.models import (
    Acknowledgement,
    Alert,
    Attachment,
    Case,
    ChainStep,
    Contact,
    Conversation,
    HotlineCall,
    InboundMessage,
    InboxMessage,
    Incident,
    Notification,
    Person,
    Timer,
    Workshop,
)
from store.state import RedisStateStore, SqlStateStore, StateStore
from tests.case_helpers import pushes, tick
from tests.conftest import make_services, prepared_engine
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Sent, sign
from tests.fakes.wechat_api import FakeWeChatApi
from tests.test_flow_emergency import ack
from tests.transcript import Chat, all_rows, draft, open_menu, t
from tests.wechat_chat import WxChat, api, wechat_settings
from web.app import create_app

__all__ = ["api"]  # a fixture from tests/wechat_chat

PUBLIC = "https://hotline.example.org"
HOTLINE = "+861012351000"
CALLER = "+8613800000001"
SAID = "铸造车间门口有三十多人聚集，要求补发加班费"
# Who the demo workroom alerts at once: the director and today's duty leader.
ALERTED = "陈丽华（工会主席、群众工作室主任）、孙红梅（党委书记）"

# A record number as the voice reads it: sign by sign, not "E minus 2026 minus 1".
E1_SAID = "E，2，0，2，6，0，0，0，1"
C1_SAID = "C，2，0，2，6，0，0，0，1"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as api:
        yield api


def hotline_services(url: str, clock: FrozenClock, fake: FakeTwilio) -> Services:
    return make_services(url, clock, twilio_account_sid=ACCOUNT_SID,
                         twilio_auth_token=AUTH_TOKEN, hotline_number=HOTLINE,
                         twilio_api_url=fake.base_url, hotline_public_url=PUBLIC)


@pytest.fixture
def hl(db_url: str, clock: FrozenClock, fake: FakeTwilio) -> Iterator[Services]:
    """The demo workroom with the hotline, on SQLite and on PostgreSQL."""
    svc = hotline_services(db_url, clock, fake)
    yield svc
    svc.close()


@pytest.fixture
async def client(hl: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hl, run_scheduler=False))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as c:
        yield c


async def post(client: httpx.AsyncClient, url: str, params: dict[str, str], *,
               token: str = AUTH_TOKEN, signed: dict[str, str] | None = None
               ) -> httpx.Response:
    """POST a webhook as Twilio does: form-encoded, signed over the public URL."""
    full = url if url.startswith("http") else PUBLIC + url
    signature = sign(token, full, signed if signed is not None else params)
    parts = urlsplit(full)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return await client.post(path, content=urlencode(params), headers={
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded"})


def twiml(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.text)


def said(root: ET.Element) -> str:
    return " ".join(el.text or "" for el in root.iter("Say"))


class Caller:
    """Someone phoning the hotline: each keypress or sentence is a signed webhook."""

    def __init__(self, client: httpx.AsyncClient, number: str = CALLER,
                 sid: str = "CA" + "1" * 32) -> None:
        self.client, self.number, self.sid = client, number, sid

    def params(self, **more: str) -> dict[str, str]:
        return {"CallSid": self.sid, "AccountSid": ACCOUNT_SID, "From": self.number,
                "To": HOTLINE, "CallStatus": "in-progress", "Direction": "inbound", **more}

    async def step(self, path: str, **more: str) -> ET.Element:
        return twiml(await post(self.client, path, self.params(**more)))

    async def report(self, speech: str = SAID, people: str = "30", key: str = "1"
                     ) -> ET.Element:
        await self.step("/hotline/voice", CallStatus="ringing")
        await self.step("/hotline/voice/menu", Digits=key)
        await self.step("/hotline/voice/said", SpeechResult=speech, Confidence="0.91")
        return await self.step("/hotline/voice/people", Digits=people)


async def text(client: httpx.AsyncClient, body: str, number: str = CALLER,
               sid: str | None = None) -> httpx.Response:
    text.count += 1  # type: ignore[attr-defined]
    return await post(client, "/hotline/sms", {
        "MessageSid": sid or f"SM{text.count:032d}",  # type: ignore[attr-defined]
        "AccountSid": ACCOUNT_SID, "From": number, "To": HOTLINE, "Body": body,
        "NumMedia": "0"})


text.count = 0  # type: ignore[attr-defined]


def person_of(services: Services, channel: str, address: str) -> Person:
    with Session(services.db) as s:
        contact = s.exec(select(Contact).where(Contact.channel == channel,
                                               Contact.address == address)).one()
        found = s.get(Person, contact.person_id)
    assert found is not None
    return found


def key_of(services: Services, key: str) -> Person:
    with Session(services.db) as s:
        return s.exec(select(Person).where(Person.key == key)).one()


# --- a voice report -----------------------------------------------------------------------


async def test_a_voice_report_files_the_incident_and_alerts_the_chain_before_the_call_ends(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    caller = Caller(client)
    menu = await caller.step("/hotline/voice", CallStatus="ringing")
    gather = menu.find("Gather")
    assert gather is not None
    assert (gather.get("input"), gather.get("numDigits"), gather.get("language"),
            gather.get("action")) == ("dtmf", "1", "zh-CN", f"{PUBLIC}/hotline/voice/menu")
    assert said(menu) == t("zh", "hotline.voice.menu")

    asked = await caller.step("/hotline/voice/menu", Digits="1")
    recording = asked.find("Start/Recording")
    assert recording is not None
    assert recording.get("recordingStatusCallback") == f"{PUBLIC}/hotline/voice/recording"
    speech = asked.find("Gather")
    assert speech is not None
    # Speech recognition takes Twilio's own tag for Mandarin; <Say> keeps its "zh-CN".
    assert (speech.get("input"), speech.get("language"), speech.get("action")) == (
        "speech", "cmn-Hans-CN", f"{PUBLIC}/hotline/voice/said")
    assert {el.get("language") for el in asked.iter("Say")} == {"zh-CN"}
    assert said(asked) == t("zh", "hotline.voice.what_where")

    keyed = await caller.step("/hotline/voice/said", SpeechResult=SAID, Confidence="0.9")
    people = keyed.find("Gather")
    assert people is not None
    assert (people.get("input"), people.get("finishOnKey")) == ("dtmf", "#")
    assert all_rows(hl, Incident) == []  # nothing filed before the last answer

    bye = await caller.step("/hotline/voice/people", Digits="30")
    assert said(bye) == t("zh", "hotline.voice.done_incident", number=E1_SAID)
    assert bye.find("Hangup") is not None

    # Filed, with its chain started, when the goodbye was answered.
    [incident] = all_rows(hl, Incident)
    [casting] = all_rows(hl, Workshop, Workshop.key == "casting")
    assert (incident.what, incident.place, incident.people, incident.workshop_id,
            incident.channel) == (SAID, "铸造车间", 30, casting.id, "voice")
    reporter = person_of(hl, "sms", CALLER)
    assert (incident.reporter_id, reporter.verified) == (reporter.id, False)
    alerted = {a.recipient_id for a in all_rows(hl, Alert, Alert.subject == "incident")}
    assert key_of(hl, "chen_lihua").id in alerted and len(alerted) == 2
    assert all_rows(hl, Timer, Timer.kind == "incident_watch", Timer.ref == str(incident.id))

    hl.dispatcher.drain()
    [alert] = [p for p in pushes(hl, "chen_lihua") if p.startswith("【紧急】E-2026-0001")]
    assert SAID in alert
    assert f"：{t('zh', 'person.caller')}，2026-11-23" in alert  # who phoned, not "unverified"
    [told] = fake.messages(CALLER)
    assert told.params["From"] == HOTLINE
    assert told.body.startswith(t("zh", "hotline.sms_head") + "已报告，编号 E-2026-0001。")
    assert "陈丽华" in told.body and "+86" not in told.body

    # The call's recording arrives after it: kept with the incident.
    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE1"
    r = await post(client, "/hotline/voice/recording", caller.params(
        RecordingUrl=url, RecordingStatus="completed", RecordingSid="RE1"))
    assert r.status_code == 200
    [kept] = all_rows(hl, Attachment)
    assert (kept.subject, kept.subject_id, kept.kind, kept.file_ref) == (
        "incident", incident.id, "voice", url)

    # The caller's number is in the contact vault only.
    with Session(hl.db) as s:
        for row in [*s.exec(select(HotlineCall)), *s.exec(select(Incident))]:
            assert CALLER not in repr(row.model_dump())


async def test_without_calls_to_the_last_step_the_callers_text_names_who_was_alerted(
        db_url: str, clock: FrozenClock, fake: FakeTwilio) -> None:
    """A hotline whose chain's last step is not phoned: the caller's text still names the
    leaders the report alerted, never "(not given)" as if nobody had been."""
    svc = make_services(db_url, clock, twilio_account_sid=ACCOUNT_SID,
                        twilio_auth_token=AUTH_TOKEN, hotline_number=HOTLINE,
                        twilio_api_url=fake.base_url, hotline_public_url=PUBLIC,
                        hotline_call_last_step=False)
    try:
        transport = httpx.ASGITransport(app=create_app(svc, run_scheduler=False))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
            bye = await Caller(client).report()
        assert said(bye) == t("zh", "hotline.voice.done_incident", number=E1_SAID)
        svc.dispatcher.drain()
        [told] = fake.texts(CALLER)
        assert told == t("zh", "hotline.sms_head") + t(
            "zh", "emergency.done", number="E-2026-0001", alerted=ALERTED)
    finally:
        svc.close()


@pytest.mark.parametrize("hidden", [
    ("anonymous", "+266696687"), ("+86282452253", "Restricted"), ("Unknown", "Blocked"),
    ("", "anonymous")])
async def test_callers_who_hide_their_number_are_each_their_own_reporter_and_never_texted(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio,
        hidden: tuple[str, str]) -> None:
    """Twilio sends a placeholder for a withheld number. Each such call is a reporter of
    its own (never one shared person, never linked by number); the report is filed and
    its chain started before the call ends; the goodbye reads the number out and promises
    no text; nothing is queued for them, so no 'delivery failed' reaches the staff."""
    first = await Caller(client, hidden[0], "CA" + "7" * 32).report()
    spelled = "，".join("E20260001")
    assert said(first) == t("zh", "hotline.voice.received_incident", number=spelled)
    [incident] = all_rows(hl, Incident)
    assert all_rows(hl, Alert, Alert.subject == "incident", Alert.subject_id == incident.id)
    assert all_rows(hl, Timer, Timer.kind == "incident_watch", Timer.ref == str(incident.id))

    second = await Caller(client, hidden[1], "CA" + "8" * 32).report()  # same workshop
    assert said(second) == t("zh", "hotline.voice.received_linked", number=spelled)
    assert len(all_rows(hl, Incident)) == 1
    calls = all_rows(hl, HotlineCall)
    reporters = {c.person_id for c in calls}
    assert len(calls) == 2 and len(reporters) == 2 and incident.reporter_id in reporters
    for pid in reporters:
        assert all_rows(hl, Contact, Contact.person_id == pid) == []
        [person] = all_rows(hl, Person, Person.id == pid)
        assert (person.verified, person.role) == (False, "employee")

    # A leader acknowledges: neither caller is queued a text, nor is anyone told of one lost.
    alert = all_rows(hl, Alert, Alert.recipient_id == key_of(hl, "chen_lihua").id)[0]
    ack(hl, "chen_lihua", alert.id)
    hl.dispatcher.drain()
    assert all_rows(hl, Notification, col(Notification.recipient_id).in_(reporters)) == []
    assert all_rows(hl, Notification, col(Notification.message_key).startswith(
        "notice.delivery_")) == []
    assert fake.messages() == []


async def test_the_callers_text_is_worded_in_their_language_when_it_is_sent(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    """The text with the number is kept as data (a message key and its parameters), not
    as Chinese words: a caller who switches to English before it goes gets it in English."""
    fake.fail_next("message", status=503)
    await Caller(client).report()
    [row] = all_rows(hl, Notification, col(Notification.idempotency_key).startswith("hotline:"))
    assert (row.message_key, row.params) == ("notice.caller_told", {
        "head": "@hotline.sms_head", "told_lines": [["emergency.done", {
            "number": "E-2026-0001", "alerted": {"people": [
                ["陈丽华", "工会主席、群众工作室主任"], ["孙红梅", "党委书记"]]}}]]})
    await text(client, "English")  # the caller texts the hotline: "English"
    after_back_off(hl, clock)
    [told] = [m for m in fake.texts(CALLER) if "E-2026-0001" in m]
    assert told == t("en", "hotline.sms_head") + t(
        "en", "emergency.done", number="E-2026-0001",
        alerted="陈丽华 (工会主席、群众工作室主任), 孙红梅 (党委书记)")


async def test_twilio_posting_the_last_answer_again_files_one_report_and_says_the_same(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    """Twilio retries a webhook it got no answer to in time: the same CallSid and step
    again. One incident, one chain, one text, and the same goodbye."""
    caller = Caller(client)
    first = await post(client, "/hotline/voice/people", caller.params(Digits="30"))
    assert first.status_code == 200 and all_rows(hl, Incident) == []  # no call: nothing
    await caller.step("/hotline/voice")
    await caller.step("/hotline/voice/menu", Digits="1")
    await caller.step("/hotline/voice/said", SpeechResult=SAID)
    bye = await post(client, "/hotline/voice/people", caller.params(Digits="30"))
    alerts_after = len(all_rows(hl, Alert))
    again = await post(client, "/hotline/voice/people", caller.params(Digits="30"))
    assert again.status_code == 200 and again.text == bye.text
    assert said(twiml(again)) == t("zh", "hotline.voice.done_incident", number=E1_SAID)
    [incident] = all_rows(hl, Incident)
    assert incident.people == 30
    assert len(all_rows(hl, Alert)) == alerts_after
    [call] = all_rows(hl, HotlineCall)
    assert (call.step, call.subject_id) == ("done", incident.id)
    hl.dispatcher.drain()
    assert len(fake.texts(CALLER)) == 1


async def test_no_speech_is_taken_as_a_recording_and_the_number_keyed_in(
        hl: Services, client: httpx.AsyncClient) -> None:
    caller = Caller(client)
    await caller.step("/hotline/voice")
    await caller.step("/hotline/voice/menu", Digits="1")
    asked = await caller.step("/hotline/voice/said", SpeechResult="")
    record = asked.find("Record")
    assert record is not None
    assert (record.get("action"), record.get("finishOnKey")) == (
        f"{PUBLIC}/hotline/voice/recorded", "#")
    url = "https://api.twilio.com/recordings/RE9"
    await caller.step("/hotline/voice/recorded", RecordingUrl=url, RecordingDuration="12")
    await caller.step("/hotline/voice/people", Digits="")  # not known: just "#"
    [incident] = all_rows(hl, Incident)
    assert (incident.what, incident.people) == (t("zh", "hotline.voice.recorded_only"), None)
    [kept] = all_rows(hl, Attachment)
    assert (kept.subject_id, kept.file_ref) == (incident.id, url)


async def test_keys_that_are_not_a_number_of_people_get_a_clear_answer_then_the_report(
        hl: Services, client: httpx.AsyncClient) -> None:
    """A noisy workshop: the caller hits "*" or "0". They hear that it was not a number
    and are asked again, once; a second miss files the report with the number unknown
    (never a lost report, never a silent "0 people")."""
    caller = Caller(client)
    await caller.step("/hotline/voice")
    await caller.step("/hotline/voice/menu", Digits="7")  # a wrong menu key first
    await caller.step("/hotline/voice/menu", Digits="1")
    await caller.step("/hotline/voice/said", SpeechResult=SAID)
    for bad in ("*3", "0"):
        again = await caller.step("/hotline/voice/people", Digits=bad)
        assert said(again) == t("zh", "hotline.voice.people_again") + " " + t(
            "zh", "hotline.voice.people")
        gather = again.find("Gather")
        assert gather is not None and gather.get("action") == f"{PUBLIC}/hotline/voice/people"
        assert all_rows(hl, Incident) == []
    bye = await caller.step("/hotline/voice/people", Digits="**")
    assert said(bye) == t("zh", "hotline.voice.done_incident", number=E1_SAID)
    [incident] = all_rows(hl, Incident)
    assert (incident.what, incident.people) == (SAID, None)


async def test_a_number_of_people_keyed_after_a_miss_is_kept(
        hl: Services, client: httpx.AsyncClient) -> None:
    caller = Caller(client)
    await caller.step("/hotline/voice")
    await caller.step("/hotline/voice/menu", Digits="1")
    await caller.step("/hotline/voice/said", SpeechResult=SAID)
    await caller.step("/hotline/voice/people", Digits="3*")
    await caller.step("/hotline/voice/people", Digits="30")
    [incident] = all_rows(hl, Incident)
    assert incident.people == 30


async def test_a_caller_who_hangs_up_after_speaking_is_still_reported(
        hl: Services, client: httpx.AsyncClient) -> None:
    caller = Caller(client)
    await caller.step("/hotline/voice")
    await caller.step("/hotline/voice/menu", Digits="1")
    await caller.step("/hotline/voice/said", SpeechResult=SAID)
    r = await post(client, "/hotline/voice/status", caller.params(CallStatus="completed"))
    assert r.status_code == 200
    [incident] = all_rows(hl, Incident)
    assert (incident.what, incident.people) == (SAID, None)
    # The status callback may come twice: still one incident.
    await post(client, "/hotline/voice/status", caller.params(CallStatus="completed"))
    assert len(all_rows(hl, Incident)) == 1


async def test_a_caller_who_hangs_up_before_saying_anything_is_still_reported(
        hl: Services, client: httpx.AsyncClient) -> None:
    """Pressed 1 for a group incident, then the line dropped: the leaders are alerted all
    the same, with the call's recording to listen to."""
    caller = Caller(client)
    await caller.step("/hotline/voice")
    await caller.step("/hotline/voice/menu", Digits="1")
    r = await post(client, "/hotline/voice/status", caller.params(CallStatus="completed"))
    assert r.status_code == 200
    [incident] = all_rows(hl, Incident)
    assert incident.what == t("zh", "hotline.voice.recorded_only")
    assert all_rows(hl, Alert)  # the chain started


async def test_a_complaint_by_phone_is_registered_and_the_caller_texted(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    bye = await Caller(client).report("机加工车间这个月的夜班补贴一直没有发", people="12",
                                      key="2")
    assert said(bye) == t("zh", "hotline.voice.done_case", number=C1_SAID)
    from store.models import Case

    [case] = all_rows(hl, Case)
    assert (case.category, case.affected, case.channel, case.complainant_id) == (
        "other", 12, "voice", person_of(hl, "sms", CALLER).id)
    hl.dispatcher.drain()
    [told] = fake.texts(CALLER)
    assert "C-2026-0001" in told


async def test_zero_rings_the_staff_on_duty_without_telling_the_caller_the_number(
        hl: Services, client: httpx.AsyncClient) -> None:
    caller = Caller(client)
    await caller.step("/hotline/voice")
    root = await caller.step("/hotline/voice/menu", Digits="0")
    dial = root.find("Dial")
    assert dial is not None
    assert dial.get("callerId") == HOTLINE
    assert [n.text for n in dial.iter("Number")] == ["+8600000000005"]  # 刘芳, staff
    assert "0000" not in said(root)
    # Nobody picked up: back to the menu.
    again = await caller.step("/hotline/voice/dialed", DialCallStatus="no-answer")
    assert t("zh", "hotline.voice.no_staff") in said(again)
    assert again.find("Gather") is not None


async def test_a_wrong_key_asks_again_then_ends(hl: Services,
                                                client: httpx.AsyncClient) -> None:
    caller = Caller(client)
    await caller.step("/hotline/voice")
    for _ in range(3):
        root = await caller.step("/hotline/voice/menu", Digits="7")
        assert said(root).startswith(t("zh", "hotline.voice.again"))
    root = await caller.step("/hotline/voice/menu", Digits="7")
    assert root.find("Hangup") is not None
    assert all_rows(hl, Incident) == []


def test_the_voice_menu_is_a_handler_that_needs_no_provider(hl: Services) -> None:
    """The menu's rules run without Twilio: moves in, Prompts out (bot/hotline.py only
    writes them as TwiML)."""
    from handlers import hotline
    from handlers.context import HandlerContext

    now = hl.clock.now()

    def as_caller(s: Session) -> hotline.ContextFor:
        return lambda person: HandlerContext(session=s, now=now, actor=person, channel="voice",
                                             zone=hl.workroom.options.zone, secret="s")

    def move(fn: Any, **more: Any) -> hotline.Prompt:
        with Session(hl.db) as s:
            prompt = fn(s, sid="CA-h", number="13800000003", now=now, **more)
            s.commit()
        return prompt

    assert move(hotline.call_begins) == hotline.Prompt("menu", "menu")
    assert move(hotline.menu_key, digits="") == hotline.Prompt("menu", "menu")  # silence
    assert move(hotline.menu_key, digits="9") == hotline.Prompt("menu", "menu", (("again", {}),))
    assert move(hotline.menu_key, digits="0", staff=["+8610000"]) == hotline.Prompt(
        "dial", say=(("connecting", {}),), numbers=("+8610000",))
    # Nobody picked up: the caller is offered to leave a report, not the menu again.
    assert move(hotline.dial_ended, status="no-answer") == hotline.Prompt(
        "menu", "menu_leave", (("no_staff", {}),))
    assert move(hotline.menu_key, digits="1") == hotline.Prompt("speech", "what_where")
    assert move(hotline.speech_heard, text=" ") == hotline.Prompt("recording", "record")
    assert move(hotline.speech_heard, text=SAID) == hotline.Prompt("people", "people")
    with Session(hl.db) as s:
        bye = hotline.people_keyed(s, sid="CA-h", number="13800000003", digits="30#", now=now,
                                   context_for=as_caller(s), lang="zh")
        s.commit()
    assert bye == hotline.Prompt("nothing", say=(("done_incident",
                                                     {"number": E1_SAID}),))
    [incident] = all_rows(hl, Incident)
    assert (incident.what, incident.people, incident.channel) == (SAID, 30, "voice")
    # Wrong keys end the call after three tries.
    other = {"sid": "CA-w", "number": "13800000004", "now": now}
    with Session(hl.db) as s:
        prompts = [hotline.menu_key(s, digits="7", **other) for _ in range(4)]
        s.commit()
    assert [p.listen for p in prompts] == ["menu", "menu", "menu", "nothing"]
    assert prompts[-1].say == (("goodbye", {}),)


# --- a forged request -------------------------------------------------------------------


async def test_a_forged_signature_is_refused_and_nothing_is_stored(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    def counts() -> tuple[int, ...]:
        return tuple(len(all_rows(hl, m)) for m in (
            HotlineCall, Person, Contact, InboundMessage, Incident, Notification))

    before = counts()
    caller = Caller(client)
    params = caller.params(Digits="1")
    # Signed with another token; signed for other parameters; not signed at all.
    assert (await post(client, "/hotline/voice", params, token="not-the-token")).status_code \
        == 403
    assert (await post(client, "/hotline/voice/people", caller.params(Digits="30"),
                       signed=caller.params(Digits="3"))).status_code == 403
    r = await client.post("/hotline/voice", content=urlencode(params),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403
    sms = {"MessageSid": "SMforged", "From": CALLER, "To": HOTLINE, "Body": SAID}
    assert (await post(client, "/hotline/sms", sms, token="x" * 32)).status_code == 403
    # Signed for another URL (a replay against another route).
    r = await client.post("/hotline/sms", content=urlencode(sms), headers={
        "X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + "/hotline/voice", sms),
        "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403
    assert counts() == before
    hl.dispatcher.drain()
    assert fake.sent == []


async def test_an_oversized_body_is_refused_even_in_chunks_and_nothing_is_stored(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    def counts() -> tuple[int, ...]:
        return tuple(len(all_rows(hl, m)) for m in (
            Person, Contact, InboundMessage, Incident, Notification))

    before = counts()
    # Signed as Twilio would: only its size is wrong.
    params = {"MessageSid": "SM" + "7" * 32, "AccountSid": ACCOUNT_SID, "From": CALLER,
              "To": HOTLINE, "Body": SAID * 2000, "NumMedia": "0"}
    body = urlencode(params).encode()
    assert len(body) > 32 * 1024
    headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + "/hotline/sms", params),
               "Content-Type": "application/x-www-form-urlencoded"}

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: sent in chunks
        for at in range(0, len(body), 4096):
            yield body[at:at + 4096]

    r = await client.post("/hotline/sms", content=chunked(), headers=headers)
    assert r.status_code == 413
    assert "content-length" not in r.request.headers
    assert (await client.post("/hotline/sms", content=body, headers=headers)).status_code \
        == 413
    assert counts() == before
    hl.dispatcher.drain()
    assert fake.sent == []


# --- a text report ----------------------------------------------------------------------


async def test_a_text_report_runs_the_emergency_conversation_one_question_per_text(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    r = await text(client, "铸造车间有三十多人停工聚集")
    assert r.status_code == 200 and "<Response" in r.text
    [first] = fake.texts(CALLER)  # one text per step, sent at once
    assert first.startswith(t("zh", "emergency.intro"))
    assert t("zh", "flow.progress", n=2, total=5) + " " + t("zh", "emergency.place.ask") \
        in first
    assert first.count("？") == 1  # one question

    await text(client, "铸造车间大门口")
    third = fake.texts(CALLER)[-1]
    assert third.startswith(t("zh", "flow.progress", n=3, total=5) + " "
                            + t("zh", "emergency.people.ask_typed"))
    assert t("zh", "hotline.sms_words", words="跳过 / 立即发送 / 返回 / 取消 / 帮助") in third

    await text(client, "三十")
    await text(client, "立即发送")
    done = fake.texts(CALLER)[-1]
    [incident] = all_rows(hl, Incident)
    assert (incident.what, incident.place, incident.people, incident.channel) == (
        "铸造车间有三十多人停工聚集", "铸造车间大门口", 30, "sms")
    assert done.startswith("已报告，编号 E-2026-0001。正在通知：陈丽华")
    assert "\n1. 提建议\n2. 反映问题\n" in done  # then the menu, numbered
    assert len(fake.texts(CALLER)) == 4
    assert all(m.params["From"] == HOTLINE for m in fake.messages(CALLER))

    # Twilio delivers the last text again (same MessageSid): absorbed, with no second
    # report, no second answer, and the conversation where it was.
    last = f"SM{text.count:032d}"  # type: ignore[attr-defined]
    steps_before = len(all_rows(hl, InboundMessage))
    with Session(hl.db) as s:
        state_before = s.get(Conversation, f"sms:{CALLER}")
        assert state_before is not None
        version = state_before.version
    again = await text(client, "立即发送", sid=last)
    assert again.status_code == 200
    hl.dispatcher.drain()
    assert len(fake.texts(CALLER)) == 4  # the answer is not sent twice
    assert len(all_rows(hl, InboundMessage)) == steps_before
    assert len(all_rows(hl, Incident)) == 1
    with Session(hl.db) as s:
        state_after = s.get(Conversation, f"sms:{CALLER}")
        assert state_after is not None and state_after.version == version

    # The director acknowledges in chat: the reporter is texted who has it, no numbers.
    hl.dispatcher.drain()
    [alert] = all_rows(hl, Alert, Alert.recipient_id == key_of(hl, "chen_lihua").id)
    ack(hl, "chen_lihua", alert.id or 0)
    hl.dispatcher.drain()
    acked = fake.texts(CALLER)[-1]
    assert acked == t("zh", "notice.acknowledged", number="E-2026-0001", name="陈丽华",
                      acked_at="2026-11-23 09:00")
    assert "陈丽华 已收到，正在处理" in acked
    assert not re.search(r"\d{7,}", acked)


async def test_texts_answer_a_numbered_menu_by_number_or_words(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    await text(client, "菜单")
    menu = fake.texts(CALLER)[-1]
    assert "\n4. 紧急情况报告" in menu
    await text(client, "2")  # the complaint
    asked = fake.texts(CALLER)[-1]
    assert t("zh", "complaint.category.ask") in asked and "\n1. 工资福利" in asked
    await text(client, "安全生产")  # the words of an option
    assert t("zh", "complaint.description.ask") in fake.texts(CALLER)[-1]


async def test_a_failed_text_is_retried_by_the_outbox(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    fake.fail_next("message", status=503)
    assert (await text(client, "铸造车间有人聚集")).status_code == 200
    assert fake.texts(CALLER) == []
    clock.set(clock.now() + timedelta(seconds=31))  # the step's claim runs out
    hl.dispatcher.drain()
    clock.set(clock.now() + timedelta(seconds=10))
    hl.dispatcher.drain()
    [reply] = fake.texts(CALLER)
    assert t("zh", "emergency.place.ask") in reply


def director_acknowledges(hl: Services) -> None:
    [alert] = all_rows(hl, Alert, Alert.recipient_id == key_of(hl, "chen_lihua").id)
    ack(hl, "chen_lihua", alert.id or 0)


def after_back_off(hl: Services, clock: FrozenClock) -> None:
    """Let the outbox retry what failed (5 s) and what waited behind it."""
    for seconds in (5, 1, 1):
        clock.set(clock.now() + timedelta(seconds=seconds))
        hl.dispatcher.drain()


async def test_a_texters_number_and_acknowledgement_arrive_in_order_after_a_5xx(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    """The text with the incident's number fails (a 5xx) and waits its back-off; the
    director's acknowledgement, written meanwhile, waits behind it."""
    for said_ in ("铸造车间有三十多人停工聚集", "铸造车间大门口", "三十"):
        await text(client, said_)
    fake.fail_next("message", status=500)
    await text(client, "立即发送")
    assert len(fake.texts(CALLER)) == 3 and len(fake.refused) == 1
    director_acknowledges(hl)
    hl.dispatcher.drain()
    assert len(fake.texts(CALLER)) == 3  # not before the number
    after_back_off(hl, clock)
    *_, done, acked = fake.texts(CALLER)
    assert done.startswith("已报告，编号 E-2026-0001。")
    assert acked == t("zh", "notice.acknowledged", number="E-2026-0001", name="陈丽华",
                      acked_at="2026-11-23 09:00")
    assert len(fake.texts(CALLER)) == 5


async def test_a_callers_number_and_acknowledgement_arrive_in_order_after_a_5xx(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    fake.fail_next("message", status=502)
    await Caller(client).report()
    assert fake.texts(CALLER) == []  # the number's text failed
    director_acknowledges(hl)
    hl.dispatcher.drain()
    assert fake.texts(CALLER) == []  # the acknowledgement does not overtake it
    after_back_off(hl, clock)
    told, acked = fake.texts(CALLER)
    assert told.startswith(t("zh", "hotline.sms_head") + "已报告，编号 E-2026-0001。")
    assert acked == t("zh", "notice.acknowledged", number="E-2026-0001", name="陈丽华",
                      acked_at="2026-11-23 09:00")


async def test_a_text_given_up_on_tells_staff_without_the_texters_number(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    """The texter's phone takes no texts (21610): staff and director are told the reply
    was lost, with the number masked; the number itself stays in the contact vault."""
    fake.fail_next("message", status=400, code=21610, times=20)
    await text(client, "铸造车间有人聚集")
    for _ in range(10):  # every retry, each after its back-off
        clock.set(clock.now() + timedelta(minutes=31))
        hl.dispatcher.drain()
    [failed] = all_rows(hl, Notification, Notification.status == "failed")
    assert failed.address == CALLER
    [told] = [p for p in pushes(hl, "chen_lihua") if p.startswith("【发送失败】")]
    assert told.startswith("【发送失败】发给 +86138****0001 的消息")
    assert not re.search(r"\d{6,}", told.split("原文")[0])
    assert [p for p in pushes(hl, "liu_fang") if p.startswith("【发送失败】")] == [told]
    # Kept only where a text needs it: the chat's key and the replies' own address.
    assert {r.split(":")[0] for r in leaks(hl, "13800000001")} <= {
        "conversation", "inboundmessage", "timer", "notification"}
    assert not [r for r in leaks(hl, "13800000001") if "delivery_failed" in r]


def test_a_reply_renders_as_one_text_with_numbered_choices() -> None:
    reply = Reply("问题属于哪一类？", [Button("工资福利", "opt:wages"),
                                      Button("安全生产", "opt:safety"),
                                      Button("返回", "cmd:back", "nav"),
                                      Button("收到", "ack:3", "action")])
    assert sms_text(reply, "zh") == "问题属于哪一类？\n1. 工资福利\n2. 安全生产\n" + t(
        "zh", "hotline.sms_words", words="返回")


async def picture(client: httpx.AsyncClient, body: str, url: str,
                  number: str = CALLER) -> httpx.Response:
    """An MMS as Twilio posts it: the words (maybe none) and one photo."""
    text.count += 1  # type: ignore[attr-defined]
    return await post(client, "/hotline/sms", {
        "MessageSid": f"MM{text.count:032d}",  # type: ignore[attr-defined]
        "AccountSid": ACCOUNT_SID, "From": number, "To": HOTLINE, "Body": body,
        "NumMedia": "1", "MediaUrl0": url, "MediaContentType0": "image/jpeg"})


PHOTO = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME1"


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_photo_texted_alone_starts_the_emergency_report_and_is_kept_with_it(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, lang: str) -> None:
    """A worker snaps the crowd at the gate and sends only the picture: as a text that
    picks nothing from the menu, it starts the emergency report, the photo kept."""
    if lang == "en":
        await text(client, "English")
    before = len(fake.texts(CALLER))
    assert (await picture(client, "", PHOTO)).status_code == 200
    [first] = fake.texts(CALLER)[before:]
    assert first.startswith(t(lang, "emergency.intro"))
    assert t(lang, "attachment.kept", count=1) in first
    assert t(lang, "emergency.what.ask") in first
    assert t(lang, "attachment.not_here") not in first

    await text(client, "铸造车间三十多人聚集")
    await text(client, "铸造车间门口")
    await text(client, t(lang, "nav.send_now"))
    [incident] = all_rows(hl, Incident)
    assert (incident.what, incident.place) == ("铸造车间三十多人聚集", "铸造车间门口")
    [photo] = all_rows(hl, Attachment)
    assert (photo.subject, photo.subject_id, photo.channel, photo.kind, photo.file_ref) == (
        "incident", incident.id, "sms", "photo", PHOTO)
    alert = next(p for p in pushes(hl, "chen_lihua") if "E-2026-0001" in p)
    assert alert.startswith("【紧急】E-2026-0001") and "照片 1 张" in alert


async def test_a_photo_texted_with_what_it_shows_is_kept_with_the_report_it_starts(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    await picture(client, "铸造车间三十多人聚集", PHOTO)
    [first] = fake.texts(CALLER)
    assert t("zh", "attachment.kept", count=1) in first
    assert t("zh", "emergency.place.ask") in first
    assert t("zh", "attachment.not_here") not in first
    await text(client, "铸造车间门口")
    await text(client, "立即发送")
    [incident] = all_rows(hl, Incident)
    assert incident.what == "铸造车间三十多人聚集"
    assert [(a.subject, a.subject_id, a.file_ref) for a in all_rows(hl, Attachment)] == [
        ("incident", incident.id, PHOTO)]


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_texter_is_told_what_to_reply_never_to_tap_a_button(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, lang: str) -> None:
    """A feature phone has no buttons: every text says what to reply (the catalog's
    `_typed` wordings, as WeChat gets them), in characters any Chinese handset shows."""
    if lang == "en":
        await text(client, "English")
    for body in ("铸造车间三十多人聚集", "铸造车间门口", "30", t(lang, "nav.skip"),
                 t(lang, "nav.skip")):
        await text(client, body)
    got = fake.texts(CALLER)
    [people] = [m for m in got if t(lang, "emergency.people.ask_typed") in m]
    words = " / ".join(t(lang, k) for k in ("nav.skip", "nav.send_now", "nav.back",
                                             "nav.cancel", "nav.help"))
    assert people.endswith("\n" + t(lang, "hotline.sms_words", words=words))
    assert any(t(lang, "emergency.measures.ask_typed") in m for m in got)
    assert any(t(lang, "emergency.suggestion.ask_typed") in m for m in got)
    assert any(t(lang, "emergency.done", number="E-2026-0001", alerted="")[:12] in m
               and t(lang, "menu.prompt_typed") + "\n1. " in m for m in got)
    for m in got:
        assert "点" not in m and "tap" not in m.lower() and "button" not in m.lower(), m
        m.encode("gb2312")  # no arrow or other sign a cheap handset shows as a box


# --- many voices, one incident -------------------------------------------------------------


async def test_three_reports_of_one_workshop_are_one_incident(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    await Caller(client).report()  # by phone
    alerts_before = len(all_rows(hl, Alert))
    second = "+8613800000002"
    await text(client, "铸造车间工人停工了", number=second)  # by text
    await text(client, "铸造车间", number=second)
    clock.set(clock.now() + timedelta(minutes=10))
    await text(client, "立即发送", number=second)
    liaison = Chat(hl, person="wang_qiang")  # the casting workshop's liaison, in chat
    open_menu(liaison, "zh")
    liaison.press(t("zh", "menu.emergency_workshop"))
    liaison.say("工人在车间里聚集，情绪激动")
    liaison.press(t("zh", "nav.send_now"))

    [incident] = all_rows(hl, Incident)
    assert len(all_rows(hl, Alert)) == alerts_before  # no second chain
    from store.models import IncidentLink

    links = all_rows(hl, IncidentLink)
    assert [(x.channel, x.incident_id) for x in links] == [("sms", incident.id),
                                                          ("console", incident.id)]
    linked = t("zh", "emergency.linked", number="E-2026-0001", what=brief(incident.what),
               alerted=ALERTED)
    assert linked in liaison.text
    assert fake.texts(second)[-1].startswith(linked)
    hl.dispatcher.drain()
    more = [p for p in pushes(hl, "chen_lihua") if p.startswith("【紧急·补充】E-2026-0001")]
    assert len(more) == 2 and "共 3 份" in more[-1]

    # A leader acknowledges once: all three reporters are told.
    [alert] = all_rows(hl, Alert, Alert.recipient_id == key_of(hl, "chen_lihua").id)
    ack(hl, "chen_lihua", alert.id or 0)
    hl.dispatcher.drain()
    acked = t("zh", "notice.acknowledged", number="E-2026-0001", name="陈丽华",
              acked_at="2026-11-23 09:10")
    assert fake.texts(CALLER)[-1] == acked
    assert fake.texts(second)[-1] == acked
    assert acked in pushes(hl, "wang_qiang")

    # Past the window, the same workshop is a new incident with its own chain.
    clock.set(clock.now() + timedelta(minutes=41))
    await Caller(client, sid="CA" + "2" * 32).report()
    assert [i.number for i in all_rows(hl, Incident)] == ["E-2026-0001", "E-2026-0002"]


async def test_complaints_of_one_kind_from_one_workshop_raise_a_suspected_group_incident(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    speech = "铸造车间的加班费三个月没发了"
    for n in range(1, 5):
        await Caller(client, number=f"+861380000010{n}", sid=f"CA{n:032d}").report(
            speech, people="5", key="2")
        hl.dispatcher.drain()
        raised = [p for p in pushes(hl, "chen_lihua") if p.startswith("【疑似群体性事件】")]
        assert len(raised) == (1 if n >= 3 else 0)
    assert raised[0] == t("zh", "notice.cluster_suspected", workshop="铸造车间", hours=24,
                          count=3, category="其他",
                          numbers="C-2026-0001、C-2026-0002、C-2026-0003") \
        + "\n" + t("zh", "nav.ack_prompt")  # and asks for the press, as every alert does
    # It waits for the director's 收到 like any alert.
    director = Chat(hl, person="chen_lihua")
    open_menu(director, "zh")
    director.press(t("zh", "menu.my_alerts"))
    assert "疑似群体性事件（11-23 09:00）" in director.text


async def test_a_suspected_group_incident_lists_its_cases_in_the_directors_language(
        hl: Services, client: httpx.AsyncClient) -> None:
    """The case numbers are joined in the reader's words (list.sep), not with "、" fixed
    when the alert was raised."""
    with Session(hl.db) as s:
        director = s.exec(select(Person).where(Person.key == "chen_lihua")).one()
        director.lang = "en"
        s.add(director)
        s.commit()
    for n in range(1, 4):
        await Caller(client, number=f"+861380000010{n}", sid=f"CA{n:032d}").report(
            "铸造车间的加班费三个月没发了", people="5", key="2")
    hl.dispatcher.drain()
    [raised] = [p for p in pushes(hl, "chen_lihua") if p.startswith("[SUSPECTED")]
    assert raised == t("en", "notice.cluster_suspected", workshop="铸造车间", hours=24,
                       count=3, category=t("en", "opt.category.other"),
                       numbers="C-2026-0001, C-2026-0002, C-2026-0003") \
        + "\n" + t("en", "nav.ack_prompt")


# --- staff file for a caller -------------------------------------------------------------


def staff_file_an_incident(svc: Services, number: str) -> Chat:
    """A staff member files 总装车间's incident for the caller at `number`."""
    staff = Chat(svc, person="liu_fang")
    open_menu(staff, "zh")
    staff.press(t("zh", "menu.file_for_caller"))
    staff.press(t("zh", "opt.caller_kind.incident"))
    staff.say(number)
    staff.say("总装车间二十多人在车间办公室门口要说法")
    staff.press("总装车间")
    staff.say("二十")
    staff.press(t("zh", "nav.confirm"))
    return staff


def test_staff_file_an_incident_for_a_caller_and_the_caller_is_texted(
        hl: Services, fake: FakeTwilio) -> None:
    # Full-width digits, as some phones type.
    staff = staff_file_an_incident(hl, "１３９ ００００ ０００２")
    assert staff.text.startswith(t("zh", "file_for_caller.done_incident",
                                   number="E-2026-0001", alerted=ALERTED))
    [incident] = all_rows(hl, Incident)
    caller = person_of(hl, "sms", "+8613900000002")
    [assembly] = all_rows(hl, Workshop, Workshop.key == "assembly")
    assert (incident.reporter_id, incident.workshop_id, incident.people, incident.channel) == (
        caller.id, assembly.id, 20, "hotline")
    [call] = all_rows(hl, HotlineCall)
    assert (call.purpose, call.filed_by, call.subject_id) == (
        "filed", key_of(hl, "liu_fang").id, incident.id)
    hl.dispatcher.drain()
    [told] = fake.texts("+8613900000002")  # names the leaders alerted
    assert told == t("zh", "hotline.sms_head") + t(
        "zh", "emergency.done", number="E-2026-0001", alerted=ALERTED)
    # The leaders read who phoned it in and who took the call, not "an unverified
    # employee"; and so does every later alert of it (the chain's next step, a re-alert).
    by = t("zh", "person.filed_by", who=t("zh", "person.caller"), by="刘芳")
    [alert] = [p for p in pushes(hl, "chen_lihua") if "E-2026-0001" in p]
    assert f"{by}，2026-11-23 09:00" in alert
    assert t("zh", "person.unverified") not in alert
    with Session(hl.db) as s:
        again = notices.localize(incident_params(s, incident), "en", hl.settings.zone)
    assert again["reporter"] == t("en", "person.filed_by", who=t("en", "person.caller"),
                                  by="刘芳")


def test_staff_filing_a_caller_s_report_added_to_an_emergency_may_file_it_apart(
        hl: Services, fake: FakeTwilio) -> None:
    """总装车间 has an emergency being handled; a caller's report of the same workshop is
    added to it. The staff member who took the call reads, in that one answer, what it
    was added to and, under it, the button to file it apart (a pipe burst during a
    stoppage is another emergency): no second message that says the merge again."""
    from tests.test_emergency_apart import file

    file(Chat(hl, person="li_ming"), "zh", "总装车间三十多人停工，要求说明加班费", "总装车间")
    staff = staff_file_an_incident(hl, "13900000002")
    [reply] = staff.replies
    assert reply.text == t("zh", "file_for_caller.done_linked", number="E-2026-0001") \
        + "\n" + t("zh", "file_for_caller.linked_apart")
    assert [b.label for b in reply.buttons] == [t("zh", "emergency_apart.button")]
    hl.dispatcher.drain()
    assert not [p for p in pushes(hl, "liu_fang") if "E-2026-0001" in p]
    staff.press(t("zh", "emergency_apart.button"))
    assert "E-2026-0002" in staff.text
    [_, second] = all_rows(hl, Incident)
    caller = person_of(hl, "sms", "+8613900000002")
    assert (second.reporter_id, second.number) == (caller.id, "E-2026-0002")


def test_staff_filing_for_a_caller_without_texts_are_asked_to_give_the_number(
        db_services: Services) -> None:
    """A workroom without the hotline (no texts set up): staff took the call on an office
    phone. They are asked to give the caller the number, not told a text is on its way;
    nothing is written to be texted, so no "delivery failed" reaches the staff and the
    director, neither now nor when a leader acknowledges."""
    svc = db_services
    staff = staff_file_an_incident(svc, "13900000002")
    assert staff.text.startswith(t("zh", "file_for_caller.done_incident_untold",
                                   number="E-2026-0001", alerted=ALERTED))
    [alert] = all_rows(svc, Alert, Alert.recipient_id == key_of(svc, "chen_lihua").id)
    ack(svc, "chen_lihua", alert.id or 0)
    svc.dispatcher.drain()
    caller = person_of(svc, "sms", "+8613900000002")  # kept, to call back
    assert all_rows(svc, Notification, Notification.recipient_id == caller.id) == []
    assert all_rows(svc, Notification, Notification.status == "failed") == []


class PushedChat(Chat):
    """A chat whose replies go through the outbox, as Telegram's and WeChat's do."""

    def _send(self, inbound: Inbound) -> list[Reply]:
        return super()._send(replace(inbound, push_replies=True))


def stored_text(services: Services, *, states: StateStore | None = None
                ) -> dict[str, list[str]]:
    """Every row of every table but the contact vault, and every Redis value of the state
    store, as text (full-width digits folded), by table."""
    found: dict[str, list[str]] = {}
    with services.db.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name != "contact":
                found[table.name] = [unicodedata.normalize("NFKC", repr(tuple(row)))
                                     for row in conn.execute(table.select())]
    if isinstance(states, RedisStateStore):
        found["redis"] = [unicodedata.normalize("NFKC", repr(states.redis.get(k)))
                          for k in states.redis.scan_iter(f"{states.prefix}:*")]
    return found


def leaks(services: Services, digits: str, states: StateStore | None = None) -> list[str]:
    """Where a phone number is kept, however it is spaced."""
    pattern = re.compile(r"[\s\-]*".join(digits))
    return [f"{table}: {row[:200]}" for table, rows in stored_text(services, states=states).items()
            for row in rows if pattern.search(row)]


@pytest.fixture(params=["sql", "redis"])
def hl_stores(request: pytest.FixtureRequest, db_url: str, clock: FrozenClock,
              fake: FakeTwilio) -> Iterator[tuple[Services, StateStore]]:
    """The hotline workroom on {SQLite, PostgreSQL} x {SQL, Redis} conversation state."""
    engine = prepared_engine(db_url, clock.now())
    states: StateStore = request.getfixturevalue("redis_store") \
        if request.param == "redis" else SqlStateStore(engine)
    svc = make_services(db_url, clock, states=states, engine=engine,
                        twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                        hotline_number=HOTLINE, twilio_api_url=fake.base_url,
                        hotline_public_url=PUBLIC)
    yield svc, states
    svc.close()


def file_for_caller(staff: Chat, number: str, lang: str = "zh") -> None:
    """Staff file an incident for a caller, up to the review."""
    open_menu(staff, lang)
    staff.press(t(lang, "menu.file_for_caller"))
    staff.press(t(lang, "opt.caller_kind.incident"))
    staff.say(number)
    staff.say("总装车间二十多人在车间办公室门口要说法")
    staff.press("总装车间")  # the demo's workshops have Chinese names only
    staff.say("20")


def test_the_callers_number_is_kept_in_the_contact_vault_only(
        hl_stores: tuple[Services, StateStore], fake: FakeTwilio) -> None:
    """Filing for a caller, the number staff type is shown back masked, and after the
    flow no row but the vault's (and no Redis value) holds it: not the replay log, not
    the saved conversation, not the outbox, not the inbox."""
    hl, states = hl_stores
    staff = PushedChat(hl, person="liu_fang")
    file_for_caller(staff, "１３９ ００００ ０００２")
    review = staff.replies[0].text
    assert f"{t('zh', 'file_for_caller.phone.label')}：139****0002" in review
    assert "13900000002" not in review
    staff.press(t("zh", "nav.confirm"))
    hl.dispatcher.drain()
    [incident] = all_rows(hl, Incident)
    assert incident.reporter_id == person_of(hl, "sms", "+8613900000002").id
    assert "E-2026-0001" in fake.texts("+8613900000002")[0]
    [shown] = [i.text for i in staff.inbox() if i.text.startswith(t("zh", "review.title"))]
    assert "139****0002" in shown  # the review went through the outbox too
    assert leaks(hl, "13900000002", states) == []


def test_a_draft_restored_from_the_replay_log_asks_the_number_again(
        sqlite_url: str, clock: FrozenClock, fake: FakeTwilio,
        redis_store: RedisStateStore) -> None:
    """Redis lost the draft; a re-delivered message brings it back from the replay log,
    where the number is masked: it is asked again, never filed as "139****0002"."""
    hl = make_services(sqlite_url, clock, states=redis_store, twilio_account_sid=ACCOUNT_SID,
                       twilio_auth_token=AUTH_TOKEN, hotline_number=HOTLINE,
                       twilio_api_url=fake.base_url, hotline_public_url=PUBLIC)
    try:
        staff = Chat(hl, person="liu_fang")
        open_menu(staff, "en")
        staff.press(t("en", "menu.file_for_caller"))
        staff.press(t("en", "opt.caller_kind.incident"))
        staff.say("139 0000 0002")
        staff.say("Twenty people at the assembly workshop office", message_id="lost-1")
        redis_store.clear_all()  # the draft is gone from Redis
        staff.say("Twenty people at the assembly workshop office", message_id="lost-1")
        staff.press("总装车间")
        staff.say("20")
        assert "139****0002" in staff.text
        staff.press(t("en", "nav.confirm"))
        assert t("en", "file_for_caller.phone_again") in staff.text
        assert t("en", "file_for_caller.phone.ask") in staff.text
        assert all_rows(hl, Incident) == []
        staff.say("13900000002")
        staff.press(t("en", "nav.confirm"))
        [incident] = all_rows(hl, Incident)
        assert incident.reporter_id == person_of(hl, "sms", "+8613900000002").id
        assert leaks(hl, "13900000002", redis_store) == []
    finally:
        hl.close()


def test_a_caller_s_complaint_puts_the_kind_its_words_point_to_first(hl: Services) -> None:
    """The staff write down what the caller said before the kind of problem is asked: the
    kind those words point to is offered first, said so, and chosen with one tap."""
    staff = Chat(hl, person="liu_fang")
    open_menu(staff, "zh")
    staff.press(t("zh", "menu.file_for_caller"))
    staff.press(t("zh", "opt.caller_kind.complaint"))
    staff.say("13900000002")
    staff.say("车间粉尘太大，防护口罩也不发，好几个人一直咳嗽")
    staff.press(t("zh", "opt.workshop.unknown"))
    staff.say("20")
    safety = t("zh", "opt.category.safety")
    assert t("zh", "choice.guessed", label=safety) in staff.replies[-1].text
    assert staff.labels()[0] == safety
    staff.press(safety)
    assert draft(hl, staff)["answers"]["category"] == "safety"


def test_a_number_that_is_not_one_is_asked_again(hl: Services) -> None:
    staff = Chat(hl, person="liu_fang")
    open_menu(staff, "en")
    staff.press(t("en", "menu.file_for_caller"))
    staff.press(t("en", "opt.caller_kind.complaint"))
    staff.say("call me maybe")
    assert t("en", "invalid.phone") in staff.text
    assert t("en", "file_for_caller.phone.ask") in staff.text


# --- a leader by phone ------------------------------------------------------------------


async def test_the_last_step_calls_a_leader_who_acknowledges_by_pressing_one(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    t0 = clock.now()
    await Caller(client).report()
    # Nobody acknowledges: step 2 after 5 minutes, the last step (the upper union's
    # 钱文静, who has a phone) after 15, called as well as pushed.
    tick(hl, clock, t0 + timedelta(minutes=14), step=timedelta(minutes=1))
    assert fake.calls() == []
    tick(hl, clock, t0 + timedelta(minutes=15), step=timedelta(minutes=1))
    leader_phone = "+8600000000099"
    [ring] = fake.calls(leader_phone)
    assert ring.params["From"] == HOTLINE
    assert ring.url.startswith(f"{PUBLIC}/hotline/voice/alert?n=")

    # Twilio fetches what to say when the leader answers; a different number gets nothing.
    answered = {"CallSid": "CA" + "9" * 32, "AccountSid": ACCOUNT_SID, "From": HOTLINE,
                "Direction": "outbound-api", "CallStatus": "in-progress"}
    wrong = twiml(await post(client, ring.url, {**answered, "To": "+8613800009999"}))
    assert wrong.find("Hangup") is not None and wrong.find("Gather") is None
    root = twiml(await post(client, ring.url, {**answered, "To": leader_phone}))
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    # First who before did not acknowledge, and for how long (as the chat alert says).
    first = t("zh", "notice.escalated", names="陈丽华、孙红梅、赵国强、刘芳", minutes=15)
    assert said(root).startswith(first + "职工群众工作室紧急提醒。突发情况 E-2026-0001。情况："
                                 + SAID)
    assert t("zh", "hotline.voice.alert_press") in said(root)

    action = gather.get("action") or ""
    other = twiml(await post(client, action, {**answered, "To": leader_phone, "Digits": "5"}))
    assert other.find("Gather") is not None
    assert all_rows(hl, Acknowledgement) == []
    clock.set(t0 + timedelta(minutes=16))
    done = twiml(await post(client, action, {**answered, "To": leader_phone, "Digits": "1"}))
    assert said(done) == t("zh", "hotline.voice.alert_done")
    [acked] = all_rows(hl, Acknowledgement)
    qian = key_of(hl, "qian_wenjing")
    assert (acked.person_id, acked.channel) == (qian.id, "call")
    [incident] = all_rows(hl, Incident)
    assert incident.acknowledged_at == t0 + timedelta(minutes=16)
    hl.dispatcher.drain()
    assert fake.texts(CALLER)[-1] == t("zh", "notice.acknowledged", number="E-2026-0001",
                                      name="钱文静", acked_at="2026-11-23 09:16")
    # The chain stops: no more calls or steps.
    tick(hl, clock, t0 + timedelta(minutes=50), step=timedelta(minutes=5))
    assert len(fake.calls()) == 1



async def test_a_place_picked_on_the_map_is_read_by_its_name_on_the_call(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    """A worker answered where with a location from the map; the chat alerts show its pin
    and coordinates, the leader's call reads only its name."""
    t0 = clock.now()
    worker = Chat(hl, person="li_ming")
    open_menu(worker, "zh")
    worker.press(t("zh", "menu.emergency"))
    worker.say(SAID)
    pin = located(31.230416, 121.473701, "和平路 8 号二号门")
    hl.workroom.process(Inbound("console", "p:li_ming", "pin-1", text=pin, action=LOCATION))
    worker.say("立即发送")
    [incident] = all_rows(hl, Incident)
    assert incident.place == "📍 和平路 8 号二号门 (31.23042, 121.47370)"
    tick(hl, clock, t0 + timedelta(minutes=15), step=timedelta(minutes=1))
    [ring] = fake.calls(LEADER_PHONE)
    answered = {"CallSid": "CA" + "8" * 32, "AccountSid": ACCOUNT_SID, "From": HOTLINE,
                "Direction": "outbound-api", "CallStatus": "in-progress", "To": LEADER_PHONE}
    words = said(twiml(await post(client, ring.url, answered)))
    assert "地点：和平路 8 号二号门。" in words
    assert "📍" not in words and "31.23042" not in words


LEADER_PHONE = "+8600000000099"  # 钱文静 of the upper union: the demo chain's last step


async def test_a_forged_keypress_or_call_status_from_a_leaders_call_is_refused(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    """Someone who learned the ack address cannot acknowledge for the leader, nor make
    the call look unanswered: 403, and nothing recorded."""
    t0 = clock.now()
    await Caller(client).report()
    tick(hl, clock, t0 + timedelta(minutes=15), step=timedelta(minutes=1))
    [ring] = fake.calls(LEADER_PHONE)
    nid = ring.url.rsplit("=", 1)[1]
    ack_url = f"{PUBLIC}/hotline/voice/alert/ack?n={nid}"
    pressed = about(ring, CallStatus="in-progress", Digits="1")

    def recorded() -> tuple[int, ...]:
        return tuple(len(all_rows(hl, m)) for m in (Acknowledgement, HotlineCall,
                                                    Notification))

    before = recorded()
    assert (await post(client, ack_url, pressed, token="not-the-token")).status_code == 403
    assert (await post(client, ack_url, pressed,
                       signed={**pressed, "Digits": "2"})).status_code == 403
    r = await client.post(f"/hotline/voice/alert/ack?n={nid}", content=urlencode(pressed),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403
    # Signed for another alert's address: not this one's.
    r = await client.post(f"/hotline/voice/alert/ack?n={nid}", content=urlencode(pressed),
                          headers={"X-Twilio-Signature": sign(
                              AUTH_TOKEN, f"{PUBLIC}/hotline/voice/alert/ack?n=1", pressed),
                              "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403
    status = ring.params["StatusCallback"]
    assert (await post(client, status, about(ring, CallStatus="no-answer"),
                       token="x" * 32)).status_code == 403
    assert recorded() == before
    [incident] = all_rows(hl, Incident)
    assert incident.acknowledged_at is None
    tick(hl, clock, t0 + timedelta(minutes=20), step=timedelta(minutes=1))
    assert len(fake.calls(LEADER_PHONE)) == 1  # no retry of a call nobody said was missed


def about(ring: Sent, **more: str) -> dict[str, str]:
    """A webhook Twilio posts about a call we asked it to place."""
    return {"CallSid": ring.sid, "AccountSid": ACCOUNT_SID, "From": HOTLINE, "To": ring.to,
            "Direction": "outbound-api", **more}


async def test_an_unanswered_leader_call_is_rung_again_then_the_chain_moves_on(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    t0 = clock.now()
    await Caller(client).report()
    tick(hl, clock, t0 + timedelta(minutes=15), step=timedelta(minutes=1))
    [first] = fake.calls(LEADER_PHONE)
    status = first.params["StatusCallback"]
    assert status.startswith(f"{PUBLIC}/hotline/voice/alert/status?n=")
    assert first.params["StatusCallbackMethod"] == "POST"

    # Not taken: rung again after a minute, not at once; a callback Twilio sends twice
    # does not ring twice.
    for _ in range(2):
        r = await post(client, status, about(first, CallStatus="no-answer"))
        assert r.status_code == 200
    hl.dispatcher.drain()
    assert len(fake.calls(LEADER_PHONE)) == 1
    tick(hl, clock, t0 + timedelta(minutes=16), step=timedelta(minutes=1))
    [_, second] = fake.calls(LEADER_PHONE)
    assert second.params["StatusCallback"].startswith(f"{PUBLIC}/hotline/voice/alert/status")
    # Busy: again after two minutes.
    await post(client, second.params["StatusCallback"], about(second, CallStatus="busy"))
    tick(hl, clock, t0 + timedelta(minutes=17), step=timedelta(minutes=1))
    assert len(fake.calls(LEADER_PHONE)) == 2
    tick(hl, clock, t0 + timedelta(minutes=18), step=timedelta(minutes=1))
    [*_, third] = fake.calls(LEADER_PHONE)
    assert len(fake.calls(LEADER_PHONE)) == 3

    # The third fails too: the director is told, and the chain's next round alerts now
    # rather than when the last step's 30 minutes are up.
    def alerts() -> list[str]:  # the alert's first line, or its second under 【升级】
        return [p for p in pushes(hl, "chen_lihua")
                if any(x.startswith("【紧急】E-2026-0001") for x in p.splitlines()[:2])]

    alerted = len(alerts())
    await post(client, third.params["StatusCallback"], about(third, CallStatus="failed"))
    hl.dispatcher.drain()
    assert t("zh", "notice.call_unanswered", number="E-2026-0001", tries=3, name="钱文静") \
        in pushes(hl, "chen_lihua")
    tick(hl, clock, t0 + timedelta(minutes=19), step=timedelta(minutes=1))
    [incident] = all_rows(hl, Incident)
    assert (incident.chain_round, incident.chain_position) == (2, 1)
    assert len(alerts()) == alerted + 1
    # The round's alert says nobody answered, the director among them (a reminder).
    assert alerts()[-1].startswith("【再次提醒】报告已 19 分钟")
    # Every call and how it ended is on record.
    calls = all_rows(hl, HotlineCall, HotlineCall.purpose == "alert")
    assert [(c.ref, c.step, c.ended_at is not None) for c in calls] == [
        (first.sid, "no-answer", True), (second.sid, "busy", True), (third.sid, "failed", True)]
    assert {c.person_id for c in calls} == {key_of(hl, "qian_wenjing").id}


async def test_a_call_waiting_in_the_outbox_is_cancelled_when_the_alert_is_acknowledged(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    t0 = clock.now()
    await Caller(client).report()
    fake.fail_next("call", status=503)  # the last step's call could not be placed yet
    tick(hl, clock, t0 + timedelta(minutes=15), step=timedelta(minutes=1))
    assert fake.calls() == [] and [k for k, _, _ in fake.refused] == ["call"]
    [alert] = all_rows(hl, Alert, Alert.recipient_id == key_of(hl, "chen_lihua").id)
    ack(hl, "chen_lihua", alert.id or 0)  # the director acknowledges in chat meanwhile
    tick(hl, clock, t0 + timedelta(minutes=20), step=timedelta(minutes=1))
    assert fake.calls() == []  # nobody is rung for an alert someone has
    [row] = all_rows(hl, Notification, Notification.channel == "call")
    assert row.status == "cancelled"


async def test_a_ringing_call_is_hung_up_when_the_alert_is_acknowledged(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    t0 = clock.now()
    await Caller(client).report()
    tick(hl, clock, t0 + timedelta(minutes=15), step=timedelta(minutes=1))
    [ring] = fake.calls(LEADER_PHONE)
    [alert] = all_rows(hl, Alert, Alert.recipient_id == key_of(hl, "chen_lihua").id)
    ack(hl, "chen_lihua", alert.id or 0)
    hl.dispatcher.drain()
    [end] = fake.updates(ring.sid)
    assert end.params == {"Status": "completed"}
    # Picked up in the same moment all the same: told who has it, nothing to press.
    root = twiml(await post(client, ring.url, about(ring, CallStatus="in-progress")))
    assert said(root) == t("zh", "hotline.voice.acked_by", name="陈丽华")
    assert root.find("Gather") is None and root.find("Hangup") is not None
    # Its end is recorded and rings nobody again.
    await post(client, ring.params["StatusCallback"], about(ring, CallStatus="completed"))
    tick(hl, clock, t0 + timedelta(minutes=50), step=timedelta(minutes=5))
    assert len(fake.calls()) == 1 and len(fake.updates()) == 1
    [call] = all_rows(hl, HotlineCall, HotlineCall.ref == ring.sid)
    assert (call.step, call.ended_at) == ("completed", clock.now() - timedelta(minutes=35))


async def test_a_call_placed_at_the_moment_of_acknowledgement_is_hung_up(
        pg_url: str, clock: FrozenClock, fake: FakeTwilio) -> None:
    """The race: the dispatcher holds the call's row while Twilio places it; the director
    acknowledges in chat in that very moment (PostgreSQL: the acknowledgement skips the
    locked row rather than wait). Once the call's SID is committed, the dispatcher looks
    again, finds the alert acknowledged, and hangs the call up: no leader is woken for an
    alert someone already has."""
    import threading

    hl = hotline_services(pg_url, clock, fake)
    transport = httpx.ASGITransport(app=create_app(hl, run_scheduler=False))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as c:
            t0 = clock.now()
            await Caller(c).report()
        assert hl.hotline is not None
        api = hl.hotline.client
        place = api.call
        [alert] = all_rows(hl, Alert, Alert.recipient_id == key_of(hl, "chen_lihua").id)
        answers: list[str] = []

        def placed_while_acknowledged(to: str, **more: Any) -> str:
            sid = place(to, **more)
            acking = threading.Thread(target=lambda: answers.append(
                ack(hl, "chen_lihua", alert.id or 0)))
            acking.start()
            acking.join(timeout=20)
            assert not acking.is_alive(), "the acknowledgement waited on the call"
            return sid

        api.call = placed_while_acknowledged  # type: ignore[method-assign]
        tick(hl, clock, t0 + timedelta(minutes=15), step=timedelta(minutes=1))
        api.call = place  # type: ignore[method-assign]
        assert answers == [t("zh", "ack.done", at="09:15")]
        [ring] = fake.calls(LEADER_PHONE)
        hl.dispatcher.drain()
        [end] = fake.updates(ring.sid)
        assert end.params == {"Status": "completed"}
        [incident] = all_rows(hl, Incident)
        assert incident.acknowledged_at is not None
        tick(hl, clock, t0 + timedelta(minutes=50), step=timedelta(minutes=5))
        assert len(fake.calls()) == 1 and len(fake.updates()) == 1
    finally:
        hl.close()


async def test_a_chain_of_one_step_calls_with_the_report(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    with Session(hl.db) as s:
        for step in s.exec(select(ChainStep).where(ChainStep.position > 1)):
            s.delete(step)
        s.commit()
    await Caller(client).report()
    hl.dispatcher.drain()
    [ring] = fake.calls()  # the chain's only step (陈丽华) is phoned in the first round
    assert ring.to == "+8600000000001"
    assert ring.url.startswith(f"{PUBLIC}/hotline/voice/alert?n=")
    [incident] = all_rows(hl, Incident)
    assert incident.chain_round == 1


# --- the command that tells what to set at the provider ----------------------------------


def test_hotline_urls_names_the_webhooks_to_set(tmp_path: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.settings import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORKROOM_SECRET_KEY", "cli-secret")
    get_settings.cache_clear()
    refused = CliRunner().invoke(app, ["hotline", "urls"])
    assert refused.exit_code == 2 and "WORKROOM_TWILIO_ACCOUNT_SID" in refused.output
    for name, value in (("TWILIO_ACCOUNT_SID", ACCOUNT_SID), ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
                        ("HOTLINE_NUMBER", HOTLINE), ("HOTLINE_PUBLIC_URL", PUBLIC)):
        monkeypatch.setenv(f"WORKROOM_{name}", value)
    get_settings.cache_clear()
    done = CliRunner().invoke(app, ["hotline", "urls"])
    get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    assert f"{PUBLIC}/hotline/voice\n" in done.output
    assert f"{PUBLIC}/hotline/sms\n" in done.output
    assert f"{PUBLIC}/hotline/voice/status\n" in done.output


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_step_counter_of_filing_for_a_caller_never_goes_down(
        db_services: Services, lang: str) -> None:
    """The complaint's category counts until the kind is chosen: "(1/6)", then "(2/6)" for
    a complaint and "(2/5)" for an incident, never "(1/5)" then "(2/6)": a total shown
    never grows."""
    for kind, second in (("complaint", (2, 6)), ("incident", (2, 5))):
        staff = Chat(db_services, person="liu_fang")
        open_menu(staff, lang)
        staff.press(t(lang, "menu.file_for_caller"))
        assert staff.text.endswith(t(lang, "flow.progress", n=1, total=6) + " "
                                   + t(lang, "file_for_caller.kind.ask"))
        staff.press(t(lang, f"opt.caller_kind.{kind}"))
        n, total = second
        assert staff.text.startswith(t(lang, "flow.progress", n=n, total=total) + " "
                                     + t(lang, "file_for_caller.phone.ask"))
        staff.press(t(lang, "nav.cancel"))


def test_staff_of_a_workroom_without_texts_are_never_told_the_caller_is_texted(
        db_services: Services, hl: Services) -> None:
    """The form's opening words and the number's help say what the end of the form says:
    give the caller the number yourself (no SMS provider), or the caller is texted."""
    for svc, texted in ((db_services, False), (hl, True)):
        for lang in ("zh", "en"):
            staff = Chat(svc, person="liu_fang")
            open_menu(staff, lang)
            staff.press(t(lang, "menu.file_for_caller"))
            intro = staff.replies[0].text
            assert intro == t(lang, "file_for_caller.intro" if texted
                              else "file_for_caller.intro_untold")
            staff.press(t(lang, "opt.caller_kind.complaint"))
            staff.press(t(lang, "nav.help"))
            assert staff.replies[0].text.startswith(t(
                lang, "file_for_caller.phone.help" if texted
                else "file_for_caller.phone.help_untold"))
            staff.press(t(lang, "nav.cancel"))


@pytest.mark.parametrize("sender", ["", "ALERTS", "+266696687"])
async def test_a_text_with_no_number_reaches_the_staff_and_nobody_else(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock,
        sender: str) -> None:
    """A text whose sender is a name or no number at all cannot be answered: it is not
    made a person (two such senders would share one conversation, each reading the
    other's answers), nothing is texted back, and the staff get its words, once."""
    body = "总装车间门口有三十多人聚集，要求见厂领导"
    for _ in range(2):  # Twilio re-delivers when the first answer is lost
        r = await text(client, body, number=sender, sid="SM" + "5" * 32)
        assert r.status_code == 200
    await text(client, "第二条：人越来越多", number=sender)
    hl.dispatcher.drain()
    assert all_rows(hl, Contact, Contact.channel == "sms") == []
    assert all_rows(hl, Incident) == []
    assert fake.messages() == []
    at = clock.now().astimezone(hl.settings.zone).strftime("%Y-%m-%d %H:%M")
    told = [p for p in pushes(hl, "liu_fang")
            if p.startswith(t("zh", "notice.sms_no_number", received_at=at, text="",
                              media=0).split("\n")[0])]
    assert told == [t("zh", "notice.sms_no_number", received_at=at, text=body, media=0),
                    t("zh", "notice.sms_no_number", received_at=at, text="第二条：人越来越多",
                      media=0)]


async def test_a_liaison_phoning_from_the_number_on_file_is_known_with_their_workshop(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    """王强, the casting workshop's liaison, calls the hotline from the phone the
    organisation file gives him and does not say which workshop: the alert names him,
    and the report is his workshop's (so the next reports of it are linked to it)."""
    liaison = Caller(client, number="+8600000000011", sid="CA" + "7" * 32)
    await liaison.report(speech="我们车间四十多人停工了，在办公楼前面", people="40")
    [incident] = all_rows(hl, Incident)
    [casting] = all_rows(hl, Workshop, Workshop.key == "casting")
    wang = key_of(hl, "wang_qiang")
    assert (incident.reporter_id, incident.workshop_id, incident.place) == (
        wang.id, casting.id, "铸造车间")
    hl.dispatcher.drain()
    [alert] = [p for p in pushes(hl, "chen_lihua") if p.startswith("【紧急】E-2026-0001")]
    assert "报告人：王强" in alert and t("zh", "person.caller") not in alert
    assert [p.key for p in all_rows(hl, Person) if p.key.startswith("sms-")] == []


async def test_a_caller_who_phones_again_is_told_it_is_added_to_their_own_report(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    """The same number calls twice about the casting workshop: the second call is added
    to the first, and the caller's text says it is their own report, not that someone
    else reported it already."""
    await Caller(client).report()
    clock.set(clock.now() + timedelta(minutes=20))
    bye = await Caller(client, sid="CA" + "3" * 32).report(speech="铸造车间又有人受伤了")
    [incident] = all_rows(hl, Incident)
    own = t("zh", "emergency.linked_own", number="E-2026-0001", what=brief(incident.what),
            alerted=ALERTED)
    assert fake.texts(CALLER)[-1].startswith(t("zh", "hotline.sms_head") + own)
    assert said(bye).startswith(t("zh", "hotline.voice.done_linked_own", number="")[:8])


async def test_a_texter_who_sends_few_words_then_where_and_then_phones_is_one_emergency(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    """"快来人" by text and nothing more: the silence sends it, with no place. Then the
    texter sends where, and phones with the whole story: all of it is that one report
    (one chain, one set of alerts), not three emergencies."""
    await text(client, "快来人")
    clock.set(clock.now() + timedelta(minutes=10))
    assert hl.sweeper.run_once() == 1
    clock.set(clock.now() + timedelta(minutes=2))
    await text(client, "铸造车间")
    hl.dispatcher.drain()
    assert any(x.startswith(t("zh", "emergency.said_added", number="E-2026-0001"))
               for x in fake.texts(CALLER))
    clock.set(clock.now() + timedelta(minutes=2))
    await Caller(client, sid="CA" + "4" * 32).report(speech="铸造车间五十多人打起来了，有人受伤",
                                                     people="50")
    assert [i.number for i in all_rows(hl, Incident)] == ["E-2026-0001"]
    clock.set(clock.now() + timedelta(minutes=10))
    hl.sweeper.run_once()
    assert [i.number for i in all_rows(hl, Incident)] == ["E-2026-0001"]


# --- a call that leaves no report --------------------------------------------------------


def set_person(hl: Services, key: str, **values: Any) -> None:
    with Session(hl.db) as s:
        person = s.exec(select(Person).where(Person.key == key)).one()
        for name, value in values.items():
            setattr(person, name, value)
        s.add(person)
        s.commit()


def missed_words(lang: str, how: str, who: str = "", hidden: bool = False) -> str:
    """The staff's push about a call that left no report: with a number, the line that
    asks for "已回电" once called back; a hidden number has none to call back."""
    if hidden:
        return t(lang, "notice.hotline_missed", called_at="2026-11-23 09:00",
                 how=t(lang, f"hotline.missed.{how}"), who=t(lang, "hotline.missed.who_hidden"),
                 told=t(lang, "hotline.missed.no_number"))
    return t(lang, "notice.hotline_missed", called_at="2026-11-23 09:00",
             how=t(lang, f"hotline.missed.{how}"),
             who=who or t(lang, "hotline.missed.who_number", masked="+86138****0001"),
             told=t(lang, "hotline.missed.texted")) + "\n" + t(lang, "hotline.missed.call_back")


async def hang_up(caller: Caller) -> None:
    await post(caller.client, "/hotline/voice/status", caller.params(CallStatus="completed"))


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_caller_who_hangs_up_at_the_menu_is_told_to_the_staff_and_texted(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, lang: str) -> None:
    """Someone rang the group-event line and hung up at the menu: the staff learn it (the
    number masked: it stays in the contact vault), and the caller is texted how to report."""
    set_person(hl, "liu_fang", lang=lang)
    caller = Caller(client)
    await caller.step("/hotline/voice", CallStatus="ringing")
    await hang_up(caller)
    hl.dispatcher.drain()
    assert pushes(hl, "liu_fang") == [missed_words(lang, "menu")]
    assert fake.texts(CALLER) == [t("zh", "notice.caller_missed",
                                    head=t("zh", "hotline.sms_head"))]
    assert not [n for n in all_rows(hl, Notification) if "13800000001" in str(n.params)]
    # The provider posts its status again: nobody is told twice.
    await hang_up(caller)
    hl.dispatcher.drain()
    assert len(pushes(hl, "liu_fang")) == 1 and len(fake.texts(CALLER)) == 1


async def test_a_caller_who_presses_no_key_is_told_to_the_director_when_there_are_no_staff(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    set_person(hl, "liu_fang", active=False)
    caller = Caller(client, number="anonymous")
    await caller.step("/hotline/voice", CallStatus="ringing")
    for _ in range(MENU_TRIES):
        assert (await caller.step("/hotline/voice/menu", Digits="")).find("Hangup") is None
    bye = await caller.step("/hotline/voice/menu", Digits="")
    assert said(bye) == t("zh", "hotline.voice.goodbye") and bye.find("Hangup") is not None
    await hang_up(caller)
    hl.dispatcher.drain()
    told = missed_words("zh", "no_key", hidden=True)
    assert told in pushes(hl, "chen_lihua")
    assert fake.messages() == []


async def test_zero_not_answered_offers_to_leave_a_report_and_counts_as_a_try(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    caller = Caller(client)
    await caller.step("/hotline/voice", CallStatus="ringing")
    for _ in range(MENU_TRIES):
        dial = await caller.step("/hotline/voice/menu", Digits="0")
        assert dial.find("Dial") is not None
        after = await caller.step("/hotline/voice/dialed", DialCallStatus="no-answer")
        assert said(after) == " ".join((t("zh", "hotline.voice.no_staff"),
                                        t("zh", "hotline.voice.menu_leave")))
        assert after.find("Gather") is not None
    bye = await caller.step("/hotline/voice/menu", Digits="0")  # not rung for ever
    assert bye.find("Dial") is None and bye.find("Hangup") is not None
    await hang_up(caller)
    hl.dispatcher.drain()
    assert pushes(hl, "liu_fang") == [missed_words("zh", "no_staff")]

    # Another caller takes the offer: "1" after nobody answered leaves the report.
    other = Caller(client, number="+8613800000002", sid="CA" + "2" * 32)
    await other.step("/hotline/voice", CallStatus="ringing")
    await other.step("/hotline/voice/menu", Digits="0")
    await other.step("/hotline/voice/dialed", DialCallStatus="busy")
    asked = await other.step("/hotline/voice/menu", Digits="1")
    assert said(asked) == t("zh", "hotline.voice.what_where")
    await other.step("/hotline/voice/said", SpeechResult=SAID)
    await other.step("/hotline/voice/people", Digits="30")
    await hang_up(other)
    hl.dispatcher.drain()
    assert [i.what for i in all_rows(hl, Incident)] == [SAID]
    assert len(pushes(hl, "liu_fang")) == 1  # a report left: nothing missed to tell


async def test_a_call_the_staff_took_is_not_told_as_missed(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    caller = Caller(client)
    await caller.step("/hotline/voice", CallStatus="ringing")
    await caller.step("/hotline/voice/menu", Digits="0")
    await caller.step("/hotline/voice/dialed", DialCallStatus="completed")
    await hang_up(caller)
    hl.dispatcher.drain()
    assert pushes(hl, "liu_fang") == [] and fake.messages() == []


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_pressing_2_and_hanging_up_registers_no_empty_case_but_asks_for_a_call_back(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, lang: str) -> None:
    """No words and no recording: no 60-day case handed to a leader, no text saying one
    was assigned; the staff are asked to call back. A recording that comes after the
    call ended holds what was said: the complaint is registered from it."""
    set_person(hl, "liu_fang", lang=lang)
    caller = Caller(client)
    await caller.step("/hotline/voice", CallStatus="ringing")
    await caller.step("/hotline/voice/menu", Digits="2")
    await hang_up(caller)
    hl.dispatcher.drain()
    assert all_rows(hl, Case) == []
    assert pushes(hl, "liu_fang") == [missed_words(lang, "complaint_silent")]
    assert fake.texts(CALLER) == [t("zh", "notice.caller_missed",
                                    head=t("zh", "hotline.sms_head"))]

    url = "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE9"
    await post(client, "/hotline/voice/recording", caller.params(
        RecordingUrl=url, RecordingStatus="completed", RecordingSid="RE9"))
    hl.dispatcher.drain()
    [case] = all_rows(hl, Case)
    assert case.description == t("zh", "hotline.voice.recorded_only")
    assert [(a.subject, a.subject_id, a.file_ref) for a in all_rows(hl, Attachment)] == [
        ("case", case.id, url)]


async def test_pressing_1_and_hanging_up_still_files_the_emergency(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    caller = Caller(client)
    await caller.step("/hotline/voice", CallStatus="ringing")
    await caller.step("/hotline/voice/menu", Digits="1")
    await hang_up(caller)
    hl.dispatcher.drain()
    [incident] = all_rows(hl, Incident)
    assert incident.what == t("zh", "hotline.voice.recorded_only")
    assert not [p for p in pushes(hl, "liu_fang") if p.startswith("【热线来电未留报告】")]


# --- calling back a call that left no report -------------------------------------------


def inbox(hl: Services, key: str) -> list[InboxMessage]:
    """The person's pushes as shown: an edit replaces one in place."""
    with Session(hl.db) as s:
        return list(s.exec(select(InboxMessage).where(InboxMessage.address == f"p:{key}")
                           .order_by(col(InboxMessage.id))).all())


def press(hl: Services, key: str, value: str) -> str:
    """A button of a push pressed as `key`; the answer to it."""
    text.count += 1  # type: ignore[attr-defined]
    return hl.workroom.process(Inbound("console", f"p:{key}",
                                       f"press-{text.count}",  # type: ignore[attr-defined]
                                       action=value))[0].text


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_first_to_call_back_a_missed_call_is_recorded_and_shown_to_the_other_staff(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock,
        lang: str) -> None:
    """Two staff are told of a call that left no report. 刘芳 calls the caller back and
    presses 已回电: who and when is kept on the call, both pushes now say so (no more
    button), and 周敏's press, made before she saw it, is told 刘芳 did it."""
    set_person(hl, "liu_fang", lang=lang)
    set_person(hl, "zhou_min", role="staff", lang=lang)
    caller = Caller(client)
    await caller.step("/hotline/voice", CallStatus="ringing")
    await hang_up(caller)
    hl.dispatcher.drain()
    [call] = all_rows(hl, HotlineCall)
    first = missed_words(lang, "menu")
    for key in ("liu_fang", "zhou_min"):
        [shown] = inbox(hl, key)
        assert shown.text == first
        assert shown.buttons == [{"label": t(lang, "nav.called_back"),
                                  "value": f"called:{call.id}", "kind": "choice"}]

    clock.set(clock.now() + timedelta(minutes=5))
    # It says which call: staff may have two waiting.
    assert press(hl, "liu_fang", f"called:{call.id}") == t(lang, "hotline.called_back.done",
                                                           at="09:05", called_at="09:00")
    [call] = all_rows(hl, HotlineCall)
    assert (call.called_back_by, call.called_back_at) == (key_of(hl, "liu_fang").id,
                                                         clock.now())
    hl.dispatcher.drain()
    done = t(lang, "notice.hotline_missed", called_at="2026-11-23 09:00",
             how=t(lang, "hotline.missed.menu"),
             who=t(lang, "hotline.missed.who_number", masked="+86138****0001"),
             told=t(lang, "hotline.missed.texted")) + "\n" + t(
        lang, "notice.hotline_called_back", name="刘芳", acked_at="2026-11-23 09:05")
    for key in ("liu_fang", "zhou_min"):
        [shown] = inbox(hl, key)
        assert (shown.text, shown.buttons) == (done, [])

    clock.set(clock.now() + timedelta(minutes=1))
    assert press(hl, "zhou_min", f"called:{call.id}") == t(
        lang, "hotline.called_back.already", name="刘芳", at="09:05")
    assert press(hl, "liu_fang", f"called:{call.id}") == t(
        lang, "hotline.called_back.already_own", at="09:05")
    # Someone the call was not told to cannot mark it.
    assert press(hl, "li_ming", f"called:{call.id}") == t(
        "zh", "hotline.called_back.refused")
    [call] = all_rows(hl, HotlineCall)
    assert call.called_back_by == key_of(hl, "liu_fang").id
    # Called back: nobody is reminded the next working morning.
    tick(hl, clock, clock.now() + timedelta(days=3))
    assert len(inbox(hl, "zhou_min")) == 1 and len(inbox(hl, "liu_fang")) == 1


async def test_a_missed_call_nobody_called_back_is_reminded_once_the_next_working_noon(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    """A call on Friday evening that nobody calls back: the staff are reminded on Monday
    at noon (the weekend is not a working morning), once, with 已回电 again; pressed on
    the reminder, both pushes say who called back."""
    friday = clock.now().astimezone(hl.settings.zone).replace(day=27, hour=18, minute=30)
    clock.set(friday)
    caller = Caller(client)
    await caller.step("/hotline/voice", CallStatus="ringing")
    await hang_up(caller)
    hl.dispatcher.drain()
    [call] = all_rows(hl, HotlineCall)
    [timer] = all_rows(hl, Timer, Timer.kind == "hotline_call_back")
    monday_noon = friday.replace(day=30, hour=12, minute=0)
    assert timer.due_at == monday_noon
    tick(hl, clock, monday_noon - timedelta(minutes=1), step=timedelta(hours=6))
    assert len(inbox(hl, "liu_fang")) == 1
    tick(hl, clock, monday_noon)
    [_, reminder] = inbox(hl, "liu_fang")
    assert reminder.text == t("zh", "notice.hotline_call_back_due",
                              called_at="2026-11-27 18:30",
                              who=t("zh", "hotline.missed.who_number",
                                    masked="+86138****0001")) + "\n" + t(
        "zh", "hotline.missed.call_back")
    assert [b["value"] for b in reminder.buttons] == [f"called:{call.id}"]
    [due] = [n for n in all_rows(hl, Notification)
             if n.idempotency_key.startswith("hotline-call-back:")]
    assert due.priority == 2  # outbox.ALERT: without a sound in the quiet hours
    tick(hl, clock, monday_noon + timedelta(days=3))
    assert len(inbox(hl, "liu_fang")) == 2  # once

    assert press(hl, "liu_fang", f"called:{call.id}") == t(
        "zh", "hotline.called_back.done", at="12:00", called_at="2026-11-27 18:30")
    hl.dispatcher.drain()
    line = t("zh", "notice.hotline_called_back", name="刘芳",
             acked_at=clock.now().astimezone(hl.settings.zone).strftime("%Y-%m-%d %H:%M"))
    assert [(m.text.endswith("\n" + line), m.buttons) for m in inbox(hl, "liu_fang")] == [
        (True, []), (True, [])]


async def test_a_hidden_number_has_nobody_to_call_back_and_no_button(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    caller = Caller(client, number="anonymous")
    await caller.step("/hotline/voice", CallStatus="ringing")
    await hang_up(caller)
    hl.dispatcher.drain()
    [shown] = inbox(hl, "liu_fang")
    assert shown.text == missed_words("zh", "menu", hidden=True)
    assert t("zh", "hotline.missed.no_number") in shown.text and shown.buttons == []
    assert all_rows(hl, Timer, Timer.kind == "hotline_call_back") == []


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_on_wechat_the_push_says_what_to_reply_and_the_words_press_it(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, lang: str) -> None:
    """WeChat shows no buttons: the staff's push says to reply "已回电", and those words
    are the button's (bot/wechat.py keeps them for the sender's next text)."""
    from bot.wechat_render import pressed_words, render, word_key
    from handlers.notices import render as render_notice

    caller = Caller(client)
    await caller.step("/hotline/voice", CallStatus="ringing")
    await hang_up(caller)
    [call] = all_rows(hl, HotlineCall)
    [push] = [n for n in all_rows(hl, Notification)
              if n.idempotency_key == f"hotline-missed:{call.ref}:{key_of(hl, 'liu_fang').id}"]
    reply = render_notice(push.message_key, push.params, lang, hl.settings.zone)
    shown = render(reply, lang, push=True)
    # Said once, as every push with words says them: on its last line, the words to reply.
    words = t(lang, "wechat.words", words=t(lang, "wechat.words.quote",
                                            word=t(lang, "nav.called_back")))
    assert shown.endswith("\n" + t(lang, "hotline.missed.call_back_typed") + "\n" + words)
    assert shown.count(t(lang, "nav.called_back")) == 1
    assert t(lang, "hotline.missed.call_back") not in shown
    word = word_key(t(lang, "nav.called_back"))
    assert pressed_words(reply.buttons)[word] == f"called:{call.id}"


@pytest.fixture
def hw(db_url: str, clock: FrozenClock, fake: FakeTwilio, api: FakeWeChatApi
       ) -> Iterator[Services]:
    """The demo workroom with the hotline and WeCom: the staff read their pushes there."""
    svc = make_services(db_url, clock, twilio_account_sid=ACCOUNT_SID,
                        twilio_auth_token=AUTH_TOKEN, hotline_number=HOTLINE,
                        twilio_api_url=fake.base_url, hotline_public_url=PUBLIC,
                        **wechat_settings(api))
    yield svc
    svc.close()


@pytest.fixture
async def hw_client(hw: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hw, run_scheduler=False))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as c:
        yield c


async def missed_call(client: httpx.AsyncClient, svc: Services, number: str, sid: str) -> None:
    caller = Caller(client, number=number, sid=sid)
    await caller.step("/hotline/voice", CallStatus="ringing")
    await hang_up(caller)
    await asyncio.to_thread(svc.dispatcher.drain)


@pytest.mark.parametrize("answer", ["1", "已回电 09:00"])
async def test_called_back_typed_under_two_missed_calls_asks_which_and_marks_the_one_chosen(
        hw: Services, hw_client: httpx.AsyncClient, api: FakeWeChatApi, clock: FrozenClock,
        answer: str) -> None:
    """Two calls left no report (09:00 and 09:20) and 刘芳 reads both pushes on WeCom,
    where "已回电" is typed: it cannot say which call, so it is asked, one line a call;
    her answer (its number, or 已回电 and the time) marks the 09:00 call, and only it: 周敏
    is told who rang that caller, the 09:00 call is not reminded, the 09:20 one is. Then
    the 09:00 push no longer counts: "已回电" marks the 09:20 call."""
    set_person(hw, "zhou_min", role="staff")
    liu = WxChat(hw_client, hw, api, "wecom", "demo_liufang")
    await liu.say("菜单")
    await missed_call(hw_client, hw, CALLER, "CA" + "1" * 32)
    clock.set(clock.now() + timedelta(minutes=20))
    await missed_call(hw_client, hw, "+8613900000002", "CA" + "2" * 32)
    first, second = sorted(all_rows(hw, HotlineCall), key=lambda c: c.created_at)
    pushed = liu.new_texts()
    assert len([p for p in pushed if p.startswith("【热线来电未留报告】")]) == 2

    clock.set(clock.now() + timedelta(minutes=10))  # 09:30
    who = {n: t("zh", "hotline.missed.who_number", masked=n)
           for n in ("+86138****0001", "+86139****0002")}
    [asked] = await liu.say("已回电")
    assert asked.startswith("\n".join([
        t("zh", "called_back.intro"), "",
        t("zh", "flow.progress", n=1, total=1) + " " + t("zh", "called_back.call.ask"), "",
        "1. " + t("zh", "hotline.called_back.option", called_at="09:00",
                  who=who["+86138****0001"]),
        "2. " + t("zh", "hotline.called_back.option", called_at="09:20",
                  who=who["+86139****0002"]),
        t("zh", "wechat.numbers", numbers="1、2")]))
    assert [c.called_back_at for c in all_rows(hw, HotlineCall)] == [None, None]

    clock.set(clock.now() + timedelta(minutes=1))
    said = await liu.say(answer)
    assert said[0].startswith(t("zh", "hotline.called_back.done", at="09:31",
                                called_at="09:00"))
    marked = {c.id: c.called_back_by for c in all_rows(hw, HotlineCall)}
    assert marked == {first.id: key_of(hw, "liu_fang").id, second.id: None}
    await asyncio.to_thread(hw.dispatcher.drain)
    told = [x for x in WxChat(hw_client, hw, api, "wecom", "demo_zhoumin").new_texts()
            if x.startswith("【热线来电已回电】")]
    assert told == [t("zh", "notice.hotline_called_back_told", called_at="2026-11-23 09:00",
                      who=who["+86138****0001"], name="刘芳", back_at="2026-11-23 09:31")]

    # The next working noon: the call nobody called back is reminded, the other is not.
    tick(hw, clock, clock.now().replace(hour=4, minute=0) + timedelta(days=1))
    due = [x for x in liu.new_texts() if x.startswith("【热线来电待回电】")]
    assert len(due) == 1 and "09:20" in due[0] and who["+86139****0002"] in due[0]

    said = await liu.say("已回电")
    assert said[0].startswith(t("zh", "hotline.called_back.done", at="12:00",
                                called_at="2026-11-23 09:20"))
    assert {c.id: c.called_back_by for c in all_rows(hw, HotlineCall)} == {
        first.id: key_of(hw, "liu_fang").id, second.id: key_of(hw, "liu_fang").id}


async def test_a_recording_of_a_second_or_two_is_no_report_but_a_call_to_call_back(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    """2, nothing recognised, then a cough at the beep and no keys: no case with a 60-day
    clock, the staff are asked to call back; the call's recording, as short, neither."""
    caller = Caller(client)
    await caller.step("/hotline/voice", CallStatus="ringing")
    await caller.step("/hotline/voice/menu", Digits="2")
    await caller.step("/hotline/voice/said", SpeechResult="")
    url = "https://api.twilio.com/recordings/RE1"
    await caller.step("/hotline/voice/recorded", RecordingUrl=url, RecordingDuration="2")
    bye = await caller.step("/hotline/voice/people", Digits="")
    assert said(bye) == t("zh", "hotline.voice.goodbye")
    await hang_up(caller)
    await post(client, "/hotline/voice/recording", caller.params(
        RecordingUrl=url + "0", RecordingStatus="completed", RecordingDuration="1"))
    hl.dispatcher.drain()
    assert all_rows(hl, Case) == []
    assert pushes(hl, "liu_fang") == [missed_words("zh", "complaint_silent")]

    # As long, with the number of people keyed after it: a report.
    other = Caller(client, number="+8613800000002", sid="CA" + "2" * 32)
    await other.step("/hotline/voice", CallStatus="ringing")
    await other.step("/hotline/voice/menu", Digits="2")
    await other.step("/hotline/voice/said", SpeechResult="")
    await other.step("/hotline/voice/recorded", RecordingUrl=url + "2", RecordingDuration="2")
    await other.step("/hotline/voice/people", Digits="12")
    [case] = all_rows(hl, Case)
    assert case.affected == 12


async def test_the_shortest_recording_that_is_a_report_is_a_setting(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio) -> None:
    assert hl.settings.hotline_min_recording_seconds == 3
    hl.hotline.settings = hl.settings.model_copy(update={"hotline_min_recording_seconds": 1})
    caller = Caller(client)
    await caller.step("/hotline/voice", CallStatus="ringing")
    await caller.step("/hotline/voice/menu", Digits="2")
    await caller.step("/hotline/voice/said", SpeechResult="")
    await caller.step("/hotline/voice/recorded", RecordingUrl="https://api.twilio.com/r/RE3",
                      RecordingDuration="2")
    await caller.step("/hotline/voice/people", Digits="")
    [case] = all_rows(hl, Case)
    assert case.description == t("zh", "hotline.voice.recorded_only")


async def test_photos_texted_from_a_hidden_number_are_kept(
        hl: Services, client: httpx.AsyncClient, fake: FakeTwilio, clock: FrozenClock) -> None:
    """An MMS from a hidden number: nobody to answer, but its photo is kept with the text
    (as a texter's is kept with their report), and the staff are told it is."""
    r = await picture(client, "总装车间门口", PHOTO, number="anonymous")
    assert r.status_code == 200
    await picture(client, "again", PHOTO, number="anonymous")  # another text, same photo
    hl.dispatcher.drain()
    kept = all_rows(hl, Attachment)
    assert [(a.subject, a.channel, a.kind, a.file_ref, a.mime_type) for a in kept] == [
        ("text", "sms", "photo", PHOTO, "image/jpeg")] * 2
    logged = all_rows(hl, InboundMessage, InboundMessage.channel == "sms")
    assert [a.subject_id for a in kept] == [m.id for m in logged]
    at = clock.now().astimezone(hl.settings.zone).strftime("%Y-%m-%d %H:%M")
    assert pushes(hl, "liu_fang")[0] == t("zh", "notice.sms_no_number", received_at=at,
                                          text="总装车间门口", media=1)
    assert all_rows(hl, Incident) == [] and fake.messages() == []
