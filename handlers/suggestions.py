"""A suggestion's answer: the staff record it, the suggester hears it (事事有回音).

A suggestion is registered, then answered once: what became of it (adopted, noted, not
adopted) and the words the suggester reads. A named suggester gets the answer pushed; an
anonymous one reads it with the receipt code given at filing, as an anonymous
complainant reads a reply. The staff never learn who wrote a suggestion: its answer goes
to the suggester by the record, not by a name they see. Suggestions left unanswered are
put before the staff every week, with the weekly report's draft.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from conversations import catalog
from conversations.flow import Result, Submission
from handlers import alerts
from handlers.context import HandlerContext, people_of, receipt_hash
from store import outbox
from store.models import Person, Suggestion

REGISTERED, ANSWERED = "registered", "answered"
QUOTE = 20  # characters of a suggestion quoted in a list
ANSWER_SHOWN = 300  # characters of an answer in the suggester's own list
WAITING_DAYS = 7  # unanswered this long: put before the staff in the weekly reminder
WAITING_LISTED = 10


def brief(text: str, length: int = QUOTE) -> str:
    """The start of a text, on one line, cut with "…" when longer."""
    one = " ".join(text.split())
    return one if len(one) <= length else one[:length - 1] + "…"


def option_label(row: Suggestion, lang: str) -> str:
    """A suggestion as the staff choose it: number, topic and a short quote (no author)."""
    return catalog.t(lang, "answer_suggestion.option", number=row.number,
                     topic=catalog.t(lang, f"opt.topic.{row.topic}"), quote=brief(row.text))


def waiting(session: Session, unit_id: int | None, limit: int | None = None,
            only: int | None = None) -> list[Suggestion]:
    """The unit's suggestions not answered yet, newest first."""
    stmt = select(Suggestion).where(Suggestion.unit_id == unit_id,
                                    Suggestion.status == REGISTERED)
    if only is not None:
        stmt = stmt.where(Suggestion.id == only)
    stmt = stmt.order_by(col(Suggestion.created_at).desc(), col(Suggestion.id).desc())
    return list(session.exec(stmt.limit(limit) if limit else stmt).all())


# --- the staff answer -------------------------------------------------------------------


def answer(ctx: HandlerContext, sub: Submission) -> Result:
    """Record the answer to a suggestion and send it to a named suggester, in one
    transaction; a suggestion someone answered meanwhile is not answered twice."""
    s, a = ctx.session, sub.answers
    chosen = str(a["suggestion"])
    row = s.get(Suggestion, int(chosen)) if chosen.isdigit() else None
    if row is None or row.id is None or row.unit_id != ctx.unit_id():
        return Result("answer_suggestion.gone", {}, back_to="suggestion")
    if row.status == ANSWERED:
        return Result(*answered_already(s, row, ctx.zone), back_to="suggestion")
    row.status, row.answer_kind, row.answer = ANSWERED, a["kind"], a["answer"]
    row.answered_by, row.answered_at = ctx.actor.id, ctx.now
    s.add(row)
    params = {"number": row.number,
              "kind": catalog.t(sub.lang, f"opt.answer_kind.{row.answer_kind}")}
    if row.anonymous or row.person_id is None:
        return Result("answer_suggestion.done.anonymous", params)
    if not alerts.reachable(s, row.person_id, texts=ctx.texts):
        return Result("answer_suggestion.done.unreachable", params)
    outbox.enqueue(s, key=f"suggestion:{row.id}:answered", recipient_id=row.person_id,
                   message="notice.suggestion_answered", now=ctx.now, priority=outbox.ALERT,
                   params={"number": row.number, "topic": f"@opt.topic.{row.topic}",
                           "kind": f"@opt.answer_kind.{row.answer_kind}",
                           "answer": row.answer})
    return Result("answer_suggestion.done.named", params)


def answered_already(s: Session, row: Suggestion, zone: ZoneInfo
                     ) -> tuple[str, dict[str, Any]]:
    """Who answered the suggestion, and when: said to someone about to answer it too."""
    by = s.get(Person, row.answered_by) if row.answered_by else None
    at = row.answered_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if row.answered_at else ""
    return "answer_suggestion.already", {"number": row.number, "name": by.name if by else "",
                                         "at": at}


