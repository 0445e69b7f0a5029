"""Emergency reports filed together, in one batch of steps (many workers reporting at the
same moment): each alerts its leaders and arms its chain and reports, as one filed alone
does, and the batch writes those rows in one statement per table."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.catalog import t
from conversations.flow import Result, Submission
from handlers.grouping import brief
from handlers.inbound import Inbound, Stepped
from handlers.incidents import OWED_AT_ONCE, REPORT, WATCH
from store.fast import chunks
from store.models import Alert, Incident, IncidentLink, IncidentReport, Notification, Timer

MENU = "紧急情况报告"
ALERTED = "陈丽华（工会主席、群众工作室主任）、孙红梅（党委书记）"


def _msg(chat: int, n: int, text: str) -> Inbound:
    return Inbound(channel="telegram", address=str(chat), message_id=f"{chat}-{n}", text=text,
                   push_replies=True, merge_limit=4000)


def _answers(chat: int, place: str) -> list[str]:
    return [MENU, f"工人聚集在{place}要求发工资 [{chat}]", place, "25", "车间主任已到场劝导",
            "请财务部门到场说明"]


def _to_last_answer(svc: Services, chats: list[int], place: str) -> None:
    """Each worker answers every question but the last, one message at a time."""
    for chat in chats:
        for n, text in enumerate(_answers(chat, place)[:-1]):
            [done] = svc.workroom.process_batch([_msg(chat, n, text)])
            assert done.error is None, done.error


def _file_together(svc: Services, chats: list[int], place: str) -> tuple[list[Stepped],
                                                                         list[str]]:
    """The last answers of all `chats` in one batch; its results and its statements."""
    said: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        said.append(" ".join(statement.split()))

    event.listen(svc.db, "before_cursor_execute", seen)
    try:
        results = svc.workroom.process_batch(
            [_msg(chat, 5, _answers(chat, place)[-1]) for chat in chats])
    finally:
        event.remove(svc.db, "before_cursor_execute", seen)
    return results, said


def _inserts(said: list[str], table: str) -> int:
    return sum(1 for s in said if s.upper().startswith(f"INSERT INTO {table.upper()} "))


def _texts(step: Stepped) -> str:
    return "\n".join(r.text for r in step.replies)


def test_reports_filed_in_one_batch_each_alert_their_leaders_and_arm_their_chain(
        db_services: Services) -> None:
    svc = db_services
    chats = [4100 + n for n in range(8)]
    _to_last_answer(svc, chats, "厂门口")  # names no workshop: eight incidents, none linked
    results, said = _file_together(svc, chats, "厂门口")

    assert all(r.error is None for r in results)
    with Session(svc.db) as s:
        incidents = s.exec(select(Incident).order_by(col(Incident.id))).all()
        assert len(incidents) == 8
        for chat, step, incident in zip(chats, results, incidents, strict=True):
            # Every reporter is told their number and who was alerted.
            assert f"[{chat}]" in incident.what
            assert t("zh", "emergency.done", number=incident.number,
                     alerted=ALERTED) in _texts(step)
            alerts = s.exec(select(Alert).where(Alert.subject == "incident",
                                                Alert.subject_id == incident.id)).all()
            assert len(alerts) == 2
            for alert in alerts:  # each alert's push is in the outbox, an emergency
                push = s.exec(select(Notification).where(
                    Notification.alert_id == alert.id)).one()
                assert (push.recipient_id, push.message_key, push.priority) == (
                    alert.recipient_id, "notice.incident", 0)
                assert push.params["number"] == incident.number
            # The chain's watch and the two reports owed, each with its two timers.
            assert s.exec(select(Timer).where(Timer.kind == WATCH,
                                              Timer.ref == str(incident.id))).one()
            owed = s.exec(select(IncidentReport).where(
                IncidentReport.incident_id == incident.id)).all()
            assert sorted(r.kind for r in owed) == ["city", "first", "opinion"]
            refs = {x.ref for x in s.exec(select(Timer).where(Timer.kind == REPORT)).all()}
            for report in owed:
                assert {f"{report.id}:remind", f"{report.id}:due"} <= refs
    # Eight reports, yet one statement for the alerts, one for their pushes, and for the
    # 24 reports owed one per run of rows (16 + 8): the leaders' alerts do not wait for a
    # statement per report.
    assert (_inserts(said, "alert"), _inserts(said, "incidentreport")) == (
        1, len(chunks(range(8 * len(OWED_AT_ONCE)))))
    assert _inserts(said, "notification") <= 2  # the alerts', and the replies'


def test_two_reports_of_one_workshop_in_one_batch_are_one_incident(
        db_services: Services) -> None:
    # The second report is linked to the first, filed a moment before in the same batch:
    # its reporter is told who has been alerted, and those leaders are told of it.
    svc = db_services
    chats = [4201, 4202]
    _to_last_answer(svc, chats, "铸造车间")
    results, _ = _file_together(svc, chats, "铸造车间")

    with Session(svc.db) as s:
        [incident] = s.exec(select(Incident)).all()
        [link] = s.exec(select(IncidentLink)).all()
        assert link.incident_id == incident.id
        more = s.exec(select(Notification).where(
            Notification.message_key == "notice.incident_added_full")).all()
        alerted = {a.recipient_id for a in s.exec(select(Alert)).all()}
    assert t("zh", "emergency.done", number=incident.number, alerted=ALERTED) \
        in _texts(results[0])
    assert t("zh", "emergency.linked", number=incident.number, what=brief(incident.what),
             alerted=ALERTED) in _texts(results[1])
    assert {n.recipient_id for n in more} == alerted and len(more) == 2


def _file_alone(svc: Services, s: Session, draft: str) -> Result:
    """A report filed by a path of its own, straight through the emergency handler (as
    the phone's and the warning ledger's do), in the session `s`: nothing but the
    commit writes its alerts."""
    from handlers import records
    from handlers.context import HandlerContext
    from store.models import Person

    caller = s.exec(select(Person).where(Person.key == "li_ming")).one()
    ctx = HandlerContext(session=s, now=svc.clock.now(), actor=caller, channel="voice",
                         zone=ZoneInfo("Asia/Shanghai"), secret="test-secret")
    return records.emergency(ctx, Submission(
        "emergency", {"what": "仓库门口有人打架", "place": "仓库", "people": 4}, draft, "zh"))


def test_a_report_filed_outside_a_batch_of_steps_still_alerts_when_it_commits(
        db_services: Services) -> None:
    # A report filed outside a batch of steps, in one transaction: its alerts, their
    # pushes, its reports and its chain's watch are written when that transaction commits.
    from store.db import transaction

    svc = db_services
    with transaction(svc.db) as s:
        result = _file_alone(svc, s, "call:test-1")
    assert result.message == "emergency.done"
    with Session(svc.db) as s:
        incident = s.exec(select(Incident).where(Incident.draft_key == "call:test-1")).one()
        alerts = s.exec(select(Alert).where(Alert.subject_id == incident.id)).all()
        assert len(alerts) == 2
        pushes = s.exec(select(Notification).where(
            col(Notification.alert_id).in_([a.id for a in alerts]))).all()
        assert sorted(p.recipient_id for p in pushes) == sorted(a.recipient_id for a in alerts)
        assert len(s.exec(select(IncidentReport).where(
            IncidentReport.incident_id == incident.id)).all()) == len(OWED_AT_ONCE)
        assert s.exec(select(Timer).where(Timer.kind == WATCH,
                                          Timer.ref == str(incident.id))).one()


def test_a_report_rolled_back_alerts_nobody(db_services: Services) -> None:
    # A transaction that files a report and then fails: the report is gone, and the
    # session's next transaction must not alert the leaders of it.
    svc = db_services
    with Session(svc.db) as s:
        _file_alone(svc, s, "call:test-2")
        s.rollback()
        s.commit()
    with Session(svc.db) as s:
        assert s.exec(select(Incident)).all() == []
        assert s.exec(select(Alert)).all() == []
        assert s.exec(select(Notification).where(
            Notification.message_key == "notice.incident")).all() == []


def test_a_savepoint_rolled_back_after_a_report_keeps_its_alerts(db_services: Services) -> None:
    # Inside the transaction that filed a report, a savepoint fails (a number series a
    # concurrent writer made first): the report stands, and so do its alerts.
    from sqlalchemy.exc import IntegrityError

    from store.db import transaction
    from store.models import Sequence as NumberSeries

    svc = db_services
    with transaction(svc.db) as s:
        _file_alone(svc, s, "call:test-3")
        incident_id = s.exec(select(Incident.id).where(
            Incident.draft_key == "call:test-3")).one()
        series = NumberSeries.__table__  # type: ignore[attr-defined]
        taken = s.exec(select(NumberSeries.name)).first()
        try:
            with s.begin_nested():
                s.execute(series.insert().values(name=taken, value=1))
        except IntegrityError:
            pass
    with Session(svc.db) as s:
        assert len(s.exec(select(Alert).where(Alert.subject_id == incident_id)).all()) == 2


def test_a_read_of_a_new_reports_alerts_in_its_own_transaction_finds_them(
        db_services: Services) -> None:
    # Whoever reads, in the transaction that filed a report, who was alerted (to tell a
    # caller, a linked reporter), its pushes or its chain's watch finds them written.
    from store.db import transaction
    from store.models import Person

    svc = db_services
    with transaction(svc.db) as s:
        _file_alone(svc, s, "call:test-4")
        named = s.exec(select(Person.name).join(Alert, col(Alert.recipient_id) == Person.id)
                       .where(Alert.subject == "incident")).all()
        assert sorted(named) == sorted(["陈丽华", "孙红梅"])
        assert len(s.exec(select(Notification).where(
            Notification.message_key == "notice.incident")).all()) == 2
        [incident] = s.exec(select(Incident)).all()
        assert s.exec(select(Timer).where(Timer.kind == WATCH,
                                          Timer.ref == str(incident.id))).one()
    with Session(svc.db) as s:  # and the commit wrote them once
        assert len(s.exec(select(Alert)).all()) == 2
