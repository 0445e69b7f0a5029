"""A report linked to an emergency of its workshop that is about something else: its
reporter files it apart, with its own number, alerts and chain; the leaders of the first
are told it is another one; nobody else can take it apart."""

from __future__ import annotations

import pytest

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from conversations.engine import URGENT_WAIT, Reply
from handlers.grouping import brief
from store.models import Alert, Incident, IncidentLink, Notification
from tests.case_helpers import pushes
from tests.test_flow_emergency import show_inbox
from tests.transcript import LANGS, Chat, all_rows, open_menu, t

STOPPAGE = "铸造车间二十多人停工，要求说明加班费"
FIRE = "铸造车间配电柜冒烟起火，已经有人拿灭火器"
CUT = "\x00"


def upto_alerted(text: str) -> str:
    """A message up to the names of those alerted (their posts read in the language)."""
    return text.split(CUT)[0]


def file(chat: Chat, lang: str, what: str, place: str = "铸造车间") -> str:
    """An emergency said in what and where, then sent at once: the chat's last answer."""
    open_menu(chat, lang)
    chat.press(t(lang, "menu.emergency"))
    chat.say(what)
    chat.say(place)
    chat.press(t(lang, "nav.send_now"))
    return chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_different_emergency_linked_by_its_workshop_is_filed_apart_by_its_reporter(
        services: Services, lang: str) -> None:
    li, zhang = Chat(services, person="li_ming"), Chat(services, person="zhang_wei")
    director = Chat(services, person="chen_lihua")
    open_menu(director, lang)
    file(li, lang, STOPPAGE)
    said = file(zhang, lang, FIRE)  # same workshop, ten seconds later: linked
    # The reply says what it was added to, so a fire is not taken for "being handled".
    assert upto_alerted(t(lang, "emergency.linked", number="E-2026-0001",
                          what=brief(STOPPAGE), alerted=CUT)) in said
    assert len(all_rows(services, IncidentLink)) == 1
    # ... and, under it, the button to file it apart: the merge is said once, not again
    # in a push of its own.
    [reply] = zhang.replies
    assert reply.text.endswith(t(lang, "emergency.linked_apart"))
    assert reply.text.count("E-2026-0001") == 1
    assert [b.label for b in reply.buttons] == [t(lang, "emergency_apart.button")]
    services.dispatcher.drain()
    assert not [m for m in zhang.inbox() if brief(FIRE) in m.text]
    alerts_before = len(all_rows(services, Alert))

    zhang.press(t(lang, "emergency_apart.button"))  # one tap, as an emergency is

    [first, second] = all_rows(services, Incident)
    assert (second.number, second.what, second.workshop_id) == (
        "E-2026-0002", FIRE, first.workshop_id)
    assert all_rows(services, IncidentLink) == []
    assert zhang.replies[0].text.startswith(upto_alerted(t(
        lang, "emergency_apart.done", number="E-2026-0002", earlier="E-2026-0001",
        alerted=CUT)))
    assert len(all_rows(services, Alert, Alert.subject_id == second.id)) >= 1
    assert len(all_rows(services, Alert)) > alerts_before  # its own chain
    services.dispatcher.drain()
    told = pushes(services, "chen_lihua")
    assert t(lang, "notice.incident_apart", number="E-2026-0001", what=brief(FIRE),
             new="E-2026-0002") in told
    head = t(lang, "notice.incident", number="E-2026-0002", what=FIRE, place="铸造车间",
             people="", measures="", suggestion="", reporter="", reported_at="")
    assert any(p.startswith(head.splitlines()[0]) and FIRE in p for p in told)

    # The button again (pressed twice, or scrolled back to): nothing more is filed.
    show_inbox_as(zhang, reply)
    zhang.press(t(lang, "emergency_apart.button"))
    assert t(lang, "emergency_apart.empty") in zhang.text
    assert len(all_rows(services, Incident)) == 2


@pytest.mark.parametrize("lang", LANGS)
def test_nobody_but_its_reporter_or_the_staff_takes_a_report_apart(
        services: Services, lang: str) -> None:
    li, zhang = Chat(services, person="li_ming"), Chat(services, person="zhang_wei")
    file(li, lang, STOPPAGE)
    file(zhang, lang, FIRE)
    [link] = all_rows(services, IncidentLink)
    [offer] = zhang.replies
    # Another worker with the same button (forwarded, or a forged press): refused.
    yang = Chat(services, person="yang_lei")
    open_menu(yang, lang)
    show_inbox_as(yang, offer)
    yang.press(t(lang, "emergency_apart.button"))
    assert t(lang, "emergency_apart.empty") in yang.text
    assert len(all_rows(services, Incident)) == 1 and len(all_rows(services, IncidentLink)) == 1
    # The staff may (a caller's report they filed, a worker's they read).
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    show_inbox_as(staff, offer)
    staff.press(t(lang, "emergency_apart.button"))
    assert "E-2026-0002" in staff.text
    [_, second] = all_rows(services, Incident)
    assert (second.what, second.reporter_id) == (FIRE, link.reporter_id)
    assert all_rows(services, Notification, Notification.message_key == "notice.incident_apart")


def show_inbox_as(chat: Chat, message: Reply) -> None:
    """Put another chat's message, with its buttons, where `press` finds them."""
    chat.replies = [message]


@pytest.mark.parametrize("lang", LANGS)
def test_a_report_the_silence_sent_and_linked_is_told_once_in_order(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """A worker says what and where, the same workshop as an emergency being handled,
    then the phone goes back into the pocket: the silence sends the report, which is
    added to that emergency. They read one account, in order: the silence sent it, it
    was added to E-2026-0001 (what that is, who has it), and if theirs is another
    matter, the button to file it apart; never the merge said twice, nor first."""
    li, zhang = Chat(services, person="li_ming"), Chat(services, person="zhang_wei")
    file(li, lang, STOPPAGE)
    open_menu(zhang, lang)
    zhang.press(t(lang, "menu.emergency"))
    zhang.say(FIRE)
    zhang.say("铸造车间")
    services.dispatcher.drain()
    before = len(zhang.inbox())
    clock.advance(URGENT_WAIT)
    services.sweeper.run_once()  # (the first report's alert climbs its chain too)
    assert len(all_rows(services, IncidentLink)) == 1
    services.dispatcher.drain()
    [told] = zhang.inbox()[before:]
    sent = t(lang, "timeout.sent", flow=t(lang, "emergency.title"), minutes=5)
    linked = upto_alerted(t(lang, "emergency.linked", number="E-2026-0001",
                            what=brief(STOPPAGE), alerted=CUT))
    assert told.text.startswith(sent + "\n" + linked)
    assert told.text.endswith(t(lang, "emergency.linked_apart"))
    assert told.text.count("E-2026-0001") == 1
    assert [b["label"] for b in told.buttons] == [t(lang, "emergency_apart.button")]

    show_inbox(zhang)
    zhang.press(t(lang, "emergency_apart.button"))  # it files it apart, as the push did
    assert zhang.replies[0].text.startswith(upto_alerted(t(
        lang, "emergency_apart.done", number="E-2026-0002", earlier="E-2026-0001",
        alerted=CUT)))
