"""Who holds a case, so that none is silently lost (包人包案, 件件有着落).

- A new case goes to the leader responsible for its category; while that leader is away
  (leave or business trip: the organisation file's `away:`, or leave recorded in chat for
  the roster) it goes to the workroom's director, who owns the workroom and is the first
  to be alerted (DOMAIN), and the words say why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from handlers.context import people_of
from store.calendar_models import LeaderAway
from store.models import (
    Case,
    CaseEvent,
    Person,
    Responsibility,
)

# --- who takes a case --------------------------------------------------------------------


@dataclass(frozen=True)
class Assignee:
    """Who takes a case of a category: `person`; `instead_of` the leader responsible,
    away (`away`: leave | trip) until `until`, when they are passed over."""

    person: Person | None
    instead_of: Person | None = None
    away: str | None = None
    until: date | None = None


def away_on(session: Session, unit_id: int | None, person_id: int, day: date
            ) -> LeaderAway | None:
    """The absence (leave, trip; from the file or recorded in chat) of a person on a day."""
    if unit_id is None:
        return None
    return session.exec(select(LeaderAway).where(
        LeaderAway.unit_id == unit_id, LeaderAway.person_id == person_id,
        col(LeaderAway.first_day) <= day, col(LeaderAway.last_day) >= day)
        .order_by(col(LeaderAway.last_day).desc(), col(LeaderAway.id).desc())).first()


def assignee(session: Session, unit_id: int | None, category: str, day: date, *,
             but: int | None = None) -> Assignee:
    """Who takes a case of `category` on `day`: the leader responsible for it; the
    director when that leader is away that day or is `but` (a person who has left); None
    when the unit names nobody for the category."""
    owner = session.exec(select(Responsibility).where(
        Responsibility.unit_id == unit_id, Responsibility.category == category)).first()
    if owner is None:
        return Assignee(None)
    leader = session.get(Person, owner.leader_id)
    directors = [p for p in people_of(session, unit_id, ("director",)) if p.id != but]
    director = directors[0] if directors else None
    if leader is not None and leader.active and leader.id != but:
        assert leader.id is not None
        gone = away_on(session, unit_id, leader.id, day)
        if gone is None or director is None or director.id == leader.id:
            return Assignee(leader)
        return Assignee(director, instead_of=leader, away=gone.kind, until=gone.last_day)
    return Assignee(director)


AWAY_EVENT = "leader_away"  # the timeline's line of a case given to the director instead


def away_note(who: Assignee) -> str:
    """The timeline note of a case given to someone else while its leader is away:
    "kind|until|leader|handler" (handlers.notices.note_words puts it in words)."""
    assert who.instead_of is not None and who.person is not None and who.until is not None
    return f"{who.away}|{who.until.isoformat()}|{who.instead_of.name}|{who.person.name}"


@dataclass(frozen=True)
class Away:
    """Why a case is not with the leader responsible: away (leave | trip) until a day."""

    kind: str
    until: str
    leader: str
    handler: str


def parse_away(note: str) -> Away | None:
    parts = note.split("|", 3)
    return Away(*parts) if len(parts) == 4 else None


def away_of(session: Session, case: Case) -> Away | None:
    """Why the case was registered with someone other than its leader, if it was."""
    row = session.exec(select(CaseEvent.note).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == AWAY_EVENT)
        .order_by(col(CaseEvent.id))).first()
    return parse_away(row) if row is not None else None
