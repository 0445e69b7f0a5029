"""What handlers do to a case in chat, and the complainant's rating of the reply.

Each action goes through the lifecycle table (handlers/lifecycle.py), adds to the case's
timeline, and writes its pushes and timers in the same transaction.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from conversations import catalog
from conversations.flow import Result, Submission
from conversations.flows import CASE_ACTIONS
from handlers import alerts, assignment, deadlines, files, lifecycle, notices
from handlers.context import HandlerContext, people_of, receipt_hash
from handlers.identity import display_name
from handlers.lifecycle import Refused
from scheduler import workdays
from store import outbox
from store.models import (
    Case,
    CaseEvent,
    Extension,
    HotlineCall,
    IdentityRead,
    Person,
    Responsibility,
    Workshop,
)

REOPEN_DAYS = 30  # 不满意: a second deadline with the supervisor
LONGEST_DAYS = 90  # no case runs longer from its filing, extensions included (制度(四) 四.3)
# A case closed right after its reply may still be rated by its complainant (会员评家),
# and 不满意 reopens it: on the day it closed and this many days after (its words say so).
RATE_DAYS_AFTER_CLOSING = 15


def words(lang: str, params: dict[str, Any]) -> dict[str, Any]:
    """Turn '@catalog.key' tokens (also ' / '-joined ones) into the reader's words."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, str) and value.startswith("@"):
            value = " / ".join(catalog.t(lang, part[1:]) for part in value.split(" / "))
        elif isinstance(value, dict) and "say" in value:  # a letter's name (letter_named)
            value = catalog.t(lang, value["say"], **words(
                lang, {k: v for k, v in value.items() if k != "say"}))
        out[name] = value
    return out


def refused(sub: Submission, err: Refused, back_to: str | None) -> Result:
    return Result(err.key, words(sub.lang, err.params), back_to=back_to)


def _case(ctx: HandlerContext, value: Any) -> Case | None:
    case = ctx.session.get(Case, int(value)) if str(value).isdigit() else None
    return case if case is not None and case.unit_id == ctx.unit_id() else None


def reschedule(ctx: HandlerContext, case: Case,
               stages: tuple[str, ...] = deadlines.STAGES) -> None:
    deadlines.schedule(ctx.session, case, now=ctx.now, zone=ctx.zone, stages=stages)


# --- the handler's actions --------------------------------------------------------------

FIVE_FIX_ROLES = ("leader", "director")  # 五定 is a leader's undertaking (领导包案)


def transition(case: Case, action: str) -> str:
    """The lifecycle move an action of "work on a case" makes on the case as it is now."""
    return "assign" if action == "reassign" and case.status == "registered" else action


def offered(session: Session, case: Case, actor: Person) -> list[str]:
    """The actions `actor` may take on the case now, in the menu's order: those the
    lifecycle table allows, 五定 only on a leader case. The handler checks again."""
    allowed = []
    held = lifecycle.capacities(session, case, actor)  # once, not once per action
    for action in CASE_ACTIONS:
        if action == "five_fix" and not (case.leader_case and actor.role in FIVE_FIX_ROLES):
            continue
        try:
            lifecycle.check(session, case, transition(case, action), actor, held=held)
        except Refused:
            continue
        allowed.append(action)
    return allowed


def case_action(ctx: HandlerContext, sub: Submission) -> Result:
    """Run one action the handler chose on one case."""
    a = sub.answers
    case = _case(ctx, a["case"])
    if case is None:
        return Result("case_action.gone", {}, back_to="case")
    try:
        return _ACTIONS[a["action"]](ctx, sub, case)
    except Refused as err:
        return refused(sub, err, "action")


def _done(sub: Submission, case: Case, **params: Any) -> Result:
    return Result(f"case_action.done.{sub.answers['action']}",
                  {"number": case.number, **params})


def _note(ctx: HandlerContext, sub: Submission, case: Case) -> Result:
    lifecycle.move(ctx, case, "note", sub.answers["note"])
    return _done(sub, case)


