"""The liaisons' monthly dispute screening (矛盾纠纷排查, 25th–30th) and the warning ledger.

On the 25th every workshop's liaison is asked for the month's return: each dispute (what,
how many people, risk, lead department and person, measures, deadline) or "nothing to
report" (零报告) in one tap. The window is the 25th to the 30th (the last day of a shorter
month), as the pushes say: a return filed any time on its last day is on time. Returns
still missing are chased two days before its end (the 28th), and the morning after it the
director is told which workshops have not returned. A chase falling on a day off (a
weekend, a holiday) goes out the working day before, a report the working day after
(Chinese working days, 调休 included); the window itself does not move. A return missed
(漏报) stays open until it is filed, late: each later ask and chase reminds its liaison,
and each later report names it to the director. A
high-risk dispute enters the warning ledger (预警台帐): the director and staff are told at
once and can turn it into a case or an emergency in one step (000 制度(三)).
"""

from __future__ import annotations

import calendar as months
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from conversations.flow import Result, Submission
from handlers import alerts, deadlines, notices
from handlers.context import HandlerContext, people_of
from scheduler import workdays
from store import outbox, timers
from store.calendar_models import Dispute, ScreeningReturn, ScreeningRound
from store.db import transaction
from store.models import (
    Case,
    CaseEvent,
    Incident,
    IncidentLink,
    Person,
    Responsibility,
    Workshop,
)
from store.numbers import next_number

KIND = "screening"
ASK_DAY, LAST_DAY = 25, 30
CHASE_BEFORE = 2  # days before the window's last day: the 28th, the 26th in February
ASK_AT, CHASE_AT, REPORT_AT = time(9, 0), time(9, 0), time(9, 0)
WARNING_CASE_DAYS = 90  # a high-risk dispute is a leader case (000 制度(四) 二.3)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def due_day(month: str) -> date:
    """The window's last day, the one the pushes name: the 30th, or a shorter month's last."""
    year, mon = (int(x) for x in month.split("-"))
    return date(year, mon, min(LAST_DAY, months.monthrange(year, mon)[1]))


def cutoff(month: str, zone: ZoneInfo) -> datetime:
    """When a return becomes late: the end of the window's last day."""
    return datetime.combine(due_day(month) + timedelta(days=1), time(0, 0), zone)


def stage_days(month: str, cal: workdays.WorkCalendar) -> dict[str, date]:
    """The ask, chase and report days of a month, on working days.

    The ask opens the window on the 25th, whatever day it is. The chase is two days
    before the window's end, or the working day before that (not before the 26th: never
    with the ask), or else the first working day left in the window. The report is the
    first working day after the window, so it never names as missing a return that may
    still be filed on time, and never falls on the chase's day."""
    year, mon = (int(x) for x in month.split("-"))
    ask, due = date(year, mon, ASK_DAY), due_day(month)
    aim = due - timedelta(days=CHASE_BEFORE)
    window = [ask + timedelta(days=n) for n in range(1, (due - ask).days + 1)]
    open_days = [d for d in window if cal.is_workday(d)]
    chase = max((d for d in open_days if d <= aim), default=None) or min(
        (d for d in open_days if d > aim), default=aim)
    return {"ask": ask, "chase": chase, "report": cal.next_workday(due + timedelta(days=1))}


def stage_times(month: str, zone: ZoneInfo,
                cal: workdays.WorkCalendar) -> dict[str, datetime]:
    days = stage_days(month, cal)
    return {"ask": datetime.combine(days["ask"], ASK_AT, zone),
            "chase": datetime.combine(days["chase"], CHASE_AT, zone),
            "report": datetime.combine(days["report"], REPORT_AT, zone)}


def liaisons_of(s: Session, workshop_id: int) -> list[Person]:
    return list(s.exec(select(Person).where(Person.workshop_id == workshop_id,
                                            Person.role == "liaison",
                                            Person.active == True)  # noqa: E712
                       .order_by(col(Person.id))).all())


