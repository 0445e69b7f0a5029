"""The outbox: enqueue a push with the fact it announces; claim what is due to send."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, literal_column
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, or_, select

from store import fast
from store.db import insert_ids
from store.models import Acknowledgement, Alert, Case, Contact, Incident, Notification, Person

_EARLIER = aliased(Notification)
# Messages to one chat address leave in the order written: a later one waits while an
# earlier one is still pending (a reply's second part never overtakes its first). Built
# once: constructing the alias per call cost 2-4 ms of Python for every claim.
_QUEUED_BEFORE = exists().where(
    col(_EARLIER.status) == "pending", col(_EARLIER.channel) == col(Notification.channel),
    col(_EARLIER.address) == col(Notification.address),
    col(_EARLIER.id) < col(Notification.id))

# A push no channel could take, kept for its reader's next message (they wrote: the
# channel they wrote on reaches them again, as WeChat's 48-hour window reopens).
HELD = "held"
# A push's param: when it stops meaning anything (ISO, UTC), e.g. a reminder of a visit
# once the visit has begun. A push held past it is dropped, never delivered late.
STALE_AFTER = "stale_after"
# Params a held push gets as it is released: when it was written (ISO, UTC), said first
# in its words (handlers/notices.render); and, for an emergency's alert someone else has
# acknowledged meanwhile, who and when ({"name", "acked_at"}), said after them.
HELD_FROM = "held_from"
TAKEN = "taken"
# Channels whose pushes wait in an inbox the person reads when they open it (web chat,
# console): one they never opened is where nobody reads a push that another channel
# could not deliver.
INBOXES = frozenset({"web", "console"})


def reach_order(t: Any) -> tuple[Any, ...]:
    """How a person's contacts (columns of the contact table `t`) are tried for a push:
    the one they last used first; among those they never used (the organisation file's),
    a channel that pushes (WeCom, Telegram) before an inbox, which a leader who never
    opened it never reads; then as added."""
    # The channel names inline, not bound: the step path's statement is prepared once.
    inbox = case(*((t.channel == literal_column(f"'{c}'"), 1) for c in sorted(INBOXES)),
                 else_=literal_column("0"))
    return t.last_used_at.desc().nulls_last(), inbox, t.id

EMERGENCY = 0
REPLY = 1  # the answer to what a person just wrote: they are waiting for it
ALERT = 2
ROUTINE = 5
# session.info keys: the rows enqueued in this transaction, each with the STEP it was
# written for (the step path sets it while it steps a batch's messages), so the step path
# can deliver them as soon as it commits.
WRITTEN = "outbox_written"
STEP = "outbox_step"


def enqueue(
    session: Session,
    *,
    key: str,
    message: str,
    params: dict[str, Any],
    now: datetime,
    recipient_id: int | None = None,
    channel: str | None = None,
    address: str | None = None,
    alert_id: int | None = None,
    priority: int = ROUTINE,
) -> Notification:
    """Add a push to the outbox, once per idempotency key."""
    existing = session.exec(select(Notification).where(Notification.idempotency_key == key)).first()
    if existing is not None:
        return existing
    if recipient_id is None and (channel is None or address is None):
        raise ValueError("a notification needs a recipient or a channel address")
    row = Notification(
        idempotency_key=key, recipient_id=recipient_id, channel=channel, address=address,
        message_key=message, params=params, alert_id=alert_id, priority=priority,
        next_attempt_at=now, created_at=now,
    )
    session.add(row)
    session.flush()
    session.info.setdefault(WRITTEN, []).append((session.info.get(STEP), row))
    return row


@dataclass(frozen=True)
class Written:
    """A row added by add_many, seen by the step path as it sees a Notification."""

    id: int
    recipient_id: int | None
    channel: str | None
    address: str | None
    message_key: str
    params: dict[str, Any]
    alert_id: int | None
    priority: int
    next_attempt_at: datetime
    tried_channels: tuple[str, ...] = ()


def add_many(session: Session, rows: list[dict[str, Any]], *, now: datetime) -> list[int]:
    """Add pushes whose idempotency keys name rows made in this transaction (so none can
    exist yet) in one statement; each row: key, message, params, and recipient_id or
    channel + address, alert_id, priority, and the step it is written for if not the
    current one (see STEP)."""
    if not rows:
        return []
    t = Notification.__table__  # type: ignore[attr-defined]
    values = [{"idempotency_key": r["key"], "recipient_id": r.get("recipient_id"),
               "channel": r.get("channel"), "address": r.get("address"),
               "message_key": r["message"], "params": r["params"],
               "alert_id": r.get("alert_id"), "priority": r.get("priority", ROUTINE),
               "next_attempt_at": now, "claimed_until": None, "tried_channels": [],
               "created_at": now} for r in rows]
    ids = insert_ids(session, t, values, ("idempotency_key",))
    step = session.info.get(STEP)
    written = session.info.setdefault(WRITTEN, [])
    written += [(r.get("step", step), Written(
                    nid, v["recipient_id"], v["channel"], v["address"], v["message_key"],
                    v["params"], v["alert_id"], v["priority"], now))
                for r, nid, v in zip(rows, ids, values, strict=True)]
    return ids


@dataclass
class Route:
    channel: str
    address: str
    lang: str


def route(session: Session, n: Notification | Written, channels: Collection[str],
          default_lang: str) -> Route | None:
    """Where a push goes now: its own address, or the recipient's channel they last used
    (never-used ones last, inboxes after them: reach_order), skipping channels that
    already failed and, once one has, an inbox the recipient never opened; None if none
    is left."""
    if n.channel and n.address:
        if n.channel in n.tried_channels or n.channel not in channels:
            return None
        contact = session.exec(select(Contact).where(Contact.channel == n.channel,
                                                     Contact.address == n.address)).first()
        person = session.get(Person, contact.person_id) if contact else None
        return Route(n.channel, n.address, (person.lang if person else None) or default_lang)
    person = session.get(Person, n.recipient_id)
    if person is None:
        return None
    table = Contact.__table__  # type: ignore[attr-defined]
    contacts = session.exec(select(Contact).where(Contact.person_id == person.id)
                            .order_by(*reach_order(table.c))).all()
    for c in contacts:
        if c.channel in channels and c.channel not in n.tried_channels and not (
                n.tried_channels and c.last_used_at is None and c.channel in INBOXES):
            return Route(c.channel, c.address, person.lang or default_lang)
    return None


def release(session: Session, people: Collection[int], now: datetime) -> int:
    """Put the pushes held for these people back in line, to go to the channel they now
    wrote on (see HELD), saying when they were written (HELD_FROM); drop those past their
    time (STALE_AFTER) and the alerts no longer waiting for their reader's 收到 (see
    _alert_over): a leader who writes days later is not alarmed by an emergency handled
    long ago. How many go."""
    if not people:
        return 0
    t = Notification.__table__  # type: ignore[attr-defined]
    # On every step: an index probe that finds nothing, almost always.
    ids = [r[0] for r in fast.where_in(session, "held_for", lambda b: select(t.c.id).where(
        t.c.status == HELD, t.c.recipient_id.in_(b)), sorted(people))]
    if not ids:
        return 0
    held = session.exec(select(Notification).where(col(Notification.id).in_(ids))).all()
    going = 0
    for n in held:
        stale = n.params.get(STALE_AFTER)
        if isinstance(stale, str) and datetime.fromisoformat(stale) <= now:
            n.status, n.last_error = "cancelled", "held past its time"
        elif n.alert_id is not None and _alert_over(session, n.alert_id):
            n.status, n.last_error = "cancelled", "held until its alert no longer waited"
        else:
            params = {**n.params, HELD_FROM: n.created_at.isoformat()}
            taken = _taken_by_another(session, n.alert_id) if n.alert_id else None
            if taken is not None:
                params[TAKEN] = taken
            n.params = params
            n.status, n.tried_channels, n.next_attempt_at = "pending", [], now
            n.claimed_until = None
            going += 1
        session.add(n)
    return going


def _alert_over(session: Session, alert_id: int) -> bool:
    """Whether an alert no longer waits for its reader's 收到, as their list of waiting
    alerts has it (handlers/queries.pending_alerts): acknowledged (by them, or by the
    director for them), its emergency no longer open (handled, archived), its case
    closed or passed on from them (handlers/alerts.py pass_on) or, but for the director,
    with someone else."""
    alert = session.get(Alert, alert_id)
    if alert is None or session.exec(select(Acknowledgement.id).where(
            Acknowledgement.alert_id == alert_id)).first() is not None:
        return True
    if alert.subject == "incident":
        incident = session.get(Incident, alert.subject_id)
        return incident is None or incident.status != "open"
    if alert.subject == "case":
        case = session.get(Case, alert.subject_id)
        if case is None or case.status == "closed" or alert.passed_at is not None:
            return True
        reader = session.get(Person, alert.recipient_id)
        passed_on = case.handler_id is not None and case.handler_id != alert.recipient_id \
            and case.lead_leader_id != alert.recipient_id
        return passed_on and (reader is None or reader.role != "director")
    return False


def _taken_by_another(session: Session, alert_id: int) -> dict[str, str] | None:
    """Who acknowledged the emergency of this alert first, someone else than its reader,
    and when; None if nobody has or it is no emergency's alert."""
    alert = session.get(Alert, alert_id)
    if alert is None or alert.subject != "incident":
        return None
    return first_acknowledger(session, alert.subject_id, [alert.recipient_id])