def _reply(ctx: HandlerContext, sub: Submission, case: Case) -> Result:
    text = sub.answers["reply"]
    lifecycle.move(ctx, case, "reply", text)
    case.reply, case.replied_at, case.rating = text, ctx.now, None
    ctx.session.add(case)
    s = ctx.session
    if case.complainant_id is not None and alerts.reachable(s, case.complainant_id,
                                                            texts=ctx.texts):
        # Who to tell if it cannot reach the complainant yet (WeChat's 48-hour window):
        # the one who wrote the reply. A letter's writer reads of their letter.
        message, params = notices.as_letter(
            s, case, "notice.case_replied",
            {"number": case.number, "reply": text, "tell": ctx.actor.id}, writer=True)
        outbox.enqueue(s, key=f"case:{case.id}:replied:{case.reopens}",
                       recipient_id=case.complainant_id, message=message,
                       now=ctx.now, priority=outbox.ALERT, params=params)
        return _done(sub, case, told=catalog.t(sub.lang, "case_action.told.named"))
    if case.complainant_id is not None:
        # A caller this workroom cannot text: never "told" when nobody can be; the staff
        # member who took the call is asked to phone the answer back.
        filed = s.exec(select(HotlineCall.filed_by).where(
            HotlineCall.subject == "case", HotlineCall.subject_id == case.id,
            col(HotlineCall.filed_by).is_not(None))).first()
        for pid in [filed] if filed is not None else [
                p.id for p in people_of(s, case.unit_id, ("staff",)) if p.id]:
            outbox.enqueue(s, key=f"case:{case.id}:call_back:{case.reopens}:{pid}",
                           recipient_id=pid, message="notice.reply_call_back", now=ctx.now,
                           priority=outbox.ALERT,
                           params={"number": case.number, "reply": text})
        return _done(sub, case, told=catalog.t(sub.lang, "case_action.told.call_back"))
    if not case.anonymous:  # a visitor registered at a reception, with no chat to reach
        return _done(sub, case, told=catalog.t(sub.lang, "case_action.told.in_person"))
    return _done(sub, case, told=catalog.t(sub.lang, "case_action.told.anonymous"))


def _close(ctx: HandlerContext, sub: Submission, case: Case) -> Result:
    if case.leader_case and not _visited(ctx, case):
        return Result("case.refused.visit", {"number": case.number}, back_to="action")
    lifecycle.move(ctx, case, "close", sub.answers["outcome"])
    case.outcome = sub.answers["outcome"]
    ctx.session.add(case)
    deadlines.cancel(ctx.session, case, now=ctx.now)
    # A named complainant hears that the case is closed, and with what (事事有回音); an
    # anonymous one reads it by receipt code. Not rated yet: the notice offers the rating
    # (its button), and says until when it may be given.
    if case.complainant_id is not None and alerts.reachable(ctx.session, case.complainant_id,
                                                            texts=ctx.texts):
        params: dict[str, Any] = {"number": case.number, "outcome": case.outcome}
        until = rate_until(case, ctx.zone)
        if case.rating is None and until is not None:
            params.update(days=RATE_DAYS_AFTER_CLOSING, until=until.isoformat(),
                          actions=[["menu.rate", f"flow:rate?case={case.id}"]])
        message, params = notices.as_letter(
            ctx.session, case, "notice.case_closed_rate" if "until" in params
            else "notice.case_closed", params, writer=True)
        outbox.enqueue(ctx.session, key=f"case:{case.id}:closed:{case.reopens}",
                       recipient_id=case.complainant_id, now=ctx.now, params=params,
                       message=message)
    return _done(sub, case)


def _visited(ctx: HandlerContext, case: Case) -> bool:
    """A return visit recorded since the last reply (回访 before a leader case closes)."""
    events = ctx.session.exec(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id)).all()  # type: ignore[arg-type]
    last_reply = max((i for i, k in enumerate(events) if k == "reply"), default=-1)
    return "return_visit" in events[last_reply + 1:]


def _return_visit(ctx: HandlerContext, sub: Submission, case: Case) -> Result:
    lifecycle.move(ctx, case, "return_visit", sub.answers["visit"])
    return _done(sub, case)


def extension_bounds(session: Session, case: Case, today: date, zone: ZoneInfo
                     ) -> tuple[date, date]:
    """Where more days on the case count from: its due date, or today when that has
    passed (more time on an overdue case is time from now, never a date gone by); and the
    furthest due date any extension may give: 90 days from the day the case was filed,
    counted as its first deadline was."""
    filed = case.created_at.astimezone(zone).date()
    return max(case.due_on, today), workdays.load(session).due_date(filed, LONGEST_DAYS)


