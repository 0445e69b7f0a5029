"""Finished forms become records: one transaction each, with their pushes and alerts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, or_, select

from conversations import catalog
from conversations.answers import Invalid, Number
from conversations.flow import AddFiles, Result, Submission
from handlers import (
    alerts,
    assignment,
    bookings,
    casework,
    deadlines,
    files,
    grouping,
    incidents,
    notices,
    suggestions,
)
from handlers.context import HandlerContext, receipt_hash
from handlers.context import people_of as _staff_of
from handlers.identity import display_name, reporter_name
from handlers.queries import case_status_by_code
from scheduler import workdays
from store import fast, outbox
from store.db import insert_ids
from store.models import (
    Alert,
    Attachment,
    Booking,
    Case,
    CaseEvent,
    ChainStep,
    DutyEntry,
    IdentityRead,
    Incident,
    IncidentLink,
    Notification,
    Person,
    Suggestion,
    Workshop,
)
from store.numbers import next_number

ORDINARY_DAYS = 60
LEADER_CASE_DAYS = 90
LEADER_CASE_PEOPLE = 20


def submit(ctx: HandlerContext, sub: Submission) -> Result:
    """Run the handler of a finished form."""
    handler = _HANDLERS[sub.flow]
    return handler(ctx, sub)


def keep_attachments(ctx: HandlerContext, sub: Submission, subject: str,
                      subject_id: int) -> None:
    for item in sub.attachments:
        ctx.session.add(Attachment(
            subject=subject, subject_id=subject_id, channel=ctx.channel,
            kind=str(item.get("kind", "file")), file_ref=str(item["file_ref"]),
            mime_type=item.get("mime_type"), size=item.get("size"), created_at=ctx.now))


def add_files(ctx: HandlerContext, eff: AddFiles) -> Result:
    """Photos or voice notes sent just after a report was sent: kept with the record it
    was filed as (for an emergency, also one added to an incident), and the leaders an
    emergency alerted are told, with the button to see them."""
    s = ctx.session
    sub = Submission(eff.flow, {}, eff.draft_id, ctx.actor.lang or catalog.DEFAULT_LANG,
                     attachments=eff.items)
    counts = files.counted(eff.items)
    if eff.flow == "emergency":
        incident = s.exec(select(Incident).where(Incident.draft_key == eff.draft_id)).first()
        if incident is None:
            link = s.exec(select(IncidentLink).where(
                IncidentLink.draft_key == eff.draft_id)).first()
            incident = s.get(Incident, link.incident_id) if link is not None else None
        if incident is None or incident.id is None:
            return Result("attachment.not_here", {})
        keep_attachments(ctx, sub, "incident", incident.id)
        said_id = None
        if eff.caption:  # the reporter's words after the report: kept with it, as a report
            said_id = said_to(ctx, incident, eff.caption)  # added, read by those paged later
        told = s.exec(select(Alert.recipient_id).where(
            Alert.subject == "incident", Alert.subject_id == incident.id)).all()
        total = files.counts_of(s, "incident", incident.id)
        for pid in dict.fromkeys(told):
            _tell_files(ctx, incident, pid, counts, total, eff.caption, said_id)
        if not eff.items:
            return Result("emergency.said_added", {"number": incident.number})
        return Result("attachment.added", {"number": incident.number,
                                           "count": sum(counts.values())})
    case = s.exec(select(Case).where(Case.draft_key == eff.draft_id)).first()
    if case is None or case.id is None:
        return Result("attachment.not_here", {})
    keep_attachments(ctx, sub, "case", case.id)
    return Result("attachment.added", {"number": case.number, "count": sum(counts.values())})


FILES_SAID = "notice.incident_files_added_said"
FILES_ADDED = "notice.incident_files_added"
# Files sent this soon after the last push about an incident's files (an album: a message
# a photo) are told together, in one push that waits this long for the rest.
FILES_GATHER = timedelta(seconds=10)


def _tell_files(ctx: HandlerContext, incident: Incident, pid: int, added: dict[str, int],
                total: dict[str, int], caption: str | None, said_id: int | None) -> None:
    """Tell a leader an emergency alerted what its reporter added: the files of each kind
    just sent, and all of the incident's (its button sends them all). The first goes at
    once; the next ones within FILES_GATHER of it wait as one push, which each later file
    updates until it leaves. Words make their own push at once, telling the files still
    waiting with them."""
    s = ctx.session
    prefix = f"incident:{incident.id}:files:"
    waiting = s.exec(select(Notification).where(
        Notification.recipient_id == pid, Notification.status == "pending",
        Notification.message_key == FILES_ADDED,
        col(Notification.idempotency_key).startswith(prefix),
        or_(col(Notification.claimed_until).is_(None),
            col(Notification.claimed_until) < ctx.now))
        .order_by(col(Notification.id)).with_for_update()).first()
    if waiting is not None:
        added = files.merged(waiting.params.get("added_files") or {}, added)
        if not caption:
            waiting.params = {**waiting.params, "files": total, "added_files": added}
            s.add(waiting)
            return
        waiting.status, waiting.last_error = "cancelled", "told by the reporter's words"
        s.add(waiting)
    said = {"caption": caption} if caption else {}
    if said:
        message = FILES_SAID if added else "notice.incident_said"
        key = f"{prefix}said{said_id}:{pid}"
    else:
        message, key = FILES_ADDED, f"{prefix}{sum(total.values())}:{pid}"
    last = None if said else s.exec(select(func.max(Notification.created_at)).where(
        Notification.recipient_id == pid,
        col(Notification.idempotency_key).startswith(prefix))).one()
    row = outbox.enqueue(s, key=key, recipient_id=pid, now=ctx.now,
                         priority=outbox.EMERGENCY, message=message,
                         params={"number": incident.number, "files": total,
                                 "added_files": added, "reported_at": ctx.now.isoformat(),
                                 **said})
    if last is not None and row.status == "pending":
        row.next_attempt_at = max(row.next_attempt_at, last + FILES_GATHER)
        s.add(row)


def said_to(ctx: HandlerContext, incident: Incident, words: str) -> int | None:
    """The reporter's words sent after the report (a late head count, "now it is on
    fire", a photo's caption): kept with the incident as a report added to it. A head
    count alone is its people, and the report's own when it had none."""
    assert incident.id is not None
    try:
        people: int | None = Number(1, 100000, estimate=True).parse(words)
    except Invalid:
        people = None
    row = IncidentLink(incident_id=incident.id, draft_key=f"{grouping.SAID}{uuid.uuid4().hex}",
                       reporter_id=ctx.actor.id, channel=ctx.channel, what=words, place="",
                       people=people, created_at=ctx.now)
    ctx.session.add(row)
    own = incident.reporter_id == ctx.actor.id
    if people is not None and incident.people is None and own:
        incident.people = people
        ctx.session.add(incident)
    if own and not incident.place and incident.workshop_id is None:
        # "快来人" sent, then "铸造车间": where it is. The workshop's next report (its
        # liaison's) joins this incident rather than starting a second chain.
        shop = grouping.workshop_named(ctx.session, incident.unit_id, words)
        if shop is not None:
            incident.workshop_id, incident.place = shop.id, shop.name
            ctx.session.add(incident)
    ctx.session.flush()
    return row.id


