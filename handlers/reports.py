"""Reports to the upper union, drafted by the bot and approved by the director in chat.

- The monthly opinion report (舆情): the previous month's suggestions and cases, counted
  by topic and by workshop, with the notable items; drafted on the 10th, due before the
  20th (000 制度(六) 二).
- The weekly report (周通报): the previous week's figures; drafted Thursday morning, due
  Thursday 17:00 (000 制度(七)).
- Information reports (信息上报, 000 制度(八)): written by the staff when something arises,
  due within 1 working day of it (major or sudden), 2 (time-sensitive) or 4 (plans and
  summaries); a major one, or one its writer calls important, is signed by the director
  before it goes, another goes at once.

- The quarterly summary of letters to a leader (领导来信, 001 (二)): every letter reaches
  the leader it was written to at once, as an alert; the ordinary ones are summed up each
  quarter for the chairman (the director, who reads the letters written to the chairman):
  how many, to whom, by category, answered, closed, open and overdue, the writers'
  ratings, and the notable ones. Sent to the director on the first working day of the
  next quarter; nothing to approve, as nothing goes further up.

The staff are told when a draft is ready, may add a note and submit it; the director
approves it (it goes to the upper union's contacts) or returns it with a reason. A report
not sent by its due time is marked late and the director told. A period that ended before
the workroom was set up is not reported: a new workroom owes nothing for it. No report
names a complainant: it holds counts, case numbers and categories only.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from conversations import catalog
from conversations.flow import Result, Submission
from handlers import casework, notices, suggestions
from handlers.context import HandlerContext, people_of, unit_since
from handlers.lifecycle import OPEN
from scheduler import workdays
from scheduler.workdays import WorkCalendar
from store import outbox, timers
from store.calendar_models import Dispute, FieldVisit, Report, VisitRecord
from store.db import transaction
from store.models import Booking, Case, DutyEntry, Incident, Person, Suggestion, Workshop
from store.numbers import next_number
from store.steps import set_timers

KIND = "report"
OPINION_DRAFT_DAY, OPINION_REMIND_DAY, OPINION_DUE_DAY = 10, 17, 20
WEEKLY_DRAFT_AT, WEEKLY_REMIND_AT, WEEKLY_DUE_AT = time(9, 0), time(15, 0), time(17, 0)
DRAFT_AT = time(9, 0)
THURSDAY = 3
NOTABLE_PEOPLE = 20  # a case of 20 or more people is a notable item
UNSPECIFIED = "@report.unspecified"
# Information reports: working days from the day it arose, due at the end of the last one;
# the staff and the director are reminded a few hours before a signature still missing.
INFO = "info"
INFO_DAYS = {"major": 1, "timely": 2, "plan": 4}
INFO_DUE_AT = time(17, 0)
INFO_REMIND_BEFORE = timedelta(hours=3)
# The quarterly summary of letters to a leader: on the first working day of a quarter, for
# the quarter before it.
LETTERS = "letters"
LETTER_RATINGS = ("satisfied", "basic", "unsatisfied")
WEEKLY_FIGURES = ("suggestions", "cases_new", "cases_closed", "cases_open", "cases_overdue",
                  "leader_cases", "visits", "bookings", "disputes", "warnings", "incidents",
                  "field_visits")


# --- periods ---------------------------------------------------------------------------------


def opinion_period(month: str) -> tuple[date, date]:
    """The month the opinion report of `month` covers: the month before it."""
    year, mon = (int(x) for x in month.split("-"))
    first_of = date(year, mon, 1)
    last = first_of - timedelta(days=1)
    return last.replace(day=1), last


def opinion_times(month: str, zone: ZoneInfo) -> dict[str, datetime]:
    year, mon = (int(x) for x in month.split("-"))
    return {"draft": datetime.combine(date(year, mon, OPINION_DRAFT_DAY), DRAFT_AT, zone),
            "remind": datetime.combine(date(year, mon, OPINION_REMIND_DAY), DRAFT_AT, zone),
            "due": datetime.combine(date(year, mon, OPINION_DUE_DAY), time(0, 0), zone)}


def quarter_name(day: date) -> str:
    """The quarter a day is in, as a report row names it: "2026-Q3"."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_period(quarter: str) -> tuple[date, date]:
    """The first and last day of a quarter ("2026-Q3": 07-01 to 09-30)."""
    year, q = int(quarter[:4]), int(quarter[-1])
    first = date(year, 3 * q - 2, 1)
    after = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first, after - timedelta(days=1)