def extension_refusal(session: Session, case: Case, days: int, today: date, zone: ZoneInfo
                      ) -> tuple[str, dict[str, Any]] | None:
    """Why `days` more days cannot be given to the case (beyond the 90-day limit), as a
    catalog key and its parameters; None when they can."""
    start, latest = extension_bounds(session, case, today, zone)
    if workdays.load(session).due_date(start, days) <= latest:
        return None
    most = (latest - start).days  # due_date(start, most) is `latest`, a working day
    params = {"number": case.number, "latest": latest.isoformat(), "most": most,
              "filed_on": case.created_at.astimezone(zone).date().isoformat()}
    if most < 1:
        return "case.refused.extension_none", params
    return "case.refused.extension_limit", params


def _extend(ctx: HandlerContext, sub: Submission, case: Case) -> Result:
    lifecycle.check(ctx.session, case, "extend", ctx.actor)
    s = ctx.session
    too_long = extension_refusal(s, case, sub.answers["days"], ctx.today, ctx.zone)
    if too_long is not None:
        return Result(too_long[0], too_long[1], back_to="days")
    if s.exec(select(Extension).where(Extension.case_id == case.id,
                                      Extension.status == "pending")).first() is not None:
        return Result("case.refused.extension_pending", {"number": case.number},
                      back_to="action")
    assert case.id is not None and ctx.actor.id is not None
    row = Extension(case_id=case.id, requested_by=ctx.actor.id, days=sub.answers["days"],
                    reason=sub.answers["reason"], created_at=ctx.now)
    s.add(row)
    s.flush()
    lifecycle.move(ctx, case, "extend", f"+{row.days}: {row.reason}")
    approvers = {p.id for p in s.exec(select(Person).where(
        Person.role == "director", Person.unit_id == case.unit_id,
        Person.active == True))}  # noqa: E712
    lead = s.get(Person, case.lead_leader_id) if case.lead_leader_id else None
    if lead is not None and lead.active:  # a lead leader who has left decides nothing
        approvers.add(lead.id)
    approvers.discard(None)
    if ctx.actor.role != "director":  # nobody but the director decides on their own time
        approvers.discard(ctx.actor.id)
    told: list[Person] = []
    late = (ctx.today - case.due_on).days  # the decider should know it is overdue already
    message, params = notices.as_letter(
        s, case, "notice.extension_asked_late" if late > 0 else "notice.extension_asked",
        {"number": case.number, "days": row.days, "reason": row.reason,
         "due_on": case.due_on.isoformat(), "late": late, "handler": ctx.actor.name})
    for pid in sorted(a for a in approvers if a is not None):
        outbox.enqueue(s, key=f"extension:{row.id}:ask:{pid}", recipient_id=pid,
                       message=message, now=ctx.now, priority=outbox.ALERT, params=params)
        if (approver := s.get(Person, pid)) is not None:
            told.append(approver)
    if not told:  # never pretend someone was told: the handler must go to the workroom
        return Result("case_action.done.extend_nobody", {"number": case.number,
                                                         "days": row.days})
    # The reply names who decides: the director(s) and the case's lead leader.
    return _done(sub, case, days=row.days, approvers=alerts.names_text(told, sub.lang))


def _wanted(text: str) -> str:
    """What the complainant wants, for a notice: the placeholder of a report by phone
    (kept in the filer's language) is worded in each reader's own."""
    key = "hotline.outcome_unknown"
    return f"@{key}" if any(text == catalog.t(lang, key) for lang in catalog.LANGS) else text