def first_acknowledger(session: Session, incident_id: int, excluding: Collection[int]
                       ) -> dict[str, str] | None:
    """Who acknowledged an emergency first, of those not `excluding`, and when
    ({"name", "acked_at"}, the params its pushes say it with); None if nobody has."""
    first = session.exec(select(Person.name, Acknowledgement.at).join(
        Acknowledgement, col(Acknowledgement.person_id) == col(Person.id)).join(
        Alert, col(Alert.id) == col(Acknowledgement.alert_id)).where(
        Alert.subject == "incident", Alert.subject_id == incident_id,
        col(Acknowledgement.person_id).not_in(list(excluding)))
        .order_by(col(Acknowledgement.at), col(Acknowledgement.id))).first()
    return None if first is None else {"name": first[0] or "", "acked_at": first[1].isoformat()}


def claim_due(session: Session, *, now: datetime, limit: int = 50,
              lease: timedelta = timedelta(seconds=60)) -> list[Notification]:
    """Claim due notifications, emergencies first; a dead claimer's lease runs out."""
    stmt = (
        select(Notification)
        .where(Notification.status == "pending", col(Notification.next_attempt_at) <= now)
        .where(~_QUEUED_BEFORE)
        .where(or_(col(Notification.claimed_until).is_(None),
                   col(Notification.claimed_until) < now))
        .order_by(col(Notification.priority), col(Notification.next_attempt_at),
                  col(Notification.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.exec(stmt).all())
    for row in rows:
        row.claimed_until = now + lease
        session.add(row)
    return rows


def backoff(attempts: int) -> timedelta:
    """Wait longer after each failed try: 5 s, 10 s, 20 s … capped at 30 minutes."""
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 1800))
