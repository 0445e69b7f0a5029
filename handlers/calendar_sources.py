"""Run-time options of the calendar's flows, and its read-only answers (the roster, the
warning ledger)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import and_, col, or_, select

from conversations import catalog
from conversations.engine import Button, Reply
from handlers import bookings, roster
from handlers.context import HandlerContext, people_of
from handlers.ledger import RECENT_DAYS
from handlers.lifecycle import OPEN
from handlers.reports import named_text
from scheduler import workdays
from store import roster as rotation
from store.calendar_models import (
    Dispute,
    DutyPublished,
    Invitation,
    LeaderAway,
    Report,
    ScreeningReturn,
    ScreeningRound,
)
from store.models import Booking, Case, DutyEntry, Incident, Person, Workshop

if TYPE_CHECKING:
    from handlers.directory import SqlDirectory

SHOWN = 15


def _person_label(p: Person, lang: str) -> str:
    if not p.post:
        return p.name
    return f"{p.name}（{p.post}）" if lang == "zh" else f"{p.name} ({p.post})"


def duty_leaders(d: SqlDirectory, lang: str) -> list[tuple[str, str]]:
    return [(str(p.id), _person_label(p, lang))
            for p in people_of(d.session, d.unit_id, roster.DUTY_ROLES)]


def _future_entries(d: SqlDirectory, mine: bool | None) -> list[DutyEntry]:
    """The coming receptions a swap may move: a visit to the site goes with its case."""
    stmt = select(DutyEntry).where(DutyEntry.unit_id == d.unit_id, col(DutyEntry.day) >= d.today,
                                   col(DutyEntry.form) != "onsite")
    if mine is True:
        stmt = stmt.where(DutyEntry.leader_id == d.person.id)
    elif mine is False:
        stmt = stmt.where(DutyEntry.leader_id != d.person.id)
    return list(d.session.exec(stmt.order_by(col(DutyEntry.day), col(DutyEntry.start))
                               .limit(SHOWN)).all())


SWAP_SOURCES = ("swap_from", "swap_to")  # values: DutyEntry ids


def swaps_own(d: SqlDirectory) -> bool:
    """Whether the person swaps their own days only: a leader (the staff and the director
    may pick any two)."""
    return d.person.role == "leader"


def swap_from(d: SqlDirectory, lang: str) -> list[tuple[str, str]]:
    """A leader's own receptions; the staff and the director may pick any."""
    mine = True if swaps_own(d) else None
    return [(str(e.id), d.slot_label(e, lang)) for e in _future_entries(d, mine)]


def swap_to(d: SqlDirectory, lang: str) -> list[tuple[str, str]]:
    mine = False if swaps_own(d) else None
    return [(str(e.id), d.slot_label(e, lang)) for e in _future_entries(d, mine)]


def my_receptions(d: SqlDirectory, lang: str) -> list[tuple[str, str]]:
    """Visits the leader may record: bookings not yet in the ledger, however old (one never
    recorded drops out of nowhere), and each reception of the last two weeks (for a
    visitor who came without booking)."""
    s, since = d.session, d.today - timedelta(days=RECENT_DAYS)
    if d.person.role == "staff":
        return _left_out(d, lang)
    booked = s.exec(select(Booking, DutyEntry).join(
        DutyEntry, col(Booking.duty_entry_id) == DutyEntry.id).where(
        DutyEntry.leader_id == d.person.id, col(Booking.status).in_(bookings.EXPECTED),
        col(DutyEntry.day) <= d.today, col(Booking.id).not_in(bookings.recorded_ids()))
        .order_by(col(DutyEntry.day), col(Booking.id))).all()
    out = [(f"b{b.id}", catalog.t(lang, "visit_record.booked", number=b.number,
                                  date=e.day.strftime("%m-%d"), weekday=_weekday(lang, e),
                                  topic=b.topic[:20]))
           for b, e in booked]
    entries = s.exec(select(DutyEntry).where(
        DutyEntry.leader_id == d.person.id, col(DutyEntry.day) >= since,
        col(DutyEntry.day) <= d.today).order_by(col(DutyEntry.day).desc())).all()
    out += [(f"e{e.id}", catalog.t(lang, "visit_record.walk_in", date=e.day.strftime("%m-%d"),
                                   weekday=_weekday(lang, e), start=e.start.strftime("%H:%M"),
                                   form=catalog.t(lang, f"form.{e.form}"))) for e in entries]
    if d.person.role == "director":  # the union chairman receives any day
        out.append(("now", catalog.t(lang, "visit_record.now")))
    return out[:SHOWN]


