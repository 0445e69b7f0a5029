"""Tests of the organisation file: parsing, validation and the idempotent loader."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import chinese_calendar
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, col, func, select

from store.db import make_engine, transaction
from store.models import (
    Booking,
    ChainStep,
    Contact,
    DutyEntry,
    Person,
    Responsibility,
    Unit,
    Workshop,
)
from store.org import (
    COMPLAINT_CATEGORIES,
    OrgError,
    demo_duty_days,
    demo_org_path,
    load_org,
    parse_org,
)

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
TABLES = (Unit, Workshop, Person, Contact, Responsibility, ChainStep, DutyEntry)

MINIMAL = """\
unit: {key: acme, name: 测试厂}
workshops:
  - {key: casting, name: 铸造车间}
people:
  - {key: boss_chen, name: 陈主席, role: director, post: 工会主席}
  - {key: lead_zhao, name: 赵总, role: leader, post: 总经理, portfolio: 生产经营}
  - {key: li_ming, name: 李明, role: employee, workshop: casting}
responsibilities:
  wages: lead_zhao
  safety: lead_zhao
  hours: lead_zhao
  contract: lead_zhao
  living: lead_zhao
  management: lead_zhao
  other: boss_chen
alert_chain:
  - {notify: [boss_chen, duty_leader], wait_minutes: 5}
duty:
  - {date: 2026-11-24, start: "08:30", end: "11:30", place: 工作室, leader: lead_zhao}
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path}/t.db")
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


