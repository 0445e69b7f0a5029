"""SQLModel tables of the workroom: organisation, contact vault, conversations,
records (suggestions, cases, bookings, incidents), alerts, outbox and timers."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.types import CurrentXact, UTCDateTime

ROLES = ("employee", "liaison", "staff", "director", "leader", "upper_union")


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


# --- organisation -----------------------------------------------------------------


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)


class Workshop(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("unit_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    key: str = Field(max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(default="workshop", max_length=16)  # workshop | section


class Person(SQLModel, table=True):
    """A pseudonymous person; chat ids and phone numbers live in Contact."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=80)
    name: str = Field(default="", max_length=100)
    role: str = Field(default="employee", max_length=16)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    workshop_id: int | None = Field(default=None, foreign_key="workshop.id")
    post: str = Field(default="", max_length=100)
    portfolio: str = Field(default="", max_length=300)
    lang: str | None = Field(default=None, max_length=8)
    verified: bool = True
    active: bool = True
    created_at: datetime = _ts()


class Contact(SQLModel, table=True):
    """The contact vault: where a person is reached, per channel."""

    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=200)
    last_used_at: datetime | None = _ts(nullable=True)


class InviteCode(SQLModel, table=True):
    """A one-time code that links a chat account to a person (`/start <code>`)."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(unique=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=16)
    expires_at: datetime = _ts()
    used_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()


class Responsibility(SQLModel, table=True):
    """谁主管、谁负责: which leader answers for which complaint category."""

    __table_args__ = (UniqueConstraint("unit_id", "category"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    category: str = Field(max_length=32)
    leader_id: int = Field(foreign_key="person.id")


class ChainStep(SQLModel, table=True):
    """One step of a unit's emergency alert chain: notify these people, wait N minutes."""

    __table_args__ = (UniqueConstraint("unit_id", "position", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    position: int
    person_id: int = Field(foreign_key="person.id")
    wait_minutes: int = 10


class DutyEntry(SQLModel, table=True):
    """A published reception duty entry (领导接访)."""

    __table_args__ = (UniqueConstraint("unit_id", "day", "leader_id"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    day: date = Field(index=True)
    start: time
    end: time
    place: str = Field(max_length=200)
    leader_id: int = Field(foreign_key="person.id")
    post: str = Field(default="", max_length=100)
    portfolio: str = Field(default="", max_length=300)
    form: str = Field(default="fixed", max_length=16)  # fixed | invited | topic | onsite


class CalendarDay(SQLModel, table=True):
    """A holiday (workday False) or swapped workday (True) from the organisation file."""

    day: date = Field(primary_key=True)
    workday: bool


# --- conversations ----------------------------------------------------------------


class Conversation(SQLModel, table=True):
    """Conversation state of one chat address (the SQL state store)."""

    key: str = Field(primary_key=True, max_length=240)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 0
    updated_at: datetime | None = _ts(nullable=True)


class InboundMessage(SQLModel, table=True):
    """Every processed platform message, unique on its id: re-delivery is absorbed here."""

    __table_args__ = (UniqueConstraint("channel", "message_id"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    message_id: str = Field(max_length=128)
    conversation_key: str = Field(max_length=240, index=True)
    received_at: datetime = _ts()
    replies: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state_version: int = 0
    # The draft a submission came from: lets a re-delivery show a receipt code again
    # (it is derived from the server secret and never stored).
    draft_key: str | None = Field(default=None, max_length=64)
    state: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Sequence(SQLModel, table=True):
    """Counters for human-readable numbers (S-2026-0001)."""

    name: str = Field(primary_key=True, max_length=32)
    value: int = 0


# --- records ----------------------------------------------------------------------


class Suggestion(SQLModel, table=True):
    """An entry of the opinion archive (舆情档案)."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=32)
    draft_key: str = Field(unique=True, max_length=64)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    topic: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    anonymous: bool = False
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    # An anonymous suggester reads the answer with a receipt code, as a complainant does.
    receipt_hash: str | None = Field(default=None, unique=True, max_length=128)
    channel: str = Field(max_length=16)
    created_at: datetime = _ts()
    # Every suggestion gets an answer (事事有回音): registered -> answered. The answer's
    # kind says what became of it: adopted (采纳), noted (留作参考), declined (暂不采纳).
    status: str = Field(default="registered", max_length=16, index=True)
    answer_kind: str | None = Field(default=None, max_length=16)
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_by: int | None = Field(default=None, foreign_key="person.id")
    answered_at: datetime | None = _ts(nullable=True)


class Case(SQLModel, table=True):
    """A registered complaint (反映问题), followed by one person end to end."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=32)
    draft_key: str = Field(unique=True, max_length=64)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    category: str = Field(max_length=32, index=True)
    description: str = Field(sa_column=Column(Text, nullable=False))
    since: str = Field(max_length=100)
    affected: int
    cosigners: int = 0
    workshop_id: int | None = Field(default=None, foreign_key="workshop.id")
    outcome_wanted: str = Field(sa_column=Column(Text, nullable=False))
    anonymous: bool = False
    complainant_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    receipt_hash: str | None = Field(default=None, unique=True, max_length=128)
    handler_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    leader_case: bool = False
    leader_case_reason: str | None = Field(default=None, max_length=32)
    status: str = Field(default="registered", max_length=16)
    deadline_days: int = 60
    due_on: date
    # The day the running deadline started: registration, or the day it was reopened.
    deadline_from: date | None = None
    channel: str = Field(max_length=16)
    created_at: datetime = _ts()
    # A letter to a leader (领导来信, 001 (二)): written to `addressed_to` (read by them),
    # or to no leader in particular (None: routed by portfolio as a complaint).
    letter: bool = False
    addressed_to: int | None = Field(default=None, foreign_key="person.id")
    # 五定 of a leader case: lead leader, department head, person responsible, the closing
    # and report date, the return-visit plan (filled by a leader in chat).
    lead_leader_id: int | None = Field(default=None, foreign_key="person.id")
    dept_head: str | None = Field(default=None, max_length=100)
    responsible: str | None = Field(default=None, max_length=100)
    report_on: date | None = None
    return_visit_plan: str | None = Field(default=None, max_length=300)
    reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    replied_at: datetime | None = _ts(nullable=True)
    rating: str | None = Field(default=None, max_length=16)
    reopens: int = 0
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    closed_at: datetime | None = _ts(nullable=True)


class Extension(SQLModel, table=True):
    """A handler's request for more time on a case, and the decision on it."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    requested_by: int = Field(foreign_key="person.id")
    days: int
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | approved | refused
    decided_by: int | None = Field(default=None, foreign_key="person.id")
    decided_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()


class CaseEvent(SQLModel, table=True):
    """The case's timeline."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    at: datetime = _ts()
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    kind: str = Field(max_length=32)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))


class Booking(SQLModel, table=True):
    """A visit booked with the leader on reception duty."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=32)
    draft_key: str = Field(unique=True, max_length=64)
    duty_entry_id: int = Field(foreign_key="dutyentry.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    topic: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="booked", max_length=16)  # booked | cancelled | missed
    channel: str = Field(max_length=16)
    created_at: datetime = _ts()
    cancelled_at: datetime | None = _ts(nullable=True)


class Incident(SQLModel, table=True):
    """An emergency / group incident report (群体性突发事件)."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=32)
    draft_key: str = Field(unique=True, max_length=64)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    what: str = Field(sa_column=Column(Text, nullable=False))
    place: str = Field(max_length=300)
    people: int | None = None
    measures: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    suggestion: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    workshop_id: int | None = Field(default=None, foreign_key="workshop.id")
    # Indexed: a report is looked up by its reporter as it is filed (their own open one).
    reporter_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    reporter_role: str = Field(default="employee", max_length=16)
    status: str = Field(default="open", max_length=16)
    channel: str = Field(max_length=16)
    created_at: datetime = _ts()
    # The alert chain: the step last notified and the round (the chain repeats until
    # someone acknowledges).
    chain_position: int = 1
    chain_round: int = 1
    acknowledged_at: datetime | None = _ts(nullable=True)
    handled_at: datetime | None = _ts(nullable=True)
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    archived_at: datetime | None = _ts(nullable=True)


class IncidentReport(SQLModel, table=True):
    """A report an incident owes, with its due time: the 1-hour first report and the
    2-hour opinion report to the upper union, the 30-minute closing report, the archiving."""

    __table_args__ = (UniqueConstraint("incident_id", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: str = Field(max_length=16)  # first | opinion | closing | archive
    due_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)
    late: bool = False
    sent_by: int | None = Field(default=None, foreign_key="person.id")
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Attachment(SQLModel, table=True):
    """A file sent with a complaint or an emergency report: a photo, video, voice note or
    document."""

    id: int | None = Field(default=None, primary_key=True)
    # case | incident | text (a text to the hotline with no number: its InboundMessage)
    subject: str = Field(max_length=16)
    subject_id: int = Field(index=True)
    channel: str = Field(max_length=16)
    kind: str = Field(max_length=16)  # photo | video | voice | file
    # The platform's lasting id of the file (Telegram's file_id), to fetch it again.
    file_ref: str = Field(max_length=300)
    mime_type: str | None = Field(default=None, max_length=100)
    size: int | None = None
    created_at: datetime = _ts()


# --- alerts, outbox, timers -------------------------------------------------------


class Alert(SQLModel, table=True):
    """An alert a person must acknowledge (收到); a case's, until the case is passed on
    from them to someone else (`passed_to`, at `passed_at`): then it waits for nothing,
    until the case comes back to them."""

    __table_args__ = (UniqueConstraint("subject", "subject_id", "recipient_id"),)
    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=16)  # incident | case | booking
    subject_id: int
    recipient_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = _ts()
    passed_to: int | None = Field(default=None, foreign_key="person.id")
    passed_at: datetime | None = _ts(nullable=True)


class Acknowledgement(SQLModel, table=True):
    """Who acknowledged an alert, and when."""

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", unique=True)
    person_id: int = Field(foreign_key="person.id")
    channel: str = Field(max_length=16)
    at: datetime = _ts()


class Notification(SQLModel, table=True):
    """The outbox: every push is a row, written with the fact it announces."""

    # A chat's pushes still pending, found without reading every pending push: each step
    # and each claim looks for them, and a backlog (the platform down for an hour) can
    # be tens of thousands of rows.
    __table_args__ = (Index("ix_notification_chat", "channel", "address", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=160)
    recipient_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    channel: str | None = Field(default=None, max_length=16)
    address: str | None = Field(default=None, max_length=200)
    message_key: str = Field(max_length=80)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    alert_id: int | None = Field(default=None, foreign_key="alert.id")
    priority: int = 5  # 0 = emergency, goes first
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = _ts(index=True)
    claimed_until: datetime | None = _ts(nullable=True)
    tried_channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    delivered_channel: str | None = Field(default=None, max_length=16)
    # Where it went and the platform's id of the message, to edit it later (an alert
    # shows who acknowledged it).
    delivered_address: str | None = Field(default=None, max_length=200)
    delivered_ref: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _ts()


class InboxMessage(SQLModel, table=True):
    """A delivered push waiting in a web-chat or console inbox."""

    # The poll's second read: the rows of one inbox written by transactions a snapshot
    # had not seen (see xact).
    __table_args__ = (Index("ix_inboxmessage_address_xact", "address", "xact"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=200, index=True)
    notification_id: int | None = Field(default=None, foreign_key="notification.id", unique=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    buttons: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()
    # An edit in place (an alert acknowledged): the page fetches what changed since it
    # last looked, and shows a version newer than its own.
    edited_at: datetime | None = _ts(nullable=True)
    version: int = 0
    # The transaction that wrote it (PostgreSQL; NULL on SQLite): ids are taken at insert
    # and commits come in any order, so a poll that saw id N+1 may not yet have seen N.
    # The poll keeps its snapshot, and the next one also brings the rows written by a
    # transaction that snapshot had not seen (web/app.py inbox).
    xact: int | None = Field(default=None, sa_column=Column(
        BigInteger, nullable=True, default=CurrentXact()))


class Timer(SQLModel, table=True):
    """Something due at a time; the scheduler sweeps what is due (DESIGN rule 5)."""

    __table_args__ = (UniqueConstraint("kind", "ref"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    ref: str = Field(max_length=240)
    due_at: datetime = _ts(index=True)
    done_at: datetime | None = _ts(nullable=True)
    claimed_until: datetime | None = _ts(nullable=True)
    attempts: int = 0


class IdentityRead(SQLModel, table=True):
    """Audit of every read of a complainant's identity (DESIGN rule 8)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    reader_id: int | None = Field(default=None, foreign_key="person.id")
    purpose: str = Field(max_length=64)
    at: datetime = _ts()


class Heartbeat(SQLModel, table=True):
    """When each scheduler process last ticked: `workroom doctor` reads it."""

    name: str = Field(primary_key=True, max_length=120)
    beat_at: datetime = _ts()
    started_at: datetime = _ts()


# --- hotline ----------------------------------------------------------------------


class HotlineCall(SQLModel, table=True):
    """A call to (or from) the hotline, step by step; or a report staff filed for a caller.

    The caller's number is never here: `person_id` points into the contact vault.
    """

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, max_length=80)  # the provider's CallSid, or "filed:<draft>"
    purpose: str = Field(default="report", max_length=16)  # report | alert | filed
    person_id: int | None = Field(default=None, foreign_key="person.id")
    kind: str | None = Field(default=None, max_length=16)  # incident | complaint | staff
    step: str = Field(default="menu", max_length=16)
    tries: int = 0
    said: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recording_url: str | None = Field(default=None, max_length=500)
    people: int | None = None
    subject: str | None = Field(default=None, max_length=16)  # incident | case
    subject_id: int | None = None
    # A leader's alert call: the alert it reads and takes "press 1" for.
    alert_id: int | None = Field(default=None, foreign_key="alert.id")
    filed_by: int | None = Field(default=None, foreign_key="person.id")
    # How long the recording in recording_url is, in seconds, when the provider said.
    recording_seconds: int | None = None
    # A call that left no report: who of the staff called the caller back, and when.
    called_back_by: int | None = Field(default=None, foreign_key="person.id")
    called_back_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    ended_at: datetime | None = _ts(nullable=True)


class IncidentLink(SQLModel, table=True):
    """A later report of an incident already being handled: linked, not a second chain."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    draft_key: str = Field(unique=True, max_length=64)
    reporter_id: int | None = Field(default=None, foreign_key="person.id")
    channel: str = Field(max_length=16)
    what: str = Field(sa_column=Column(Text, nullable=False))
    place: str = Field(default="", max_length=300)
    people: int | None = None
    measures: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    suggestion: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _ts()


class ComplaintCluster(SQLModel, table=True):
    """Complaints of one kind from one workshop close together: a suspected group incident."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    workshop_id: int = Field(foreign_key="workshop.id", index=True)
    category: str = Field(max_length=32)
    cases: int = 0
    first_at: datetime = _ts()
    last_at: datetime = _ts()
    raised_at: datetime | None = _ts(nullable=True)


# --- wechat -----------------------------------------------------------------------


class SharedValue(SQLModel, table=True):
    """A short-lived value every process sees when there is no Redis: a callback nonce
    already used, a platform access token, a lease on refreshing it."""

    key: str = Field(primary_key=True, max_length=200)
    value: str = Field(default="", sa_column=Column(Text, nullable=False))
    expires_at: datetime = _ts(index=True)


class HeldInbound(SQLModel, table=True):
    """A WeChat message answered `success` before its step committed (WeChat's 5 seconds
    ran out): kept until it has been stepped, and stepped again by a timer if this process
    dies first (DESIGN rule 1)."""

    __table_args__ = (UniqueConstraint("channel", "message_id"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    message_id: str = Field(max_length=128)
    inbound: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    held_at: datetime = _ts()


class MediaFile(SQLModel, table=True):
    """The bytes of a record's file (a photo, video, voice note or document), fetched from
    its platform after it arrived (a WeChat media id lasts three days; a Telegram file id
    works only for the bot token that received it). An Attachment of the same channel and
    file_ref is a record's file; bytes that no record took are forgotten."""

    __table_args__ = (UniqueConstraint("channel", "file_ref"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    file_ref: str = Field(max_length=300)
    conversation_key: str = Field(max_length=240)
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    mime_type: str | None = Field(default=None, max_length=100)
    size: int | None = None
    received_at: datetime = _ts()
    fetched_at: datetime | None = _ts(nullable=True)


# --- calendar: reception roster, visit ledger, liaison returns, reports ---
from store.calendar_models import (  # noqa: E402, F401
    Dispute,
    DutyOverride,
    DutyPublished,
    FieldVisit,
    Invitation,
    LeaderAway,
    Report,
    RosterPlan,
    ScreeningReturn,
    ScreeningRound,
    VisitRecord,
    WorkLog,
)