def _left_out(d: SqlDirectory, lang: str) -> list[tuple[str, str]]:
    """For the staff: the unit's expected visits whose reception is over and that are not
    in the ledger, whoever received them, the oldest first."""
    s = d.session
    ended = col(DutyEntry.day) < d.today if d.now is None else or_(
        col(DutyEntry.day) < d.today, and_(col(DutyEntry.day) == d.today,
                                           col(DutyEntry.end) <= d.now))
    rows = s.exec(select(Booking, DutyEntry).join(
        DutyEntry, col(Booking.duty_entry_id) == DutyEntry.id).where(
        DutyEntry.unit_id == d.unit_id, col(Booking.status).in_(bookings.EXPECTED), ended,
        col(Booking.id).not_in(bookings.recorded_ids()))
        .order_by(col(DutyEntry.day), col(Booking.id)).limit(SHOWN)).all()
    out = []
    for b, e in rows:
        leader = s.get(Person, e.leader_id)
        out.append((f"b{b.id}", catalog.t(
            lang, "visit_record.booked_for", number=b.number, date=e.day.strftime("%m-%d"),
            weekday=_weekday(lang, e), leader=leader.name if leader else "",
            topic=b.topic[:20])))
    return out


def _weekday(lang: str, entry: DutyEntry) -> str:
    return catalog.t(lang, f"weekday.{entry.day.weekday()}")


def missed_visits(d: SqlDirectory, lang: str) -> list[tuple[str, str]]:
    """Visits booked with the leader whose reception is over and that are not in the
    ledger: those a leader may record as not come (未到), the oldest first."""
    s = d.session
    ended = col(DutyEntry.day) < d.today if d.now is None else or_(
        col(DutyEntry.day) < d.today, and_(col(DutyEntry.day) == d.today,
                                           col(DutyEntry.end) <= d.now))
    # The leader's own; the staff's: the unit's (they fill in what a leader left out).
    own = DutyEntry.unit_id == d.unit_id if d.person.role == "staff" \
        else DutyEntry.leader_id == d.person.id
    rows = s.exec(select(Booking, DutyEntry).join(
        DutyEntry, col(Booking.duty_entry_id) == DutyEntry.id).where(
        own, Booking.status == "booked", ended,
        col(Booking.id).not_in(bookings.recorded_ids()))
        .order_by(col(DutyEntry.day), col(Booking.id)).limit(SHOWN)).all()
    out = []
    for b, e in rows:
        visitor = s.get(Person, b.person_id)
        out.append((str(b.id), catalog.t(
            lang, "visit_missed.option", number=b.number, date=e.day.strftime("%m-%d"),
            weekday=_weekday(lang, e), topic=b.topic[:20],
            visitor=visitor.name if visitor and visitor.verified and visitor.name
            else catalog.t(lang, "person.unverified"))))
    return out


