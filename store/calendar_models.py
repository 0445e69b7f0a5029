"""Tables of the workroom's calendar: the reception roster and its publication, the visit
ledger, the liaisons' monthly screening and the warning ledger, the reports to the upper
union, shop-floor visits and the work log."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.types import UTCDateTime


def _ts(nullable: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


# --- reception roster (领导接访) ------------------------------------------------------


class RosterPlan(SQLModel, table=True):
    """The unit's reception rotation and when the roster is published (公示)."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", unique=True)
    # Party and administration leaders taking the working days in turn.
    leaders: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Union leaders receive any day (工会领导随时接访): shown with every publication.
    union_leaders: list[int] = Field(default_factory=list,
                                     sa_column=Column(JSON, nullable=False))
    start: time
    end: time
    place: str = Field(max_length=200)
    form: str = Field(default="fixed", max_length=16)
    # Publication: on this weekday (0 = Monday; None = every day) at this time, every entry
    # of the next `horizon_days` days not yet published.
    publish_weekday: int | None = 3
    publish_at: time = time(16, 0)
    horizon_days: int = 10
    source: str = Field(default="file", max_length=8)  # file | chat
    updated_at: datetime = _ts()


class LeaderAway(SQLModel, table=True):
    """A leader away (leave, business trip): the rotation skips them those days."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    first_day: date
    last_day: date
    kind: str = Field(default="leave", max_length=8)  # leave | trip
    source: str = Field(default="chat", max_length=8)  # file | chat
    created_at: datetime = _ts()


class DutyOverride(SQLModel, table=True):
    """A day whose leader was set by hand (a swap): the rotation keeps it on reloads."""

    __table_args__ = (UniqueConstraint("unit_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    day: date
    leader_id: int = Field(foreign_key="person.id")
    reason: str = Field(default="", max_length=300)
    by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = _ts()


class DutyPublished(SQLModel, table=True):
    """When a duty entry was published to the employees, and whether that was late."""

    id: int | None = Field(default=None, primary_key=True)
    duty_entry_id: int = Field(foreign_key="dutyentry.id", unique=True)
    leader_id: int = Field(foreign_key="person.id")  # the leader as published
    published_at: datetime = _ts()
    due_on: date  # the last day it could be published in time
    late: bool = False


# --- the visit ledger (接访台帐) --------------------------------------------------------


class VisitRecord(SQLModel, table=True):
    """One visit received by a leader, filled in by the leader after it."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=32)
    draft_key: str = Field(unique=True, max_length=64)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    duty_entry_id: int | None = Field(default=None, foreign_key="dutyentry.id")
    booking_id: int | None = Field(default=None, foreign_key="booking.id", unique=True)
    leader_id: int = Field(foreign_key="person.id")
    visited_on: date = Field(index=True)
    form: str = Field(default="fixed", max_length=16)
    visitor: str = Field(max_length=100)
    visitor_unit: str = Field(max_length=100)
    problem: str = Field(sa_column=Column(Text, nullable=False))
    cause: str = Field(sa_column=Column(Text, nullable=False))
    opinion: str = Field(sa_column=Column(Text, nullable=False))
    responsible: str = Field(max_length=100)
    solved: bool = True
    # False: a booked visitor who did not come (未到); the entry closes the booking.
    came: bool = True
    result: str = Field(sa_column=Column(Text, nullable=False))
    instruction: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    case_id: int | None = Field(default=None, foreign_key="case.id")
    created_at: datetime = _ts()


# --- liaison returns (联络员) ------------------------------------------------------------