def case_facts(ctx: HandlerContext, case: Case, workshop: Workshop | None) -> dict[str, Any]:
    """What a case's handler must be told of it: what happened, to how many, where,
    what is wanted, by when; its files counted, and the button to work on it."""
    assert case.id is not None
    facts: dict[str, Any] = {
        "number": case.number, "category": case.category, "affected": case.affected,
        # No workshop named: said so in the handler's words ("不清楚 / 不涉及具体车间").
        "workshop": workshop.name if workshop else "@opt.workshop.unknown",
        "description": case.description,
        "outcome": _wanted(case.outcome_wanted), "due_on": case.due_on.isoformat(),
        "actions": notices.work_on(case.id),  # the handler, and the director of a leader case
    }
    counts = files.counts_of(ctx.session, "case", case.id)
    if counts:  # "附件：照片 2 张", and the button that sends them to the handler
        facts["files"] = counts
    return facts


def leader_case_why(session: Session, case: Case, *, earlier: bool) -> dict[str, Any] | None:
    """Why the case is a leader case (领导包案), as words each reader's language renders
    ({"say": key, ...}: notices.localize): the joint letter's signers or the people
    affected, a repeat complaint, a leader's reception, a screening's warning. A repeat
    names the complainant's earlier cases of the category only when `earlier`: to those
    who see who complained (DESIGN rule 8). None: not a leader case."""
    from handlers.records import LEADER_CASE_PEOPLE  # records registers cases with us

    reason = case.leader_case_reason
    if not case.leader_case or not reason:
        return None
    if reason == "many_people":
        if case.cosigners >= LEADER_CASE_PEOPLE:
            return {"say": "case.why.joint", "cosigners": case.cosigners}
        return {"say": "case.why.many", "affected": case.affected}
    if reason == "repeat":
        numbers = list(session.exec(select(Case.number).where(
            Case.unit_id == case.unit_id, Case.complainant_id == case.complainant_id,
            Case.category == case.category, col(Case.id) < case.id)
            .order_by(col(Case.id)))) if earlier and case.complainant_id else []
        if numbers:
            return {"say": "case.why.repeat", "numbers": numbers}
        return {"say": "case.why.repeat_withheld"}
    key = f"case.why.{reason}"
    return {"say": key} if catalog.has(key) else {"say": "case.why.other", "reason": reason}


def alert_new_handler(ctx: HandlerContext, case: Case, handler_id: int, message: str,
                      params: dict[str, Any], *, occasion: str) -> None:
    """A case's new handler (passed on, reclassified, handed on by one who left) gets its
    【交办】 with all the case says and `params`, and who complained: a read audited
    (DESIGN rule 8)."""
    s = ctx.session
    assert case.id is not None
    complainant = None if case.anonymous or case.complainant_id is None \
        else s.get(Person, case.complainant_id)
    if complainant is not None:
        s.add(IdentityRead(case_id=case.id, reader_id=handler_id, purpose="case_alert",
                           at=ctx.now))
    workshop = s.get(Workshop, case.workshop_id) if case.workshop_id else None
    message, params = notices.as_letter(s, case, message, {  # a letter: 【来信】, to read
        **case_facts(ctx, case, workshop), **params, "complainant": display_name(complainant)})
    alerts.raise_alert(ctx, subject="case", subject_id=case.id, recipient_id=handler_id,
                       message=message, priority=outbox.ALERT, params=params,
                       occasion=occasion)


def _reassign(ctx: HandlerContext, sub: Submission, case: Case) -> Result:
    s = ctx.session
    lifecycle.check(s, case, transition(case, "reassign"), ctx.actor)
    target = s.get(Person, int(sub.answers["assignee"]))
    if target is None or not target.active or target.unit_id != case.unit_id \
            or target.role not in ("staff", "leader", "director"):
        return Result("case_action.gone", {}, back_to="assignee")
    if case.leader_case and target.role == "staff":  # 领导包案 stays with a leader
        return Result("case.refused.leader_case", {"number": case.number,
                                                   "name": target.name}, back_to="assignee")
    if target.id == case.handler_id:
        return Result("case.refused.same_handler", {"name": target.name}, back_to="assignee")
    old = s.get(Person, case.handler_id) if case.handler_id else None
    event = lifecycle.move(ctx, case, transition(case, "reassign"),
                           f"{old.name if old else ''} → {target.name}: {sub.answers['reason']}")
    case.handler_id = target.id
    s.add(case)
    reschedule(ctx, case)
    assert case.id is not None and target.id is not None
    # The new handler is told all the case says, as its first handler was: they must
    # answer it.
    alert_new_handler(ctx, case, target.id, "notice.case_passed",
                      {"by": ctx.actor.name, "reason": sub.answers["reason"]},
                      occasion=f"reassign{event.id}")  # it may come back to them
    if old is not None:  # their 交办 waits for their 收到 no more
        alerts.pass_on(ctx, case, old, target)
    if old is not None and old.id != ctx.actor.id and old.id is not None:
        # Whoever had it, if it was not them who passed it on: it is off their hands.
        said = {"number": case.number, "category": case.category, "by": ctx.actor.name,
                "name": target.name, "reason": sub.answers["reason"]}
        what = notices.letter_named(s, case)  # (notice.letter_handed_on is the writer's)
        outbox.enqueue(s, key=f"case:{case.id}:handed:{event.id}", recipient_id=old.id,
                       message="notice.case_handed_on" if what is None
                       else "notice.letter_passed_on", now=ctx.now,
                       params=said if what is None else {**said, "what": what})
    return _done(sub, case, name=target.name)