def my_returns(d: SqlDirectory, lang: str) -> list[tuple[str, str]]:
    """The liaison's workshop's returns, or all for the staff: every one still open (未报),
    however old, since a missed return is filed late and never dropped (漏报); and those
    of the last two rounds already filed (to add a dispute), as many as the list holds."""
    s = d.session
    rounds = s.exec(select(ScreeningRound).where(ScreeningRound.unit_id == d.unit_id)
                    .order_by(col(ScreeningRound.month).desc()).limit(2)).all()
    ids = [r.id for r in rounds]
    stmt = select(ScreeningReturn, ScreeningRound).join(
        ScreeningRound, col(ScreeningReturn.round_id) == ScreeningRound.id).where(
        ScreeningRound.unit_id == d.unit_id,
        or_(ScreeningReturn.status == "pending", col(ScreeningReturn.round_id).in_(ids)))
    if d.person.role == "liaison":
        stmt = stmt.where(ScreeningReturn.workshop_id == d.person.workshop_id)
    rows = s.exec(stmt.order_by(col(ScreeningRound.month).desc(),
                                col(ScreeningReturn.workshop_id))).all()
    room = max(0, SHOWN - sum(ret.status == "pending" for ret, _ in rows))
    filed = {ret.id for ret, _ in rows if ret.status != "pending"}
    shown = {ret.id for ret, _ in rows if ret.status == "pending"} | set(
        [ret.id for ret, _ in rows if ret.id in filed][:room])
    out = []
    for ret, rnd in rows:
        if ret.id not in shown:
            continue
        shop = s.get(Workshop, ret.workshop_id)
        out.append((str(ret.id), catalog.t(
            lang, "screening.option", workshop=shop.name if shop else "", month=rnd.month,
            status=catalog.t(lang, f"screening.status.{ret.status}"))))
    return out


def open_warnings(d: SqlDirectory, lang: str) -> list[tuple[str, str]]:
    rows = d.session.exec(select(Dispute).where(
        Dispute.unit_id == d.unit_id, Dispute.warning == True,  # noqa: E712
        col(Dispute.case_id).is_(None), col(Dispute.incident_id).is_(None))
        .order_by(col(Dispute.id).desc()).limit(SHOWN)).all()
    out = []
    for x in rows:
        shop = d.session.get(Workshop, x.workshop_id)
        out.append((str(x.id), catalog.t(lang, "warning.option", number=x.number,
                                         workshop=shop.name if shop else "", people=x.people,
                                         what=x.what[:20])))
    return out


def open_reports(d: SqlDirectory, lang: str) -> list[tuple[str, str]]:
    rows = d.session.exec(select(Report).where(Report.unit_id == d.unit_id,
                                               Report.status != "sent")
                          .order_by(col(Report.drafted_at).desc()).limit(SHOWN)).all()
    return [(str(r.id), catalog.t(lang, "report.option",
                                  title=catalog.t(lang, f"report.title.{r.kind}"),
                                  period=named_text(r, lang),
                                  status=catalog.t(lang, f"report.status.{r.status}")))
            for r in rows]


def invite_cases(d: SqlDirectory, lang: str) -> list[tuple[str, str]]:
    """The unit's open cases, the earliest due first."""
    rows = d.session.exec(select(Case).where(Case.unit_id == d.unit_id,
                                             col(Case.status).in_(OPEN))
                          .order_by(col(Case.due_on), col(Case.id)).limit(SHOWN)).all()
    return [(str(c.id), d.case_label(c, lang)) for c in rows]


def my_invitations(d: SqlDirectory, lang: str) -> list[tuple[str, str]]:
    """The person's invitations not yet answered."""
    rows = d.session.exec(select(Invitation, Booking).join(
        Booking, col(Invitation.booking_id) == Booking.id).where(
        Booking.person_id == d.person.id, Invitation.status == "invited")
        .order_by(col(Invitation.id))).all()
    out = []
    for inv, _ in rows:
        entry = d.session.get(DutyEntry, inv.duty_entry_id)
        case = d.session.get(Case, inv.case_id)
        if entry is not None and case is not None:
            out.append((str(inv.id), f"{case.number} · {d.slot_label(entry, lang)}"))
    return out


SOURCES: dict[str, Callable[[SqlDirectory, str], list[tuple[str, str]]]] = {
    "invite_cases": invite_cases, "my_invitations": my_invitations,
    "duty_leaders": duty_leaders, "swap_from": swap_from, "swap_to": swap_to,
    "my_receptions": my_receptions, "missed_visits": missed_visits, "my_returns": my_returns,
    "open_warnings": open_warnings, "open_reports": open_reports,
}


# --- read-only answers -------------------------------------------------------------------------