def _number(ctx: HandlerContext, prefix: str) -> str:
    return next_number(ctx.session, prefix, ctx.today.year)


# --- suggestion ------------------------------------------------------------------------


def suggestion(ctx: HandlerContext, sub: Submission) -> Result:
    row = ctx.session.exec(select(Suggestion).where(Suggestion.draft_key == sub.draft_id)).first()
    if row is None:
        anonymous = sub.answers["identity"] == "anonymous"
        row = Suggestion(
            number=_number(ctx, "S"), draft_key=sub.draft_id, unit_id=ctx.unit_id(),
            topic=sub.answers["topic"], text=sub.answers["text"], anonymous=anonymous,
            person_id=None if anonymous else ctx.actor.id, channel=ctx.channel,
            created_at=ctx.now,
            receipt_hash=receipt_hash(ctx.receipt_code(sub.draft_id)) if anonymous else None,
        )
        ctx.session.add(row)
        ctx.session.flush()
        # The staff keep the opinion archive: they read each suggestion as it comes, to
        # report the major ones at once (no author: an opinion is not tied to a person).
        # One statement: a batch of steps may file many (the row is new: no key exists).
        outbox.add_many(ctx.session, [
            {"key": f"suggestion:{row.id}:staff:{pid}", "recipient_id": pid,
             "message": "notice.suggestion_staff",
             "params": {"number": row.number, "topic": f"@opt.topic.{row.topic}",
                        "text": row.text,
                        "actions": [["nav.answer_suggestion",
                                     f"flow:answer_suggestion?suggestion={row.id}"]]}}
            for pid in _archive_keepers(ctx.session, row.unit_id)], now=ctx.now)
    if row.anonymous:  # the answer is read with the receipt code: nobody can push it
        return Result("suggestion.done_anonymous", {
            "number": row.number, "code": ctx.receipt_code(sub.draft_id)})
    return Result("suggestion.done", {"number": row.number})