def _owner(session: Session, case: Case, category: str) -> int | None:
    """The leader the category names (谁主管、谁负责), if any."""
    row = session.exec(select(Responsibility).where(
        Responsibility.unit_id == case.unit_id, Responsibility.category == category)).first()
    return row.leader_id if row is not None else None


def _untaken(session: Session, case: Case) -> bool:
    """Whether the case is still only where its category put it: nobody has it yet, or
    its category's leader has it, assigned (已交办), with no work of theirs on the timeline.
    A case passed on to someone (转办) or taken up stays with its handler."""
    if case.status not in ("registered", "assigned"):
        return False
    if case.handler_id is None:
        return True
    if _owner(session, case, case.category) != case.handler_id:
        return False
    return session.exec(select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.actor_id == case.handler_id,
        col(CaseEvent.kind).not_in(("registered", "instructed")))).first() is None


def _reclassify(ctx: HandlerContext, sub: Submission, case: Case) -> Result:
    """再分类: the staff or the director file the case under another category (what the
    complaint form promises for 其他). It counts there from now on; if it is still only
    where its first category put it (_untaken), it goes to the new category's leader, who
    is alerted as a handler is; otherwise it stays with its handler."""
    s, a = ctx.session, sub.answers
    lifecycle.check(s, case, "reclassify", ctx.actor)
    new, reason = a["category"], a["reason"]
    if new == case.category:
        return Result("case.refused.same_category",
                      {"number": case.number,
                       "category": catalog.t(sub.lang, f"opt.category.{new}")},
                      back_to="category")
    # Who the new category names today: its leader, the director while that leader is away.
    chosen = assignment.assignee(s, case.unit_id, new, ctx.today).person
    leader = chosen.id if chosen is not None else None
    untaken = _untaken(s, case)
    event = lifecycle.move(ctx, case, "reclassify", f"{case.category}>{new}: {reason}")
    old_category, case.category = case.category, new
    s.add(case)
    words_of = {"number": case.number, "category": catalog.t(sub.lang, f"opt.category.{new}"),
                "old": catalog.t(sub.lang, f"opt.category.{old_category}")}
    target = s.get(Person, leader) if leader is not None else None
    if not untaken or target is None or not target.active or target.id == case.handler_id:
        handler = s.get(Person, case.handler_id) if case.handler_id else None
        if handler is None:
            return Result("case_action.done.reclassify_unassigned", words_of)
        if handler.id is not None and handler.id != ctx.actor.id:  # theirs still: told
            message, params = notices.as_letter(s, case, "notice.case_reclassified", {
                "number": case.number, "category": new,
                "old_category": f"@opt.category.{old_category}", "by": ctx.actor.name,
                "reason": reason, "actions": notices.work_on(case.id)})
            outbox.enqueue(s, key=f"case:{case.id}:reclassified:{event.id}",
                           recipient_id=handler.id, message=message, now=ctx.now,
                           params=params)
        return Result("case_action.done.reclassify", {**words_of, "name": handler.name})
    assert case.id is not None and target.id is not None
    old = s.get(Person, case.handler_id) if case.handler_id else None
    case.handler_id, case.status = target.id, "assigned"
    s.add(case)
    s.add(CaseEvent(case_id=case.id, at=ctx.now, kind="assigned", note=f"category:{new}"))
    s.flush()
    reschedule(ctx, case)
    alert_new_handler(ctx, case, target.id, "notice.case_rerouted",
                      {"by": ctx.actor.name, "old_category": f"@opt.category.{old_category}",
                       "reason": reason},
                      occasion=f"reclassify{event.id}")  # it may come back to them
    if old is not None:  # their 交办 waits for their 收到 no more
        alerts.pass_on(ctx, case, old, target)
    if old is not None and old.id is not None and old.id != ctx.actor.id:
        message, params = notices.as_letter(s, case, "notice.case_rerouted_old", {
            "number": case.number, "category": new,
            "old_category": f"@opt.category.{old_category}", "by": ctx.actor.name,
            "name": target.name, "reason": reason})
        outbox.enqueue(s, key=f"case:{case.id}:rerouted:{event.id}", recipient_id=old.id,
                       message=message, now=ctx.now, params=params)
    return Result("case_action.done.reclassify_rerouted", {**words_of, "name": target.name})