def roster_view(ctx: HandlerContext, lang: str) -> list[Reply]:
    """The next receptions with their publication, the union leaders, leaders away and the
    publication schedule."""
    from handlers.directory import SqlDirectory

    s, unit_id = ctx.session, ctx.unit_id()
    d = SqlDirectory(s, ctx.actor, unit_id, ctx.today)
    cal = workdays.load(s)
    entries = s.exec(select(DutyEntry).where(DutyEntry.unit_id == unit_id,
                                             col(DutyEntry.day) >= ctx.today)
                     .order_by(col(DutyEntry.day), col(DutyEntry.start))
                     .limit(roster.VIEW_DAYS)).all()
    lines = [catalog.t(lang, "roster.view.title")]
    for e in entries:
        shown = s.exec(select(DutyPublished).where(DutyPublished.duty_entry_id == e.id)).first()
        if shown is None:
            state = catalog.t(lang, "roster.view.unpublished",
                              due_on=rotation.publish_by(cal, e.day).isoformat())
        else:
            state = catalog.t(lang, "roster.view.late" if shown.late else "roster.view.published",
                              at=shown.published_at.astimezone(ctx.zone).strftime("%m-%d %H:%M"))
        lines.append(f"• {d.slot_label(e, lang)} — {state}")
    if not entries:
        lines.append(catalog.t(lang, "roster.view.none"))
    plan = roster.plan_of(s, unit_id)
    union = [p for p in (s.get(Person, i) for i in (plan.union_leaders if plan else []))
             if p is not None]
    if union:
        lines.append(catalog.t(lang, "roster.view.union",
                               names=catalog.t(lang, "list.sep").join(
                                   _person_label(p, lang) for p in union)))
    away = s.exec(select(LeaderAway).where(LeaderAway.unit_id == unit_id,
                                           col(LeaderAway.last_day) >= ctx.today)
                  .order_by(col(LeaderAway.first_day))).all()
    for a in away:
        who = s.get(Person, a.person_id)
        lines.append(catalog.t(lang, "roster.view.away", name=who.name if who else "",
                               first=a.first_day.isoformat(), last=a.last_day.isoformat(),
                               kind=catalog.t(lang, f"opt.away_kind.{a.kind}")))
    weekday, at, horizon = roster.schedule_of(plan)
    lines.append(catalog.t(lang, "roster.view.schedule",
                           weekday=catalog.t(lang, "opt.publish_day."
                                             + ("daily" if weekday is None else str(weekday))),
                           at=at.strftime("%H:%M"), horizon=horizon))
    return [Reply("\n".join(lines))]


def warnings_view(ctx: HandlerContext, lang: str) -> list[Reply]:
    """The warning ledger: high-risk disputes, the open ones first, with their step."""
    s = ctx.session
    rows = s.exec(select(Dispute).where(Dispute.unit_id == ctx.unit_id(),
                                        Dispute.warning == True)  # noqa: E712
                  .order_by(col(Dispute.id).desc()).limit(SHOWN)).all()
    if not rows:
        return [Reply(catalog.t(lang, "warning.none"))]
    replies = [Reply(catalog.t(lang, "warning.title", count=len(rows)))]
    for x in rows:
        shop = s.get(Workshop, x.workshop_id)
        text = catalog.t(lang, "warning.line", number=x.number,
                         workshop=shop.name if shop else "", people=x.people, what=x.what,
                         lead_dept=x.lead_dept, lead_person=x.lead_person,
                         deadline=x.deadline.isoformat())
        buttons: list[Button] = []
        case = s.get(Case, x.case_id) if x.case_id else None
        incident = s.get(Incident, x.incident_id) if x.incident_id else None
        if case is not None or incident is not None:
            target = case.number if case is not None else incident.number  # type: ignore[union-attr]
            text += "\n" + catalog.t(lang, "warning.became", target=target)
        else:
            buttons = [Button(catalog.t(lang, f"opt.warning_action.{k}"),
                              f"flow:warning_action?warning={x.id}&action={k}")
                       for k in ("case", "emergency")]
        replies.append(Reply(text, buttons))
    return replies
