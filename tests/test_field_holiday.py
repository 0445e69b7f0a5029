"""The Monday check of shop-floor visits (下基层, 1-2 times a week) blames nobody for a
week with no working day: the Spring Festival's days off are not a missed visit."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session, select

from bot.bootstrap import Services
from handlers import fieldwork
from scheduler import workdays
from store.models import Notification, Person
from tests.transcript import all_rows, person

ZONE_NOW = datetime(2026, 2, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def test_a_week_of_holidays_needs_no_visit_and_a_working_week_does(services: Services) -> None:
    festival = date(2026, 2, 16)  # Monday; the week to Sunday the 22nd is all days off
    liu = person(services, "liu_fang")
    unit = liu.unit_id
    assert unit is not None
    with Session(services.db) as s:  # on the staff since before the Spring Festival
        for p in s.exec(select(Person)):
            p.created_at = datetime(2026, 1, 5, tzinfo=UTC)
            s.add(p)
        s.commit()
    with Session(services.db) as s:
        cal = workdays.load(s)
        assert not any(cal.is_workday(date(2026, 2, d)) for d in range(16, 23))
        assert fieldwork.check_visits(s, unit, festival, now=ZONE_NOW,
                                      zone=services.settings.zone) == 0
        s.commit()
    assert all_rows(services, Notification) == []
    with Session(services.db) as s:  # a working week without a visit: reminded
        assert fieldwork.check_visits(s, unit, date(2026, 3, 2), now=ZONE_NOW,
                                      zone=services.settings.zone) >= 1
        s.commit()
    assert any(n.message_key == "notice.field_none" for n in all_rows(services, Notification))
