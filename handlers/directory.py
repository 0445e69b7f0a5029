"""Options that flows take from the database: workshops, duty slots, a person's bookings."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlmodel import Session, and_, col, or_, select

from conversations import catalog
from handlers import assignment, bookings, casework, grouping, incidents, reports, suggestions
from handlers.calendar_sources import SOURCES, SWAP_SOURCES, swaps_own
from handlers.lifecycle import OPEN, WORKING
from handlers.queries import case_what, handling_words
from store.calendar_models import DutyPublished, Invitation, Report
from store.models import (
    Booking,
    Case,
    DutyEntry,
    Extension,
    Incident,
    IncidentLink,
    Person,
    Responsibility,
    Suggestion,
    Workshop,
)
from store.org import WORKROOM_ZONE

SLOTS_SHOWN = 15
CASE_SOURCES = ("handling_cases", "cases_to_rate", "invite_cases")  # values: case ids
SLOT_SOURCES = ("duty_slots", "slots_to_book", "my_duty_slots")  # values: DutyEntry ids


class SqlDirectory:
    def __init__(self, session: Session, person: Person, unit_id: int | None, today: date,
                 now: time | None = None, zone: ZoneInfo = WORKROOM_ZONE):
        self.session, self.person, self.unit_id, self.today = session, person, unit_id, today
        self.zone = zone  # the workroom's: the day a case was filed, as its deadline counts
        self.now = now  # the local time of day: today's receptions already over are not offered
        self._cache: dict[tuple[str, str, str | None], list[tuple[str, str]]] = {}
        self._booked: dict[int, str] | None = None  # _booked_shown

    def options(self, source: str, lang: str, given: str | None = None
                ) -> list[tuple[str, str]]:
        """Options of `source` in `lang`; a source that depends on an earlier answer
        (the case chosen) is a method here that takes it after the language."""
        key = (source, lang, given)
        if key not in self._cache:
            own = getattr(self, f"_{source}", None)
            if own is not None and given is not None:
                self._cache[key] = own(lang, given)
            else:
                self._cache[key] = own(lang) if own is not None else SOURCES[source](self, lang)
        return self._cache[key]

    def _workshops(self, lang: str) -> list[tuple[str, str]]:
        rows = self.session.exec(select(Workshop).where(Workshop.unit_id == self.unit_id)
                                 .order_by(col(Workshop.id))).all()
        return [(w.key, w.name) for w in rows]

    def _letter_addressees(self, lang: str) -> list[tuple[str, str]]:
        """Whom a letter may be written to: the chairman (the director) first, then the
        party and administration leaders, with their posts."""
        rows = self.session.exec(select(Person).where(
            Person.unit_id == self.unit_id, Person.active == True,  # noqa: E712
            col(Person.role).in_(("director", "leader"))).order_by(col(Person.id))).all()
        rows = sorted(rows, key=lambda p: p.role != "director")  # stable: by id after
        return [(str(p.id), self._who(p, lang)) for p in rows]

    def _who(self, p: Person, lang: str) -> str:
        """A person as a list of people shows them: name, post, and away until when."""
        label = f"{p.name}（{p.post}）" if lang == "zh" and p.post \
            else f"{p.name} ({p.post})" if p.post else p.name
        gone = assignment.away_on(self.session, self.unit_id, p.id or 0, self.today)
        if gone is None:
            return label
        return catalog.t(lang, "assignee.away", who=label,
                         away=catalog.t(lang, f"case.away.{gone.kind}"),
                         until=gone.last_day.strftime("%m-%d"))

    def _duty_slots(self, lang: str) -> list[tuple[str, str]]:
        """The unit's published receptions (公示) nobody has missed yet: what the booking
        and the invitations offer. One not yet published is not the employees' to book."""
        return [(str(e.id), self.slot_label(e, lang)) for e in self._slots("duty_slots")]

    def _slots(self, source: str, *, day: date | None = None, only: int | None = None,
               leader: int | None = None) -> list[DutyEntry]:
        """The receptions a slot source offers, by day and hour: the first SLOTS_SHOWN, or
        all of `day`'s, or all of `leader`'s, or the one `only` if it offers it."""
        stmt = select(DutyEntry).where(self._not_over())
        if source == "my_duty_slots":
            stmt = stmt.where(DutyEntry.leader_id == self.person.id)
        else:
            stmt = stmt.where(DutyEntry.unit_id == self.unit_id,
                              col(DutyEntry.id).in_(select(DutyPublished.duty_entry_id)))
        if day is not None:
            stmt = stmt.where(DutyEntry.day == day)
        if only is not None:
            stmt = stmt.where(DutyEntry.id == only)
        if leader is not None:
            stmt = stmt.where(DutyEntry.leader_id == leader)
        stmt = stmt.order_by(col(DutyEntry.day), col(DutyEntry.start), col(DutyEntry.id))
        if day is None and only is None and leader is None:
            stmt = stmt.limit(SLOTS_SHOWN)
        return list(self.session.exec(stmt).all())

    def _slots_to_book(self, lang: str) -> list[tuple[str, str]]:
        """The receptions a worker may book; one they have booked already says so (and is
        refused when chosen, by the check "slot_free")."""
        return self._booking_labels(self._duty_slots(lang), lang)

    def _booking_labels(self, slots: list[tuple[str, str]], lang: str
                        ) -> list[tuple[str, str]]:
        mine = self._booked_by_me()
        return [(value, catalog.t(lang, "booking.yours", slot=label, number=mine[int(value)])
                 if int(value) in mine else label) for value, label in slots]

    def _booked_by_me(self) -> dict[int, str]:
        """The person's booked visits by reception: {DutyEntry id: booking number}."""
        if self.person.id is None:
            return {}
        rows = self.session.exec(select(Booking).where(
            Booking.person_id == self.person.id, Booking.status == "booked")).all()
        return {b.duty_entry_id: b.number for b in rows}

    def _not_over(self) -> ColumnElement[bool]:
        """Receptions from today on, but not today's that have ended: nobody can still go."""
        if self.now is None:
            return col(DutyEntry.day) >= self.today
        return or_(col(DutyEntry.day) > self.today,
                   and_(col(DutyEntry.day) == self.today, col(DutyEntry.end) > self.now))

    def _my_bookings(self, lang: str) -> list[tuple[str, str]]:
        rows = self.session.exec(
            select(Booking, DutyEntry).join(DutyEntry, col(Booking.duty_entry_id) == DutyEntry.id)
            .where(Booking.person_id == self.person.id, Booking.status == "booked",
                   self._not_over(), col(Booking.id).not_in(bookings.recorded_ids()))
            .order_by(col(DutyEntry.day), col(DutyEntry.start))).all()
        return [(str(b.id), f"{b.number} · {self.slot_label(e, lang)}") for b, e in rows]

    def option(self, source: str, lang: str, value: str) -> str | None:
        """The words of `value` when `source` would offer it but beyond the options shown
        (the first SLOTS_SHOWN): the 16th case, from the button of its push. None when it
        is not one the person may choose."""
        if source == "handling_cases" and value.isdigit():
            found = self._handling_cases(lang, only=int(value))
            return found[0][1] if found else None
        if source == "open_suggestions" and value.isdigit():
            rows = suggestions.waiting(self.session, self.unit_id, only=int(value))
            return suggestions.option_label(rows[0], lang) if rows else None
        if source in SLOT_SOURCES and value.isdigit():  # a reception on a later day, typed
            found = self._slot_options(source, lang, self._slots(source, only=int(value)))
            return found[0][1] if found else None
        return None

    def _slot_options(self, source: str, lang: str, rows: list[DutyEntry]
                      ) -> list[tuple[str, str]]:
        slots = [(str(e.id), self.slot_label(e, lang)) for e in rows]
        return self._booking_labels(slots, lang) if source == "slots_to_book" else slots

    def slots_on(self, source: str, day: date) -> list[str]:
        """The receptions a slot source offers on `day`, in order, also those past the
        options shown (the first SLOTS_SHOWN): a later day typed finds its own."""
        if source not in SLOT_SOURCES:
            return []
        return [str(e.id) for e in self._slots(source, day=day)]

    def slots_of(self, source: str, typed: str) -> tuple[str, list[str]] | None:
        """The leader whose name a typed text says ("孙红梅", "周三孙红梅的"), and the
        receptions of theirs a slot source offers, in order, also those past the options
        shown; None when it names no leader of the unit, or two."""
        if source not in SLOT_SOURCES:
            return None
        bare = "".join(typed.split()).lower()
        rows = self.session.exec(select(Person.id, Person.name).where(
            Person.unit_id == self.unit_id, col(Person.role).in_(("leader", "director")),
            col(Person.active).is_(True))).all()
        named = {pid: name for pid, name in rows if pid is not None
                 and len(key := "".join(name.split()).lower()) >= 2 and key in bare}
        # 王伟 is not said when 王伟明 is.
        named = {pid: name for pid, name in named.items()
                 if not any(name != other and name in other for other in named.values())}
        if len(named) != 1:
            return None
        [(pid, name)] = named.items()
        return name, [str(e.id) for e in self._slots(source, leader=pid)]

    def slot_brief(self, source: str, lang: str, value: str) -> str | None:
        """A reception in a few words: its day, hours, leader and place ("11-24 周二
        08:30-11:30 吴建军 · 群众工作室"), as a typed answer that chose it is told."""
        if source not in SLOT_SOURCES or not value.isdigit():
            return None
        entry = self.session.get(DutyEntry, int(value))
        if entry is None:
            return None
        return catalog.t(lang, "duty.slot_brief", **self._slot_words(entry, lang))

    def place_in(self, words: str) -> str | None:
        """The place a report's words name by a workshop of the unit, as they said it
        ("铸造车间门口"): offered back as a one-tap answer where the report asks where."""
        return grouping.place_named(self.session, self.unit_id, words)

    def option_button(self, source: str, lang: str, value: str) -> str | None:
        """The button of a reception, or of a booking or an invitation of one, short enough
        for a phone to show whole where its line runs to 60 characters and more: its day,
        start and leader ("11-25 周三 08:30 吴建军"); a leader's own: its day and hours; a
        visit booked with the leader: its day, start and visitor ("11-25 周三 08:30 李明").
        What the buttons leave out is said once under the question (options_note)."""
        entry = self._reception_of(source, value)
        if entry is None:
            return None
        words = self._slot_words(entry, lang)
        if source == "bookings_with_me":
            booking = self.session.get(Booking, int(value))
            assert booking is not None  # _reception_of found it
            return catalog.t(lang, "duty.visit_button", **words,
                             visitor=self._visitor(booking, lang))
        if self._own(source):
            return catalog.t(lang, "duty.slot_button_own", **words)
        short = catalog.t(lang, "duty.slot_button", **words)
        if source == "slots_to_book" and entry.id in self._booked_shown():
            return catalog.t(lang, "booking.yours_button", slot=short)
        return short

    def options_note(self, source: str, lang: str, values: list[str]) -> str | None:
        """What the buttons of the receptions shown leave out (option_button), said once:
        their hours, place and form as most have them, and each one that differs; the
        leaders' posts and portfolios (not on a leader's own receptions, nor to the team
        swapping days: they know them); the number and topic of each visit booked with the
        leader, the case and matter of each invitation; what the mark of one already booked
        means."""
        shown = [(v, e) for v in values if (e := self._reception_of(source, v)) is not None]
        if not shown:
            return None
        entries = list({e.id: e for _, e in shown}.values())  # one reception booked twice
        sep = catalog.t(lang, "duty.note.sep")
        words = {
            "hours": lambda e: catalog.t(lang, "duty.note.hours",
                                         start=e.start.strftime("%H:%M"),
                                         end=e.end.strftime("%H:%M")),
            "place": lambda e: catalog.t(lang, "duty.note.place", place=e.place),
            "form": lambda e: catalog.t(lang, f"form.{e.form}"),
        }
        said = {e.id: {name: say(e) for name, say in words.items()} for e in entries}
        usual = {name: Counter(said[e.id][name] for e in entries).most_common(1)[0][0]
                 for name in words}
        other = [(e, [said[e.id][name] for name in words if said[e.id][name] != usual[name]])
                 for e in entries]
        other = [(e, parts) for e, parts in other if parts]
        lines = [catalog.t(lang, "duty.note.most" if other else "duty.note.all",
                           parts=sep.join(usual.values()))]
        own = self._own(source) or source == "bookings_with_me"
        button = "duty.slot_button_own" if own else "duty.slot_button"
        lines += [catalog.t(lang, "duty.note.other", parts=sep.join(parts),
                            slot=catalog.t(lang, button, **self._slot_words(e, lang)))
                  for e, parts in other]
        if not own and source not in SWAP_SOURCES:
            leaders: dict[tuple[int, str, str], str] = {}
            for e in entries:
                about = [x for x in (e.post, e.portfolio and catalog.t(
                    lang, "duty.note.portfolio", portfolio=e.portfolio)) if x]
                if about:
                    leaders.setdefault((e.leader_id, e.post, e.portfolio), catalog.t(
                        lang, "duty.note.leader", leader=self._slot_words(e, lang)["leader"],
                        about=sep.join(about)))
            if leaders:
                lines += [catalog.t(lang, "duty.note.leaders"), *leaders.values()]
        about = self._what_about(source, lang, [v for v, _ in shown])
        if about:
            lines += [catalog.t(lang, "duty.note.about_title"), *about]
        if source == "slots_to_book" and any(e.id in self._booked_shown() for e in entries):
            lines.append(catalog.t(lang, "booking.yours_note"))
        return "\n".join(lines)

    def _what_about(self, source: str, lang: str, values: list[str]) -> list[str]:
        """Under the buttons of visits booked with the leader and of a person's invitations,
        what each is about, by its button: the booking's number and topic, the case's
        number and the invitation's matter (not of buttons alike: those say it in full)."""
        if source not in ("bookings_with_me", "my_invitations"):
            return []
        said: list[tuple[str, str, str]] = []
        for value in values:
            slot = self.option_button(source, lang, value) or ""
            if source == "bookings_with_me":
                booking = self.session.get(Booking, int(value))
                if booking is not None:
                    said.append((slot, booking.number, booking.topic))
            elif (inv := self.session.get(Invitation, int(value))) is not None \
                    and (case := self.session.get(Case, inv.case_id)) is not None:
                said.append((slot, case.number, inv.note))
        alike = Counter(slot for slot, _, _ in said)
        return [catalog.t(lang, "duty.note.about", slot=slot, number=number,
                          about=about[:bookings.TOPIC_SHOWN])
                for slot, number, about in said if slot and alike[slot] == 1]

    def _reception_of(self, source: str, value: str) -> DutyEntry | None:
        """The reception an option of `source` is (a reception offered, a day to swap), or
        is booked or invited to (a booking of the person's or with the leader, an invitation
        of the person's); None for an option of another source."""
        if not value.isdigit():
            return None
        if source in SLOT_SOURCES or source in SWAP_SOURCES:
            return self.session.get(DutyEntry, int(value))
        if source in ("my_bookings", "bookings_with_me"):
            booking = self.session.get(Booking, int(value))
            entry = self.session.get(DutyEntry, booking.duty_entry_id) if booking else None
            if booking is None or entry is None:
                return None
            whose = booking.person_id if source == "my_bookings" else entry.leader_id
            return entry if whose == self.person.id else None
        if source == "my_invitations":
            inv = self.session.get(Invitation, int(value))
            booking = self.session.get(Booking, inv.booking_id) \
                if inv is not None and inv.booking_id else None
            if inv is None or booking is None or booking.person_id != self.person.id:
                return None
            return self.session.get(DutyEntry, inv.duty_entry_id)
        return None

    def _own(self, source: str) -> bool:
        """Whether the receptions `source` offers are the person's own: a leader knows their
        own name, post and portfolio (a leader's days to swap out; the staff pick any)."""
        return source == "my_duty_slots" or (source == "swap_from" and swaps_own(self))

    def _visitor(self, booking: Booking, lang: str) -> str:
        """Who booked a visit, as the leader is told of it: a verified employee's name."""
        visitor = self.session.get(Person, booking.person_id)
        return visitor.name if visitor and visitor.verified and visitor.name \
            else catalog.t(lang, "duty.visitor_unverified")

    def _booked_shown(self) -> dict[int, str]:
        """_booked_by_me, once for the buttons of a question and the words under it."""
        if self._booked is None:
            self._booked = self._booked_by_me()
        return self._booked

    def option_hours(self, source: str, value: str) -> tuple[time, time] | None:
        """When a reception offered by a slot source begins and ends (a part of the day
        or a time typed with its day, "周三下午", "周四14:00", chooses by them)."""
        if source not in SLOT_SOURCES or not value.isdigit():
            return None
        entry = self.session.get(DutyEntry, int(value))
        return (entry.start, entry.end) if entry is not None else None

    def option_day(self, source: str, value: str) -> date | None:
        """The day of a reception offered by a slot source (a typed day chooses it)."""
        if source not in SLOT_SOURCES or not value.isdigit():
            return None
        entry = self.session.get(DutyEntry, int(value))
        return entry.day if entry is not None else None

    def day_over(self, source: str, day: date) -> bool:
        """Whether a published reception of `day` has ended (today's, now over): a day
        typed for it is told so rather than that it has none."""
        if source not in SLOT_SOURCES or self.now is None or day != self.today:
            return False
        published = select(DutyPublished.duty_entry_id)
        return self.session.exec(select(DutyEntry.id).where(
            DutyEntry.unit_id == self.unit_id, DutyEntry.day == day,
            col(DutyEntry.end) <= self.now, col(DutyEntry.id).in_(published))).first() \
            is not None

    def _open_suggestions(self, lang: str) -> list[tuple[str, str]]:
        """The unit's suggestions waiting for an answer, the newest first."""
        return [(str(x.id), suggestions.option_label(x, lang))
                for x in suggestions.waiting(self.session, self.unit_id, SLOTS_SHOWN)]

    def _handling_cases(self, lang: str, only: int | None = None) -> list[tuple[str, str]]:
        """Open cases the person may work on: the director and staff see the unit's; a
        leader those they handle, lead (包案) or supervise (the staff handler's category is
        theirs), and of these only those on which something is offered now. `only`: that
        case, if it is one of them."""
        stmt = select(Case).where(col(Case.status).in_(OPEN))
        if only is not None:
            stmt = stmt.where(Case.id == only)
        if self.person.role in ("director", "staff"):
            stmt = stmt.where(Case.unit_id == self.unit_id)
            rows = self.session.exec(stmt.order_by(col(Case.due_on), col(Case.id))
                                     .limit(SLOTS_SHOWN)).all()
            return [(str(c.id), self.case_label(c, lang)) for c in rows]
        me = self.person.id
        related: list[ColumnElement[bool]] = [col(Case.handler_id) == me,
                                               col(Case.lead_leader_id) == me]
        # lifecycle.supervisor_of, for many cases at once: a leader supervises the cases of
        # the categories they answer for (one Responsibility row each) whose handler is not
        # a leader or the director. offered() below checks each candidate with the table.
        mine = [] if self.person.role != "leader" else [
            r.category for r in self.session.exec(select(Responsibility).where(
                Responsibility.unit_id == self.unit_id, Responsibility.leader_id == me))]
        if mine:
            above = select(Person.id).where(col(Person.role).in_(("leader", "director")))
            related.append(and_(col(Case.category).in_(mine),
                                col(Case.handler_id).is_not(None),
                                col(Case.handler_id).not_in(above)))
        stmt = stmt.where(Case.unit_id == self.unit_id, or_(*related))
        shown: list[tuple[str, str]] = []
        for c in self.session.exec(stmt.order_by(col(Case.due_on), col(Case.id))).all():
            if casework.offered(self.session, c, self.person):  # never an empty screen
                shown.append((str(c.id), self.case_label(c, lang)))
                if len(shown) == SLOTS_SHOWN:
                    break
        return shown

    def _case_actions(self, lang: str, case_id: str) -> list[tuple[str, str]]:
        """What the person may do now to the case chosen (handlers/casework.offered)."""
        case = self.session.get(Case, int(case_id)) if case_id.isdigit() else None
        if case is None or case.unit_id != self.unit_id:
            return []
        return [(a, catalog.t(lang, f"opt.case_action.{a}"))
                for a in casework.offered(self.session, case, self.person)]

    def _report_actions(self, lang: str, report_id: str) -> list[tuple[str, str]]:
        """What the person may do to the report chosen (handlers/reports.offered)."""
        row = self.session.get(Report, int(report_id)) if report_id.isdigit() else None
        if row is None or row.unit_id != self.unit_id:
            return []
        return [(a, catalog.t(lang, f"opt.report_action.{a}"))
                for a in reports.offered(self.session, row, self.person)]

    def _assignees(self, lang: str) -> list[tuple[str, str]]:
        rows = self.session.exec(select(Person).where(
            Person.unit_id == self.unit_id, Person.active == True,  # noqa: E712
            col(Person.role).in_(("staff", "leader", "director")),
            Person.id != self.person.id).order_by(col(Person.id))).all()
        # one away is said to be: a case passed on to them would wait for them
        return [(str(p.id), self._who(p, lang)) for p in rows]

    def _pending_extensions(self, lang: str) -> list[tuple[str, str]]:
        rows = self.session.exec(
            select(Extension, Case).join(Case, col(Extension.case_id) == Case.id)
            .where(Extension.status == "pending", Case.unit_id == self.unit_id,
                   col(Case.status).in_(WORKING))  # a replied case needs no more time
            .order_by(col(Extension.id))).all()
        mine = [(e, c) for e, c in rows if self.person.role == "director" or (
            c.lead_leader_id == self.person.id and e.requested_by != self.person.id)]
        return [(str(e.id), catalog.t(lang, "extension.option", number=c.number, days=e.days,
                                      due_on=c.due_on.isoformat(), reason=e.reason))
                for e, c in mine]

    def _cases_to_rate(self, lang: str) -> list[tuple[str, str]]:
        """The person's own named cases awaiting a rating: answered, or closed not long
        ago (casework.rate_until). Verified or not: an unknown Telegram account that filed
        a named case was asked to rate its reply, and is the one who sees it under "my
        cases" (anonymous cases are rated by receipt code)."""
        if self.person.id is None:
            return []
        rows = self.session.exec(select(Case).where(
            Case.complainant_id == self.person.id,
            col(Case.status).in_(("replied", "follow_up", "closed")),
            col(Case.rating).is_(None), col(Case.reply).is_not(None))
            .order_by(col(Case.id))).all()
        return [(str(c.id), self.case_label(c, lang, handling=False)) for c in rows
                if c.status != "closed" or self.today <= (casework.rate_until(c, self.zone)
                                                          or date.min)]

    def _linked_reports(self, lang: str) -> list[tuple[str, str]]:
        """Reports added to an emergency still being handled that the person may file
        apart (grouping.may_part): their own; the staff's and the director's, the unit's."""
        stmt = select(IncidentLink, Incident).join(
            Incident, col(IncidentLink.incident_id) == Incident.id).where(
            col(Incident.handled_at).is_(None), Incident.status == "open")
        if self.person.role in ("staff", "director"):
            stmt = stmt.where(or_(IncidentLink.reporter_id == self.person.id,
                                  Incident.unit_id == self.person.unit_id))
        elif self.person.id is not None:
            stmt = stmt.where(IncidentLink.reporter_id == self.person.id)
        else:
            return []
        rows = self.session.exec(stmt.order_by(col(IncidentLink.id).desc())
                                 .limit(SLOTS_SHOWN)).all()
        return [(str(link.id), catalog.t(lang, "emergency_apart.option", number=i.number,
                                         mine=grouping.brief(link.what, 30),
                                         what=grouping.brief(i.what, 30)))
                for link, i in rows if grouping.may_part(self.person, link, i)]

    def _calls_to_call_back(self, lang: str) -> list[tuple[str, str]]:
        """The missed hotline calls the person was told of that nobody has called back."""
        from handlers import hotline  # it files through the handlers this one lists from

        return [(str(c.id), hotline.call_option(self.session, c, lang, self.zone, self.today))
                for c in hotline.calls_to_call_back(self.session, self.person)[-SLOTS_SHOWN:]]

    def _unit_incidents(self, lang: str) -> list[tuple[str, str]]:
        """The unit's incidents not yet archived, the latest first."""
        rows = self.session.exec(select(Incident).where(
            Incident.unit_id == self.unit_id, col(Incident.archived_at).is_(None))
            .order_by(col(Incident.id).desc()).limit(SLOTS_SHOWN)).all()
        return [(str(i.id), catalog.t(lang, "incident.option", number=i.number,
                                      what=i.what[:30],
                                      status=catalog.t(lang, f"incident.status.{i.status}")))
                for i in rows]

    def label(self, source: str, lang: str, value: str) -> str | None:
        """The words of an answer its source no longer offers, as the review shows it: a
        case of the unit chosen before it changed, an action no longer allowed, a
        reception that has ended meanwhile."""
        if source in ("case_actions", "report_actions"):
            key = f"opt.{source[:-1]}.{value}"
            return catalog.t(lang, key) if catalog.has(key) else None
        if source in CASE_SOURCES and value.isdigit():
            case = self.session.get(Case, int(value))
            if case is not None and case.unit_id == self.unit_id:
                return self.case_label(case, lang, handling=source != "cases_to_rate")
        if source == "open_suggestions" and value.isdigit():  # answered meanwhile
            row = self.session.get(Suggestion, int(value))
            if row is not None and row.unit_id == self.unit_id:
                return suggestions.option_label(row, lang)
        if source in SLOT_SOURCES and value.isdigit():  # a reception that ended meanwhile
            entry = self.session.get(DutyEntry, int(value))
            if entry is not None and entry.unit_id == self.unit_id:
                return self.slot_label(entry, lang)
        return None

    def preface(self, name: str, lang: str, answers: dict[str, Any]) -> str | None:
        """The words above the question of a step with `preface=name`: the report chosen,
        as it reads, above what to do to it. None for one gone (sent, another unit's):
        the form's handler says so."""
        if name != "report":
            raise KeyError(f"no preface named {name!r}")
        chosen = str(answers.get("report", ""))
        row = self.session.get(Report, int(chosen)) if chosen.isdigit() else None
        if row is None or row.unit_id != self.unit_id or row.status == "sent":
            return None
        now = datetime.combine(self.today, self.now, self.zone) if self.now is not None else None
        return reports.content(row, lang, self.zone, now)

    def check(self, name: str, lang: str, value: str, answers: dict[str, Any]
              ) -> tuple[str, dict[str, Any]] | None:
        """Why the answer to a step with `check=name` cannot be taken now, else None."""
        if name == "suggestion_open":  # a push's 答复此建议, answered by someone since
            row = self.session.get(Suggestion, int(value)) if value.isdigit() else None
            if row is None or row.unit_id != self.unit_id or row.status != "answered":
                return None
            return suggestions.answered_already(self.session, row, self.zone)
        if name == "incident_action":
            chosen = str(answers.get("incident", ""))
            incident = self.session.get(Incident, int(chosen)) if chosen.isdigit() else None
            if incident is None or incident.unit_id != self.unit_id:
                return None  # the form's handler says it is gone
            return incidents.action_refusal(self.session, lang, incident, value)
        if name == "rate_code":
            return casework.code_refusal(self.session, lang, value, self.person, self.today,
                                         self.zone)
        if name == "rate_case":  # a closing notice's button, pressed too late
            return casework.case_refusal(self.session, lang, value, self.person, self.today,
                                         self.zone)
        if name == "slot_to_move":
            return bookings.move_refusal(self.session, str(answers.get("booking", "")), value)
        if name in ("case_action", "extension_days"):
            chosen = str(answers.get("case", ""))
            case = self.session.get(Case, int(chosen)) if chosen.isdigit() else None
            if case is None or case.unit_id != self.unit_id:
                return None  # the form's handler says it is gone
            if name == "extension_days":
                return casework.extension_refusal(self.session, case, int(value),
                                                  self.today, self.zone)
            if value != "extend":
                return None
            # More time on a case at its 90 days: said when it is chosen, not after.
            problem = casework.extension_refusal(self.session, case, 1, self.today, self.zone)
            return problem if problem and problem[0] == "case.refused.extension_none" else None
        if name == "slot_free":
            number = self._booked_by_me().get(int(value)) if value.isdigit() else None
            return ("booking.already", {"number": number}) if number else None
        raise KeyError(f"no check named {name!r}")

    def case_label(self, case: Case, lang: str, *, handling: bool = True) -> str:
        """A case as an option: to those handling cases, with what it is about and to
        whom it went; to its complainant (`handling` False), as they know it."""
        if handling and case.status != "closed":
            return catalog.t(lang, "case.option_handling", number=case.number,
                             category=case_what(self.session, case, lang),
                             status=catalog.t(lang, f"status.{case.status}"),
                             due_on=case.due_on.isoformat(),
                             **handling_words(self.session, case, lang))
        if case.status == "closed" and case.closed_at is not None:  # when, not a deadline
            return catalog.t(lang, "case.option_closed", number=case.number,
                             category=case_what(self.session, case, lang),
                             status=catalog.t(lang, f"status.{case.status}"),
                             closed_on=case.closed_at.astimezone(self.zone).date().isoformat())
        return catalog.t(lang, "case.option", number=case.number,
                         category=case_what(self.session, case, lang),
                         status=catalog.t(lang, f"status.{case.status}"),
                         due_on=case.due_on.isoformat())

    def _my_duty_slots(self, lang: str) -> list[tuple[str, str]]:
        """This leader's own published receptions from today on."""
        return [(str(e.id), self.slot_label(e, lang)) for e in self._slots("my_duty_slots")]

    def _bookings_with_me(self, lang: str) -> list[tuple[str, str]]:
        """Upcoming visits booked with this leader: not those whose reception is over, nor
        those already in the visit ledger (they took place)."""
        rows = self.session.exec(
            select(Booking, DutyEntry).join(DutyEntry, col(Booking.duty_entry_id) == DutyEntry.id)
            .where(DutyEntry.leader_id == self.person.id, Booking.status == "booked",
                   self._not_over(), col(Booking.id).not_in(bookings.recorded_ids()))
            .order_by(col(DutyEntry.day), col(Booking.id))).all()
        return [(str(b.id), f"{b.number} · {b.topic[:20]} · {self.slot_label(e, lang)}")
                for b, e in rows]

    def slot_label(self, entry: DutyEntry, lang: str) -> str:
        """A reception in full: day, hours, leader with post and portfolio, place, form;
        as the review of a form that chose it says it (its button says it in short)."""
        return catalog.t(lang, "duty.slot", **self._slot_words(entry, lang))

    def _slot_words(self, entry: DutyEntry, lang: str) -> dict[str, str]:
        """The words of a reception, for each of the ways it is said (duty.slot*)."""
        leader = self.session.get(Person, entry.leader_id)
        return {"date": entry.day.strftime("%m-%d"),
                "weekday": catalog.t(lang, f"weekday.{entry.day.weekday()}"),
                "start": entry.start.strftime("%H:%M"), "end": entry.end.strftime("%H:%M"),
                "leader": leader.name if leader else "", "post": entry.post,
                "portfolio": entry.portfolio, "place": entry.place,
                "form": catalog.t(lang, f"form.{entry.form}")}