def _archive_keepers(session: Session, unit_id: int | None) -> list[int]:
    """Who reads each new suggestion: the unit's staff, or its director when it has none;
    looked up once per transaction."""
    memo: dict[int | None, list[int]] = session.info.setdefault("archive_keepers", {})
    if unit_id not in memo:
        people = _staff_of(session, unit_id, ("staff",)) \
            or _staff_of(session, unit_id, ("director",))
        memo[unit_id] = [p.id for p in people if p.id is not None]
    return memo[unit_id]


# --- complaint -------------------------------------------------------------------------


def complaint(ctx: HandlerContext, sub: Submission) -> Result:
    s = ctx.session
    row = s.exec(select(Case).where(Case.draft_key == sub.draft_id)).first()
    if row is None:
        row = _register_case(ctx, sub)
    params: dict[str, Any] = {"number": row.number, "due_on": row.due_on.isoformat(),
                              "days": row.deadline_days}
    if row.anonymous:
        params["code"] = ctx.receipt_code(sub.draft_id)
        return Result("complaint.done_anonymous", params)
    away = assignment.away_of(s, row)
    if away is not None and not row.leader_case:  # why it is not with the leader responsible
        return Result("complaint.done_away", {
            **params, "away": catalog.t(sub.lang, f"case.away.{away.kind}"),
            "until": away.until})
    return Result("complaint.done_leader" if row.leader_case else "complaint.done", params)


def letter(ctx: HandlerContext, sub: Submission) -> Result:
    """A letter to a leader (领导来信): registered as a case the leader it was written to
    handles (the director for the chairman); one to no leader in particular goes by its
    category, as a complaint does. Its reply, deadline and rating are a complaint's."""
    s, a = ctx.session, sub.answers
    row = s.exec(select(Case).where(Case.draft_key == sub.draft_id)).first()
    if row is None:
        to = str(a["to"])
        addressee = s.get(Person, int(to)) if to.isdigit() else None
        if to != "any" and (addressee is None or not addressee.active
                            or addressee.unit_id != ctx.unit_id()
                            or addressee.role not in ("director", "leader")):
            return Result("letter.gone", {}, back_to="to")
        # As a complaint of one person, since the day written, of no workshop named.
        as_case = Submission(sub.flow, {
            "category": a.get("category") or "other", "description": a["description"],
            "since": ctx.today.isoformat(), "affected": 1, "cosigners": 0,
            "workshop": "unknown", "outcome": "", "identity": a["identity"]},
            sub.draft_id, sub.lang, sub.prefilled, sub.attachments)
        row = _register_case(ctx, as_case, addressee=addressee, letter=True)
    to_name = _name_of(s, row.addressed_to)
    params: dict[str, Any] = {"number": row.number, "due_on": row.due_on.isoformat(),
                              "days": row.deadline_days, "to": to_name}
    gone = assignment.away_on(s, row.unit_id, row.addressed_to, ctx.today) \
        if row.addressed_to is not None else None
    if gone is not None:  # theirs to read still; the writer knows when they are back
        params["away"] = catalog.t(sub.lang, "assignee.away_words",
                                   away=catalog.t(sub.lang, f"case.away.{gone.kind}"),
                                   until=gone.last_day.isoformat())
    if row.anonymous:
        params["code"] = ctx.receipt_code(sub.draft_id)
        key = "letter.done_anonymous" if to_name else "letter.done_any_anonymous"
    else:
        key = "letter.done" if to_name else "letter.done_any"
    return Result(key + ("_away" if gone is not None else ""), params)


