"""The case lifecycle as one transition table: who may move a case, from where, and why.

registered → assigned → in_progress → replied → follow_up → closed, and reopened when the
complainant is not satisfied. Every move is a CaseEvent in the case's timeline; a move the
table does not allow is refused with a reason and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from handlers.context import HandlerContext
from store.models import Case, CaseEvent, Person, Responsibility

OPEN = ("registered", "assigned", "in_progress", "replied", "follow_up", "reopened")
WORKING = ("assigned", "in_progress", "reopened")


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str | None  # None: the status stays (a note on the timeline, a new handler…)
    who: tuple[str, ...]  # handler, supervisor, lead_leader, director, staff, complainant
    why: str
    barred: tuple[str, ...] = ()  # capacities that may not, even when another allows it
    stays: tuple[str, ...] = ()  # statuses the move leaves as they are (a rating once closed)
    # Capacities whose move sets `target`; empty: anyone's who may. Another's move goes on
    # the timeline and leaves the status as it was.
    moves_status: tuple[str, ...] = ()


TRANSITIONS: dict[str, Transition] = {
    "assign": Transition(("registered",), "assigned", ("staff", "director"),
                         "the workroom registers a case and gives it one handler (包人包案)"),
    "note": Transition(WORKING, "in_progress", ("handler", "staff"),
                       "the handler records what was done, the first note starts the work; "
                       "the workroom's staff add what they learn supervising it, which "
                       "starts nothing: the complainant still reads 已交办",
                       moves_status=("handler",)),
    "reassign": Transition(WORKING, None, ("handler", "staff", "director"),
                           "a case goes to who can solve it, with a reason on the timeline"),
    "reclassify": Transition(("registered", *WORKING), None, ("staff", "director"),
                             "the workroom files a case under the category it belongs to "
                             "while it is handled (分类处理: the complaint form promises it "
                             "for 其他); one still only assigned by category goes to the new "
                             "category's leader"),
    "five_fix": Transition(WORKING, None, ("handler", "lead_leader", "director"),
                           "a leader case gets its 五定 before the work goes on"),
    "extend": Transition(WORKING, None, ("handler",),
                         "the handler asks for more time, with a reason"),
    "extended": Transition(WORKING, None, ("director", "lead_leader"),
                           "the director or the lead leader decides on more time"),
    "reply": Transition(WORKING, "replied", ("handler",),
                        "every matter gets an answer (事事有回音)"),
    # A case is often closed right after its reply: its complainant may still rate it for
    # a while (casework.RATE_DAYS_AFTER_CLOSING); rated then, it stays closed.
    "rate": Transition(("replied", "follow_up", "closed"), "follow_up", ("complainant",),
                       "the complainant's own judgement is the measure (会员评家)",
                       stays=("closed",)),
    "reopen": Transition(("replied", "follow_up", "closed"), "reopened", ("complainant",),
                         "an unsatisfied complainant sends the case to the supervisor, "
                         "also one closed before they could say so"),
    "return_visit": Transition(("replied", "follow_up"), "follow_up",
                               ("handler", "lead_leader"),
                               "the handler or lead leader visits the complainant again (回访)"),
    "close": Transition(("replied", "follow_up"), "closed", ("handler", "director"),
                        "a replied case is closed with its outcome (件件有着落)"),
    "urge": Transition(WORKING, None, ("supervisor", "lead_leader", "director", "staff"),
                       "those above the handler, and the workroom's staff who supervise "
                       "every case, press for the work, with what and by when (督办); "
                       "nobody urges themselves",
                       barred=("handler",)),
}


class Refused(Exception):
    """A move the table does not allow; `key` names the catalog message that says why."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params


def supervisor_of(session: Session, case: Case) -> Person | None:
    """The handler's supervisor: the category's leader for staff, the director for a leader."""
    handler = session.get(Person, case.handler_id) if case.handler_id else None
    director = session.exec(select(Person).where(
        Person.role == "director", Person.unit_id == case.unit_id,
        Person.active == True)).first()  # noqa: E712
    if handler is None or handler.role == "director":
        return None if handler is not None else director
    if handler.role == "leader":
        return director
    owner = session.exec(select(Responsibility).where(
        Responsibility.unit_id == case.unit_id, Responsibility.category == case.category)).first()
    if owner is not None and owner.leader_id != handler.id:
        return session.get(Person, owner.leader_id)
    return director


def sees_identity(case: Case, reader: Person | None) -> bool:
    """Whether `reader` is of those handling the case, to whom its alert names who
    complained: its handler, its lead leader, the director of a leader case. Everyone else
    reads it without the name (a complainant's identity: DOMAIN, DESIGN rule 8)."""
    if reader is None or reader.id is None or case.anonymous:
        return False
    if reader.id in (case.handler_id, case.lead_leader_id):
        return True
    return case.leader_case and reader.role == "director" and reader.unit_id == case.unit_id


def capacities(session: Session, case: Case, actor: Person, *,
               complainant: bool = False) -> set[str]:
    """In which capacities `actor` stands towards this case."""
    held: set[str] = set()
    if actor.id is not None and actor.id == case.handler_id:
        held.add("handler")
    if actor.id is not None and actor.id == case.lead_leader_id:
        held.add("lead_leader")
    if actor.unit_id is not None and actor.unit_id == case.unit_id \
            and actor.role in ("director", "staff"):
        held.add(actor.role)
    if complainant or (actor.id is not None and actor.id == case.complainant_id):
        held.add("complainant")
    boss = supervisor_of(session, case)
    if boss is not None and boss.id == actor.id:
        held.add("supervisor")
    return held


def check(session: Session, case: Case, action: str, actor: Person, *,
          complainant: bool = False, held: set[str] | None = None) -> Transition:
    """Return the transition if `actor` may do `action` to the case now; else raise Refused.
    `held`: the actor's capacities, when the caller has them already (several checks)."""
    move = TRANSITIONS[action]
    if case.status not in move.sources:
        raise Refused("case.refused.state", number=case.number,
                      status=f"@status.{case.status}", action=f"@case.action.{action}")
    if held is None:
        held = capacities(session, case, actor, complainant=complainant)
    if held & set(move.barred):
        raise Refused("case.refused.barred", number=case.number,
                      action=f"@case.action.{action}",
                      who=" / ".join(f"@case.who.{w}" for w in sorted(held & set(move.barred))))
    if not held & set(move.who):
        raise Refused("case.refused.who", number=case.number,
                      action=f"@case.action.{action}",
                      who=" / ".join(f"@case.who.{w}" for w in move.who))
    return move


def move(ctx: HandlerContext, case: Case, action: str, note: str = "", *,
         complainant: bool = False) -> CaseEvent:
    """Apply `action` to the case: check the table, set the status, add it to the timeline."""
    held = capacities(ctx.session, case, ctx.actor, complainant=complainant)
    transition = check(ctx.session, case, action, ctx.actor, complainant=complainant, held=held)
    if transition.target is not None and case.status not in transition.stays and (
            not transition.moves_status or held & set(transition.moves_status)):
        case.status = transition.target
    if transition.target == "closed":
        case.closed_at = ctx.now
    elif case.status != "closed":  # reopened after closing: no longer closed, nor counted so
        case.closed_at = None
    assert case.id is not None
    event = CaseEvent(case_id=case.id, at=ctx.now, kind=action, note=note,
                      actor_id=None if complainant and case.anonymous else ctx.actor.id)
    ctx.session.add(case)
    ctx.session.add(event)
    ctx.session.flush()
    if not complainant:
        from handlers import alerts  # alerts' edits go through notices: imported late

        alerts.taken_up(ctx, "case", case.id)
    return event
