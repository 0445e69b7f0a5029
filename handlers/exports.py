"""Spreadsheet exports (.xlsx) of the calendar's ledgers and reports, in either language.

The roster, the visit ledger (接访台帐), the four forms of a case (四单: registration,
assignment, supervision, completion), a month's screening returns and disputes, the
warning ledger (预警台帐), a report to the upper union or the quarterly summary of letters
to a leader, shop-floor visits and the work log.
Each is a workbook whose first row of every sheet holds the column titles.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlmodel import Session, col, select

from conversations import catalog
from handlers import casework, lifecycle, notices, reports, screening
from handlers.notices import lines as render_lines
from scheduler import workdays
from store import roster as rotation
from store.calendar_models import (
    Dispute,
    DutyPublished,
    FieldVisit,
    Report,
    ScreeningReturn,
    ScreeningRound,
    VisitRecord,
    WorkLog,
)
from store.models import (
    Booking,
    Case,
    CaseEvent,
    DutyEntry,
    Extension,
    IdentityRead,
    Incident,
    Person,
    Workshop,
)

KINDS = ("roster", "ledger", "forms", "screening", "warnings", "report", "field_visits",
         "work_log")
# Timeline entries that belong on the supervision form (督办单).
SUPERVISION = ("note", "extend", "extended", "escalated_overdue", "escalated_director",
               "overdue_own", "reassign", "reclassify", "five_fix", "reopen", "urge")


class ExportError(Exception):
    """The export cannot be made; `key` names the catalog message that says why.

    A missing choice (which case, which report) names its `option` and an `example`
    value: the caller says how to give it where it was asked (`--case C-2026-0001` on the
    command line, `?case=C-2026-0001` in a download link) as the message's {example}.
    """

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params
        self.option: str | None = params.pop("option", None)
        self.example: str | None = params.pop("example", None)

    def words(self, lang: str, how: Callable[[str, str], str]) -> str:
        """The message in `lang`; `how(option, example)` words a missing option."""
        params = dict(self.params)
        if self.option is not None and self.example is not None:
            params["example"] = how(self.option, self.example)
        return catalog.t(lang, self.key, **params)


class _Book:
    """A workbook written sheet by sheet, titles from the catalog."""

    def __init__(self, lang: str, zone: ZoneInfo) -> None:
        self.lang, self.zone = lang, zone
        self.wb = Workbook()
        self._first = True

    def t(self, key: str, **params: Any) -> str:
        return catalog.t(self.lang, key, **params)

    def sheet(self, title_key: str, columns: Sequence[str],
              rows: Sequence[Sequence[Any]]) -> None:
        ws = self.wb.active if self._first else self.wb.create_sheet()
        assert ws is not None
        self._first = False
        ws.title = self.t(f"export.sheet.{title_key}")[:31]
        ws.append([self.t(f"export.col.{c}") for c in columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([self.cell(v) for v in row])
        for i, name in enumerate(columns, start=1):
            letter = ws.cell(row=1, column=i).column_letter
            ws.column_dimensions[letter].width = 14 if name not in _WIDE else 40
        for row_cells in ws.iter_rows(min_row=2):
            for cell in row_cells:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                if isinstance(cell.value, str):
                    # Words typed in chat are text: one beginning with "=" must not become
                    # a formula that the reader's spreadsheet program runs.
                    cell.data_type = "s"


    def pairs(self, title_key: str, rows: Sequence[tuple[str, Any]]) -> None:
        """A form: one field per row, its title and its value."""
        self.sheet(title_key, ("field", "value"), [(self.t(f"export.col.{k}"), v)
                                                   for k, v in rows])

    def cell(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return self.t("export.yes" if value else "export.no")
        return value

    def bytes(self) -> bytes:
        buf = io.BytesIO()
        self.wb.save(buf)
        return buf.getvalue()


_WIDE = {"problem", "cause", "opinion", "result", "what", "measures", "issues", "text",
         "value", "instruction", "note"}


def _name(s: Session, pid: int | None) -> str:
    p = s.get(Person, pid) if pid else None
    return p.name if p else ""


def _shop(s: Session, wid: int | None) -> str:
    w = s.get(Workshop, wid) if wid else None
    return w.name if w else ""


def _month_span(month: str | None, today: date) -> tuple[date, date]:
    if month is None:
        month = f"{today.year:04d}-{today.month:02d}"
    try:
        year, mon = (int(x) for x in month.split("-"))
        first = date(year, mon, 1)
    except ValueError as exc:
        raise ExportError("export.bad_month", month=month) from exc
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


# --- the exports ---------------------------------------------------------------------------


def _roster(b: _Book, s: Session, unit_id: int, first: date, last: date) -> None:
    cal = workdays.load(s)
    rows = []
    for e in s.exec(select(DutyEntry).where(DutyEntry.unit_id == unit_id,
                                            col(DutyEntry.day) >= first,
                                            col(DutyEntry.day) <= last)
                    .order_by(col(DutyEntry.day), col(DutyEntry.start))):
        shown = s.exec(select(DutyPublished).where(DutyPublished.duty_entry_id == e.id)).first()
        rows.append((e.day, b.t(f"weekday.{e.day.weekday()}"),
                     f"{e.start:%H:%M}-{e.end:%H:%M}", e.place, b.t(f"form.{e.form}"),
                     _name(s, e.leader_id), e.post, e.portfolio,
                     # the day it was due by when it was published, or is due by now
                     shown.due_on if shown else rotation.publish_by(cal, e.day),
                     shown.published_at if shown else "", shown.late if shown else ""))
    b.sheet("roster", ("date", "weekday", "hours", "place", "form", "leader", "post",
                       "portfolio", "publish_by", "published_at", "late"), rows)


def _ledger(b: _Book, s: Session, unit_id: int, first: date, last: date, today: date) -> None:
    """The visit ledger of the month: each visit recorded, a booked visitor who did not
    come (未到), and a booked visit of an earlier day its leader has not recorded yet."""
    rows: list[tuple[Any, ...]] = []
    for r in s.exec(select(VisitRecord).where(VisitRecord.unit_id == unit_id,
                                              col(VisitRecord.visited_on) >= first,
                                              col(VisitRecord.visited_on) <= last)
                    .order_by(col(VisitRecord.visited_on), col(VisitRecord.id))):
        case = s.get(Case, r.case_id) if r.case_id else None
        booking = s.get(Booking, r.booking_id) if r.booking_id else None
        if not r.came:
            result = b.t("export.missed", number=booking.number if booking else "")
        elif r.solved:
            result = r.result
        else:
            result = b.t("export.instructed", number=case.number if case else "",
                         status=b.t(f"status.{case.status}") if case else "")
        rows.append((r.number, r.visited_on, _name(s, r.leader_id), b.t(f"form.{r.form}"),
                     r.visitor or b.t("person.unverified"), r.visitor_unit, r.problem, r.cause,
                     r.opinion, r.responsible, result, r.instruction or "",
                     case.number if case else ""))
    recorded = select(VisitRecord.booking_id).where(col(VisitRecord.booking_id).is_not(None))
    for booking, entry in s.exec(select(Booking, DutyEntry).join(
            DutyEntry, col(Booking.duty_entry_id) == DutyEntry.id).where(
            DutyEntry.unit_id == unit_id, Booking.status == "booked",
            col(DutyEntry.day) >= first, col(DutyEntry.day) <= min(last, today - timedelta(days=1)),
            col(Booking.id).not_in(recorded))):
        visitor = s.get(Person, booking.person_id)
        rows.append(("", entry.day, _name(s, entry.leader_id), b.t(f"form.{entry.form}"),
                     visitor.name if visitor and visitor.verified and visitor.name
                     else b.t("person.unverified"), "", booking.topic, "", "", "",
                     b.t("export.unrecorded", number=booking.number), "", ""))
    rows.sort(key=lambda row: row[1])  # by day; a day's recorded visits first, in order
    b.sheet("ledger", ("number", "date", "leader", "form", "visitor", "unit", "problem",
                       "cause", "opinion", "responsible_unit", "result", "instruction", "case"),
            rows)


def _forms(b: _Book, s: Session, unit_id: int, number: str, reader: Person | None,
           now: datetime | None) -> None:
    if not number.strip():
        raise ExportError("export.need_case", option="case", example="C-2026-0001")
    case = s.exec(select(Case).where(Case.number == number, Case.unit_id == unit_id)).first()
    if case is None:
        raise ExportError("export.no_case", number=number)
    events = list(s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                         .order_by(col(CaseEvent.at), col(CaseEvent.id))).all())
    record = s.exec(select(VisitRecord).where(VisitRecord.case_id == case.id)).first()
    dispute = s.exec(select(Dispute).where(Dispute.case_id == case.id)).first()
    if case.anonymous:
        who = b.t("person.anonymous")
    elif record is not None:
        who = record.visitor
    elif case.complainant_id is None:
        who = ""
    elif lifecycle.sees_identity(case, reader) and reader is not None and now is not None:
        who = _name(s, case.complainant_id)  # a read of who complained: audited
        assert case.id is not None
        s.add(IdentityRead(case_id=case.id, reader_id=reader.id, purpose="export", at=now))
    else:  # not theirs to know: only those handling the case see who complained
        who = b.t("person.withheld")
    channel = b.t(f"channel.{case.channel}") if catalog.has(f"channel.{case.channel}") \
        else b.t("channel.other")
    source = record.number if record else dispute.number if dispute else \
        b.t("export.channel", channel=channel)
    if case.letter:  # 领导来信: to whom it was written
        source = b.t("export.letter", channel=channel, to=_name(s, case.addressed_to)
                     or b.t("letter.to_any"))
    b.pairs("registration", [
        ("number", case.number), ("registered_at", case.created_at), ("source", source),
        ("visitor", who), ("unit", record.visitor_unit if record else _shop(s, case.workshop_id)),
        ("category", b.t(f"opt.category.{case.category}")), ("problem", case.description),
        ("cause", record.cause if record else ""), ("people", case.affected),
        ("cosigners", case.cosigners), ("wanted", _wanted(b, case.outcome_wanted))])
    # Why it is a leader case; a repeat's earlier cases only to who may see who complained.
    why = casework.leader_case_why(s, case, earlier=lifecycle.sees_identity(case, reader))
    assigned = next((e for e in events if e.kind in ("instructed", "assigned", "assign",
                                                           "letter_to")), None)
    b.pairs("assignment", [
        ("number", case.number), ("assigned_at", assigned.at if assigned else ""),
        ("leader", _name(s, case.lead_leader_id) or _name(s, assigned.actor_id if assigned
                                                          else None)),
        ("instruction", (record.instruction if record else None)
         or (notices.note_words(assigned.kind, assigned.note, b.lang) if assigned else "")),
        ("handler", _name(s, case.handler_id)), ("responsible_unit",
                                                 record.responsible if record else ""),
        ("leader_case", case.leader_case),
        ("leader_case_reason", notices.localize({"why": why}, b.lang, b.zone)["why"]
         if why else ""), ("due_on", case.due_on),
        ("dept_head", case.dept_head or ""), ("responsible", case.responsible or ""),
        ("report_on", case.report_on or ""), ("visit_plan", case.return_visit_plan or "")])
    # Extensions are listed once each, below, with how they were decided: not also as the
    # timeline's request and decision entries.
    supervision = [(e.at, b.t(f"event.{e.kind}") if catalog.has(f"event.{e.kind}") else e.kind,
                    _name(s, e.actor_id), notices.note_words(e.kind, e.note, b.lang))
                   for e in events
                   if e.kind in SUPERVISION and e.kind not in ("extend", "extended")]
    extensions = s.exec(select(Extension).where(Extension.case_id == case.id)).all()
    supervision += [(x.created_at, b.t("export.extension", days=x.days),
                     _name(s, x.requested_by),
                     f"{x.reason} ({b.t(f'export.extension_status.{x.status}')})")
                    for x in extensions]
    b.sheet("supervision", ("at", "event", "by", "note"),
            [*sorted(supervision, key=lambda r: r[0]),
             ("", b.t("export.col.status"), b.t(f"status.{case.status}"),
              b.t("export.due", due_on=case.due_on.isoformat()))])
    visit = next((e for e in reversed(events) if e.kind == "return_visit"), None)
    b.pairs("completion", [
        ("number", case.number), ("reply", case.reply or ""), ("replied_at", case.replied_at or ""),
        ("outcome", case.outcome or ""), ("closed_at", case.closed_at or ""),
        ("return_visit", visit.note if visit else ""),
        ("rating", b.t(f"opt.rating.{case.rating}") if case.rating else ""),
        ("status", b.t(f"status.{case.status}"))])


def _screening(b: _Book, s: Session, unit_id: int, month: str, today: date) -> None:
    rnd = s.exec(select(ScreeningRound).where(ScreeningRound.unit_id == unit_id,
                                              ScreeningRound.month == month)).first()
    if rnd is None:
        raise ExportError("export.no_round", month=month)
    returns = s.exec(select(ScreeningReturn).where(ScreeningReturn.round_id == rnd.id)
                     .order_by(col(ScreeningReturn.workshop_id))).all()
    over = today > screening.due_day(month)
    b.sheet("returns", ("workshop", "liaison", "status", "answered_at", "answered_by", "late",
                        "disputes"),
            [(_shop(s, r.workshop_id), _name(s, r.liaison_id),
              b.t(f"screening.status.{r.status}"), r.answered_at or "",
              # still missing past its window: late (漏报) as much as one filed after it
              _name(s, r.answered_by), r.late or (r.status == "pending" and over),
              len(s.exec(select(Dispute.id).where(Dispute.return_id == r.id)).all()))
             for r in returns])
    ids = [r.id for r in returns]
    disputes = s.exec(select(Dispute).where(col(Dispute.return_id).in_(ids))
                      .order_by(col(Dispute.id))).all()
    b.sheet("disputes", _DISPUTE_COLUMNS, [_dispute_row(b, s, d) for d in disputes])


_DISPUTE_COLUMNS = ("number", "workshop", "what", "people", "risk", "lead_dept",
                    "lead_person", "measures", "deadline", "registered_at", "warning", "became")


def _dispute_row(b: _Book, s: Session, d: Dispute) -> tuple[Any, ...]:
    case = s.get(Case, d.case_id) if d.case_id else None
    incident = s.get(Incident, d.incident_id) if d.incident_id else None
    became = case.number if case else incident.number if incident else ""
    return (d.number, _shop(s, d.workshop_id), d.what, d.people, b.t(f"opt.risk.{d.risk}"),
            d.lead_dept, d.lead_person, d.measures, d.deadline, d.created_at, d.warning, became)


def _warnings(b: _Book, s: Session, unit_id: int) -> None:
    rows = s.exec(select(Dispute).where(Dispute.unit_id == unit_id, Dispute.warning == True)  # noqa: E712
                  .order_by(col(Dispute.id))).all()
    b.sheet("warnings", _DISPUTE_COLUMNS, [_dispute_row(b, s, d) for d in rows])


def _wanted(b: _Book, text: str) -> str:
    """What the complainant wants: the placeholder of a case phoned in (stored in the
    filer's language, see handlers/hotline.py) in the reader's own."""
    key = "hotline.outcome_unknown"
    return b.t(key) if any(text == catalog.t(lang, key) for lang in catalog.LANGS) else text


def _report(b: _Book, s: Session, unit_id: int, report_id: int | None) -> None:
    if report_id is None:
        raise ExportError("export.need_report", option="report", example="1")
    row = s.get(Report, report_id)
    if row is None or row.unit_id != unit_id:
        raise ExportError("export.no_report")
    b.pairs("report", [("title", b.t(f"report.title.{row.kind}")),
                       ("period", reports.named_text(row, b.lang)),  # the month, quarter it covers
                       ("first", row.first_day), ("last", row.last_day),
                       ("status", b.t(f"report.status.{row.status}")),
                       ("due_at", row.due_at), ("sent_at", row.sent_at or ""),
                       ("late", row.late), ("note", row.note or "")])
    d = row.data
    if row.kind == reports.INFO:  # one piece of information: what it is, who wrote and signed
        signer = s.get(Person, row.approved_by) if row.approved_by else None
        b.pairs("info", [("grade", b.t(f"opt.info_grade.{d['grade']}")), ("arose", d["arose"]),
                         ("headline", d["title"]), ("text", d["text"]),
                         ("written_by", d.get("by", "")),
                         ("signed_by", signer.name if signer else "")])
        return
    if row.kind == reports.LETTERS:  # the quarter's letters: no writer named
        _letters(b, d)
        return
    if row.kind == "weekly":
        b.sheet("figures", ("item", "count"), [(b.t(f"report.figure.{k}"), d.get(k, 0))
                                               for k in reports.WEEKLY_FIGURES])
        return
    b.sheet("topics", ("item", "count"), [(b.t(f"opt.topic.{k}"), n)
                                          for k, n in d["by_topic"].items()])
    b.sheet("categories", ("item", "count"), [(b.t(f"opt.category.{k}"), n)
                                              for k, n in d["by_category"].items()])
    b.sheet("workshops", ("item", "count"),
            [(b.t(k[1:]) if k.startswith("@") else k, n) for k, n in d["by_workshop"].items()])
    b.sheet("notable", ("item",), [(text.strip(),) for text in render_lines(
        reports.notable_lines(d), b.lang, b.zone).split("\n")])


def _letters(b: _Book, d: dict[str, Any]) -> None:
    """The quarterly summary of letters to a leader: how they were handled, to whom, by
    category, the writers' ratings, the notable ones."""
    b.sheet("letter_figures", ("item", "count"),
            [(b.t(f"export.letters.{k}"), d[k])
             for k in ("letters", "answered", "closed", "open", "overdue")]
            + [(b.t(f"opt.rating.{k}"), n) for k, n in d["ratings"].items()])
    b.sheet("letters_to", ("item", "count"),
            [(b.t(k[1:]) if k.startswith("@") else k, n) for k, n in d["by_addressee"].items()])
    b.sheet("letter_categories", ("item", "count"), [(b.t(f"opt.category.{k}"), n)
                                                     for k, n in d["by_category"].items()])
    b.sheet("notable", ("item",), [(text.strip(),) for text in render_lines(
        reports.letter_notable_lines(d), b.lang, b.zone).split("\n")])


def _field_visits(b: _Book, s: Session, unit_id: int, first: date, last: date) -> None:
    rows = s.exec(select(FieldVisit).where(FieldVisit.unit_id == unit_id,
                                           col(FieldVisit.visited_on) >= first,
                                           col(FieldVisit.visited_on) <= last)
                  .order_by(col(FieldVisit.visited_on), col(FieldVisit.id))).all()
    b.sheet("field_visits", ("date", "staff", "workshop", "talked_with", "issues"),
            [(v.visited_on, _name(s, v.staff_id), _shop(s, v.workshop_id), v.talked_with,
              v.issues) for v in rows])


def _work_log(b: _Book, s: Session, unit_id: int, first: date, last: date) -> None:
    rows = s.exec(select(WorkLog).where(WorkLog.unit_id == unit_id, col(WorkLog.day) >= first,
                                        col(WorkLog.day) <= last)
                  .order_by(col(WorkLog.day), col(WorkLog.id))).all()
    b.sheet("work_log", ("date", "person", "kind", "text"),
            [(w.day, _name(s, w.person_id), b.t(f"export.log.{w.kind}"), w.text) for w in rows])


def build(s: Session, kind: str, *, unit_id: int, lang: str, zone: ZoneInfo, today: date,
          month: str | None = None, case: str | None = None,
          report_id: int | None = None, reader: Person | None = None,
          now: datetime | None = None) -> bytes:
    """Make the export `kind` and return the .xlsx file's bytes. `reader`: who downloads
    it; a case's forms name its complainant only to those handling the case, and that read
    is recorded (at `now`) in the session, for the caller to commit."""
    if kind not in KINDS:
        raise ExportError("export.unknown", kind=kind, kinds=", ".join(KINDS))
    b = _Book(lang, zone)
    first, last = _month_span(month, today)
    makers: dict[str, Callable[[], None]] = {
        "roster": lambda: _roster(b, s, unit_id, first, last),
        "ledger": lambda: _ledger(b, s, unit_id, first, last, today),
        "forms": lambda: _forms(b, s, unit_id, case or "", reader, now),
        "screening": lambda: _screening(b, s, unit_id, f"{first:%Y-%m}", today),
        "warnings": lambda: _warnings(b, s, unit_id),
        "report": lambda: _report(b, s, unit_id, report_id),
        "field_visits": lambda: _field_visits(b, s, unit_id, first, last),
        "work_log": lambda: _work_log(b, s, unit_id, first, last),
    }
    makers[kind]()
    return b.bytes()
