"""Read-only answers: my cases, my alerts, open cases, a case's status by receipt code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, and_, col, func, not_, or_, select

from conversations import catalog
from conversations.engine import Button, Reply
from conversations.flow import Result, Submission
from handlers import casework, notices, suggestions
from handlers.context import HandlerContext, receipt_hash
from store.models import (
    Acknowledgement,
    Alert,
    Case,
    CaseEvent,
    Incident,
    IncidentLink,
    Notification,
    Person,
)

OPEN = ("registered", "assigned", "in_progress", "replied", "follow_up", "reopened")
_LIMIT = 10
_WHAT = 60  # characters of an emergency's "what" in a list


def case_what(session: Session, case: Case, lang: str) -> str:
    """A case as its writer knows it: its category; a letter, by whom it was written to."""
    category = catalog.t(lang, f"opt.category.{case.category}")
    named = notices.letter_named(session, case)
    if named is None:
        return category
    return catalog.t(lang, named["say"], to=named.get("to", ""), category=category)


def handling_words(session: Session, case: Case, lang: str) -> dict[str, str]:
    """What a case is about (the first words of its description) and to whom it went, as
    the lists of those who handle cases show it: never who complained."""
    handler = session.get(Person, case.handler_id) if case.handler_id else None
    return {"summary": notices.summary(case.description),
            "handler": catalog.t(lang, "case.handled_by", name=handler.name)
            if handler is not None else catalog.t(lang, "case.handled_by_nobody")}


def _case_line(case: Case, lang: str, zone: ZoneInfo | None = None,
               what: str | None = None) -> str:
    category = what or catalog.t(lang, f"opt.category.{case.category}")
    common = {"number": case.number, "category": category,
              "status": catalog.t(lang, f"status.{case.status}")}
    if case.status == "closed" and case.closed_at is not None:  # when, not the deadline
        closed = case.closed_at.astimezone(zone) if zone else case.closed_at
        return catalog.t(lang, "case.line_closed", **common,
                         closed_on=closed.date().isoformat())
    return catalog.t(lang, "case.line", **common, due_on=case.due_on.isoformat())


def run(ctx: HandlerContext, name: str, lang: str) -> list[Reply]:
    """Answer a menu query for the acting person."""
    return _QUERIES[name](ctx, lang)


def my_cases(ctx: HandlerContext, lang: str) -> list[Reply]:
    """The person's cases, and the emergencies they reported (their own report or one
    linked to an incident already being handled), with whether a leader has them."""
    rows = ctx.session.exec(select(Case).where(Case.complainant_id == ctx.actor.id)
                            .order_by(col(Case.created_at).desc()).limit(_LIMIT)).all()
    incidents = _my_incidents(ctx, lang)
    suggested = suggestions.my_lines(ctx, lang, _LIMIT)
    if not rows and not incidents and not suggested:
        return [Reply(catalog.t(lang, "query.my_cases.none"))]
    # Letters among them: the heading says so ("您反映的问题和写的信").
    title = "query.my_cases.title_letters" if any(c.letter for c in rows) \
        else "query.my_cases.title"
    lines = [catalog.t(lang, title), *incidents,
             *(line for c in rows for line in _own_case_lines(ctx, c, lang))
             ] if rows or incidents else []
    if suggested:  # the named suggestions, each with its answer once there is one
        lines += [catalog.t(lang, "query.my_cases.suggestions"), *suggested]
    return [Reply("\n".join(lines))]


def _own_case_lines(ctx: HandlerContext, case: Case, lang: str) -> list[str]:
    """A case in its complainant's list: with the answer, once there is one, to read
    before rating it (a push of it may never have reached them); closed not long ago and
    not rated, until when it may still be rated."""
    lines = [_case_line(case, lang, ctx.zone, case_what(ctx.session, case, lang))]
    if case.reply and case.status in ("replied", "follow_up", "closed"):
        lines.append(catalog.t(lang, "query.my_cases.reply", reply=case.reply))
        until = casework.rate_until(case, ctx.zone)
        if case.status in ("replied", "follow_up") and case.rating is None:
            lines.append(catalog.t(lang, "query.my_cases.rate"))
        elif case.rating is None and until is not None and ctx.today <= until:
            lines.append(catalog.t(lang, "query.my_cases.rate_closed",
                                   until=until.isoformat()))
    return lines


def _my_incidents(ctx: HandlerContext, lang: str) -> list[str]:
    s = ctx.session
    own_words = {link.incident_id: link.what for link in s.exec(select(IncidentLink).where(
        IncidentLink.reporter_id == ctx.actor.id))}
    found = s.exec(select(Incident).where(or_(Incident.reporter_id == ctx.actor.id,
                                              col(Incident.id).in_(list(own_words))))
                   .order_by(col(Incident.created_at).desc()).limit(_LIMIT)).all()
    lines = []
    for incident in found:
        # In the person's own words: a report linked to another's shows theirs, not the
        # first reporter's; a long one cut short.
        what = incident.what if incident.reporter_id == ctx.actor.id \
            else own_words.get(incident.id or 0, "")
        what = what if len(what) <= _WHAT else what[:_WHAT - 1] + "…"
        first = s.exec(select(Person.name, Acknowledgement.at)
                       .join(Acknowledgement, col(Acknowledgement.person_id) == col(Person.id))
                       .join(Alert, col(Alert.id) == Acknowledgement.alert_id)
                       .where(Alert.subject == "incident", Alert.subject_id == incident.id)
                       .order_by(col(Acknowledgement.at))).first()
        acked = catalog.t(lang, "query.my_cases.not_acked") if first is None else catalog.t(
            lang, "query.my_cases.acked", name=first[0],
            at=first[1].astimezone(ctx.zone).strftime("%m-%d %H:%M"))
        lines.append(catalog.t(lang, "query.my_cases.incident", number=incident.number,
                               what=what,
                               status=catalog.t(lang, f"incident.status.{incident.status}"),
                               acked=acked))
    return lines


def open_cases(ctx: HandlerContext, lang: str) -> list[Reply]:
    stmt = select(Case).where(col(Case.status).in_(OPEN))
    if ctx.actor.role == "leader":
        stmt = stmt.where(Case.handler_id == ctx.actor.id)
    else:
        stmt = stmt.where(Case.unit_id == ctx.actor.unit_id)
    rows = ctx.session.exec(stmt.order_by(col(Case.due_on)).limit(_LIMIT)).all()
    rate: list[str] = []
    if ctx.actor.role in ("director", "staff"):
        reopened, rated = recomplaint_rate(ctx.session, ctx.actor.unit_id)
        if rated:
            rate = [catalog.t(lang, "query.open_cases.recomplaint", reopened=reopened,
                              rated=rated, percent=round(100 * reopened / rated))]
    if not rows:
        return [Reply("\n".join([catalog.t(lang, "query.open_cases.none"), *rate]))]
    lines = [catalog.t(lang, "query.open_cases.title")] + [
        catalog.t(lang, "case.line_handling", number=c.number,
                  category=case_what(ctx.session, c, lang),
                  status=catalog.t(lang, f"status.{c.status}"), due_on=c.due_on.isoformat(),
                  **handling_words(ctx.session, c, lang)) for c in rows]
    return [Reply("\n".join([*lines, *rate]))]


def recomplaint_rate(session: Session, unit_id: int | None) -> tuple[int, int]:
    """Cases reopened after a 不满意 rating, and all cases the complainants rated."""
    cases = select(func.count()).select_from(Case).where(Case.unit_id == unit_id)
    reopened = session.exec(cases.where(col(Case.reopens) > 0)).one()
    rated = session.exec(cases.where(or_(col(Case.reopens) > 0,
                                         col(Case.rating).is_not(None)))).one()
    return reopened, rated


def my_handling(ctx: HandlerContext, lang: str) -> list[Reply]:
    """The cases the person handles, by due date, with the days left or overdue."""
    rows = ctx.session.exec(select(Case).where(col(Case.status).in_(OPEN),
                                               Case.handler_id == ctx.actor.id)
                            .order_by(col(Case.due_on), col(Case.id)).limit(_LIMIT)).all()
    if not rows:
        return [Reply(catalog.t(lang, "query.my_handling.none"))]
    lines = [catalog.t(lang, "query.my_handling.title")]
    for c in rows:
        days = (c.due_on - ctx.today).days
        left = catalog.t(lang, "query.my_handling.left", days=days) if days >= 0 \
            else catalog.t(lang, "query.my_handling.late", days=-days)
        lines.append(catalog.t(lang, "query.my_handling.line", number=c.number,
                               category=case_what(ctx.session, c, lang),
                               status=catalog.t(lang, f"status.{c.status}"),
                               due_on=c.due_on.isoformat(), left=left))
    return [Reply("\n".join(lines))]


def pending_alerts(ctx: HandlerContext) -> list[Alert]:
    """The alerts still waiting for the person's 收到, newest first: not those of an
    emergency already handled or a case already closed, which no press can help any
    more; nor those of a case passed on from them to another handler since (closed as it
    went: handlers/alerts.py pass_on; one passed on before that was recorded, but for the
    director's: case alerts go to its handler, or to the director)."""
    s = ctx.session
    acked = select(Acknowledgement.alert_id)
    over = or_(and_(col(Alert.subject) == "incident", col(Alert.subject_id).in_(
                   select(Incident.id).where(col(Incident.status) != "open"))),
               and_(col(Alert.subject) == "case", col(Alert.subject_id).in_(
                   select(Case.id).where(col(Case.status) == "closed"))))
    # A case passed on to someone else since: no longer theirs to acknowledge (a lead
    # leader and the director still have it).
    passed_on = and_(col(Alert.subject) == "case", col(Alert.subject_id).in_(
        select(Case.id).where(col(Case.handler_id) != ctx.actor.id, or_(
            col(Case.lead_leader_id).is_(None), col(Case.lead_leader_id) != ctx.actor.id))))
    query = select(Alert).where(Alert.recipient_id == ctx.actor.id,
                                col(Alert.id).not_in(acked), not_(over),
                                col(Alert.passed_at).is_(None))
    if ctx.actor.role != "director":
        query = query.where(not_(passed_on))
    return list(s.exec(query.order_by(col(Alert.created_at).desc(), col(Alert.id).desc())
                       .limit(_LIMIT)).all())


def passed_alert(ctx: HandlerContext, named: str | None) -> Alert | None:
    """The person's alert of a case passed on from them since (handlers/alerts.py
    pass_on), not acknowledged before it went: the one of the record `named`
    ("C-2026-0001"); with none named, the alert last pushed to them, if it is one."""
    s = ctx.session
    acked = select(Acknowledgement.alert_id)
    if named is None:
        last = s.exec(select(Notification.alert_id).where(
            Notification.recipient_id == ctx.actor.id, col(Notification.alert_id).is_not(None))
            .order_by(col(Notification.id).desc())).first()
        alert = s.get(Alert, last) if last is not None else None
        return alert if alert is not None and alert.passed_at is not None and s.exec(
            acked.where(Acknowledgement.alert_id == alert.id)).first() is None else None
    if named.isdigit():  # a place in the list of those waiting: not one passed on
        return None
    passed = s.exec(select(Alert).where(
        Alert.recipient_id == ctx.actor.id, col(Alert.passed_at).is_not(None),
        col(Alert.id).not_in(acked)).order_by(col(Alert.passed_at).desc())
        .limit(_LIMIT)).all()
    return alert_named(ctx, list(passed), named)


def alert_line(ctx: HandlerContext, alert: Alert, lang: str) -> str:
    """What an alert is about, so that the leader knows what they acknowledge."""
    s = ctx.session
    about: dict[str, str] = {"number": "", "what": "", "place": "", "category": ""}
    if alert.subject == "incident":
        incident = s.get(Incident, alert.subject_id)
        if incident is not None:
            about.update(number=incident.number, what=incident.what, place=incident.place)
    elif alert.subject == "case":
        case = s.get(Case, alert.subject_id)
        if case is not None:
            about.update(number=case.number, category=case_what(s, case, lang))
    line = catalog.t(lang, f"query.my_alerts.{alert.subject}", **about,
                     at=alert.created_at.astimezone(ctx.zone).strftime("%m-%d %H:%M"))
    if alert.subject == "incident":  # someone else has it already: said, not hidden
        taken = s.exec(select(Person.name, Acknowledgement.at).join(
            Acknowledgement, col(Acknowledgement.person_id) == col(Person.id)).join(
            Alert, col(Alert.id) == col(Acknowledgement.alert_id)).where(
            Alert.subject == "incident", Alert.subject_id == alert.subject_id,
            Acknowledgement.person_id != ctx.actor.id)
            .order_by(col(Acknowledgement.at))).first()
        if taken is not None:
            line += catalog.t(lang, "query.my_alerts.taken", name=taken[0] or "",
                              at=taken[1].astimezone(ctx.zone).strftime("%H:%M"))
    return line


def alert_named(ctx: HandlerContext, waiting: list[Alert], named: str) -> Alert | None:
    """Which of the person's waiting alerts a typed "收到 <named>" means: its number in
    the list of them (as my_alerts numbers it), or its record's number (E-2026-0002, as
    WeChat's pushes say to reply); None if none of them."""
    if named.isdigit():
        if 1 <= int(named) <= len(waiting):
            return waiting[int(named) - 1]
        # An older WeChat push said "收到 <alert id>": one's own alert by that id.
        return next((a for a in waiting if a.id == int(named)), None)
    key = named.replace("-", "").upper()
    for alert in waiting:
        record = (ctx.session.get(Incident, alert.subject_id) if alert.subject == "incident"
                  else ctx.session.get(Case, alert.subject_id) if alert.subject == "case"
                  else None)
        if record is not None and record.number.replace("-", "").upper() == key:
            return alert
    return None


def my_alerts(ctx: HandlerContext, lang: str) -> list[Reply]:
    """The alerts still waiting for the person's 收到, each with its button."""
    rows = pending_alerts(ctx)
    if not rows:
        return [Reply(catalog.t(lang, "query.my_alerts.none"))]
    replies = [Reply(catalog.t(lang, "query.my_alerts.title", count=len(rows)))]
    for i, alert in enumerate(rows, start=1):  # numbered: "收到 2" names the second
        ack = Button(catalog.t(lang, "nav.ack"), f"ack:{alert.id}", "action")
        replies.append(Reply(f"{i}. {alert_line(ctx, alert, lang)}", [ack]))
    return replies


def case_status_by_code(ctx: HandlerContext, sub: Submission) -> Result:
    """Open an anonymous case's status with its receipt code."""
    s = ctx.session
    case = s.exec(select(Case).where(Case.receipt_hash == receipt_hash(sub.answers["code"]))
                  ).first()
    if case is None:
        found = suggestions.by_code(ctx, sub)  # an anonymous suggestion's code
        return found if found is not None else Result("receipt.not_found", {},
                                                      back_to="code")
    answer = _found(s, case, sub.lang)
    last = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                  .order_by(col(CaseEvent.at).desc(), col(CaseEvent.id).desc())).first()
    if case.status == "closed":  # what came of it stays to be read
        # Closed not long ago and not rated: it may still be rated, until when is said.
        until = casework.rate_until(case, ctx.zone)
        rate = case.rating is None and case.reply is not None and until is not None \
            and ctx.today <= until
        return answer("receipt.found_closed_rate" if rate else "receipt.found_closed", {
            "number": case.number, "reply": case.reply or "",
            "outcome": case.outcome or "",
            "category": case_what(s, case, sub.lang),
            "closed_on": (case.closed_at or ctx.now).astimezone(ctx.zone).strftime("%Y-%m-%d"),
            **({"until": until.isoformat()} if rate and until else {})})
    if case.reply and case.status in ("replied", "follow_up"):
        if case.rating is not None:  # rated already: said, not asked for again
            return answer("receipt.found_rated", {
                "number": case.number, "reply": case.reply,
                "rating": catalog.t(sub.lang, f"opt.rating.{case.rating}"),
                "category": case_what(s, case, sub.lang),
                "status": catalog.t(sub.lang, f"status.{case.status}")})
        return answer("receipt.found_replied", {
            "number": case.number, "reply": case.reply,
            "category": case_what(s, case, sub.lang),
            "status": catalog.t(sub.lang, f"status.{case.status}")})
    handler = s.get(Person, case.handler_id) if case.handler_id else None
    return answer("receipt.found", {
        "number": case.number, "category": case_what(s, case, sub.lang),
        "status": catalog.t(sub.lang, f"status.{case.status}"), "due_on": case.due_on.isoformat(),
        "handler": handler.name if handler else catalog.t(sub.lang, "review.skipped"),
        "updated": (last.at if last else case.created_at).astimezone(ctx.zone)
        .strftime("%Y-%m-%d"),
    })


def _found(session: Session, case: Case, lang: str) -> Callable[[str, dict[str, Any]], Result]:
    """What a receipt code finds, said of a letter as its writer knows it ("您写给孙红梅的信
    C-2026-0001：…"), of a complaint as 问题 C-2026-0001（工资福利）."""
    named = notices.letter_named(session, case, writer=True)

    def found(key: str, params: dict[str, Any]) -> Result:
        if named is None:
            return Result(key, params)
        what = catalog.t(lang, named["say"], to=named.get("to", ""),
                         category=catalog.t(lang, f"opt.category.{case.category}"))
        return Result(key.replace("receipt.found", "receipt.letter_found"),
                      {**params, "what": what[:1].upper() + what[1:]})
    return found


_QUERIES = {"my_cases": my_cases, "open_cases": open_cases, "my_alerts": my_alerts,
            "my_handling": my_handling}


# --- calendar: the roster and the warning ledger ---
from handlers.calendar_sources import roster_view, warnings_view  # noqa: E402

_QUERIES.update({"roster": roster_view, "warnings": warnings_view})
