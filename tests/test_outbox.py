"""The outbox dispatcher: channel choice, retries with back-off, fallback, and giving up
loudly (a push given up on becomes an alert to the director and staff)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.bootstrap import Services
from bot.channels import DeliveryError
from conversations import catalog
from conversations.clock import FrozenClock
from conversations.engine import Reply
from handlers.notices import render
from store import outbox
from store.db import transaction
from store.models import Contact, InboxMessage, Notification, Person


class FlakySender:
    """A channel that fails the first `failures` sends, then records what it delivers."""

    def __init__(self, channel: str, failures: int, *, fallback: bool = False) -> None:
        self.channel, self.failures, self.fallback = channel, failures, fallback
        self.sent: list[tuple[str, str]] = []

    def deliver(self, session: Session, *, address: str, reply: Reply,
                notification_id: int, edit_ref: str | None = None) -> str | None:
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryError("HTTP 502 from the platform", fallback=self.fallback)
        self.sent.append((address, reply.text))
        return None


def _person(svc: Services, key: str) -> Person:
    with Session(svc.db) as s:
        return s.exec(select(Person).where(Person.key == key)).one()


# A staff member's 新登记问题, the push these tests send.
STAFF_PARAMS = {"number": "C-2026-0042", "category": "wages",
                "summary": "October's overtime pay…", "name": "Zhao", "due_on": "2027-01-22"}


def _push(svc: Services, key: str, to: str, priority: int = outbox.ROUTINE) -> int:
    person = _person(svc, to)
    with transaction(svc.db) as s:
        row = outbox.enqueue(s, key=key, recipient_id=person.id, message="notice.case_staff",
                             params=STAFF_PARAMS,
                             now=svc.clock.now(), priority=priority)
        return row.id or 0


def _use(svc: Services, person_key: str, channel: str, address: str,
         clock: FrozenClock) -> None:
    person = _person(svc, person_key)
    with transaction(svc.db) as s:
        s.add(Contact(person_id=person.id or 0, channel=channel, address=address,
                      last_used_at=clock.now()))


def test_push_goes_to_the_channel_last_used(db_services: Services, clock: FrozenClock) -> None:
    tg = FlakySender("telegram", 0)
    db_services.dispatcher.senders["telegram"] = tg
    clock.advance(timedelta(minutes=1))
    _use(db_services, "liu_fang", "telegram", "5550001", clock)
    _push(db_services, "k1", "liu_fang")
    assert db_services.dispatcher.drain() == 1
    assert tg.sent and tg.sent[0][0] == "5550001" and "C-2026-0042" in tg.sent[0][1]


def test_same_idempotency_key_is_one_push(db_services: Services) -> None:
    assert _push(db_services, "same", "liu_fang") == _push(db_services, "same", "liu_fang")
    db_services.dispatcher.drain()
    with Session(db_services.db) as s:
        assert len(s.exec(select(InboxMessage)).all()) == 1


def test_failed_send_is_retried_with_back_off(db_services: Services, clock: FrozenClock) -> None:
    tg = FlakySender("telegram", 2)
    db_services.dispatcher.senders["telegram"] = tg
    clock.advance(timedelta(minutes=1))
    _use(db_services, "liu_fang", "telegram", "5550001", clock)
    nid = _push(db_services, "k2", "liu_fang")
    assert db_services.dispatcher.run_once() == 0
    assert db_services.dispatcher.run_once() == 0  # not due again before its back-off
    clock.advance(timedelta(seconds=5))
    assert db_services.dispatcher.run_once() == 0  # second failure, now waits 10 s
    clock.advance(timedelta(seconds=9))
    assert db_services.dispatcher.run_once() == 0
    clock.advance(timedelta(seconds=1))
    assert db_services.dispatcher.run_once() == 1
    with Session(db_services.db) as s:
        row = s.get(Notification, nid)
        assert row is not None and (row.status, row.attempts) == ("sent", 2)


def _opened_web(svc: Services, person_key: str, clock: FrozenClock) -> None:
    """The person has used the web chat (their inbox there is read)."""
    with transaction(svc.db) as s:
        web = s.exec(select(Contact).where(Contact.channel == "web",
                                           Contact.address == f"p:{person_key}")).one()
        web.last_used_at = clock.now()
        s.add(web)


def test_a_channel_that_cannot_take_it_falls_back_to_the_next(
        db_services: Services, clock: FrozenClock) -> None:
    db_services.dispatcher.senders["telegram"] = FlakySender("telegram", 99, fallback=True)
    _opened_web(db_services, "zhao_guoqiang", clock)
    clock.advance(timedelta(minutes=1))
    _use(db_services, "zhao_guoqiang", "telegram", "5550002", clock)
    nid = _push(db_services, "k3", "zhao_guoqiang", priority=outbox.EMERGENCY)
    assert db_services.dispatcher.drain() == 1
    with Session(db_services.db) as s:
        row = s.get(Notification, nid)
        assert row is not None and row.tried_channels == ["telegram"]
        assert row.delivered_channel == "web"


def test_a_refused_push_is_not_delivered_to_an_inbox_never_opened(
        db_services: Services, clock: FrozenClock) -> None:
    """Telegram refuses the leader's push and his web inbox was never opened: it is not
    "sent" there where nobody reads it; the staff are told it was refused, once, in
    words that say so (not "several tries")."""
    db_services.dispatcher.senders["telegram"] = FlakySender("telegram", 99, fallback=True)
    clock.advance(timedelta(minutes=1))
    _use(db_services, "zhao_guoqiang", "telegram", "5550002", clock)
    nid = _push(db_services, "k3", "zhao_guoqiang", priority=outbox.EMERGENCY)
    db_services.dispatcher.drain()
    with Session(db_services.db) as s:
        row = s.get(Notification, nid)
        assert row is not None and (row.status, row.attempts) == ("failed", 1)
        assert s.exec(select(InboxMessage).where(
            InboxMessage.address == "p:zhao_guoqiang")).all() == []
        told = s.exec(select(Notification).where(
            Notification.message_key == "notice.delivery_refused")).all()
        assert {s.get(Person, n.recipient_id).key for n in told} == {  # type: ignore[union-attr]
            "chen_lihua", "liu_fang"}
        shown = s.exec(select(InboxMessage).where(
            InboxMessage.address == "p:liu_fang")).all()
    lost = render("notice.case_staff", STAFF_PARAMS, "zh",
                  db_services.settings.zone).text
    assert [m.text for m in shown] == [catalog.t(
        "zh", "notice.delivery_refused", recipient="赵国强", channels="Telegram", text=lost)]
    assert "多次" not in shown[0].text


def test_given_up_push_alerts_the_director_and_staff(
        db_services: Services, clock: FrozenClock) -> None:
    # No channel delivers: every inbox is replaced by one that always fails.
    for channel in ("web", "console"):
        db_services.dispatcher.senders[channel] = FlakySender(channel, 10**6)
    db_services.dispatcher.max_attempts = 2
    with transaction(db_services.db) as s:  # the staff member reads English
        staff = s.exec(select(Person).where(Person.key == "liu_fang")).one()
        staff.lang = "en"
        s.add(staff)
    nid = _push(db_services, "k4", "zhao_guoqiang")
    db_services.dispatcher.run_once()
    clock.advance(timedelta(minutes=1))
    db_services.dispatcher.run_once()
    with Session(db_services.db) as s:
        row = s.get(Notification, nid)
        assert row is not None and row.status == "failed"
        warnings = s.exec(select(Notification).where(
            Notification.message_key == "notice.delivery_failed")).all()
        names = {s.get(Person, w.recipient_id).key for w in warnings}  # type: ignore[union-attr]
    assert names == {"chen_lihua", "liu_fang"}
    assert all(w.params["recipient"] == "赵国强" for w in warnings)
    # The lost text is quoted in each reader's own language.
    quoted = {("en" if w.recipient_id == staff.id else "zh"): w.params["text"]
              for w in warnings}
    assert quoted == {
        lang: render("notice.case_staff", STAFF_PARAMS, lang,
                     db_services.settings.zone).text for lang in ("zh", "en")}
    assert "C-2026-0042" in quoted["en"] and not any("一" <= c <= "鿿" for c in quoted["en"])


def test_emergencies_are_sent_before_routine_pushes(db_services: Services) -> None:
    _push(db_services, "routine", "liu_fang")
    _push(db_services, "urgent", "liu_fang", priority=outbox.EMERGENCY)
    with transaction(db_services.db) as s:
        claimed = outbox.claim_due(s, now=db_services.clock.now(), limit=1)
        assert claimed[0].idempotency_key == "urgent"


def test_an_emergency_never_waits_behind_a_routine_push_in_back_off(
        db_services: Services, clock: FrozenClock) -> None:
    """A chat's pushes keep their order only among pushes at least as urgent: a reply to
    the leader's chat waiting out its back-off does not hold up the emergency alert."""
    tg = FlakySender("telegram", 1)
    db_services.dispatcher.senders["telegram"] = tg
    clock.advance(timedelta(minutes=1))
    _use(db_services, "liu_fang", "telegram", "5550001", clock)
    with transaction(db_services.db) as s:
        outbox.enqueue(s, key="reply:1", channel="telegram", address="5550001",
                       message="notice.raw", params={"text": "您的建议已收到"},
                       now=clock.now(), priority=outbox.ROUTINE)
    assert db_services.dispatcher.run_once() == 0  # the reply fails: back-off
    alert = _push(db_services, "k-alert", "liu_fang", priority=outbox.EMERGENCY)
    assert db_services.dispatcher.run_once() == 1
    assert tg.sent and "C-2026-0042" in tg.sent[0][1]
    with Session(db_services.db) as s:
        row = s.get(Notification, alert)
        assert row is not None and row.status == "sent"


