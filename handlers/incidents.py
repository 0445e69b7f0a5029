"""An emergency followed to the end: the alert chain, re-alerts, and the reports it owes.

The chain (ChainStep rows: notify these people, wait N minutes) runs step after step and
round after round until someone acknowledges. An acknowledged incident not yet handled
re-alerts after `realert` minutes, then at doubling gaps (up to REALERT_MAX). The 1-hour
first report and 2-hour opinion report to the upper union, and after handling the
30-minute closing report and the one-week archiving, are IncidentReport rows with due
times: the director is reminded before, and a report not sent by its due time is marked
late (迟报) and the director told.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, SessionTransaction
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session, col, select

from conversations import catalog
from conversations.clock import Clock
from conversations.flow import Result, Submission
from handlers import alerts
from handlers.context import HandlerContext
from handlers.identity import HOTLINE_CHANNELS, reporter_name
from store import fast, outbox, timers
from store.db import insert_ids, transaction
from store.models import (
    Acknowledgement,
    Alert,
    ChainStep,
    DutyEntry,
    HotlineCall,
    Incident,
    IncidentLink,
    IncidentReport,
    Notification,
    Person,
    Unit,
)
from store.steps import set_timers

log = logging.getLogger(__name__)
WATCH = "incident_watch"
ADDED_SHOWN = 5  # the latest reports added to an incident, shown under a later alert
REPORT = "incident_report"
# The param of an alert sent by a chain step after the first: {"names": [...], "minutes": N}
# (who was alerted before and did not acknowledge, and how long the report has been open).
ESCALATED = "escalated"
# How long each report may take, counted from the report (first, opinion) or from the end
# of the handling (closing, archive); the director is reminded `before` its due time.
# A group incident is reported to the city union within 24 hours (seed 003, its hotline
# 12351), whatever went to the upper union before: "city" is recorded, not pushed.
WINDOWS = {"first": timedelta(hours=1), "opinion": timedelta(hours=2),
           "city": timedelta(hours=24),
           "closing": timedelta(minutes=30), "archive": timedelta(days=7)}
BEFORE = {"first": timedelta(minutes=30), "opinion": timedelta(minutes=30),
          "city": timedelta(hours=2),
          "closing": timedelta(minutes=15), "archive": timedelta(days=1)}
# An acknowledged emergency not yet handled is re-alerted after the setting's interval
# (incident_realert_minutes), then after twice as long each time, up to this.
REALERT_MAX = timedelta(hours=8)
# The reports an incident owes from the moment it is filed.
OWED_AT_ONCE = ("first", "opinion", "city")


def owe(session: Session, incident: Incident, kind: str, since: datetime) -> IncidentReport:
    """Record that the incident owes a report of `kind`, and set its reminder timers."""
    return owe_many(session, incident, [kind], since)[0]


def owe_many(session: Session, incident: Incident, kinds: list[str], since: datetime,
             more: Sequence[tuple[str, str, datetime]] = ()) -> list[IncidentReport]:
    """owe() for several reports at once (one flush, one statement for all the timers,
    with `more` timers set in the same statement)."""
    assert incident.id is not None
    rows = [IncidentReport(incident_id=incident.id, kind=kind, due_at=since + WINDOWS[kind])
            for kind in kinds]
    session.add_all(rows)
    session.flush()
    due = list(more)
    for row in rows:
        due += [(REPORT, f"{row.id}:remind", row.due_at - BEFORE[row.kind]),
                (REPORT, f"{row.id}:due", row.due_at)]
    set_timers(session, due)
    return rows


def first_position(session: Session, unit_id: int | None) -> int:
    """Where a new incident of the unit starts its chain (its first step is alerted with
    the report)."""
    order = chain(session, unit_id)
    return min(order) if order else 1


# session.info key: incidents filed in this transaction whose alerts, pushes, reports and
# timers are still to be written (see file()).
FILED = "incidents_filed"


@dataclass(frozen=True)
class _Filed:
    incident: Incident
    recipients: tuple[int, ...]
    message: str
    params: dict[str, Any]
    priority: int
    step: object  # outbox.STEP when it was filed: whose step the pushes are
    # (person, channel): a recipient who filed it, their alert acknowledged as it is filed
    acknowledged: tuple[int, str] | None = None
    # When it was filed: its alerts' time and its chain's start. The reports it owes count
    # from the incident's created_at, when the workroom had it (earlier for a report the
    # silence sent).
    at: datetime | None = None

    @property
    def filed_at(self) -> datetime:
        return self.at or self.incident.created_at


def file(session: Session, incident: Incident, recipients: Sequence[int], *, message: str,
         params: dict[str, Any], priority: int,
         acknowledged: tuple[int, str] | None = None, at: datetime | None = None) -> None:
    """Alert `recipients` of a new incident (stored at its chain's first position, see
    first_position()) and arm its chain and its reports.

    The rows are written by write_filed(), with those of every other incident filed in
    the same transaction, one statement per table: a batch of steps that files many
    reports at once makes four statements, not four per report, and every leader is
    alerted sooner. write_filed() runs before the transaction commits (at the latest from
    its before_commit), and before anything reads a new incident's alerts.

    `acknowledged` names a recipient who filed the report (and the channel): their alert
    is written acknowledged, and no push of it is sent to them."""
    assert incident.id is not None
    session.info.setdefault(FILED, []).append(_Filed(
        incident, tuple(dict.fromkeys(recipients)), message, params, priority,
        session.info.get(outbox.STEP), acknowledged, at))


def write_filed(session: Session) -> None:
    """Write what the incidents filed so far in this transaction owe (see file())."""
    filed: list[_Filed] = session.info.pop(FILED, None) or []
    if not filed:
        return
    pairs = [(f, rid) for f in filed for rid in f.recipients]
    ids = insert_ids(session, Alert.__table__,  # type: ignore[attr-defined]
                     [{"subject": "incident", "subject_id": f.incident.id,
                       "recipient_id": rid, "created_at": f.filed_at}
                      for f, rid in pairs], ("subject_id", "recipient_id"))
    # Their pushes, due from the last report's time (all of them are moments apart).
    own = [(f, aid) for (f, rid), aid in zip(pairs, ids, strict=True)
           if f.acknowledged is not None and f.acknowledged[0] == rid]
    outbox.add_many(session, [
        {"key": f"alert:{aid}", "recipient_id": rid, "message": f.message,
         "params": f.params, "alert_id": aid, "priority": f.priority, "step": f.step}
        for (f, rid), aid in zip(pairs, ids, strict=True)
        if f.acknowledged is None or f.acknowledged[0] != rid],
        now=max(f.filed_at for f in filed))
    if own:  # the filer's own alerts: acknowledged by filing
        session.execute(insert(Acknowledgement.__table__), [  # type: ignore[attr-defined]
            {"alert_id": aid, "person_id": f.acknowledged[0], "channel": f.acknowledged[1],
             "at": f.filed_at} for f, aid in own if f.acknowledged is not None])
    # The reports every incident owes, in one statement, their timers and the chains'
    # watches in another.
    owed = [(f.incident, kind, f.incident.created_at + WINDOWS[kind])
            for f in filed for kind in OWED_AT_ONCE]
    report_ids = insert_ids(session, IncidentReport.__table__,  # type: ignore[attr-defined]
                            [{"incident_id": incident.id, "kind": kind, "due_at": due,
                              "sent_at": None, "late": False, "sent_by": None, "content": {}}
                             for incident, kind, due in owed], ("incident_id", "kind"))
    due: list[tuple[str, str, datetime]] = []
    for f in filed:
        order = chain(session, f.incident.unit_id)
        if order:
            wait = timedelta(minutes=order[f.incident.chain_position][1])
            due.append((WATCH, str(f.incident.id), f.filed_at + wait))
    for rid, (_, kind, at) in zip(report_ids, owed, strict=True):
        due += [(REPORT, f"{rid}:remind", at - BEFORE[kind]), (REPORT, f"{rid}:due", at)]
    set_timers(session, due)


@event.listens_for(OrmSession, "before_commit")
def _write_filed_before_commit(session: Session) -> None:
    write_filed(session)


# The tables write_filed() writes: a read of any of them in the transaction sees the
# rows of the incidents filed so far (see _write_filed_before_reading).
_FILED_TABLES = frozenset({"alert", "notification", "incidentreport", "timer"})


@event.listens_for(OrmSession, "do_orm_execute")
def _write_filed_before_reading(state: ORMExecuteState) -> None:
    # Whoever reads a new incident's alerts, pushes, reports or timers in the transaction
    # that filed it (who was alerted, to tell a caller or a linked reporter) finds them:
    # the explicit write_filed() calls are not the only guard. Other reads, as the next
    # report of a batch makes, leave them for the batch's one statement per table.
    session, statement = state.session, state.statement
    if FILED in session.info and isinstance(statement, ClauseElement) and (
            state.is_select or state.is_update or state.is_delete) and \
            _FILED_TABLES & {t.name for t in find_tables(
                statement, include_joins=True, include_crud=True)}:
        write_filed(session)  # type: ignore[arg-type]  # SQLModel's, as every session here


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_filed(session: Session, previous: SessionTransaction) -> None:
    # The incidents are gone with the transaction: no alert may follow them into the
    # session's next one. A savepoint rolled back (a number series made by a concurrent
    # writer) leaves the incidents filed before it, and their alerts are still owed.
    if previous.parent is None:
        session.info.pop(FILED, None)


def chain(session: Session, unit_id: int | None) -> dict[int, tuple[list[int], int]]:
    """The unit's chain: position -> (people, minutes to wait after notifying them);
    read once per transaction (a batch of steps may file several reports)."""
    memo = session.info.setdefault("incident_chain", {})
    if unit_id not in memo:
        memo[unit_id] = _chain(session, unit_id)
    return {k: (list(v[0]), v[1]) for k, v in memo[unit_id].items()}


def _chain(session: Session, unit_id: int | None) -> dict[int, tuple[list[int], int]]:
    out: dict[int, tuple[list[int], int]] = {}
    if unit_id is None:  # every step belongs to a unit
        return out
    c = ChainStep.__table__  # type: ignore[attr-defined]
    rows = fast.execute(session, "incident_chain", lambda: select(
        c.c.position, c.c.person_id, c.c.wait_minutes).where(
        c.c.unit_id == bindparam("unit")).order_by(c.c.position, c.c.id), {"unit": unit_id})
    for position, person_id, minutes in rows:
        people, wait = out.get(position, ([], minutes))
        out[position] = ([*people, person_id], max(wait, minutes))
    return out


def ring_last_step(session: Session, incident: Incident, now: datetime) -> None:
    """Phone the people of the chain's last step when the incident stands at it (a
    one-step chain: with the report itself)."""
    steps = chain(session, incident.unit_id)
    if steps and incident.chain_position == max(steps):
        from handlers import hotline  # the voice calls are the hotline's

        hotline.ring(session, incident, steps[incident.chain_position][0], now)


def acknowledged(session: Session, incident: Incident) -> bool:
    return session.exec(select(Acknowledgement.id).join(
        Alert, col(Alert.id) == Acknowledgement.alert_id).where(
        Alert.subject == "incident", Alert.subject_id == incident.id)).first() is not None


def unacknowledged(session: Session, incident: Incident) -> list[tuple[int, str]]:
    """(person id, name) of everyone alerted to the incident so far who has not
    acknowledged, in the order they were alerted."""
    acked = select(Acknowledgement.alert_id)
    rows = session.exec(select(Person.id, Person.name).join(
        Alert, col(Alert.recipient_id) == Person.id).where(
        Alert.subject == "incident", Alert.subject_id == incident.id,
        col(Alert.id).not_in(acked)).order_by(col(Alert.id))).all()
    return [(int(pid), name or "") for pid, name in rows if pid is not None]


def unreached(session: Session, incident: Incident) -> set[int]:
    """Who the incident's alert could not reach at all: every push of their alert was
    given up on (refused, blocked, no channel) or waits for them to write first, none
    was delivered nor is still being tried. Told apart from those who had it and did not
    acknowledge (the 【升级】 line), and the reporter told when nobody was reached."""
    rows = session.exec(select(Alert.recipient_id, Notification.status).join(
        Notification, col(Notification.alert_id) == col(Alert.id)).where(
        Alert.subject == "incident", Alert.subject_id == incident.id)).all()
    lost: set[int] = set()
    reached: set[int] = set()
    for pid, status in rows:
        (lost if status in ("failed", outbox.HELD) else reached).add(pid)
    return lost - reached


def paged_this_round(session: Session, incident: Incident, earlier: Sequence[int]
                     ) -> set[int]:
    """Who the chain has pushed the incident's alert to in its current round, before the
    step it stands at: the report's own alerts (the first round's first step, keyed
    alert:<id>) and those of the round's `earlier` positions (alert:<id>:r<round>p<pos>).
    Looked up by their keys (the outbox's unique index), not by reading the outbox."""
    keys: dict[str, int] = {}
    for aid, pid in session.exec(select(Alert.id, Alert.recipient_id).where(
            Alert.subject == "incident", Alert.subject_id == incident.id)).all():
        if incident.chain_round == 1:
            keys[f"alert:{aid}"] = pid
        for position in earlier:
            keys[f"alert:{aid}:r{incident.chain_round}p{position}"] = pid
    if not keys:
        return set()
    found = session.exec(select(Notification.idempotency_key).where(
        col(Notification.idempotency_key).in_(list(keys)))).all()
    return {keys[k] for k in found}


def directors(session: Session, unit_id: int | None) -> list[Person]:
    return list(session.exec(select(Person).where(
        Person.role == "director", Person.unit_id == unit_id,
        Person.active == True).order_by(col(Person.id))).all())  # noqa: E712


def incident_params(session: Session, incident: Incident) -> dict[str, Any]:
    """The alert's words, as the emergency handler first wrote them."""
    from handlers.files import counts_of

    reporter = session.get(Person, incident.reporter_id) if incident.reporter_id else None
    filer = None
    if incident.channel in HOTLINE_CHANNELS:  # filed by staff for a caller: by whom
        filed = session.exec(select(HotlineCall.filed_by).where(
            HotlineCall.subject == "incident", HotlineCall.subject_id == incident.id,
            col(HotlineCall.filed_by).is_not(None))).first()
        filer = session.get(Person, filed) if filed is not None else None
    params: dict[str, Any] = {
        "number": incident.number, "what": incident.what, "place": incident.place,
        "people": incident.people, "measures": incident.measures,
        "suggestion": incident.suggestion, "reported_at": incident.created_at.isoformat(),
        "reporter": reporter_name(reporter, incident.channel, filer)}
    counts = counts_of(session, "incident", incident.id or 0)
    if counts:  # "附件：照片 2 张", as the first alert said (and any added since)
        params["files"] = counts
    # The reports added to it since, under it: a leader the chain pages later reads what
    # is known now (the head count, the injured), not only the first words.
    added = session.exec(select(IncidentLink).where(IncidentLink.incident_id == incident.id)
                         .order_by(col(IncidentLink.id))).all()
    if added:
        params["added_lines"] = [[
            "notice.incident_more_line_full" if link.measures or link.suggestion
            else "notice.incident_more_line", {
                "reported_at": link.created_at.isoformat(), "what": link.what,
                "place": link.place, "people": link.people, "measures": link.measures,
                "suggestion": link.suggestion,
                "reporter": reporter_name(session.get(Person, link.reporter_id)
                                          if link.reporter_id else None, link.channel)}]
            for link in added[-ADDED_SHOWN:]]
        params["added_count"] = len(added)
    return params


class IncidentTimers:
    """Timer handlers: the next chain step or a re-alert; a report's reminder or lateness."""

    def __init__(self, db: Engine, clock: Clock, zone: ZoneInfo, *,
                 realert: timedelta = timedelta(minutes=60), call_last_step: bool = False,
                 texts: bool = True) -> None:
        self.db, self.clock, self.zone, self.realert = db, clock, zone, realert
        # The chain's last step also phones its people (the hotline's voice calls).
        self.call_last_step = call_last_step
        self.texts = texts  # the hotline's texts are set up: a caller can be told by SMS

    def watch(self, ref: str) -> int:
        """Alert the chain's next step, or re-alert an acknowledged incident not handled."""
        now = self.clock.now()
        with transaction(self.db) as s:
            timer = timers.take(s, kind=WATCH, ref=ref, now=now)
            incident = s.get(Incident, int(ref)) if timer is not None else None
            if timer is None or incident is None or incident.handled_at is not None:
                return 0
            if incident.acknowledged_at is not None or acknowledged(s, incident):
                return self._realert(s, incident, now)
            return self._next_step(s, incident, now)

    def _next_step(self, s: Session, incident: Incident, now: datetime) -> int:
        steps = chain(s, incident.unit_id)
        if not steps:
            return 0
        later = [p for p in sorted(steps) if p > incident.chain_position]
        if later:
            incident.chain_position = later[0]
        else:  # nobody acknowledged the whole chain: start it again
            incident.chain_position, incident.chain_round = min(steps), incident.chain_round + 1
        people, wait = steps[incident.chain_position]
        if incident.chain_position == min(steps):
            people = [*(d.id for d in directors(s, incident.unit_id) if d.id), *people,
                      *self._duty_leaders(s, incident, now)]
        # Nobody who has left (inactive) is alerted, as with the report's first alerts.
        active = set(s.exec(select(Person.id).where(col(Person.id).in_(people),
                                                    Person.active == True)))  # noqa: E712
        people = [p for p in people if p in active]
        s.add(incident)
        # Who was alerted before this step and has not acknowledged: each alert of the
        # step names them at its top, with how long the report has been open.
        before = unacknowledged(s, incident)
        paged = {who for who, _ in before}
        lost = unreached(s, incident) & paged
        # One push a round: someone this round has paged already (the duty leader or the
        # director also named in a later step) is not paged again by this step; the
        # step's wait still runs for them, as for the others.
        this_round = paged_this_round(s, incident,
                                      [p for p in steps if p < incident.chain_position])
        minutes = max(0, int((now - incident.created_at).total_seconds() // 60))
        sent = 0
        for pid in dict.fromkeys(p for p in people if p not in this_round):
            named = [(who, name) for who, name in before if who != pid] or before
            # Those the alert never reached are not said to have left it unanswered.
            escalated: dict[str, Any] | None = {
                "names": [name for who, name in named if who not in lost],
                "unreached": [name for who, name in named if who in lost],
                "minutes": minutes} if named else None
            if escalated and pid in paged:  # paged before, silent too: reminded as such
                escalated["again"] = True
            sent += self._alert(s, incident, pid, now, escalated)
        if self.call_last_step:
            ring_last_step(s, incident, now)
        if people:
            # The first leaders have not answered: the reporter is not left to believe
            # someone is on the way; told once (its key), with what to do if lives are
            # at stake.
            # Nobody at all could be reached (every alert refused): the reporter is told
            # to phone, not left to wait for a 收到 that cannot come.
            key, message = ("unreached", "notice.incident_unreached") \
                if before and lost == paged else ("waiting", "notice.incident_waiting")
            tell_reporters(s, incident, key, message, now, {"number": incident.number},
                           texts=self.texts)
        if not people and later:
            # Everyone of this step has left: nobody waits on it, the next step is now.
            wait = 0
        timers.schedule(s, kind=WATCH, ref=str(incident.id), due_at=now + timedelta(minutes=wait))
        log.warning("incident %s: nobody acknowledged; chain step %s round %s alerted %d",
                    incident.number, incident.chain_position, incident.chain_round, sent)
        return sent

    def _duty_leaders(self, s: Session, incident: Incident, now: datetime) -> list[int]:
        today = now.astimezone(self.zone).date()
        return [e.leader_id for e in s.exec(select(DutyEntry).where(
            DutyEntry.day == today, DutyEntry.unit_id == incident.unit_id))]

    def _alert(self, s: Session, incident: Incident, pid: int, now: datetime,
               escalated: dict[str, Any] | None = None) -> int:
        assert incident.id is not None
        alert = s.exec(select(Alert).where(Alert.subject == "incident",
                                           Alert.subject_id == incident.id,
                                           Alert.recipient_id == pid)).first()
        if alert is None:
            alert = Alert(subject="incident", subject_id=incident.id, recipient_id=pid,
                          created_at=now)
            s.add(alert)
            s.flush()
        key = f"alert:{alert.id}:r{incident.chain_round}p{incident.chain_position}"
        params = incident_params(s, incident)
        if escalated:  # "【升级】…未确认，现升级通知您。" above the alert (handlers/notices)
            params[ESCALATED] = escalated
        outbox.enqueue(s, key=key, recipient_id=pid, message="notice.incident",
                       params=params, alert_id=alert.id, now=now,
                       priority=outbox.EMERGENCY)
        return 1

    def _realert_times(self, acked: datetime, now: datetime) -> tuple[datetime | None, datetime]:
        """The re-alert due now (the latest of the schedule at or before `now`, None if
        none yet) and the next one. The gap doubles after each (1 h, 2 h, 4 h… from the
        setting), up to REALERT_MAX: a leader is not woken every hour for days. A long
        outage makes one re-alert, not a burst."""
        gap, due, last = self.realert, acked + self.realert, None
        while due <= now:
            last, gap = due, min(gap * 2, max(REALERT_MAX, self.realert))
            due = last + gap
        return last, due

    def _realert(self, s: Session, incident: Incident, now: datetime) -> int:
        acked = incident.acknowledged_at or now
        due, following = self._realert_times(acked, now)
        if due is None:
            timers.schedule(s, kind=WATCH, ref=str(incident.id), due_at=following)
            return 0
        who = {a.person_id for a in s.exec(select(Acknowledgement).join(
            Alert, col(Alert.id) == Acknowledgement.alert_id).where(
            Alert.subject == "incident", Alert.subject_id == incident.id))}
        heads = [d for d in directors(s, incident.unit_id) if d.id is not None]
        who |= {d.id for d in heads if d.id is not None}
        minutes = int((now - acked).total_seconds() // 60)
        params = {"number": incident.number, "minutes": minutes, "what": incident.what,
                  "place": incident.place}
        # The director's first re-alert is the first made for her, which is the schedule's
        # first unless the scheduler was down past it (it makes only the latest one).
        earlier = f"incident:{incident.id}:realert:"
        told = set(s.exec(select(Notification.recipient_id).where(
            col(Notification.idempotency_key).startswith(earlier))).all())
        for pid in sorted(who):
            # The director records the end of the handling (one tap from here); a leader
            # on it is told whom to keep informed, having no such action of their own.
            # Only the director's first re-alert sounds at night: it asks her to record
            # the end while the emergency is fresh (the closing report is due 30 minutes
            # after). Later ones, and every one to a leader who acknowledged (they know,
            # and cannot close it), are silent in the quiet hours and ring by day.
            mine: dict[str, Any]
            if any(d.id == pid for d in heads):
                message, mine = "notice.incident_open", {"actions": [[
                    "opt.incident_action.handled",
                    f"flow:incident_action?incident={incident.id}&action=handled"]]}
                priority = outbox.ALERT if pid in told else outbox.EMERGENCY
            else:
                message = "notice.incident_open_leader"
                mine = {"director_names": [d.name for d in heads]}
                priority = outbox.ALERT
            outbox.enqueue(s, key=f"incident:{incident.id}:realert:{due.isoformat()}:{pid}",
                           recipient_id=pid, message=message, now=now,
                           priority=priority, params={**params, **mine})
        timers.schedule(s, kind=WATCH, ref=str(incident.id), due_at=following)
        return len(who)

    def report(self, ref: str) -> int:
        """Remind the director of a report due soon, or mark it late when its time is up."""
        report_id, _, stage = ref.partition(":")
        now = self.clock.now()
        with transaction(self.db) as s:
            timer = timers.take(s, kind=REPORT, ref=ref, now=now)
            row = s.get(IncidentReport, int(report_id)) if timer is not None else None
            incident = s.get(Incident, row.incident_id) if row is not None else None
            if row is None or incident is None or row.sent_at is not None:
                return 0
            if stage == "due":
                row.late = True
                s.add(row)
            message = "notice.report_late" if stage == "due" else "notice.report_due"
            people = directors(s, incident.unit_id)
            for d in people:
                outbox.enqueue(s, key=f"report:{row.id}:{stage}:{d.id}", recipient_id=d.id,
                               message=message, now=now, priority=outbox.EMERGENCY,
                               params={"number": incident.number,
                                       "report": f"@report.kind.{row.kind}",
                                       "due_at": row.due_at.isoformat(),
                                       # one tap to the report's first question
                                       "actions": [[f"opt.incident_action.{row.kind}",
                                                    f"flow:incident_action?incident="
                                                    f"{incident.id}&action={row.kind}"]]})
            return len(people)


# --- the director's actions in chat -----------------------------------------------------


def incident_action(ctx: HandlerContext, sub: Submission) -> Result:
    """Send a report to the upper union, end the handling, or archive the papers."""
    s, a = ctx.session, sub.answers
    incident = s.get(Incident, int(a["incident"])) if str(a["incident"]).isdigit() else None
    if incident is None or incident.unit_id != ctx.unit_id():
        return Result("incident_action.gone", {}, back_to="incident")
    action = a["action"]
    refused = action_refusal(s, sub.lang, incident, action)
    if refused is not None:
        return Result(*refused, back_to="action")
    assert incident.id is not None
    if action == "handled":
        result = _handled(ctx, incident, a["outcome"])
        # handled: nobody is told "on it"; the actor's alert says they recorded the end
        alerts.taken_up(ctx, "incident", incident.id, handled=True)
        return result
    alerts.taken_up(ctx, "incident", incident.id)
    row = s.exec(select(IncidentReport).where(IncidentReport.incident_id == incident.id,
                                              IncidentReport.kind == action)).first()
    if row is None:  # the city report of an incident filed before it was owed at once
        row = owe(s, incident, action, incident.created_at)
    report = catalog.t(sub.lang, f"report.kind.{action}")
    if action == "archive":
        row.content = {"archive": a["archive"]}
        incident.archived_at, incident.status = ctx.now, "archived"
    elif action == "city":  # told by phone or in writing: what is kept is how, and to whom
        row.content = {"how": a["how"], "taken_by": a["taken_by"]}
    else:
        row.content = {k: a[k] for k in ("involved", "impact", "measures", "suggestions")}
        if not _send(ctx, incident, row):
            return Result("incident_action.no_upper", {"report": report}, back_to=None)
    row.sent_at, row.late, row.sent_by = ctx.now, ctx.now > row.due_at, ctx.actor.id
    s.add(row)
    s.add(incident)
    for stage in ("remind", "due"):
        timers.cancel(s, kind=REPORT, ref=f"{row.id}:{stage}", now=ctx.now)
    done = "incident_action.done.late" if row.late else "incident_action.done.in_time"
    return Result(done, {"report": report, "number": incident.number,
                         "due": row.due_at.astimezone(ctx.zone).strftime("%m-%d %H:%M")})


def action_refusal(session: Session, lang: str, incident: Incident, action: str
                   ) -> tuple[str, dict[str, Any]] | None:
    """Why `action` cannot be done to the incident now: handled already, its report sent
    already, or not due yet. Checked when the action is chosen (an old push's button may
    carry it) and again when the form is sent."""
    if action == "handled":
        if incident.handled_at is not None:
            return "incident_action.already_handled", {"number": incident.number}
        return None
    row = session.exec(select(IncidentReport).where(IncidentReport.incident_id == incident.id,
                                                    IncidentReport.kind == action)).first()
    report = catalog.t(lang, f"report.kind.{action}")
    if row is None and action == "city":
        return None  # owed by every incident (recorded for an older one when told)
    if row is None:
        return "incident_action.not_yet", {"report": report}
    if row.sent_at is not None:
        return "incident_action.already", {"report": report, "number": incident.number}
    if action == "archive":  # the papers are archived with the closing report and the
        # city union's among them (neither could be recorded afterwards, an archived
        # emergency being no longer listed)
        unsent = session.exec(select(IncidentReport.kind).where(
            IncidentReport.incident_id == incident.id, col(IncidentReport.sent_at).is_(None),
            col(IncidentReport.kind).in_(("city", "closing")))
            .order_by(col(IncidentReport.due_at))).first()
        if unsent is not None:
            return "incident_action.closing_first", {
                "number": incident.number, "report": catalog.t(lang, f"report.kind.{unsent}")}
    return None


def _send(ctx: HandlerContext, incident: Incident, row: IncidentReport) -> bool:
    """Push the report to the upper union's contacts; False when there is nobody."""
    s = ctx.session
    upper = s.exec(select(Person).where(Person.role == "upper_union",
                                        Person.unit_id == incident.unit_id,
                                        Person.active == True)  # noqa: E712
                   .order_by(col(Person.id))).all()
    unit = s.get(Unit, incident.unit_id) if incident.unit_id else None
    late = ctx.now > row.due_at
    for p in upper:
        outbox.enqueue(s, key=f"report:{row.id}:sent:{p.id}", recipient_id=p.id,
                       message="notice.incident_report_late" if late
                       else "notice.incident_report", now=ctx.now, priority=outbox.EMERGENCY,
                       params={"report": f"@report.kind.{row.kind}", "number": incident.number,
                               "unit": unit.name if unit else "", "what": incident.what,
                               "place": incident.place,
                               "reported_at": incident.created_at.isoformat(),
                               "director": ctx.actor.name, **row.content})
    return bool(upper)


def tell_reporters(s: Session, incident: Incident, key: str, message: str, now: datetime,
                   params: dict[str, Any], *, texts: bool = True) -> None:
    """A push to everyone who reported the incident (its reporter, then those whose
    reports were added to it), once each, where they can be reached."""
    later = s.exec(select(IncidentLink.reporter_id).where(
        IncidentLink.incident_id == incident.id).order_by(col(IncidentLink.id))).all()
    for pid in dict.fromkeys(p for p in [incident.reporter_id, *later] if p is not None):
        if alerts.reachable(s, pid, texts=texts):
            outbox.enqueue(s, key=f"incident:{incident.id}:{key}:{pid}", now=now,
                           priority=outbox.EMERGENCY, recipient_id=pid, message=message,
                           params=params)


def _handled(ctx: HandlerContext, incident: Incident, outcome: str) -> Result:
    s = ctx.session
    incident.handled_at, incident.outcome, incident.status = ctx.now, outcome, "handled"
    s.add(incident)
    # Those who reported it hear how it ended (事事有回音), not only that someone had it.
    tell_reporters(s, incident, "handled", "notice.incident_handled", ctx.now,
                   {"number": incident.number, "outcome": outcome,
                    "handled_at": ctx.now.isoformat()}, texts=ctx.texts)
    # The leaders alerted who have not answered are not left to set out for it: told it
    # is over (quietly at night: nothing more to do).
    for pid, _ in unacknowledged(s, incident):
        if pid != ctx.actor.id:
            outbox.enqueue(s, key=f"incident:{incident.id}:handled-told:{pid}", now=ctx.now,
                           recipient_id=pid, message="notice.incident_handled_leader",
                           priority=outbox.ALERT,
                           params={"number": incident.number, "name": ctx.actor.name,
                                   "handled_at": ctx.now.isoformat(), "outcome": outcome})
    timers.cancel(s, kind=WATCH, ref=str(incident.id), now=ctx.now)
    closing = owe(s, incident, "closing", ctx.now)
    owe(s, incident, "archive", ctx.now)
    return Result("incident_action.done.handled", {
        "number": incident.number,
        "due": closing.due_at.astimezone(ctx.zone).strftime("%H:%M")})