def _name_of(s: Session, person_id: int | None) -> str:
    person = s.get(Person, person_id) if person_id is not None else None
    return person.name if person is not None else ""


@dataclass(frozen=True)
class Behalf:
    """A case a leader registers for a visitor after a reception (接访交办): the visitor if
    known, why it is a leader case, the leader who instructed it, the registration's note
    (the ledger entry). The leader's entry announces the case itself."""

    complainant: Person | None
    reason: str
    lead_leader_id: int
    note: str


def _register_case(ctx: HandlerContext, sub: Submission, behalf: Behalf | None = None, *,
                   addressee: Person | None = None, letter: bool = False) -> Case:
    s, a = ctx.session, sub.answers
    unit_id = ctx.unit_id()
    anonymous = a["identity"] == "anonymous"
    complainant = behalf.complainant if behalf else None if anonymous else ctx.actor
    workshop = s.exec(select(Workshop).where(Workshop.key == a["workshop"],
                                             Workshop.unit_id == unit_id)).first()
    reason = None
    if behalf is not None:
        reason = behalf.reason
    elif max(a["affected"], a.get("cosigners") or 0) >= LEADER_CASE_PEOPLE:
        reason = "many_people"
    elif not letter and not anonymous and ctx.actor.id is not None and s.exec(
        select(Case.id).where(Case.complainant_id == ctx.actor.id, Case.category == a["category"],
                              Case.letter == False)  # noqa: E712
    ).first() is not None:
        # A repeat petitioner (重复信访): a second complaint of the category. Letters are
        # neither repeats nor counted as earlier ones: each is written to someone.
        reason = "repeat"
    days = LEADER_CASE_DAYS if reason else ORDINARY_DAYS
    # The leader responsible for the category; the director while that leader is away.
    # A letter written to a leader is theirs: read by them (领导亲自阅示), away or not.
    who = assignment.Assignee(addressee) if addressee is not None else \
        assignment.assignee(s, unit_id, a["category"], ctx.today)
    handler_id = who.person.id if who.person is not None else \
        behalf.lead_leader_id if behalf else None
    case = Case(
        number=_number(ctx, "C"), draft_key=sub.draft_id, unit_id=unit_id,
        category=a["category"], description=a["description"], since=a["since"],
        affected=a["affected"], cosigners=a.get("cosigners") or 0,
        workshop_id=workshop.id if workshop else None, outcome_wanted=a["outcome"],
        anonymous=anonymous, complainant_id=complainant.id if complainant else None,
        receipt_hash=receipt_hash(ctx.receipt_code(sub.draft_id)) if anonymous else None,
        handler_id=handler_id, leader_case=reason is not None, leader_case_reason=reason,
        status="assigned" if handler_id else "registered", deadline_days=days,
        due_on=workdays.load(s).due_date(ctx.today, days), deadline_from=ctx.today,
        channel=ctx.channel, created_at=ctx.now,
        lead_leader_id=behalf.lead_leader_id if behalf else None,
        letter=letter, addressed_to=addressee.id if addressee is not None else None,
    )
    s.add(case)
    s.flush()
    assert case.id is not None
    s.add(CaseEvent(case_id=case.id, at=ctx.now, actor_id=ctx.actor.id, kind="registered",
                    note=behalf.note if behalf else ""))
    keep_attachments(ctx, sub, "case", case.id)
    if handler_id and letter and addressee is not None:
        # Written to them by name: theirs to read (领导亲自阅示), not routed by category
        # (away: the leader_away entry below says who reads it instead).
        if handler_id == addressee.id:
            s.add(CaseEvent(case_id=case.id, at=ctx.now, kind="letter_to",
                            note=addressee.name))
    elif handler_id:
        s.add(CaseEvent(case_id=case.id, at=ctx.now, kind="assigned",
                        note=f"category:{case.category}"))
    if who.instead_of is not None and who.person is not None:
        s.add(CaseEvent(case_id=case.id, at=ctx.now, kind=assignment.AWAY_EVENT,
                        note=assignment.away_note(who)))
    deadlines.schedule(s, case, now=ctx.now, zone=ctx.zone)
    if behalf is None:
        _announce_case(ctx, case, workshop)
        grouping.after_case(ctx, case, workshop)
    return case