def _write(tmp_path: Path, text: str, name: str = "org.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _counts(engine: Engine) -> dict[str, int]:
    with transaction(engine) as s:
        return {t.__name__: s.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def _problems(path: Path) -> list[tuple[int, str]]:
    with pytest.raises(OrgError) as info:
        parse_org(path)
    return [(p.line, p.message) for p in info.value.problems]


def test_demo_file_parses_and_loads(engine: Engine) -> None:
    spec = parse_org(demo_org_path())
    with transaction(engine) as s:
        report = load_org(s, spec, now=NOW)
    assert report.created["Unit"] == 1
    with transaction(engine) as s:
        shops = s.exec(select(Workshop).where(Workshop.kind == "workshop")).all()
        people = s.exec(select(Person)).all()
        duty = s.exec(select(DutyEntry).order_by(col(DutyEntry.day))).all()
        by_role: dict[str, list[Person]] = {}
        for p in people:
            by_role.setdefault(p.role, []).append(p)
        assert len(shops) == 3
        assert len(by_role["leader"]) == 3
        assert len(by_role["director"]) == 1
        assert len(by_role["staff"]) >= 1
        assert len(by_role["upper_union"]) == 1
        assert len(by_role["employee"]) >= 12
        assert {p.workshop_id for p in by_role["liaison"]} == {w.id for w in shops}
        assert any(p.lang == "en" for p in by_role["employee"])
        assert {r.category for r in s.exec(select(Responsibility))} == set(COMPLAINT_CATEGORIES)
        assert s.exec(select(ChainStep)).all()
        for p in people:  # every person has an inbox for pushes
            addresses = {(c.channel, c.address) for c in s.exec(
                select(Contact).where(Contact.person_id == p.id))}
            assert {("web", f"p:{p.key}"), ("console", f"p:{p.key}")} <= addresses
            assert p.created_at == NOW
        leaders = {p.id: p for p in by_role["leader"]}

    today = date(2026, 11, 23)
    days = [e.day for e in duty]
    assert days == demo_duty_days(today, 10)
    assert days[0] == today
    for d in days:
        try:
            workday = chinese_calendar.is_workday(d)
        except NotImplementedError:
            workday = d.weekday() < 5
        assert workday
    assert all(e.leader_id in leaders for e in duty)
    assert len({e.leader_id for e in duty}) == 3
    assert all(e.day != f.day or e is f for e in duty for f in duty)
    first = duty[0]
    assert (first.start, first.end, first.form) == (time(8, 30), time(11, 30), "fixed")
    assert first.post == leaders[first.leader_id].post
    assert first.portfolio == leaders[first.leader_id].portfolio


def test_loading_twice_changes_nothing(engine: Engine) -> None:
    spec = parse_org(demo_org_path())
    with transaction(engine) as s:
        load_org(s, spec, now=NOW)
    before = _counts(engine)
    with transaction(engine) as s:
        second = load_org(s, spec, now=NOW)
    assert _counts(engine) == before
    assert not second.changed, str(second)
    assert not +second.created


def test_reload_next_day_keeps_each_days_leader(engine: Engine) -> None:
    spec = parse_org(demo_org_path())
    with transaction(engine) as s:
        load_org(s, spec, now=NOW)
    with transaction(engine) as s:
        before = {e.day: e.leader_id for e in s.exec(select(DutyEntry))}
        entry = s.exec(select(DutyEntry).where(DutyEntry.day == date(2026, 11, 24))).one()
        assert entry.id is not None
        person = s.exec(select(Person).where(Person.key == "li_ming")).one()
        assert person.id is not None
        s.add(Booking(number="B-1", draft_key="d1", duty_entry_id=entry.id,
                      person_id=person.id, topic="工资", channel="web", created_at=NOW))
    with transaction(engine) as s:
        report = load_org(s, spec, now=datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    with transaction(engine) as s:
        after = {e.day: e.leader_id for e in s.exec(select(DutyEntry))}
    shared = before.keys() & after.keys()
    assert len(before) == 10 and len(after) == 11
    assert all(before[d] == after[d] for d in shared)
    assert date(2026, 11, 23) in after  # yesterday is history, not deleted
    assert report.deleted["DutyEntry"] == 0
    assert report.created["DutyEntry"] == 1


def test_edited_file_updates_and_deactivates(tmp_path: Path, engine: Engine) -> None:
    with transaction(engine) as s:
        load_org(s, parse_org(_write(tmp_path, MINIMAL)), now=NOW)
    edited = (MINIMAL.replace("name: 赵总", "name: 赵国栋")
              .replace("  - {key: li_ming, name: 李明, role: employee, workshop: casting}\n", "")
              .replace("place: 工作室", "place: 行政楼101"))
    with transaction(engine) as s:
        report = load_org(s, parse_org(_write(tmp_path, edited, "edited.yaml")),
                          now=datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    assert report.deactivated == ["li_ming"]
    assert report.updated["Person"] == 2
    assert report.updated["DutyEntry"] == 1
    assert not +report.created
    with transaction(engine) as s:
        zhao = s.exec(select(Person).where(Person.key == "lead_zhao")).one()
        li = s.exec(select(Person).where(Person.key == "li_ming")).one()
        entry = s.exec(select(DutyEntry)).one()
    assert zhao.name == "赵国栋" and zhao.active
    assert not li.active and li.created_at == NOW
    assert entry.place == "行政楼101"
    with transaction(engine) as s:  # restoring the person reactivates them
        load_org(s, parse_org(_write(tmp_path, MINIMAL)), now=NOW)
        assert s.exec(select(Person).where(Person.key == "li_ming")).one().active


def test_removed_rows_and_changed_contacts(tmp_path: Path, engine: Engine) -> None:
    text = MINIMAL.replace("post: 总经理,", "post: 总经理, contacts: {phone: '+86 000 1'},")
    with transaction(engine) as s:
        load_org(s, parse_org(_write(tmp_path, text)), now=NOW)
    edited = (text.replace("'+86 000 1'", "'+86 000 2'")
              .replace("  - {date: 2026-11-24", "  - {date: 2026-11-25"))
    with transaction(engine) as s:
        report = load_org(s, parse_org(_write(tmp_path, edited)), now=NOW)
    assert report.deleted["Contact"] == 1 and report.created["Contact"] == 1
    assert report.deleted["DutyEntry"] == 1 and report.created["DutyEntry"] == 1
    with transaction(engine) as s:
        phones = s.exec(select(Contact.address).where(Contact.channel == "phone")).all()
        days = s.exec(select(col(DutyEntry.day))).all()
    assert phones == ["+86 000 2"]
    assert days == [date(2026, 11, 25)]


def test_booked_duty_entry_is_kept_when_it_leaves_the_file(
    tmp_path: Path, engine: Engine
) -> None:
    with transaction(engine) as s:
        load_org(s, parse_org(_write(tmp_path, MINIMAL)), now=NOW)
    with transaction(engine) as s:
        entry = s.exec(select(DutyEntry)).one()
        person = s.exec(select(Person).where(Person.key == "li_ming")).one()
        assert entry.id is not None and person.id is not None
        s.add(Booking(number="B-1", draft_key="d1", duty_entry_id=entry.id,
                      person_id=person.id, topic="工资", channel="web", created_at=NOW))
    moved = MINIMAL.replace("{date: 2026-11-24", "{date: 2026-11-25")
    with transaction(engine) as s:
        report = load_org(s, parse_org(_write(tmp_path, moved)), now=NOW)
    assert report.kept == ["2026-11-24 lead_zhao"]
    assert report.deleted["DutyEntry"] == 0
    with transaction(engine) as s:
        assert len(s.exec(select(DutyEntry)).all()) == 2


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("role: employee, workshop", "role: boss, workshop", 7,
         "person 'li_ming': role 'boss' is not one of employee, liaison, staff, director, "
         "leader, upper_union"),
        ("workshop: casting}", "workshop: foundry}", 7,
         "person 'li_ming': workshop 'foundry' is not a workshop of this file"),
        ("  other: boss_chen\n", "", 9,
         "responsibilities: no leader for complaint category(ies) other"),
        ("post: 工会主席}", "postt: 工会主席}", 5, "unknown key 'postt'; did you mean 'post'?"),
        ('start: "08:30"', 'start: "8.30"', 19, "duty entry 1: start '8.30' is not a time"),
        ('end: "11:30"', 'end: "07:00"', 19, "start 08:30 must be before end 07:00"),
        ("date: 2026-11-24", "date: 2026-13-01", 19, "date '2026-13-01' is not a date"),
        ("place: 工作室,", "place: 工作室, form: visit,", 19,
         "form 'visit' is not one of fixed, invited, topic, onsite"),
        ("wages: lead_zhao", "wages: li_ming", 9,
         "responsibilities: wages leader 'li_ming' has role employee; expected leader or "
         "director"),
        ("leader: lead_zhao}", "leader: nobody}", 19,
         "duty entry 1: leader 'nobody' is not a person of this file"),
        ("wait_minutes: 5}", "wait_minutes: 5}\n  - {notify: [duty_leader], wait_minutes: 1}",
         18, "duty_leader may appear only in the first step"),
        ("{key: li_ming,", "{key: boss_chen,", 7, "key 'boss_chen' is used by another person"),
        ("post: 工会主席}", "post: 工会主席, post: 主席}", 5, "key 'post' appears twice"),
        ("wait_minutes: 5}", "wait_minutes: five}", 17,
         "alert_chain step 1: wait_minutes 'five': Input should be a valid integer"),
    ],
)
def test_broken_files_name_line_and_problem(
    tmp_path: Path, old: str, new: str, line: int, words: str
) -> None:
    assert old in MINIMAL
    problems = _problems(_write(tmp_path, MINIMAL.replace(old, new, 1)))
    assert any(ln == line and words in msg for ln, msg in problems), problems


def test_unknown_contact_channel(tmp_path: Path) -> None:
    text = MINIMAL.replace("post: 总经理,", "post: 总经理, contacts: {wechta: abc},")
    assert _problems(_write(tmp_path, text)) == [
        (6, "person 'lead_zhao': unknown key 'wechta' in contacts; did you mean 'wechat'? "
            "expected one of web, console, telegram, wechat, wecom, phone")]


def test_invalid_yaml_is_one_problem_with_its_line(tmp_path: Path) -> None:
    broken = MINIMAL.replace("  - {key: lead_zhao,", "  - {key: lead_zhao, [", 1)
    problems = _problems(_write(tmp_path, broken))
    assert len(problems) == 1
    line, message = problems[0]
    assert message.startswith("not valid YAML")
    assert line in (5, 6)


def test_all_problems_are_reported_with_file_and_line(tmp_path: Path) -> None:
    text = (MINIMAL.replace("role: employee", "role: boss")
            .replace("leader: lead_zhao}", "leader: nobody}")
            .replace("  other: boss_chen\n", ""))
    path = _write(tmp_path, text, "demo.yaml")
    with pytest.raises(OrgError) as info:
        parse_org(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert lines[0] == (f"{path}:7: person 'li_ming': role 'boss' is not one of employee, "
                        "liaison, staff, director, leader, upper_union")
    assert [p.line for p in info.value.problems] == [7, 9, 18]


def test_rotation_starts_on_the_shanghai_date(engine: Engine) -> None:
    late = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # already Monday 01:00 in Shanghai
    with transaction(engine) as s:
        load_org(s, parse_org(demo_org_path()), now=late)
        days = sorted(s.exec(select(col(DutyEntry.day))).all())
    assert days == demo_duty_days(date(2026, 11, 23), 10)


def test_naive_now_is_refused(engine: Engine) -> None:
    with transaction(engine) as s, pytest.raises(ValueError, match="timezone-aware"):
        load_org(s, parse_org(demo_org_path()), now=datetime(2026, 11, 23, 9, 0))  # noqa: DTZ001


def test_demo_duty_days_skips_weekends_and_falls_back() -> None:
    assert demo_duty_days(date(2026, 11, 21), 2) == [date(2026, 11, 23), date(2026, 11, 24)]
    # 2099 is beyond the holiday data: plain Monday to Friday
    assert demo_duty_days(date(2099, 1, 3), 3) == [date(2099, 1, 5), date(2099, 1, 6),
                                                   date(2099, 1, 7)]