class ScreeningRound(SQLModel, table=True):
    """A month's dispute screening (矛盾纠纷排查, 25th–30th) of a unit."""

    __table_args__ = (UniqueConstraint("unit_id", "month"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    month: str = Field(max_length=7)  # 2026-11
    asked_at: datetime = _ts()
    chased_at: datetime | None = _ts(nullable=True)
    reported_at: datetime | None = _ts(nullable=True)


class ScreeningReturn(SQLModel, table=True):
    """One workshop's return of a screening round."""

    __table_args__ = (UniqueConstraint("round_id", "workshop_id"),)
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="screeninground.id", index=True)
    workshop_id: int = Field(foreign_key="workshop.id")
    liaison_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    status: str = Field(default="pending", max_length=16)  # pending | zero | reported
    answered_at: datetime | None = _ts(nullable=True)
    answered_by: int | None = Field(default=None, foreign_key="person.id")
    late: bool = False


class Dispute(SQLModel, table=True):
    """A dispute found by the screening; a high risk puts it on the warning ledger."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=32)
    draft_key: str = Field(unique=True, max_length=64)
    return_id: int = Field(foreign_key="screeningreturn.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    workshop_id: int = Field(foreign_key="workshop.id")
    what: str = Field(sa_column=Column(Text, nullable=False))
    people: int
    risk: str = Field(max_length=8)  # low | medium | high
    lead_dept: str = Field(max_length=100)
    lead_person: str = Field(max_length=100)
    measures: str = Field(sa_column=Column(Text, nullable=False))
    deadline: date
    warning: bool = False  # on the warning ledger (预警台帐)
    case_id: int | None = Field(default=None, foreign_key="case.id")
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = _ts()


# --- reports to the upper union ----------------------------------------------------------


class Report(SQLModel, table=True):
    """A periodic report the bot drafts and the director approves: the monthly opinion
    report (舆情, before the 20th) and the weekly report (周通报, Thursdays by 17:00)."""

    __table_args__ = (UniqueConstraint("unit_id", "kind", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    kind: str = Field(max_length=16)  # opinion | weekly | info | letters (quarterly)
    period: str = Field(max_length=16)  # 2026-11 | 2026-W48 | I-2026-0001 | 2026-Q3
    first_day: date
    last_day: date
    # draft -> submitted -> sent; returned goes back to the staff
    status: str = Field(default="draft", max_length=16)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    returned_reason: str | None = Field(default=None, max_length=500)
    due_at: datetime = _ts()
    drafted_at: datetime = _ts()
    submitted_at: datetime | None = _ts(nullable=True)
    approved_by: int | None = Field(default=None, foreign_key="person.id")
    sent_at: datetime | None = _ts(nullable=True)
    late: bool = False


# --- shop-floor visits and the work log ----------------------------------------------------


class FieldVisit(SQLModel, table=True):
    """A staff member's visit to the shop floor (下基层, 1–2 a week)."""

    id: int | None = Field(default=None, primary_key=True)
    draft_key: str = Field(unique=True, max_length=64)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    staff_id: int = Field(foreign_key="person.id", index=True)
    workshop_id: int = Field(foreign_key="workshop.id")
    talked_with: str = Field(max_length=300)
    issues: str = Field(sa_column=Column(Text, nullable=False))
    visited_on: date = Field(index=True)
    created_at: datetime = _ts()


class WorkLog(SQLModel, table=True):
    """The work log (工作日志; 蹲点 日记录、周报告、月交流): a daily entry, the weekly report
    drafted from a week's entries, a monthly exchange's minutes."""

    __table_args__ = (UniqueConstraint("person_id", "kind", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=16)  # daily | weekly | exchange
    # The day (2026-11-23), the week (2026-W48) or, for minutes, the draft they came from.
    period: str = Field(max_length=64)
    day: date
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts()


class Invitation(SQLModel, table=True):
    """An invited appointment (重点约访) of a complainant about an open case, or a leader's
    visit to the site with the case (带案下访)."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    kind: str = Field(max_length=8)  # invited | onsite
    case_id: int = Field(foreign_key="case.id", index=True)
    duty_entry_id: int = Field(foreign_key="dutyentry.id", index=True)
    booking_id: int | None = Field(default=None, foreign_key="booking.id", unique=True)
    workshop_id: int | None = Field(default=None, foreign_key="workshop.id")
    note: str = Field(sa_column=Column(Text, nullable=False))
    # invited -> accepted | moved (the employee chose another time); onsite: scheduled
    status: str = Field(default="invited", max_length=16)
    by_id: int | None = Field(default=None, foreign_key="person.id")
    draft_key: str = Field(unique=True, max_length=64)
    created_at: datetime = _ts()
    answered_at: datetime | None = _ts(nullable=True)