def _announce_case(ctx: HandlerContext, case: Case, workshop: Workshop | None) -> None:
    s = ctx.session
    assert case.id is not None
    recipients: list[int] = [case.handler_id] if case.handler_id else []
    if case.leader_case:
        recipients += [p.id for p in _staff_of(s, case.unit_id, ("director",)) if p.id]
    complainant = None if case.anonymous else ctx.actor
    base = casework.case_facts(ctx, case, workshop)
    message = "notice.case_new"
    if case.leader_case:  # and why: those alerted see who complained, and their earlier cases
        message = "notice.case_leader_why"
        base["why"] = casework.leader_case_why(s, case, earlier=True)
    away = assignment.away_of(s, case)
    if away is not None:  # the leader responsible is away: the director has it, and why
        base.update(leader=away.leader, away=f"@case.away.{away.kind}", until=away.until)
        message = "notice.case_leader_away" if case.leader_case else "notice.case_new_away"
    if case.letter and message == "notice.case_new":  # a letter: to them, or by portfolio
        message = "notice.letter_to_you" if case.addressed_to else "notice.letter_routed"
    for pid in dict.fromkeys(recipients):
        if complainant is not None:
            # The handling leader sees who complained; that read is audited (DESIGN rule 8).
            s.add(IdentityRead(case_id=case.id, reader_id=pid, purpose="case_alert", at=ctx.now))
        alerts.raise_alert(
            ctx, subject="case", subject_id=case.id, recipient_id=pid, message=message,
            params={**base, "complainant": display_name(complainant)},
            priority=outbox.ALERT,
        )
    # The staff supervise it: what it is about and to whom it went; a leader case says so,
    # and why (not whose earlier cases). Never who complained: not theirs to see.
    why = casework.leader_case_why(s, case, earlier=False)
    said: dict[str, Any] = {"number": case.number, "category": case.category,
                            "summary": notices.literal(notices.summary(case.description)),
                            "name": _name_of(s, case.handler_id),
                            "due_on": case.due_on.isoformat(), **({"why": why} if why else {})}
    if away is not None:
        said.update(leader=away.leader, away=f"@case.away.{away.kind}", until=away.until,
                    name=away.handler)
    message = "notice.case_staff" + ("_leader" if why else "") + (
        "_away" if away else "" if case.handler_id else "_unassigned")
    if case.letter and message in ("notice.case_staff", "notice.case_staff_unassigned"):
        message = "notice.letter_staff"
        said["to"] = _name_of(s, case.addressed_to) or "@letter.to_any"
        gone = assignment.away_on(s, case.unit_id, case.addressed_to, ctx.today) \
            if case.addressed_to is not None else None
        if gone is not None:  # it waits for them: the staff may ask the writer
            message = "notice.letter_staff_away"
            said.update(away=f"@case.away.{gone.kind}", until=gone.last_day.isoformat())
    for staff in _staff_of(s, case.unit_id, ("staff",)):
        # One tap to work on it, for whom there is something to do (assign it, pass it on…).
        actions = notices.work_on(case.id) \
            if not case.letter and casework.offered(s, case, staff) else []
        outbox.enqueue(s, key=f"case:{case.id}:staff:{staff.id}", recipient_id=staff.id,
                       message=message, now=ctx.now,
                       params={**said, **({"actions": actions} if actions else {})})


# --- visit booking ---------------------------------------------------------------------