def _five_fix(ctx: HandlerContext, sub: Submission, case: Case) -> Result:
    a = sub.answers
    if not case.leader_case:
        return Result("case.refused.not_leader_case", {"number": case.number},
                      back_to="action")
    if ctx.actor.role not in FIVE_FIX_ROLES:
        raise Refused("case.refused.who", number=case.number,
                      action="@case.action.five_fix", who="@case.who.leader")
    lifecycle.check(ctx.session, case, "five_fix", ctx.actor)
    report_on = date.fromisoformat(a["report_on"])
    if not ctx.today <= report_on <= case.due_on:
        return Result("case.refused.report_on", {"due_on": case.due_on.isoformat()},
                      back_to="report_on")
    case.lead_leader_id = case.lead_leader_id or ctx.actor.id
    case.dept_head, case.responsible = a["dept_head"], a["responsible"]
    case.report_on, case.return_visit_plan = report_on, a["visit_plan"]
    lead = ctx.session.get(Person, case.lead_leader_id)
    lifecycle.move(ctx, case, "five_fix",
                   f"{lead.name if lead else ''} / {case.dept_head} / {case.responsible} / "
                   f"{report_on.isoformat()} / {case.return_visit_plan}")
    return _done(sub, case)


def _urge(ctx: HandlerContext, sub: Submission, case: Case) -> Result:
    """督办: the supervisor, the lead leader or the director presses the handler, with what
    to do and by when; on the timeline (the supervision form) and pushed to the handler."""
    text = sub.answers["urge"]
    event = lifecycle.move(ctx, case, "urge", text)
    handler = ctx.session.get(Person, case.handler_id) if case.handler_id else None
    assert case.id is not None
    if handler is not None and handler.id is not None:
        message, params = notices.as_letter(
            ctx.session, case, "notice.case_urged",
            {"number": case.number, "category": case.category,
             "due_on": case.due_on.isoformat(), "leader": ctx.actor.name,
             "note": text, "actions": notices.work_on(case.id)})
        outbox.enqueue(ctx.session, key=f"case:{case.id}:urge:{event.id}",
                       recipient_id=handler.id, message=message, now=ctx.now,
                       priority=outbox.ALERT, params=params)
    return _done(sub, case, name=handler.name if handler else "")


_ACTIONS = {"note": _note, "reply": _reply, "close": _close, "extend": _extend,
            "reassign": _reassign, "reclassify": _reclassify, "return_visit": _return_visit,
            "five_fix": _five_fix, "urge": _urge}


# --- extension decisions ----------------------------------------------------------------


