"""At night a leader's phone rings for an emergency, not for routine work.

In the quiet hours (WORKROOM_QUIET_HOURS, 22:00-07:00 local by default) a case's alert
and every routine push come to Telegram without a sound (`disable_notification`); an
emergency's alerts, and the answers to what someone just wrote, always sound. Nothing is
held back: the message arrives at once, only silently. Whether it sounds is decided when
it is sent: a push retried in the morning rings."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

import tests.test_telegram as webhook
from bot.bootstrap import Services
from bot.settings import Settings
from conversations.catalog import t
from conversations.clock import FrozenClock
from tests.case_helpers import tick
from tests.fakes.telegram_api import FakeBotApi
from tests.test_telegram import TgChat, run
from tests.test_telegram_flows import (
    DIRECTOR,
    SAID,
    SUN,
    ZHAO,
    complaint_steps,
    leader_alerts,
    open_bot,
)

fake = webhook.fake
tg = webhook.tg
client = webhook.client

ZONE = ZoneInfo("Asia/Shanghai")


def silent(call: object) -> bool:
    return getattr(call, "params", {}).get("disable_notification") is True


async def complaint_at(client: httpx.AsyncClient, fake: FakeBotApi, clock: FrozenClock,
                       at: datetime) -> TgChat:
    """A worker files a wages complaint at `at`; its handler 赵国强 is alerted."""
    clock.set(at)
    worker = TgChat(client, fake, 7601, "zh")
    await worker.say("/start")
    await run(worker, complaint_steps("zh", "wages", "铸造车间", "named"))
    await worker.press(t("zh", "nav.confirm"))
    return worker


async def test_at_night_a_case_alert_is_silent_and_an_emergency_rings(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, clock: FrozenClock) -> None:
    await open_bot(client, fake, ZHAO)
    worker = await complaint_at(client, fake, clock, datetime(2026, 11, 23, 23, 30,
                                                                tzinfo=ZONE))
    [assigned] = leader_alerts(fake, ZHAO, "【交办】C-2026-0001")
    assert silent(assigned)
    # The worker is answering: every answer sounds.
    assert fake.sent_messages(7601) and not any(silent(c) for c in fake.sent_messages(7601))

    for leader in (DIRECTOR, SUN):
        await open_bot(client, fake, leader)
    await worker.say(t("zh", "menu.emergency"))
    await worker.say(SAID["zh"]["what"])
    await worker.say(SAID["zh"]["place"])
    await worker.press(t("zh", "nav.send_now"))
    for leader in (DIRECTOR, SUN):
        [alert] = leader_alerts(fake, leader, "【紧急】E-2026-0001")
        assert not silent(alert)


async def test_by_day_a_case_alert_rings(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, clock: FrozenClock) -> None:
    await open_bot(client, fake, ZHAO)
    await complaint_at(client, fake, clock, datetime(2026, 11, 23, 7, 0, tzinfo=ZONE))
    [assigned] = leader_alerts(fake, ZHAO, "【交办】C-2026-0001")
    assert not silent(assigned)


async def test_a_case_alert_that_failed_at_night_rings_when_sent_in_the_morning(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, clock: FrozenClock) -> None:
    """Telegram was down at 06:50: the alert waits in the outbox; sent at 07:05, it
    rings, as any push sent by day."""
    await open_bot(client, fake, ZHAO)
    fake.fail_next("sendMessage", status=502, times=20, chat_id=ZHAO)
    await complaint_at(client, fake, clock, datetime(2026, 11, 23, 6, 50, tzinfo=ZONE))
    assert leader_alerts(fake, ZHAO, "【交办】C-2026-0001") == []
    fake.reset()
    clock.set(datetime(2026, 11, 23, 7, 5, tzinfo=ZONE))
    tg.dispatcher.drain()
    [assigned] = leader_alerts(fake, ZHAO, "【交办】C-2026-0001")
    assert not silent(assigned)


async def test_a_case_alert_retried_at_night_is_silent_too(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, clock: FrozenClock) -> None:
    """The outbox's retry at 23:40 of an alert Telegram refused at 23:30 is as quiet as
    its first try."""
    await open_bot(client, fake, ZHAO)
    fake.fail_next("sendMessage", status=502, times=20, chat_id=ZHAO)
    await complaint_at(client, fake, clock, datetime(2026, 11, 23, 23, 30, tzinfo=ZONE))
    fake.reset()
    clock.set(datetime(2026, 11, 23, 23, 40, tzinfo=ZONE))
    tg.dispatcher.drain()
    [assigned] = leader_alerts(fake, ZHAO, "【交办】C-2026-0001")
    assert silent(assigned)


@pytest.mark.parametrize(("hours", "window"), [
    ("22:00-07:00", ((22, 0), (7, 0))), ("13:00-14:30", ((13, 0), (14, 30))),
    ("", None), ("off", None)])
def test_quiet_hours_are_read_from_the_settings(hours: str, window: object) -> None:
    got = Settings(quiet_hours=hours).quiet_window
    assert (None if got is None else tuple((h.hour, h.minute) for h in got)) == window


@pytest.mark.parametrize("hours", ["22-7", "22:00", "22:00-22:00", "late"])
def test_quiet_hours_that_are_not_hours_are_refused(hours: str) -> None:
    with pytest.raises(ValueError, match="WORKROOM_QUIET_HOURS"):
        Settings(quiet_hours=hours)


def test_a_push_is_quiet_only_in_the_hours_and_never_an_emergency() -> None:
    from handlers.notices import quiet
    from store import outbox

    hours = Settings().quiet_window
    night, day = datetime(2026, 11, 23, 2, 0, tzinfo=ZONE), datetime(2026, 11, 23, 12, 0,
                                                                        tzinfo=ZONE)
    assert quiet(outbox.ROUTINE, night, ZONE, hours) and quiet(outbox.ALERT, night, ZONE, hours)
    assert not quiet(outbox.EMERGENCY, night, ZONE, hours)
    assert not quiet(outbox.REPLY, night, ZONE, hours)
    assert not quiet(outbox.ROUTINE, day, ZONE, hours)
    assert not quiet(outbox.ROUTINE, night, ZONE, None)
    assert quiet(outbox.ROUTINE, night - timedelta(hours=4), ZONE, hours)  # 22:00 itself
    assert not quiet(outbox.ROUTINE, night + timedelta(hours=5), ZONE, hours)  # 07:00


LANGS = pytest.mark.parametrize(("lang", "code"), [("zh", "zh-hans"), ("en", "en")],
                                ids=["zh", "en"])


@LANGS
@pytest.mark.parametrize(("hour", "rings"), [(23, False), (10, True)], ids=["night", "day"])
async def test_a_draft_left_idle_is_kept_without_a_sound_at_night(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, clock: FrozenClock,
        lang: str, code: str, hour: int, rings: bool) -> None:
    """The director opens a complaint at 23:00 and leaves it. Half an hour later she is
    told it was kept, and asked its question again: neither answers something she just
    wrote, so at night both come without a sound (by day they ring, as any push)."""
    clock.set(datetime(2026, 11, 23, hour, 0, tzinfo=ZONE))
    director = TgChat(client, fake, DIRECTOR, code)
    await director.say("/start")
    [step] = complaint_steps(lang, "wages", "铸造车间", "named")[:1]
    await run(director, [step])
    asked = len(fake.sent_messages(DIRECTOR))
    tick(tg, clock, clock.now() + timedelta(minutes=31), timedelta(minutes=1))

    notice, question = fake.sent_messages(DIRECTOR)[asked:]
    assert notice.text == t(lang, "timeout.kept", flow=t(lang, "complaint.title"), minutes=30)
    assert t(lang, "complaint.category.ask") in question.text
    assert [silent(notice), silent(question)] == [not rings, not rings]


async def _reported_at_night_and_acked_by_sun(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, clock: FrozenClock,
        lang: str, code: str) -> None:
    """A worker reports at 23:30; 孙红梅, on duty, presses 收到 at 23:50; nobody records
    the end of the handling."""
    from tests.test_telegram_leaders import leaders, report, set_person

    for key in ("chen_lihua", "sun_hongmei"):
        set_person(tg, key, lang=lang)
    clock.set(datetime(2026, 11, 23, 23, 30, tzinfo=ZONE))
    chats = await leaders(client, fake, DIRECTOR, SUN)
    await report(client, fake, 7603, lang, code)
    tg.dispatcher.drain()
    clock.advance(timedelta(minutes=20))
    await chats[SUN].press(t(lang, "nav.ack"))


@LANGS
async def test_an_emergency_still_open_is_recalled_less_often_and_quietly_at_night(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, clock: FrozenClock,
        lang: str, code: str) -> None:
    """A worker reports at 23:30; 孙红梅, on duty, presses 收到 at 23:50 and nobody records
    the end of the handling. 【尚未处置完毕】 comes after 1 hour, then after 2, 4 and 8
    hours (no more every hour for days), saying how long ago in hours and days. 孙红梅,
    who cannot close it, is never woken for it: silent at night, ringing by day. The
    director's first one sounds (she records the end); her later night ones do not."""
    await _reported_at_night_and_acked_by_sun(client, fake, tg, clock, lang, code)
    head = t(lang, "notice.incident_open", number="E-2026-0001", what="", place="",
             elapsed="")[:6]
    seen: dict[int, list[tuple[str, bool, str]]] = {DIRECTOR: [], SUN: []}
    counted = {who: len(fake.sent_messages(who)) for who in seen}
    while clock.now() < datetime(2026, 11, 25, 12, 0, tzinfo=ZONE):
        tick(tg, clock, clock.now() + timedelta(minutes=10), timedelta(minutes=10))
        for who in seen:
            new = fake.sent_messages(who)[counted[who]:]
            counted[who] += len(new)
            seen[who] += [(clock.now().astimezone(ZONE).strftime("%d %H:%M"), silent(c), c.text)
                          for c in new if c.text.startswith(head)]

    def ago(**parts: int) -> str:
        key = "duration." + "_".join(parts)
        return t(lang, key, **parts)

    when = ["24 00:50", "24 02:50", "24 06:50", "24 14:50", "24 22:50", "25 06:50"]
    elapsed = [ago(hours=1), ago(hours=3), ago(hours=7), ago(hours=15), ago(hours=23),
               ago(days=1, hours=7)]
    words = {"number": "E-2026-0001", "what": SAID[lang]["what"],
             "place": SAID[lang]["place"]}
    assert [(at, quiet, text.split("\n")[0]) for at, quiet, text in seen[SUN]] == [
        (at, quiet, t(lang, "notice.incident_open_leader", director_names="陈丽华",
                      elapsed=e, **words))
        for at, quiet, e in zip(when, [True, True, True, False, True, True], elapsed,
                                strict=True)]
    assert [(at, quiet, text.split("\n")[0]) for at, quiet, text in seen[DIRECTOR]] == [
        (at, quiet, t(lang, "notice.incident_open", elapsed=e, **words))
        for at, quiet, e in zip(when, [False, True, True, False, True, True], elapsed,
                                strict=True)]