def booking(ctx: HandlerContext, sub: Submission) -> Result:
    s = ctx.session
    row = s.exec(select(Booking).where(Booking.draft_key == sub.draft_id)).first()
    if row is None:
        entry = s.get(DutyEntry, int(sub.answers["slot"]))
        if entry is None or bookings.over(entry, ctx):
            return Result("booking.slot_gone", {}, back_to="slot")
        assert ctx.actor.id is not None and entry.id is not None
        taken = s.exec(select(Booking).where(Booking.duty_entry_id == entry.id,
                                             Booking.person_id == ctx.actor.id,
                                             Booking.status == "booked")).first()
        if taken is not None:
            return Result("booking.already", {"number": taken.number}, back_to="slot")
        row = Booking(number=_number(ctx, "V"), draft_key=sub.draft_id, duty_entry_id=entry.id,
                      person_id=ctx.actor.id, topic=sub.answers["topic"], channel=ctx.channel,
                      created_at=ctx.now)
        s.add(row)
        s.flush()
        # Booked while the reception is under way: the visitor is on their way, so the
        # leader hears it ahead of routine pushes, in words that say so.
        now = bookings.under_way(entry, ctx)
        outbox.enqueue(s, key=f"booking:{row.id}:leader", recipient_id=entry.leader_id,
                       message="notice.booking_now" if now else "notice.booking_new",
                       now=ctx.now, priority=outbox.ALERT if now else outbox.ROUTINE,
                       params={**_booking_params(row, entry, ctx),
                               "actions": bookings.reschedule_button(row)})
        bookings.schedule(s, row, entry, now=ctx.now, zone=ctx.zone)
    entry = s.get(DutyEntry, row.duty_entry_id)
    assert entry is not None
    leader = s.get(Person, entry.leader_id)
    done = "booking.done_now" if bookings.under_way(entry, ctx) else "booking.done"
    return Result(done, {**_slot_params(entry), "number": row.number,
                         "weekday": catalog.t(sub.lang, f"weekday.{entry.day.weekday()}"),
                         "leader": leader.name if leader else ""})


def _slot_params(entry: DutyEntry) -> dict[str, Any]:
    return {"date": entry.day.isoformat(), "start": entry.start.strftime("%H:%M"),
            "end": entry.end.strftime("%H:%M"), "place": entry.place}


def _booking_params(row: Booking, entry: DutyEntry, ctx: HandlerContext) -> dict[str, Any]:
    return {**_slot_params(entry), "number": row.number, "topic": row.topic,
            "visitor": display_name(ctx.actor),  # as alerts name who reported
            "form": entry.form}


def cancel_booking(ctx: HandlerContext, sub: Submission) -> Result:
    s = ctx.session
    row = s.get(Booking, int(sub.answers["booking"]))
    if row is None or row.person_id != ctx.actor.id:
        return Result("cancel_booking.gone", {}, back_to="booking")
    if row.status == "booked":
        entry = s.get(DutyEntry, row.duty_entry_id)
        assert entry is not None
        if bookings.over(entry, ctx):  # the visit is past: nothing to call off, nobody to tell
            return Result("cancel_booking.over", {"number": row.number}, back_to="booking")
        if bookings.recorded(s, row) is not None:  # it took place: the leader recorded it
            return Result("cancel_booking.recorded", {"number": row.number},
                          back_to="booking")
        row.status, row.cancelled_at = "cancelled", ctx.now
        s.add(row)
        outbox.enqueue(s, key=f"booking:{row.id}:cancelled", recipient_id=entry.leader_id,
                       message="notice.booking_cancelled", now=ctx.now,
                       params={**_booking_params(row, entry, ctx),
                               "actions": bookings.reschedule_button()})
        bookings.cancel(s, row, now=ctx.now)
    return Result("cancel_booking.done", {"number": row.number})


# --- emergency -------------------------------------------------------------------------