def decide_extension(ctx: HandlerContext, sub: Submission) -> Result:
    """The director or the lead leader approves or refuses more time."""
    s = ctx.session
    row = s.get(Extension, int(sub.answers["extension"]))
    case = s.get(Case, row.case_id) if row is not None else None
    if row is None or case is None or row.status != "pending" \
            or case.unit_id != ctx.unit_id():
        return Result("decide_extension.gone", {}, back_to="extension")
    if row.requested_by == ctx.actor.id and ctx.actor.role != "director":
        return Result("decide_extension.own", {"number": case.number}, back_to="extension")
    approve = sub.answers["decision"] == "approve"
    too_long = extension_refusal(s, case, row.days, ctx.today, ctx.zone) if approve \
        else None
    if too_long is not None:  # the limit holds whoever decides, and whenever
        return Result("decide_extension.too_long", {**too_long[1], "days": row.days},
                      back_to="decision")
    try:
        lifecycle.move(ctx, case, "extended",
                       f"{'+' if approve else '-'}{row.days}: {row.reason}")
    except Refused as err:
        return refused(sub, err, None)
    row.status = "approved" if approve else "refused"
    row.decided_by, row.decided_at = ctx.actor.id, ctx.now
    s.add(row)
    if approve:
        start, _ = extension_bounds(s, case, ctx.today, ctx.zone)
        case.due_on = workdays.load(s).due_date(start, row.days)
        case.deadline_days += row.days
        s.add(case)
        reschedule(ctx, case, deadlines.STAGES[1:])
    # Told: who handles the case now (it may have been passed on since the request), and
    # who asked, if that is someone else; never the one deciding, who reads it here.
    requester = s.get(Person, row.requested_by)
    told: list[Person] = []
    for pid in dict.fromkeys((case.handler_id, row.requested_by)):
        who = s.get(Person, pid) if pid is not None else None
        if who is None or who.id == ctx.actor.id:
            continue
        asked = who.id == row.requested_by
        outbox.enqueue(s, key=f"extension:{row.id}:decided" + ("" if asked else f":{who.id}"),
                       recipient_id=pid, now=ctx.now, priority=outbox.ALERT,
                       message=f"notice.extension_{row.status}" + ("" if asked else "_other"),
                       params={"number": case.number, "days": row.days, "by": ctx.actor.name,
                               "due_on": case.due_on.isoformat(),
                               "name": requester.name if requester else ""})
        told.append(who)
    if not told:  # the director deciding on her own request on her own case
        return Result(f"decide_extension.{row.status}_own",
                      {"number": case.number, "due_on": case.due_on.isoformat()})
    return Result(f"decide_extension.{row.status}",
                  {"number": case.number, "due_on": case.due_on.isoformat(),
                   "names": alerts.names_text(told, sub.lang)})


# --- the complainant's rating -----------------------------------------------------------


def rate(ctx: HandlerContext, sub: Submission) -> Result:
    """Record 满意 / 基本满意 / 不满意; 不满意 reopens the case with the supervisor."""
    s, a = ctx.session, sub.answers
    by_code = a["case"] == "code"
    if by_code:
        case = case_by_code(s, a["code"])
        if case is None:
            return Result("receipt.not_found", {}, back_to="code")
    else:
        case = _case(ctx, a["case"])
        if case is None or case.complainant_id != ctx.actor.id:
            return Result("case_action.gone", {}, back_to="case")
    rating = a["rating"]
    action = "reopen" if rating == "unsatisfied" else "rate"
    try:
        rateable(s, case, ctx.actor, ctx.today, ctx.zone)
    except Refused as err:
        return refused(sub, err, "code" if by_code else "case")
    was_closed = case.status == "closed"
    lifecycle.move(ctx, case, action, rating, complainant=True)
    case.rating = rating
    if action == "rate":
        s.add(case)
        return Result("rate.done", {"number": case.number})
    went_up = _reopen(ctx, case, was_closed=was_closed)
    # Up a level only when there is one: the director handling it herself answers again.
    # Nothing can be pushed to an anonymous complainant: they look the answer up.
    message, params = notices.as_letter(
        s, case, ("rate.reopened" if went_up else "rate.reopened_same")
        + ("_anonymous" if case.anonymous else ""),
        {"number": case.number, "due_on": case.due_on.isoformat()}, writer=True)
    return Result(message, notices.localize(params, sub.lang, ctx.zone))


def case_by_code(session: Session, code: str) -> Case | None:
    return session.exec(select(Case).where(Case.receipt_hash == receipt_hash(code))).first()


def rate_until(case: Case, zone: ZoneInfo) -> date | None:
    """The last day a closed case may be rated (RATE_DAYS_AFTER_CLOSING after the day it
    closed, in the workroom's zone); None for a case not closed."""
    if case.status != "closed" or case.closed_at is None:
        return None
    return case.closed_at.astimezone(zone).date() + timedelta(days=RATE_DAYS_AFTER_CLOSING)