def test_a_leader_who_never_wrote_is_pushed_on_the_org_files_chat_not_an_unread_inbox(
        db_services: Services) -> None:
    """吴建军 has Telegram and WeCom in the organisation file, and the web and console
    inboxes every person gets; he has used none. A push goes to his Telegram, not into
    a web inbox nobody opens, marked sent."""
    tg = FlakySender("telegram", 0)
    db_services.dispatcher.senders["telegram"] = tg
    nid = _push(db_services, "k-org", "wu_jianjun", priority=outbox.EMERGENCY)
    assert db_services.dispatcher.drain() == 1
    assert [a for a, _ in tg.sent] == ["900000004"] and "C-2026-0042" in tg.sent[0][1]
    with Session(db_services.db) as s:
        row = s.get(Notification, nid)
        assert row is not None and row.delivered_channel == "telegram"
        assert s.exec(select(InboxMessage)).all() == []


def test_an_emergency_alert_goes_out_at_once_on_the_directors_telegram(
        db_services: Services) -> None:
    """李明 reports an emergency; the step that files it sends the pushes it can at once
    (here: Telegram's). The director has never written to the bot: her alert is among
    them, to the Telegram chat of the organisation file, not left for her web inbox."""
    from handlers.inbound import Inbound
    from tests.transcript import Chat

    worker = Chat(db_services, person="li_ming")
    worker.dialog([("菜单", "职工群众工作室"), ("[紧急情况报告]", "发生了什么"),
                   ("车间起火冒烟", "在哪里"), ("铸造车间", "立即发送")])
    send = Inbound("console", "p:li_ming", "t-send-now", action=worker.button("立即发送").value)
    [done] = db_services.workroom.process_batch([send], direct=("telegram", "web", "console"))
    assert done.error is None
    sent = {(o.channel, o.address) for o in done.outgoing}
    assert ("telegram", "900000001") in sent and ("web", "p:chen_lihua") not in sent, sent