def emergency(ctx: HandlerContext, sub: Submission, *, link: bool = True) -> Result:
    """File an emergency and alert its people; `link`: a report of a workshop whose
    incident is being handled is added to it (False: a report filed apart from it)."""
    s, a = ctx.session, sub.answers
    # Core statements, not the ORM's unit of work: an emergency's step is the one that
    # must not wait (the leaders are alerted from this transaction).
    t = Incident.__table__  # type: ignore[attr-defined]
    rows = fast.execute(s, "emergency_filed", lambda: select(t.c.id, t.c.number).where(
        t.c.draft_key == bindparam("draft")), {"draft": sub.draft_id})
    found = rows[0] if rows else None
    if found is None and link and (again := grouping.linked_before(ctx, sub)) is not None:
        return again
    if found is None:
        unit_id = ctx.unit_id()
        if "place" in sub.prefilled:
            workshop_id = ctx.actor.workshop_id
        else:  # a report sent by the silence before "where": the workshop it names, if any
            shop = grouping.workshop_named(s, unit_id, a.get("place") or a["what"])
            workshop_id = shop.id if shop else None
            if shop is None and not a.get("place") and ctx.actor.role == "liaison":
                workshop_id = ctx.actor.workshop_id  # a liaison's report: their workshop
        # Many voices, one incident: a report of a workshop already being handled is linked.
        open_one = grouping.open_incident(ctx, unit_id, workshop_id) if link else None
        if open_one is None and link:
            open_one = grouping.own_open_incident(ctx, unit_id)
        if open_one is not None:
            return grouping.link(ctx, open_one, sub)
        told = emergency_recipients(ctx, unit_id)
        # A leader or the director who files it knows it: their own alert is acknowledged
        # as it is filed (no push to themselves, no chain climbing past them), as if they
        # had pressed 收到 at once.
        filer = ctx.actor.id if any(p.id == ctx.actor.id for p in told) else None
        own = filer is not None
        received = _received(ctx, sub)
        values = dict(
            number=_number(ctx, "E"), draft_key=sub.draft_id, unit_id=unit_id, what=a["what"],
            place=a.get("place") or "", people=a.get("people"), measures=a.get("measures"),
            suggestion=a.get("suggestion"), reporter_id=ctx.actor.id, workshop_id=workshop_id,
            reporter_role=ctx.actor.role, channel=ctx.channel, created_at=received,
            chain_position=incidents.first_position(s, unit_id), chain_round=1,
            status="open", acknowledged_at=ctx.now if own else None, handled_at=None,
            outcome=None,
            archived_at=None)
        iid = insert_ids(s, t, [values], ("draft_key",))[0]
        # What was stored, as a record to read from (the session does not track it).
        row = Incident.model_construct(id=iid, **values)
        keep_attachments(ctx, sub, "incident", iid)
        params: dict[str, Any] = {
            "number": row.number, "what": row.what, "place": row.place,
            "people": row.people, "measures": row.measures,
            "suggestion": row.suggestion, "reported_at": received.isoformat(),
            "reporter": reporter_name(ctx.actor, ctx.channel, ctx.filed_by)}
        if sub.attachments:  # "附件：照片 2 张", counted from the form: no query
            params["files"] = files.counted(sub.attachments)
        incidents.file(s, row, [p.id for p in told], message="notice.incident",
                       params=params, priority=outbox.EMERGENCY, at=ctx.now,
                       acknowledged=None if filer is None else (filer, ctx.channel))
        if ctx.call_last_step and not own:  # a chain of one step: its call goes with it
            incidents.write_filed(s)  # the call is made for the alert
            incidents.ring_last_step(s, row, ctx.now)
        names = alerts.names_text([p for p in told if p.id != ctx.actor.id], sub.lang)
        number = row.number
    else:  # a re-delivered confirmation: the people alerted the first time
        incidents.write_filed(s)
        names = alerts.recipients_text(s, "incident", found[0], sub.lang, but=ctx.actor.id)
        number = found[1]
        own = s.exec(select(Alert.id).where(
            Alert.subject == "incident", Alert.subject_id == found[0],
            Alert.recipient_id == ctx.actor.id)).first() is not None
    if not names:  # never pretend someone was told: the reporter must phone at once
        return Result("emergency.done_nobody", {"number": number})
    return Result("emergency.done_own" if own else "emergency.done",
                  {"number": number, "alerted": names})


def _received(ctx: HandlerContext, sub: Submission) -> datetime:
    """When the workroom had the report: now, or for one the silence sent, its last
    message (the 1-hour first report counts from then, and the alert says so)."""
    if sub.received_at:
        return min(ctx.now, datetime.fromisoformat(sub.received_at))
    return ctx.now