def rateable(session: Session, case: Case, actor: Person, today: date, zone: ZoneInfo) -> None:
    """Raise Refused, in words a complainant understands, if the reply cannot be rated now:
    rated already, not answered yet, or closed to rating (closed and rated, or closed
    more than RATE_DAYS_AFTER_CLOSING days ago)."""
    def refuse(key: str, **params: Any) -> Refused:  # a letter's writer reads of the letter
        key, params = notices.as_letter(session, case, key, params, writer=True)
        return Refused(key, **params)

    if case.status == "closed":
        until = rate_until(case, zone)
        if case.rating is not None or case.reply is None or until is None or today > until:
            raise refuse("rate.closed", number=case.number, days=RATE_DAYS_AFTER_CLOSING)
    elif case.rating is not None:
        raise refuse("case.refused.rated", number=case.number)
    if case.status not in lifecycle.TRANSITIONS["rate"].sources:
        raise refuse("rate.not_yet", number=case.number)
    lifecycle.check(session, case, "rate", actor, complainant=True)


def code_refusal(session: Session, lang: str, code: str, actor: Person, today: date,
                 zone: ZoneInfo) -> tuple[str, dict[str, Any]] | None:
    """Why a receipt code typed to rate a reply is refused, before the rating is asked."""
    case = case_by_code(session, code)
    if case is None:
        from handlers.suggestions import by_hash  # a suggestion's code: read, not rated

        found = by_hash(session, receipt_hash(code))
        if found is not None:
            return "rate.suggestion_code", {"number": found.number}
        return "receipt.not_found", {}
    try:
        rateable(session, case, actor, today, zone)
    except Refused as err:
        return err.key, words(lang, err.params)
    return None


def case_refusal(session: Session, lang: str, value: str, actor: Person, today: date,
                 zone: ZoneInfo) -> tuple[str, dict[str, Any]] | None:
    """Why one's own case (a closing notice's button to rate it) cannot be rated now."""
    case = session.get(Case, int(value)) if value.isdigit() else None
    if case is None or case.complainant_id is None or case.complainant_id != actor.id:
        return None  # another's, or the receipt code's option: the form says so
    try:
        rateable(session, case, actor, today, zone)
    except Refused as err:
        return err.key, words(lang, err.params)
    return None


def _reopen(ctx: HandlerContext, case: Case, *, was_closed: bool = False) -> bool:
    """Reopen the case with the handler's supervisor; return whether it went to one (the
    director, or a case with no handler's supervisor, stays with who had it). A case
    reopened after it was closed is said so, with what it was closed with."""
    s = ctx.session
    boss = lifecycle.supervisor_of(s, case)
    old = case.handler_id
    if boss is not None:
        case.handler_id = boss.id
    case.reopens += 1
    case.deadline_days, case.deadline_from = REOPEN_DAYS, ctx.today
    case.due_on = workdays.load(s).due_date(ctx.today, REOPEN_DAYS)
    s.add(case)
    reschedule(ctx, case)
    assert case.id is not None
    params = {"number": case.number, "category": case.category,
              "due_on": case.due_on.isoformat(), "reply": case.reply or "",
              "events": deadlines.done_so_far(s, case)}
    if was_closed:
        params["outcome"] = case.outcome or ""
    went_up = case.handler_id != old
    after = "_closed" if was_closed else ""
    for recipient, message in ((case.handler_id, ("notice.case_reopened" if went_up
                                                  else "notice.case_reopened_same") + after),
                               (old, "notice.case_reopened_old" + after)):
        if recipient is not None and (not message.startswith("notice.case_reopened_old")
                                      or recipient != case.handler_id):
            # The new handler gets the button to it; the old one has nothing left to do.
            mine = {"actions": notices.work_on(case.id)} if recipient == case.handler_id else {}
            message, said = notices.as_letter(s, case, message, {**params, **mine})
            outbox.enqueue(s, key=f"case:{case.id}:reopened:{case.reopens}:{recipient}",
                           recipient_id=recipient, message=message, params=said,
                           now=ctx.now, priority=outbox.ALERT)
    return went_up