def letters_times(cal: WorkCalendar, first: date, zone: ZoneInfo,
                  quarters: int = 2) -> list[tuple[str, datetime]]:
    """The quarterly letters summaries from the quarter of `first` on: (the quarter each
    covers, when it is sent: the first working day of the next quarter, at DRAFT_AT)."""
    out = []
    start = date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
    for _ in range(quarters):
        covered = quarter_name(start - timedelta(days=1))
        out.append((covered, datetime.combine(cal.next_workday(start), DRAFT_AT, zone)))
        start = quarter_period(quarter_name(start))[1] + timedelta(days=1)
    return out


def week_name(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_numbered(day: date) -> dict[str, Any]:
    """The ISO week of `day` as a reader says it, "2026年第48周" / "week 48 of 2026" (never
    its stored name "2026-W48"), for words that give its dates beside it."""
    year, week, _ = day.isocalendar()
    return {"say": "report.week_no", "year": year, "week": week}


def named(report: Report) -> Any:
    """The period as a reader names it, the same in every push, list and reply: a week by
    its number and its dates ("2026年第48周（11-23 至 11-29）", never "2026-W48", nor the
    dates alone), a month's opinion report by the month it covers ("2026年11月", never the
    month it is sent in, "2026-12", which its row keeps as its period), a quarter's summary
    of letters by its quarter ("2026年第三季度", "Q3 2026"), an information report by its
    number."""
    if report.kind == LETTERS:
        return {"say": f"report.quarter.{report.period[-1]}", "year": report.period[:4]}
    first, last = report.first_day, report.last_day
    if report.kind == "opinion":
        return {"say": "report.month", "year": first.year, "name": f"@month.{first.month}"}
    if report.kind != "weekly":
        return report.period
    year, week, _ = first.isocalendar()

    def day(d: date) -> str:  # its year said once, unless the day is of another year
        return d.strftime("%m-%d") if d.year == year else d.isoformat()

    return {"say": "report.week", "year": year, "week": week, "first": day(first),
            "last": day(last)}


def named_text(report: Report, lang: str) -> str:
    """`named` in words, for what is said in `lang` at once (a form's option, a reply)."""
    period = named(report)
    if isinstance(period, dict):
        return catalog.t(lang, period["say"], **{
            k: catalog.t(lang, v[1:]) if isinstance(v, str) and v.startswith("@") else v
            for k, v in period.items() if k != "say"})
    return str(period)


def weekly_period(thursday: date) -> tuple[date, date]:
    """The week a Thursday's report covers: the Monday to Sunday before it."""
    monday = thursday - timedelta(days=thursday.weekday()) - timedelta(days=7)
    return monday, monday + timedelta(days=6)


def weekly_times(thursday: date, zone: ZoneInfo,
                 cal: WorkCalendar | None = None) -> dict[str, datetime]:
    """Draft, reminder and due time of a Thursday's report; a Thursday that is a public
    holiday moves them to the next working day."""
    day = cal.next_workday(thursday) if cal is not None else thursday
    return {"draft": datetime.combine(day, WEEKLY_DRAFT_AT, zone),
            "remind": datetime.combine(day, WEEKLY_REMIND_AT, zone),
            "due": datetime.combine(day, WEEKLY_DUE_AT, zone)}


def _span(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return (datetime.combine(first, time(0, 0), zone),
            datetime.combine(last + timedelta(days=1), time(0, 0), zone))


# --- the figures -----------------------------------------------------------------------------


def _workshop_name(s: Session, workshop_id: int | None) -> str:
    shop = s.get(Workshop, workshop_id) if workshop_id else None
    return shop.name if shop else UNSPECIFIED


def opinion_data(s: Session, unit_id: int, first: date, last: date,
                 zone: ZoneInfo) -> dict[str, Any]:
    """Counts by topic and workshop and the notable items of a period; no identities."""
    lo, hi = _span(first, last, zone)
    suggestions = s.exec(select(Suggestion).where(
        Suggestion.unit_id == unit_id, col(Suggestion.created_at) >= lo,
        col(Suggestion.created_at) < hi)).all()
    cases = s.exec(select(Case).where(Case.unit_id == unit_id, col(Case.created_at) >= lo,
                                      col(Case.created_at) < hi)).all()
    topics: Counter[str] = Counter(x.topic for x in suggestions)
    categories: Counter[str] = Counter(c.category for c in cases)
    shops: Counter[str] = Counter()
    for x in suggestions:
        # An anonymous suggestion is not placed anywhere: its author's workshop would
        # narrow down who wrote it.
        author = s.get(Person, x.person_id) if x.person_id and not x.anonymous else None
        shops[_workshop_name(s, author.workshop_id if author else None)] += 1
    for c in cases:
        shops[_workshop_name(s, c.workshop_id)] += 1
    notable = [{"number": c.number, "category": c.category,
                "workshop": _workshop_name(s, c.workshop_id), "people": c.affected,
                "status": f"@status.{c.status}", "leader": c.leader_case}
               for c in cases if c.leader_case or c.affected >= NOTABLE_PEOPLE]
    disputes = s.exec(select(Dispute).where(Dispute.unit_id == unit_id, Dispute.warning == True,  # noqa: E712
                                            col(Dispute.created_at) >= lo,
                                            col(Dispute.created_at) < hi)).all()
    warnings = [{"number": d.number, "workshop": _workshop_name(s, d.workshop_id),
                 "people": d.people} for d in disputes]
    incidents = s.exec(select(Incident).where(Incident.unit_id == unit_id,
                                              col(Incident.created_at) >= lo,
                                              col(Incident.created_at) < hi)).all()
    return {"suggestions": len(suggestions), "cases": len(cases),
            "leader_cases": sum(1 for c in cases if c.leader_case),
            "closed": sum(1 for c in cases if c.status == "closed"),
            "by_topic": dict(sorted(topics.items())),
            "by_category": dict(sorted(categories.items())),
            "by_workshop": dict(sorted(shops.items())), "notable": notable,
            "warnings": warnings,
            "incidents": [{"number": i.number, "people": i.people,
                           "status": f"@incident.status.{i.status}"} for i in incidents]}


def weekly_data(s: Session, unit_id: int, first: date, last: date, zone: ZoneInfo,
                now: datetime) -> dict[str, Any]:
    """The figures of a week, and the cases open or overdue when it is drafted."""
    lo, hi = _span(first, last, zone)
    today = now.astimezone(zone).date()

    def count(model: Any, stamp: Any, *where: Any) -> int:
        return len(s.exec(select(model.id).where(col(stamp) >= lo, col(stamp) < hi,
                                                 *where)).all())

    open_cases = s.exec(select(Case).where(Case.unit_id == unit_id,
                                           col(Case.status).in_(OPEN))).all()
    return {
        "suggestions": count(Suggestion, Suggestion.created_at, Suggestion.unit_id == unit_id),
        "cases_new": count(Case, Case.created_at, Case.unit_id == unit_id),
        "cases_closed": count(Case, Case.closed_at, Case.unit_id == unit_id),
        "cases_open": len(open_cases),
        "cases_overdue": sum(1 for c in open_cases if c.due_on < today),
        "leader_cases": count(Case, Case.created_at, Case.unit_id == unit_id,
                              Case.leader_case == True),  # noqa: E712
        "visits": len(s.exec(select(VisitRecord.id).where(  # a no-show (未到) is no visit
            VisitRecord.unit_id == unit_id, VisitRecord.came == True,  # noqa: E712
            col(VisitRecord.visited_on) >= first,
            col(VisitRecord.visited_on) <= last)).all()),
        "bookings": len(s.exec(select(Booking.id).join(  # this unit's receptions only
            DutyEntry, col(DutyEntry.id) == Booking.duty_entry_id).where(
            DutyEntry.unit_id == unit_id, col(Booking.created_at) >= lo,
            col(Booking.created_at) < hi)).all()),
        "disputes": count(Dispute, Dispute.created_at, Dispute.unit_id == unit_id),
        "warnings": count(Dispute, Dispute.created_at, Dispute.unit_id == unit_id,
                          Dispute.warning == True),  # noqa: E712
        "incidents": count(Incident, Incident.created_at, Incident.unit_id == unit_id),
        "field_visits": len(s.exec(select(FieldVisit.id).where(
            FieldVisit.unit_id == unit_id, col(FieldVisit.visited_on) >= first,
            col(FieldVisit.visited_on) <= last)).all()),
    }


def letters_data(s: Session, unit_id: int, first: date, last: date, zone: ZoneInfo,
                 now: datetime) -> dict[str, Any]:
    """The letters to a leader written in a period, as they stand when it is summed up:
    how many, to whom, by category, answered, closed, open, overdue, the writers' ratings,
    and the notable ones (leader cases, overdue). No writer is named."""
    lo, hi = _span(first, last, zone)
    today = now.astimezone(zone).date()
    letters = s.exec(select(Case).where(Case.unit_id == unit_id, Case.letter == True,  # noqa: E712
                                        col(Case.created_at) >= lo, col(Case.created_at) < hi)
                     .order_by(col(Case.created_at), col(Case.id))).all()
    to: Counter[str] = Counter()
    for c in letters:
        reader = s.get(Person, c.addressed_to) if c.addressed_to else None
        to[reader.name if reader is not None else "@letter.to_any"] += 1
    overdue = [c for c in letters if c.status in OPEN and c.due_on < today]
    notable = [{"number": c.number, "what": notices.letter_named(s, c),
                "status": notices.letter_status(c), "leader": c.leader_case,
                "late": (today - c.due_on).days if c in overdue else 0}
               for c in letters if c.leader_case or c in overdue]
    return {"letters": len(letters), "by_addressee": dict(to.most_common()),
            "by_category": dict(sorted(Counter(c.category for c in letters).items())),
            "answered": sum(1 for c in letters if c.reply is not None),
            "closed": sum(1 for c in letters if c.status == "closed"),
            "open": sum(1 for c in letters if c.status in OPEN), "overdue": len(overdue),
            "ratings": {r: sum(1 for c in letters if c.rating == r) for r in LETTER_RATINGS},
            "notable": notable}


def letter_notable_lines(d: dict[str, Any]) -> list[list[Any]]:
    """The notable letters of a summary: leader cases, and those overdue (how late)."""
    out = []
    for n in d["notable"]:
        why: Any = "@report.kind_leader" if n["leader"] and not n["late"] else \
            {"say": "report.letter_late" + ("_leader" if n["leader"] else ""), "late": n["late"]}
        out.append(["report.notable_letter", {"number": n["number"], "what": n["what"],
                                              "why": why, "status": n["status"]}])
    return out or [["report.none", {}]]


def _letters_lines(d: dict[str, Any]) -> list[list[Any]]:
    rated = d["ratings"]
    out: list[list[Any]] = [["report.letters_totals", {
        k: d[k] for k in ("letters", "answered", "closed", "open", "overdue")}]]
    out.append(["report.section.letters_to", {}])
    out += [["report.count_line", {"label": k, "count": n}] for k, n in d["by_addressee"].items()]
    out.append(["report.section.letter_categories", {}])
    out += [["report.count_line", {"label": f"@opt.category.{k}", "count": n}]
            for k, n in d["by_category"].items()]
    out.append(["report.letters_rated", {**rated, "rated": sum(rated.values())}])
    out.append(["report.section.notable", {}])
    return out + letter_notable_lines(d)


def lines(report: Report) -> list[list[Any]]:
    """The report's body as catalog lines, rendered in each reader's language."""
    d = report.data
    if report.kind == LETTERS:
        return _letters_lines(d)
    if report.kind == INFO:
        return [["report.info_body", {"grade": f"@opt.info_grade.{d['grade']}",
                                      "arose": d["arose"], "title": d["title"],
                                      "text": d["text"]}]]
    if report.kind == "weekly":
        return [["report.figure_line", {"label": f"@report.figure.{k}", "count": d.get(k, 0)}]
                for k in WEEKLY_FIGURES]
    out: list[list[Any]] = [["report.totals", {
        "suggestions": d["suggestions"], "cases": d["cases"],
        "leader_cases": d["leader_cases"], "closed": d["closed"]}]]
    out.append(["report.section.topics", {}])
    out += [["report.count_line", {"label": f"@opt.topic.{k}", "count": n}]
            for k, n in d["by_topic"].items()] or [["report.none", {}]]
    out.append(["report.section.categories", {}])
    out += [["report.count_line", {"label": f"@opt.category.{k}", "count": n}]
            for k, n in d["by_category"].items()] or [["report.none", {}]]
    out.append(["report.section.workshops", {}])
    out += [["report.count_line", {"label": k, "count": n}]
            for k, n in d["by_workshop"].items()] or [["report.none", {}]]
    out.append(["report.section.notable", {}])
    return out + notable_lines(d)


def notable_lines(d: dict[str, Any]) -> list[list[Any]]:
    """The notable items of an opinion report: leader cases and cases of many people,
    warnings, emergencies (numbers, categories, workshops and counts only)."""
    notable = [["report.notable_case", {**n, "kind": "@report.kind_leader" if n["leader"]
                                        else "@report.kind_many"}] for n in d["notable"]]
    notable += [["report.notable_warning", w] for w in d["warnings"]]
    notable += [["report.notable_incident", i] for i in d["incidents"]]
    return notable or [["report.none", {}]]


# --- drafting, reminding, lateness (timer handlers) ---------------------------------------------


def _words(report: Report) -> dict[str, Any]:
    return {"title": f"@report.title.{report.kind}", "period": named(report),
            "first": report.first_day.isoformat(), "last": report.last_day.isoformat(),
            "due_at": report.due_at.isoformat()}


def _about(report: Report) -> dict[str, Any]:
    """What a report's reader is shown of it, as a push's params: its title, period, due
    time, status and lines (the reminders, and the form that asks to approve it)."""
    return {**_words(report), "status": f"@report.status.{report.status}",
            "lines": lines(report)}


def content(report: Report, lang: str, zone: ZoneInfo, now: datetime | None = None) -> str:
    """The report as 报告审核 shows it above the action asked: all it says (the figures,
    an information report's title and text), its note, and why it came back if it did.
    Its deadline passed (marked late, or `now` past it) and still not sent, it says it is
    late (已迟报), not that it is due by a time gone by."""
    late = report.late or (now is not None and now >= report.due_at)
    due = {"say": "report_action.due_late" if late else "report_action.due",
           "due_at": report.due_at.isoformat()}
    params = {**_about(report), "due": due, "note": report.note,
              "by": report.data.get("by", "")}
    text = catalog.t(lang, f"report_action.content.{report.kind}",
                     **notices.localize(params, lang, zone))
    if report.status == "returned" and report.returned_reason:
        text += "\n" + catalog.t(lang, "report_action.content.returned",
                                 reason=report.returned_reason)
    return text


def _action(report: Report) -> list[list[str]]:
    return [["menu.cal_report_action", f"flow:report_action?report={report.id}"]]


def period_of(kind: str, period: str) -> tuple[date, date]:
    """The first and last day a report covers (`period`: the month, or the Thursday)."""
    if kind == LETTERS:
        return quarter_period(period)
    return opinion_period(period) if kind == "opinion" else \
        weekly_period(date.fromisoformat(period))


def before_the_workroom(s: Session, unit_id: int, kind: str, period: str,
                        zone: ZoneInfo) -> bool:
    """Whether the period ended before the workroom was set up: there is nothing to report,
    and a catch-up draft would only be reminded and marked late to a new director."""
    since = unit_since(s, unit_id, zone)
    return since is not None and period_of(kind, period)[1] < since


def draft(s: Session, unit_id: int, kind: str, period: str, *, now: datetime,
          zone: ZoneInfo) -> Report | None:
    """Draft the report of a period (once) and tell the staff; none for a period that ended
    before the workroom was set up."""
    if before_the_workroom(s, unit_id, kind, period, zone):
        return None
    stored = period if kind == "opinion" else \
        week_name(weekly_period(date.fromisoformat(period))[0])  # as the row names it
    row = s.exec(select(Report).where(Report.unit_id == unit_id, Report.kind == kind,
                                      Report.period == stored)).first()
    if row is not None:
        return row
    if kind == "opinion":
        first, last = opinion_period(period)
        data = opinion_data(s, unit_id, first, last, zone)
        due = opinion_times(period, zone)["due"]
    else:
        thursday = date.fromisoformat(period)
        first, last = weekly_period(thursday)
        data = weekly_data(s, unit_id, first, last, zone, now)
        due = weekly_times(thursday, zone, workdays.load(s))["due"]
        period = week_name(first)
    row = Report(unit_id=unit_id, kind=kind, period=period, first_day=first, last_day=last,
                 data=data, due_at=due, drafted_at=now)
    s.add(row)
    s.flush()
    if kind == "weekly":  # every suggestion gets its answer: those waiting, once a week
        suggestions.remind_waiting(s, unit_id, now=now, zone=zone, period=period)
    for p in people_of(s, unit_id, ("staff",)) or people_of(s, unit_id, ("director",)):
        outbox.enqueue(s, key=f"report:{row.id}:drafted:{p.id}", recipient_id=p.id, now=now,
                       message="notice.report_drafted", priority=outbox.ALERT,
                       params={**_words(row), "lines": lines(row), "actions": _action(row)})
    return row


def letters_summary(s: Session, unit_id: int, quarter: str, *, now: datetime,
                    zone: ZoneInfo) -> Report | None:
    """Sum up a quarter's letters to a leader (once) and send it to the chairman: the
    director(s), who read the letters written to the chairman (the staff, in a workroom
    without one: never lost). A quarter without letters is said so in one line. None for
    a quarter that ended before the workroom was set up."""
    if before_the_workroom(s, unit_id, LETTERS, quarter, zone):
        return None
    row = s.exec(select(Report).where(Report.unit_id == unit_id, Report.kind == LETTERS,
                                      Report.period == quarter)).first()
    if row is not None:
        return row
    first, last = quarter_period(quarter)
    row = Report(unit_id=unit_id, kind=LETTERS, period=quarter, first_day=first,
                 last_day=last, data=letters_data(s, unit_id, first, last, zone, now),
                 due_at=now, drafted_at=now, status="sent", sent_at=now)
    s.add(row)
    s.flush()
    message = "notice.letters_summary" if row.data["letters"] else "notice.letters_summary_none"
    params = {**_words(row), "period": named(row)}
    if row.data["letters"]:
        params["lines"] = lines(row)
    for p in people_of(s, unit_id, ("director",)) or people_of(s, unit_id, ("staff",)):
        outbox.enqueue(s, key=f"report:{row.id}:letters:{p.id}", recipient_id=p.id, now=now,
                       message=message, priority=outbox.ROUTINE, params=params)
    return row


class ReportJobs:
    """Timer handler: draft (with the staff told), remind, and mark late."""

    def __init__(self, db: Engine, clock: Any, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

    def fire(self, ref: str) -> int:
        unit_id, kind, period, stage = ref.split(":")
        now = self.clock.now()
        with transaction(self.db) as s:
            if timers.take(s, kind=KIND, ref=ref, now=now) is None:
                return 0
            if kind == LETTERS:
                made = letters_summary(s, int(unit_id), period, now=now, zone=self.zone)
                return 1 if made is not None else 0
            if stage == "draft":
                made = draft(s, int(unit_id), kind, period, now=now, zone=self.zone)
                return 1 if made is not None else 0
            name = period if kind != "weekly" else week_name(
                weekly_period(date.fromisoformat(period))[0])
            row = s.exec(select(Report).where(Report.unit_id == int(unit_id),
                                              Report.kind == kind,
                                              Report.period == name)).first()
            if row is None or row.status == "sent":
                return 0
            if stage == "due":
                row.late = True
                s.add(row)
            roles = ("staff", "director") if stage == "remind" else ("director",)
            message = "notice.report_remind" if stage == "remind" else "notice.cal_report_late"
            sent = 0
            for p in people_of(s, int(unit_id), roles):
                outbox.enqueue(s, key=f"report:{row.id}:{stage}:{p.id}", recipient_id=p.id,
                               now=now, message=message, priority=outbox.ALERT,
                               params={**_about(row), "actions": _action(row)})
                sent += 1
            return sent


# --- the staff's and the director's actions ---------------------------------------------------


def offered(s: Session, row: Report, actor: Person) -> tuple[str, ...]:
    """What `actor` may do to a report: the staff add a note and submit it; the director
    approves and sends it, or returns it, and adds a note only in a workroom without staff
    (she drafts it herself then). Submitting to herself is no action of hers."""
    if actor.role != "director":
        return ("note", "submit")
    alone = not [p for p in people_of(s, row.unit_id, ("staff",)) if p.id != actor.id]
    return ("note", "approve", "return") if alone else ("approve", "return")


def report_action(ctx: HandlerContext, sub: Submission) -> Result:
    """Note, submit (staff); approve and send, or return (director)."""
    s, a = ctx.session, sub.answers
    row = s.get(Report, int(a["report"])) if str(a["report"]).isdigit() else None
    if row is None or row.unit_id != ctx.unit_id() or row.status == "sent":
        return Result("report_action.gone", {}, back_to="report")
    action = a["action"]
    words = casework.words(sub.lang, {"title": f"@report.title.{row.kind}",
                                      "period": named_text(row, sub.lang)})
    if action not in offered(s, row, ctx.actor):
        key = "report_action.director_only" if action in ("approve", "return") \
            else "report_action.staff_only"
        return Result(key, {}, back_to="action")
    if action == "note":
        row.note = f"{row.note}\n{a['note']}" if row.note else a["note"]
        s.add(row)
        return Result("report_action.done.note", words)
    if action == "submit":
        _submit(s, row, ctx.actor.name, ctx.now)
        return Result("report_action.done.submit", words)
    if action == "return":
        row.status, row.returned_reason = "returned", a["reason"]
        s.add(row)
        for p in people_of(s, row.unit_id, ("staff",)):
            outbox.enqueue(s, key=f"report:{row.id}:returned:{sub.draft_id}:{p.id}",
                           recipient_id=p.id, now=ctx.now, message="notice.report_returned",
                           priority=outbox.ALERT,
                           params={**_words(row), "period": named(row),
                                   "reason": a["reason"], "actions": _action(row)})
        return Result("report_action.done.return", words)
    return _send(ctx, row, words)


def _submit(s: Session, row: Report, by: str, now: datetime) -> None:
    """Submitted for the director's approval (signature), and the director told."""
    row.status, row.submitted_at = "submitted", now
    s.add(row)
    message = "notice.info_submitted" if row.kind == INFO else "notice.report_submitted"
    for p in people_of(s, row.unit_id, ("director",)):
        outbox.enqueue(s, key=f"report:{row.id}:submitted:{now.timestamp():.0f}:{p.id}",
                       recipient_id=p.id, now=now, message=message, priority=outbox.ALERT,
                       params={**_words(row), "by": by, "note": row.note,
                               "lines": lines(row), "actions": _action(row)})


def _send(ctx: HandlerContext, row: Report, words: dict[str, Any]) -> Result:
    count = _deliver(ctx.session, row, ctx.now, signer=ctx.actor)
    if count is None:
        return Result("report_action.no_upper", words, back_to="action")
    key = "report_action.done.approve_late" if row.late else "report_action.done.approve"
    return Result(key, {**words, "count": count})


def _deliver(s: Session, row: Report, now: datetime, *, signer: Person | None) -> int | None:
    """Send the report to the upper union's contacts, approved by `signer` (None: an
    information report its writer sends unsigned); None when there is nobody to send to."""
    upper = people_of(s, row.unit_id, ("upper_union",))
    if not upper:
        return None
    row.status, row.sent_at = "sent", now
    row.approved_by = signer.id if signer is not None else None
    row.late = row.late or now >= row.due_at
    s.add(row)
    if row.kind == INFO:
        message = "notice.info_signed" if signer is not None else "notice.info_sent"
        for stage in ("remind", "due"):
            timers.cancel(s, kind=KIND, ref=_info_ref(row, stage), now=now)
    else:
        message = "notice.report_sent"
    params = {**_words(row), "lines": lines(row), "note": row.note,
              "by": row.data.get("by", ""), "director": signer.name if signer else ""}
    for p in upper:
        outbox.enqueue(s, key=f"report:{row.id}:sent:{p.id}", recipient_id=p.id, now=now,
                       message=message + ("_late" if row.late else ""), priority=outbox.ALERT,
                       params=params)
    writer = row.data.get("by_id")
    if row.kind == INFO and signer is not None and writer not in (None, signer.id):
        # Whoever wrote it and asked for the signature hears that it went.
        outbox.enqueue(s, key=f"report:{row.id}:signed:{writer}", recipient_id=int(writer),
                       now=now, message="notice.info_went" + ("_late" if row.late else ""),
                       priority=outbox.ROUTINE,
                       params={**params, "count": len(upper)})
    return len(upper)


# --- information reports (000 制度(八)) ----------------------------------------------------------


def info_due(cal: WorkCalendar, arose: date, grade: str, zone: ZoneInfo) -> datetime:
    """When an information report that arose on `arose` is due: the end of the working day
    INFO_DAYS[grade] working days later."""
    last = cal.workdays(arose + timedelta(days=1), INFO_DAYS[grade])[-1]
    return datetime.combine(last, INFO_DUE_AT, zone)


def _info_ref(row: Report, stage: str) -> str:
    return f"{row.unit_id}:{INFO}:{row.period}:{stage}"


def info_report(ctx: HandlerContext, sub: Submission) -> Result:
    """Write an information report: signed by the director first when it is major or
    called important (the director writing one signs it by sending it), else sent at once."""
    s, a = ctx.session, sub.answers
    arose = date.fromisoformat(a["arose"])
    due = info_due(workdays.load(s), arose, a["grade"], ctx.zone)
    number = next_number(s, "I", ctx.today.year)
    unit_id = ctx.unit_id()
    assert unit_id is not None  # staff and the director belong to a unit
    row = Report(unit_id=unit_id, kind=INFO, period=number, first_day=arose,
                 last_day=arose, due_at=due, drafted_at=ctx.now, late=ctx.now >= due,
                 data={"grade": a["grade"], "arose": a["arose"], "title": a["headline"],
                       "text": a["text"], "by": ctx.actor.name, "by_id": ctx.actor.id})
    s.add(row)
    s.flush()
    words = {"number": number, "due_at": due.astimezone(ctx.zone).strftime("%Y-%m-%d %H:%M")}
    signed = a["grade"] == "major" or a.get("sign") == "director"
    if ctx.actor.role == "director" or not signed:
        count = _deliver(s, row, ctx.now, signer=ctx.actor if ctx.actor.role == "director"
                         else None)
        if count is not None:
            return Result("info_report.done.sent_late" if row.late else "info_report.done.sent",
                          {**words, "count": count})
        # Kept, reminded and marked late like any report not sent; submitted in 报告审核
        # (the director sends it) once the upper union has a contact.
        _watch(s, row, ctx.now)
        return Result("info_report.no_upper", words)
    _submit(s, row, ctx.actor.name, ctx.now)
    _watch(s, row, ctx.now)
    if not people_of(s, row.unit_id, ("upper_union",)):  # said now, not when signed
        return Result("info_report.done.submitted_no_upper", words)
    return Result("info_report.done.submitted_late" if row.late
                  else "info_report.done.submitted", words)


def _watch(s: Session, row: Report, now: datetime) -> None:
    """An information report not sent yet: reminded, then marked late. Only what is still
    to come: one written late says so when it is written."""
    set_timers(s, [(KIND, _info_ref(row, stage), at) for stage, at in
                   (("remind", row.due_at - INFO_REMIND_BEFORE), ("due", row.due_at))
                   if at > now])