@dataclass(frozen=True)
class Told:
    """Someone an emergency alerts, as the reporter is told of them."""

    id: int
    name: str
    post: str


def emergency_recipients(ctx: HandlerContext, unit_id: int | None) -> list[Told]:
    """The unit's director(s), today's duty leader and the chain's first step (looked up
    once per transaction: a batch of steps may file several reports)."""
    s = ctx.session
    memo = s.info.setdefault("emergency_recipients", {})
    key = (unit_id, ctx.today)
    if key not in memo:
        memo[key] = _emergency_recipients(s, unit_id, ctx)
    return list(memo[key])


def _emergency_recipients(s: Session, unit_id: int | None, ctx: HandlerContext) -> list[Told]:
    # Prepared statements: this is read while a reporter waits for the alert to leave.
    p = Person.__table__  # type: ignore[attr-defined]
    d = DutyEntry.__table__  # type: ignore[attr-defined]
    c = ChainStep.__table__  # type: ignore[attr-defined]
    who = (p.c.id, p.c.name, p.c.post)
    active = p.c.active.is_(True)
    if unit_id is None:  # no unit at all: every director (duty and chain need a unit)
        rows = fast.execute(s, "emergency_directors_any", lambda: select(*who).where(
            p.c.role == "director", active).order_by(p.c.id), {})
        return _told(rows)
    at = {"unit": unit_id}
    rows = fast.execute(s, "emergency_directors", lambda: select(*who).where(
        p.c.role == "director", active, p.c.unit_id == bindparam("unit")
    ).order_by(p.c.id), at)
    rows += fast.execute(s, "emergency_duty", lambda: select(*who).join_from(
        d, p, p.c.id == d.c.leader_id).where(
        d.c.day == bindparam("day"), d.c.unit_id == bindparam("unit"), active
    ).order_by(d.c.id), {**at, "day": ctx.today})
    first = fast.execute(s, "emergency_chain_first", lambda: select(*who).join_from(
        c, p, p.c.id == c.c.person_id).where(
        c.c.unit_id == bindparam("unit"), active,
        c.c.position == select(func.min(c.c.position)).where(
            c.c.unit_id == bindparam("unit")).scalar_subquery()
    ).order_by(c.c.id), at)
    return _told(rows + first)


def _told(rows: list[tuple[Any, ...]]) -> list[Told]:
    seen: dict[int, Told] = {}
    for pid, name, post in rows:
        seen.setdefault(int(pid), Told(int(pid), name or "", post or ""))
    return list(seen.values())


def _file_for_caller(ctx: HandlerContext, sub: Submission) -> Result:
    from handlers import hotline  # it files through the handlers above

    return hotline.file_for_caller(ctx, sub)


def _called_back(ctx: HandlerContext, sub: Submission) -> Result:
    from handlers import hotline  # it files through the handlers above

    return hotline.called_back_chosen(ctx, sub)


_HANDLERS = {
    "suggestion": suggestion,
    "complaint": complaint,
    "letter": letter,
    "booking": booking,
    "cancel_booking": cancel_booking,
    "emergency": emergency,
    "receipt": case_status_by_code,
    "answer_suggestion": suggestions.answer,
    "case_action": casework.case_action,
    "decide_extension": casework.decide_extension,
    "rate": casework.rate,
    "incident_action": incidents.incident_action,
    "reschedule_booking": bookings.reschedule_booking,
    "change_booking": bookings.change_booking,
    "file_for_caller": _file_for_caller,
    "emergency_apart": grouping.apart,
    "called_back": _called_back,
}


# --- calendar: roster, visit ledger, liaison returns, reports, field work ---
from handlers import fieldwork, invitations, ledger, reports, roster, screening  # noqa: E402

_HANDLERS.update({
    "roster": roster.roster_action,
    "duty_swap": roster.duty_swap,
    "visit_record": ledger.visit_record,
    "visit_missed": ledger.visit_missed,
    "screening": screening.screening,
    "warning_action": screening.warning_action,
    "report_action": reports.report_action,
    "info_report": reports.info_report,
    "field_visit": fieldwork.field_visit,
    "work_log": fieldwork.work_log,
    "invite": invitations.invite,
    "invitation": invitations.invitation,
})
