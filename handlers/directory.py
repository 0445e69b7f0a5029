"""Options that flows take from the database: workshops, duty slots, a person's bookings."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from conversations import catalog
from store.models import Booking, DutyEntry, Person, Workshop

SLOTS_SHOWN = 15


class SqlDirectory:
    def __init__(self, session: Session, person: Person, unit_id: int | None, today: date):
        self.session, self.person, self.unit_id, self.today = session, person, unit_id, today
        self._cache: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def options(self, source: str, lang: str) -> list[tuple[str, str]]:
        key = (source, lang)
        if key not in self._cache:
            self._cache[key] = getattr(self, f"_{source}")(lang)
        return self._cache[key]

    def _workshops(self, lang: str) -> list[tuple[str, str]]:
        rows = self.session.exec(select(Workshop).where(Workshop.unit_id == self.unit_id)
                                 .order_by(col(Workshop.id))).all()
        return [(w.key, w.name) for w in rows]

    def _duty_slots(self, lang: str) -> list[tuple[str, str]]:
        rows = self.session.exec(
            select(DutyEntry).where(col(DutyEntry.day) >= self.today,
                                    DutyEntry.unit_id == self.unit_id)
            .order_by(col(DutyEntry.day), col(DutyEntry.start)).limit(SLOTS_SHOWN)).all()
        return [(str(e.id), self.slot_label(e, lang)) for e in rows]

    def _my_bookings(self, lang: str) -> list[tuple[str, str]]:
        rows = self.session.exec(
            select(Booking, DutyEntry).join(DutyEntry, col(Booking.duty_entry_id) == DutyEntry.id)
            .where(Booking.person_id == self.person.id, Booking.status == "booked",
                   col(DutyEntry.day) >= self.today)
            .order_by(col(DutyEntry.day))).all()
        return [(str(b.id), f"{b.number} · {self.slot_label(e, lang)}") for b, e in rows]

    def slot_label(self, entry: DutyEntry, lang: str) -> str:
        leader = self.session.get(Person, entry.leader_id)
        return catalog.t(
            lang, "duty.slot", date=entry.day.strftime("%m-%d"),
            weekday=catalog.t(lang, f"weekday.{entry.day.weekday()}"),
            start=entry.start.strftime("%H:%M"), end=entry.end.strftime("%H:%M"),
            leader=leader.name if leader else "", post=entry.post,
            portfolio=entry.portfolio, place=entry.place,
            form=catalog.t(lang, f"form.{entry.form}"),
        )