def _actions(ret_id: int) -> list[list[str]]:
    return [["opt.screening_answer.zero", f"flow:screening?return={ret_id}&answer=zero"],
            ["opt.screening_answer.dispute", f"flow:screening?return={ret_id}&answer=dispute"]]


PICK = ["menu.cal_screening", "flow:screening"]  # the list of returns, the open ones all there


def missed_before(s: Session, unit_id: int, month: str) -> dict[int, list[str]]:
    """The months before `month` whose return is still missing (漏报), by workshop, the
    oldest first: they are filed late, never dropped."""
    rows = s.exec(select(ScreeningReturn.workshop_id, ScreeningRound.month).join(
        ScreeningRound, col(ScreeningReturn.round_id) == ScreeningRound.id).where(
        ScreeningRound.unit_id == unit_id, col(ScreeningRound.month) < month,
        ScreeningReturn.status == "pending")
        .order_by(col(ScreeningRound.month), col(ScreeningReturn.workshop_id))).all()
    out: dict[int, list[str]] = {}
    for shop_id, earlier in rows:
        out.setdefault(shop_id, []).append(earlier)
    return out


def _with_missed(params: dict[str, Any], missed: list[str]) -> dict[str, Any]:
    """An ask or a chase that also names the workshop's earlier months still missing."""
    if not missed:
        return params
    return {**params, "more_lines": [["screening.earlier", {"months": missed}]],
            "actions": [*params["actions"], PICK]}