@LANGS
async def test_the_directors_first_realert_rings_even_when_the_scheduler_missed_its_hour(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, clock: FrozenClock,
        lang: str, code: str) -> None:
    """The same night, but the scheduler is down from 23:50 until 03:10: the re-alerts of
    00:50 and 02:50 were never made. The one made at 03:10 is the director's first, so it
    rings (she is asked to record the end); 孙红梅's stays silent, as always at night."""
    await _reported_at_night_and_acked_by_sun(client, fake, tg, clock, lang, code)
    tg.dispatcher.drain()
    counted = {who: len(fake.sent_messages(who)) for who in (DIRECTOR, SUN)}
    clock.set(datetime(2026, 11, 24, 3, 10, tzinfo=ZONE))  # back after the outage
    tick(tg, clock, clock.now() + timedelta(minutes=1), timedelta(minutes=1))
    head = t(lang, "notice.incident_open", number="E-2026-0001", what="", place="",
             elapsed="")[:6]
    [director] = [c for c in fake.sent_messages(DIRECTOR)[counted[DIRECTOR]:]
                  if c.text.startswith(head)]
    [leader] = [c for c in fake.sent_messages(SUN)[counted[SUN]:] if c.text.startswith(head)]
    assert (silent(director), silent(leader)) == (False, True)