def test_a_push_written_before_its_wording_changed_still_goes(
        db_services: Services, clock: FrozenClock) -> None:
    """A push queued by the version before an upgrade whose new wording names a parameter
    the push lacks (a swap notice once took {by} and {other}, now also {swap}): it is
    sent with "…" in that place, not retried for ever while the leader hears nothing.
    The running version's own push lacking one is a bug: not sent, never papered over."""
    tg = FlakySender("telegram", 0)
    db_services.dispatcher.senders["telegram"] = tg
    clock.advance(timedelta(minutes=1))
    _use(db_services, "liu_fang", "telegram", "5550001", clock)
    person = _person(db_services, "liu_fang")
    with transaction(db_services.db) as s:
        outbox.enqueue(s, key="old-swap", recipient_id=person.id, now=clock.now(),
                       message="notice.duty_swapped",
                       params={"by": "刘芳", "other": "赵国强", "reason": "出差",
                               "old_date": "2026-11-25", "old_weekday": "周三",
                               "new_date": "2026-11-27", "new_weekday": "周五",
                               "start": "09:00", "end": "11:00", "place": "群众工作室",
                               "gave": 0, "took": 0})
    assert db_services.dispatcher.drain() == 0  # written by this version: refused
    assert tg.sent == []
    db_services.dispatcher.started = clock.now() + timedelta(seconds=1)  # upgraded since
    clock.advance(timedelta(minutes=5))  # the refused try's lease is over
    assert db_services.dispatcher.drain() == 1
    [(_, text)] = tg.sent
    assert text.startswith("…（出差）") and "2026-11-27" in text
    with Session(db_services.db) as s:
        assert s.exec(select(Notification)).one().status == "sent"