class ScreeningJobs:
    """Timer handler of the monthly screening: ask (25th), chase (28th), report (the first
    working morning after the window)."""

    def __init__(self, db: Engine, clock: Any, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

    def fire(self, ref: str) -> int:
        unit_id, month, stage = ref.split(":")
        now = self.clock.now()
        with transaction(self.db) as s:
            if timers.take(s, kind=KIND, ref=ref, now=now) is None:
                return 0
            return {"ask": ask, "chase": chase, "report": report}[stage](
                s, int(unit_id), month, now=now, zone=self.zone)


def ask(s: Session, unit_id: int, month: str, *, now: datetime, zone: ZoneInfo) -> int:
    """Open the month's round: one return per workshop with a liaison, who is asked."""
    rnd = s.exec(select(ScreeningRound).where(ScreeningRound.unit_id == unit_id,
                                              ScreeningRound.month == month)).first()
    if rnd is None:
        rnd = ScreeningRound(unit_id=unit_id, month=month, asked_at=now)
        s.add(rnd)
        s.flush()
    assert rnd.id is not None
    due = due_day(month).isoformat()
    missed = missed_before(s, unit_id, month)
    sent = 0
    nobody: list[str] = []  # workshops without a liaison: the staff screen them
    for shop in s.exec(select(Workshop).where(Workshop.unit_id == unit_id)
                       .order_by(col(Workshop.id))):
        people = liaisons_of(s, shop.id or 0)
        ret = s.exec(select(ScreeningReturn).where(ScreeningReturn.round_id == rnd.id,
                                                   ScreeningReturn.workshop_id == shop.id)).first()
        if ret is None:
            ret = ScreeningReturn(round_id=rnd.id, workshop_id=shop.id or 0,
                                  liaison_id=people[0].id if people else None)
            s.add(ret)
            s.flush()
        assert ret.id is not None
        if not people:
            nobody.append(shop.name)
        for p in people:
            outbox.enqueue(s, key=f"screening:{ret.id}:ask:{p.id}", recipient_id=p.id, now=now,
                           message="notice.screening_ask", priority=outbox.ALERT,
                           params=_with_missed({"month": month, "workshop": shop.name,
                                                "due": due, "actions": _actions(ret.id)},
                                               missed.get(shop.id or 0, [])))
            sent += 1
    if nobody:
        # No workshop may drop out of the screening unnoticed (漏报): its return is open,
        # the staff are asked to file it, and the report names it if it is still missing.
        for p in people_of(s, unit_id, ("staff",)) or people_of(s, unit_id, ("director",)):
            outbox.enqueue(s, key=f"screening:{rnd.id}:no_liaison:{p.id}", recipient_id=p.id,
                           now=now, message="notice.screening_no_liaison",
                           priority=outbox.ALERT,
                           params={"month": month, "due": due, "count": len(nobody),
                                   "names": nobody,
                                   "actions": [["menu.cal_screening", "flow:screening"]]})
            sent += 1
    return sent


def _pending(s: Session, unit_id: int, month: str) -> tuple[ScreeningRound | None,
                                                              list[ScreeningReturn]]:
    rnd = s.exec(select(ScreeningRound).where(ScreeningRound.unit_id == unit_id,
                                              ScreeningRound.month == month)).first()
    if rnd is None:
        return None, []
    return rnd, list(s.exec(select(ScreeningReturn).where(
        ScreeningReturn.round_id == rnd.id, ScreeningReturn.status == "pending")
        .order_by(col(ScreeningReturn.workshop_id))).all())


def chase(s: Session, unit_id: int, month: str, *, now: datetime, zone: ZoneInfo) -> int:
    """Remind the liaisons whose return is still missing, this month's or an earlier one."""
    rnd, missing = _pending(s, unit_id, month)
    if rnd is not None:
        rnd.chased_at = now
        s.add(rnd)
    due = due_day(month).isoformat()
    this = {ret.workshop_id: ret for ret in missing}
    missed = missed_before(s, unit_id, month)
    sent = 0
    for shop_id in sorted(this.keys() | missed.keys()):
        shop = s.get(Workshop, shop_id)
        name, ret, earlier = shop.name if shop else "", this.get(shop_id), missed.get(shop_id, [])
        for p in liaisons_of(s, shop_id):
            if ret is not None:
                outbox.enqueue(s, key=f"screening:{ret.id}:chase:{p.id}", recipient_id=p.id,
                               now=now, message="notice.screening_chase", priority=outbox.ALERT,
                               params=_with_missed({"month": month, "workshop": name,
                                                    "due": due,
                                                    "actions": _actions(ret.id or 0)}, earlier))
            else:  # this month's is in: the earlier ones still are not
                outbox.enqueue(s, key=f"screening:{unit_id}:{month}:overdue:{shop_id}:{p.id}",
                               recipient_id=p.id, now=now, message="notice.screening_overdue",
                               priority=outbox.ALERT,
                               params={"workshop": name, "months": earlier, "actions": [PICK]})
            sent += 1
    return sent


def report(s: Session, unit_id: int, month: str, *, now: datetime, zone: ZoneInfo) -> int:
    """Tell the director (and staff) which workshops have not returned: this month's, and
    below them those still missing an earlier month."""
    rnd, missing = _pending(s, unit_id, month)
    if rnd is not None:
        rnd.reported_at = now
        s.add(rnd)
    missed = missed_before(s, unit_id, month)
    if not missing and not missed:
        return 0
    names: list[list[Any]] = []
    for ret in missing:
        shop = s.get(Workshop, ret.workshop_id)
        liaison = s.get(Person, ret.liaison_id) if ret.liaison_id else None
        names.append(["screening.missing_line", {"workshop": shop.name if shop else "",
                                                 "liaison": liaison.name}] if liaison else
                     ["screening.missing_line_none", {"workshop": shop.name if shop else ""}])
    before: list[list[Any]] = []
    for shop_id, earlier in sorted(missed.items()):
        shop = s.get(Workshop, shop_id)
        now_liaisons = liaisons_of(s, shop_id)  # who is to file it now
        words = {"workshop": shop.name if shop else "", "months": earlier}
        before.append(["screening.missing_earlier_line",
                       {**words, "liaison": now_liaisons[0].name}] if now_liaisons else
                      ["screening.missing_earlier_line_none", words])
    if missing:
        message, count = "notice.screening_missing", len(missing)
        lines = names + ([["screening.missing_earlier_title", {}], *before] if before else [])
    else:  # this month's are all in; earlier months are not
        message, count, lines = "notice.screening_missing_earlier", len(before), before
    sent = 0
    for p in people_of(s, unit_id, ("director", "staff")):
        key = (f"screening:{rnd.id}:missing:{p.id}" if rnd is not None
               else f"screening:{unit_id}:{month}:missing:{p.id}")
        outbox.enqueue(s, key=key, recipient_id=p.id, now=now, message=message,
                       priority=outbox.ALERT,
                       params={"month": month, "count": count, "lines": lines})
        sent += 1
    return sent


# --- the return, in chat -------------------------------------------------------------------


def screening(ctx: HandlerContext, sub: Submission) -> Result:
    """A liaison's answer for a workshop: one dispute, or nothing to report."""
    s, a = ctx.session, sub.answers
    ret = s.get(ScreeningReturn, int(a["return"])) if str(a["return"]).isdigit() else None
    rnd = s.get(ScreeningRound, ret.round_id) if ret else None
    if ret is None or rnd is None or rnd.unit_id != ctx.unit_id() or not (
            ctx.actor.role in ("staff", "director") or ctx.actor.workshop_id == ret.workshop_id):
        return Result("screening.gone", {}, back_to="return")
    shop = s.get(Workshop, ret.workshop_id)
    words = {"workshop": shop.name if shop else "", "month": rnd.month}
    late = ctx.now >= cutoff(rnd.month, ctx.zone)
    if a["answer"] == "zero":
        if ret.status == "reported":
            return Result("screening.has_disputes", words, back_to="answer")
        if ret.status != "zero":
            ret.status, ret.answered_at, ret.answered_by = "zero", ctx.now, ctx.actor.id
            ret.late = late
            s.add(ret)
        return Result("screening.done_zero", words)
    row = s.exec(select(Dispute).where(Dispute.draft_key == sub.draft_id)).first()
    if row is None:
        deadline = date.fromisoformat(a["deadline"])
        if deadline < ctx.today:
            return Result("screening.past_deadline", {}, back_to="deadline")
        row = Dispute(number=next_number(s, "D", ctx.today.year), draft_key=sub.draft_id,
                      return_id=ret.id or 0, unit_id=rnd.unit_id, workshop_id=ret.workshop_id,
                      what=a["what"], people=a["people"], risk=a["risk"],
                      lead_dept=a["lead_dept"], lead_person=a["lead_person"],
                      measures=a["measures"], deadline=deadline, warning=a["risk"] == "high",
                      by_id=ctx.actor.id, created_at=ctx.now)
        s.add(row)
        s.flush()
        if ret.status != "reported":
            ret.status, ret.answered_at, ret.answered_by = "reported", ctx.now, ctx.actor.id
            ret.late = late
            s.add(ret)
        if row.warning:
            _warn(ctx, row, words["workshop"])
    count = len(s.exec(select(Dispute.id).where(Dispute.return_id == ret.id)).all())
    key = "screening.done_warning" if row.warning else "screening.done_dispute"
    return Result(key, {**words, "number": row.number, "count": count})


def _warn(ctx: HandlerContext, row: Dispute, workshop: str) -> None:
    """A high-risk dispute: the director and staff are told, with the one-step actions."""
    assert row.id is not None
    params = {"number": row.number, "workshop": workshop, "what": row.what,
              "people": row.people, "lead_dept": row.lead_dept, "lead_person": row.lead_person,
              "measures": row.measures, "deadline": row.deadline.isoformat(),
              "actions": [[f"opt.warning_action.{k}",
                           f"flow:warning_action?warning={row.id}&action={k}"]
                          for k in ("case", "emergency")]}
    for p in people_of(ctx.session, row.unit_id, ("director", "staff")):
        outbox.enqueue(ctx.session, key=f"dispute:{row.id}:warning:{p.id}", recipient_id=p.id,
                       message="notice.warning_new", now=ctx.now, priority=outbox.ALERT,
                       params=params)


# --- the warning ledger's one step ------------------------------------------------------------


def warning_action(ctx: HandlerContext, sub: Submission) -> Result:
    """Turn a warning-ledger dispute into a case or an emergency."""
    s, a = ctx.session, sub.answers
    row = s.get(Dispute, int(a["warning"])) if str(a["warning"]).isdigit() else None
    if row is None or row.unit_id != ctx.unit_id() or not row.warning:
        return Result("warning_action.gone", {}, back_to="warning")
    if row.case_id is not None or row.incident_id is not None:
        case = s.get(Case, row.case_id) if row.case_id else None
        incident = s.get(Incident, row.incident_id) if row.incident_id else None
        target = case.number if case else incident.number if incident else ""
        return Result("warning_action.already", {"number": row.number, "target": target})
    shop = s.get(Workshop, row.workshop_id)
    if a["action"] == "case":
        case = _case_from(ctx, row, shop)
        row.case_id = case.id
        s.add(row)
        handler = s.get(Person, case.handler_id) if case.handler_id else None
        return Result("warning_action.done_case", {
            "number": row.number, "case": case.number, "due_on": case.due_on.isoformat(),
            "handler": handler.name if handler else ""})
    from handlers import records  # the emergency's one path: chain, reports, timers

    answers = {"what": row.what, "place": shop.name if shop else "", "people": row.people,
               "measures": row.measures, "suggestion": None}
    draft = f"warning:{row.id}"
    done = records.emergency(ctx, Submission("emergency", answers, draft, sub.lang))
    incident = s.exec(select(Incident).where(Incident.draft_key == draft)).first()
    if incident is None:  # the workshop's emergency being handled: one more report of it
        link = s.exec(select(IncidentLink).where(IncidentLink.draft_key == draft)).one()
        incident = s.get(Incident, link.incident_id)
        assert incident is not None
    else:
        incident.workshop_id = row.workshop_id
        s.add(incident)
    row.incident_id = incident.id
    s.add(row)
    return Result("warning_action.done_emergency", {
        "number": row.number, "incident": incident.number,
        "alerted": done.params.get("alerted") or done.params.get("name") or "-"})


def _case_from(ctx: HandlerContext, row: Dispute, shop: Workshop | None) -> Case:
    """A leader case from the dispute, its lead department and person as the 五定."""
    s = ctx.session
    owner = s.exec(select(Responsibility).where(Responsibility.unit_id == row.unit_id,
                                                Responsibility.category == "other")).first()
    handler_id = owner.leader_id if owner else ctx.actor.id
    due = workdays.load(s).due_date(ctx.today, WARNING_CASE_DAYS)
    case = Case(
        number=next_number(s, "C", ctx.today.year), draft_key=f"dispute:{row.id}",
        unit_id=row.unit_id, category="other", description=row.what,
        since=row.created_at.astimezone(ctx.zone).date().isoformat(), affected=row.people,
        workshop_id=row.workshop_id, outcome_wanted=row.measures, anonymous=False,
        handler_id=handler_id, leader_case=True, leader_case_reason="warning",
        status="assigned", deadline_days=WARNING_CASE_DAYS, due_on=due,
        deadline_from=ctx.today, channel=ctx.channel, created_at=ctx.now,
        dept_head=row.lead_dept, responsible=row.lead_person,
        report_on=min(row.deadline, due))
    s.add(case)
    s.flush()
    assert case.id is not None and handler_id is not None
    s.add(CaseEvent(case_id=case.id, at=ctx.now, actor_id=ctx.actor.id, kind="registered",
                    note=row.number))
    deadlines.schedule(s, case, now=ctx.now, zone=ctx.zone)
    alerts.raise_alert(ctx, subject="case", subject_id=case.id, recipient_id=handler_id,
                       message="notice.case_from_warning", priority=outbox.ALERT,
                       params={"number": case.number, "dispute": row.number,
                               "workshop": shop.name if shop else "", "what": row.what,
                               "people": row.people, "due_on": due.isoformat(),
                               "actions": notices.work_on(case.id)})
    return case


def next_months(today: date, count: int = 2) -> list[str]:
    """This month and the following ones, as 2026-11."""
    out, day = [], today.replace(day=1)
    for _ in range(count):
        out.append(month_of(day))
        day = (day + timedelta(days=32)).replace(day=1)
    return out
