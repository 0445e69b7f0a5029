"""The outbox dispatcher: deliver due pushes at least once, with back-off and fallback.

A push that cannot be delivered is never only a log line: it becomes a push to the
workroom's director and staff (DESIGN rule 4).
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.channels import DeliveryError, Sender
from conversations import catalog
from conversations.answers import masked
from conversations.clock import Clock
from handlers.identity import display_name
from handlers.notices import quiet, render
from store import outbox
from store.db import transaction
from store.models import Notification, Person

log = logging.getLogger(__name__)
FAILED_NOTICE = "notice.delivery_failed"  # after max_attempts tries
REFUSED_NOTICE = "notice.delivery_refused"  # every channel of the reader refused it
NO_CHANNEL_NOTICE = "notice.delivery_no_channel"  # the reader has no channel at all
HELD_NOTICE = "notice.delivery_held"  # waits for the reader's next message
HELD_UNKNOWN_NOTICE = "notice.delivery_held_unknown"  # … a reader nobody can call
WATCH_NOTICES = frozenset({FAILED_NOTICE, REFUSED_NOTICE, NO_CHANNEL_NOTICE,
                           HELD_NOTICE, HELD_UNKNOWN_NOTICE})
# A push held behind an earlier one to the same chat is looked at again after this.
HOLD = timedelta(seconds=1)


class Dispatcher:
    def __init__(self, db: Engine, clock: Clock, senders: dict[str, Sender], *,
                 zone: ZoneInfo, max_attempts: int = 8, default_lang: str = "zh",
                 secret: str | None = None,
                 quiet_hours: tuple[time, time] | None = None) -> None:
        self.db, self.clock, self.senders = db, clock, senders
        self.quiet_hours = quiet_hours  # see handlers.notices.quiet
        self.zone, self.max_attempts, self.default_lang = zone, max_attempts, default_lang
        self.secret = secret
        # Pushes written before this moment may be in an older version's words (see
        # notices.render's `older`); this version's own must render as written.
        self.started = clock.now()

    def run_once(self, limit: int = 100) -> int:
        """Deliver what is due now; return how many were delivered."""
        return self._run(limit)[1]

    def _run(self, limit: int) -> tuple[int, int]:
        with transaction(self.db) as s:
            ids = [n.id for n in outbox.claim_due(s, now=self.clock.now(), limit=limit)]
        delivered = 0
        for nid in ids:
            assert nid is not None
            try:
                delivered += self._deliver(nid)
            except Exception:  # one bad row must not stop the others; its lease expires
                log.exception("outbox: delivering notification %s failed", nid)
        return len(ids), delivered

    def drain(self, rounds: int = 20) -> int:
        """Run until nothing is due any more (tests and the console); return deliveries."""
        total = 0
        for _ in range(rounds):
            claimed, delivered = self._run(100)
            total += delivered
            if claimed == 0:
                break
        return total

    def _deliver(self, nid: int) -> int:
        sent = self._deliver_row(nid)
        if sent is None:
            return 0
        # A sender may look again once the delivery is committed (a call placed while
        # its alert was being acknowledged is hung up): the row stays sent whatever it finds.
        committed = getattr(self.senders[sent[0]], "committed", None)
        if committed is not None and sent[1] is not None:
            try:
                committed(nid, sent[1])
            except Exception:
                log.exception("outbox: after delivering notification %s", nid)
        return 1

    def _deliver_row(self, nid: int) -> tuple[str, str | None] | None:
        """Deliver one claimed row in a transaction; (channel, reference) when sent."""
        now = self.clock.now()
        with transaction(self.db) as s:
            n = s.exec(select(Notification).where(Notification.id == nid).with_for_update()).one()
            if n.status != "pending":
                return None
            route = self._route(s, n)
            if route is None and self._windowed(n):
                self._hold(s, n)
                return None
            if route is None:
                self._give_up(s, n, "no channel left to reach the recipient")
                return None
            due = self._earlier(s, n, route)
            if due is not None:  # not a failed try: it goes right after the earlier one
                n.claimed_until, n.next_attempt_at = None, max(due, now + HOLD)
                s.add(n)
                return None
            reply = render(n.message_key, n.params, route.lang, self.zone, n.alert_id,
                           self.secret, older=n.created_at < self.started)
            reply.quiet = quiet(n.priority, now, self.zone, self.quiet_hours)
            n.sent_at = now
            try:
                ref = self.senders[route.channel].deliver(
                    s, address=route.address, reply=reply, notification_id=nid,
                    edit_ref=n.params.get("edit_ref"))
            except DeliveryError as err:
                n.sent_at = None
                n.attempts += 1
                n.last_error = str(err)[:500]
                n.claimed_until = None
                if err.retry_after is not None:  # the platform's own pace, not a failure
                    n.attempts -= 1
                    n.next_attempt_at = now + timedelta(seconds=err.retry_after)
                elif err.fallback and n.recipient_id is not None:
                    n.tried_channels = [*n.tried_channels, route.channel]
                    n.next_attempt_at = now
                elif n.attempts >= self.max_attempts:
                    self._give_up(s, n, str(err))
                else:
                    n.next_attempt_at = now + outbox.backoff(n.attempts)
                s.add(n)
                return None
            n.status, n.delivered_channel, n.claimed_until = "sent", route.channel, None
            # Where it went is kept only to edit it later (an alert acknowledged): a text
            # to a caller's number keeps no copy of the number outside the contact vault.
            n.delivered_address = route.address if ref is not None else None
            n.delivered_ref = ref
            s.add(n)
            return route.channel, ref

    def _route(self, s: Session, n: Notification) -> outbox.Route | None:
        return outbox.route(s, n, self.senders, self.default_lang)

    @staticmethod
    def _earlier(s: Session, n: Notification, route: outbox.Route) -> datetime | None:
        """When an earlier push to the same chat, still pending, is due; None if there is
        none. A chat's pushes leave in the order written (claim_due holds those written to
        the chat's address); this holds a push routed through the person's contacts
        behind them, and behind the person's earlier routed pushes at least as urgent (a
        caller's "已收到" never overtakes the text with the incident's number)."""
        if n.channel is not None or n.recipient_id is None:
            return None  # written to its chat: claim_due already kept it in order
        # Behind what the person is waiting for (a reply to what they wrote) and whatever
        # is at least as urgent, never behind a routine push waiting out its back-off.
        same = or_(and_(col(Notification.channel) == route.channel,
                        col(Notification.address) == route.address,
                        col(Notification.priority) <= max(n.priority, outbox.REPLY)),
                   and_(col(Notification.recipient_id) == n.recipient_id,
                        col(Notification.channel).is_(None),
                        col(Notification.priority) <= n.priority))
        return s.exec(select(func.min(Notification.next_attempt_at)).where(
            Notification.status == "pending", col(Notification.id) < (n.id or 0),
            same)).one()

    def _windowed(self, n: Notification) -> bool:
        """Whether a channel that refused this push takes it once its reader writes again
        (see Sender): then it waits for their next message."""
        return n.recipient_id is not None and any(
            getattr(self.senders.get(c), "windowed", False) for c in n.tried_channels)

    def _hold(self, s: Session, n: Notification) -> None:
        """Keep a push no channel takes now for its reader's next message (the step path
        releases it: outbox.release); those who must know that it has not arrived yet are
        told: the staff, and whoever the push names to tell (`tell`: the handler who wrote
        a reply). A routine push (a roster publication) just waits."""
        n.status, n.claimed_until = outbox.HELD, None
        s.add(n)
        log.warning("outbox: notification %s held for its reader's next message: %s",
                    n.id, n.last_error)
        if n.priority > outbox.ALERT or n.message_key in WATCH_NOTICES:
            return
        person = s.get(Person, n.recipient_id) if n.recipient_id else None
        named = person is not None and person.verified and bool(person.name)
        self._tell(s, n, person, "held", HELD_NOTICE if named else HELD_UNKNOWN_NOTICE,
                   extra=n.params.get("tell"))

    def _give_up(self, s: Session, n: Notification, reason: str) -> None:
        """Stop trying a push: it is failed, and the director and staff are told in words
        that say what happened (refused by every channel, or failed many times)."""
        n.status, n.last_error, n.claimed_until = "failed", reason[:500], None
        s.add(n)
        log.error("outbox: gave up on notification %s: %s", n.id, reason)
        if n.message_key in WATCH_NOTICES:
            return  # the failure notice itself failed: the row stays 'failed' for the console
        person = s.get(Person, n.recipient_id) if n.recipient_id else None
        message = FAILED_NOTICE if n.attempts >= self.max_attempts \
            else REFUSED_NOTICE if n.tried_channels else NO_CHANNEL_NOTICE
        self._tell(s, n, person, "failed", message)

    def _tell(self, s: Session, n: Notification, person: Person | None, kind: str,
              message: str, extra: object = None) -> None:
        """Tell the director and staff of the reader's unit (and `extra`, a person id)
        that push `n` has not reached its reader, quoting it in each one's language."""
        texts: dict[str, tuple[str, str]] = {}  # the text and the channels, per language
        watchers = list(s.exec(select(Person).where(
            col(Person.role).in_(("director", "staff")), Person.active == True)  # noqa: E712
            .order_by(col(Person.id))).all())
        if person is not None and person.unit_id is not None:
            watchers = [w for w in watchers if w.unit_id == person.unit_id]
        also = s.get(Person, extra) if isinstance(extra, int) else None
        if also is not None and also.active and all(w.id != also.id for w in watchers):
            watchers.insert(0, also)
        for w in watchers:
            if w.id == n.recipient_id:
                continue
            lang = w.lang or self.default_lang
            if lang not in texts:
                texts[lang] = (render(n.message_key, n.params, lang, self.zone,
                                      older=n.created_at < self.started).text,
                               catalog.t(lang, "list.sep").join(
                                   catalog.t(lang, f"channel.{c}")
                                   if catalog.has(f"channel.{c}") else c
                                   for c in n.tried_channels))
            text, channels = texts[lang]
            outbox.enqueue(s, key=f"{kind}:{n.id}:{w.id}", recipient_id=w.id,
                           message=message, priority=min(n.priority, outbox.ALERT),
                           now=self.clock.now(),
                           params={"recipient": _whom(person, n.address), "text": text,
                                   "channels": channels})


def _whom(person: Person | None, address: str | None) -> str:
    """Who a lost push was for, as staff may read it: a name, never a whole phone number
    or chat id (those stay in the contact vault, read where it is audited)."""
    if person is not None:
        return person.name or display_name(person)
    return masked(address or "")