# --- the suggester reads it ----------------------------------------------------------------


def by_hash(session: Session, hashed: str) -> Suggestion | None:
    """The anonymous suggestion of a receipt code's hash, if it is one."""
    return session.exec(select(Suggestion).where(Suggestion.receipt_hash == hashed)).first()


def by_code(ctx: HandlerContext, sub: Submission) -> Result | None:
    """An anonymous suggestion's state and answer, by its receipt code; None if the code
    is not a suggestion's."""
    row = ctx.session.exec(select(Suggestion).where(
        Suggestion.receipt_hash == receipt_hash(sub.answers["code"]))).first()
    if row is None:
        return None
    return Result(*_state(row, sub.lang, ctx.zone))


def _state(row: Suggestion, lang: str, zone: ZoneInfo) -> tuple[str, dict[str, Any]]:
    topic = catalog.t(lang, f"opt.topic.{row.topic}")
    if row.status == ANSWERED and row.answer is not None:
        return "receipt.suggestion_answered", {
            "number": row.number, "topic": topic,
            "kind": catalog.t(lang, f"opt.answer_kind.{row.answer_kind}"),
            "answered_on": _day(row.answered_at, zone), "answer": row.answer}
    return "receipt.suggestion_waiting", {"number": row.number, "topic": topic,
                                          "registered_on": _day(row.created_at, zone)}


def _day(at: datetime | None, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d") if at else ""


def my_lines(ctx: HandlerContext, lang: str, limit: int) -> list[str]:
    """The person's own named suggestions, newest first, each with its answer if any."""
    if ctx.actor.id is None:
        return []
    rows = ctx.session.exec(select(Suggestion).where(Suggestion.person_id == ctx.actor.id)
                            .order_by(col(Suggestion.created_at).desc(),
                                      col(Suggestion.id).desc()).limit(limit)).all()
    out = []
    for row in rows:
        common = {"number": row.number, "topic": catalog.t(lang, f"opt.topic.{row.topic}"),
                  "quote": brief(row.text)}
        if row.status == ANSWERED and row.answer is not None:
            out.append(catalog.t(lang, "query.my_cases.suggestion_answered", **common,
                                 kind=catalog.t(lang, f"opt.answer_kind.{row.answer_kind}"),
                                 answer=brief(row.answer, ANSWER_SHOWN)))
        else:
            out.append(catalog.t(lang, "query.my_cases.suggestion_waiting", **common))
    return out


# --- the weekly reminder -------------------------------------------------------------------


def remind_waiting(s: Session, unit_id: int, *, now: datetime, zone: ZoneInfo,
                   period: str) -> int:
    """Tell the staff (or the director, when the unit has no staff) which suggestions have
    waited a week or more for an answer; once per `period`. Returns the pushes written."""
    cutoff = now - timedelta(days=WAITING_DAYS)
    rows = s.exec(select(Suggestion).where(
        Suggestion.unit_id == unit_id, Suggestion.status == REGISTERED,
        col(Suggestion.created_at) <= cutoff)
        .order_by(col(Suggestion.created_at), col(Suggestion.id))).all()
    if not rows:
        return 0
    listed = [["notice.suggestion_waiting_line",
               {"number": r.number, "topic": f"@opt.topic.{r.topic}",
                "registered_on": _day(r.created_at, zone), "quote": brief(r.text)}]
              for r in rows[:WAITING_LISTED]]
    params = {"count": len(rows), "days": WAITING_DAYS, "lines": listed,
              "actions": [["menu.answer_suggestion", "flow:answer_suggestion"]]}
    sent = 0
    for p in people_of(s, unit_id, ("staff",)) or people_of(s, unit_id, ("director",)):
        outbox.enqueue(s, key=f"suggestions_waiting:{unit_id}:{period}:{p.id}",
                       recipient_id=p.id, message="notice.suggestions_waiting", now=now,
                       params=params, priority=outbox.ALERT)
        sent += 1
    return sent
