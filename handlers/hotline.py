"""The hotline's use cases: a report by phone, filed by the caller's voice or by staff who
answered, the caller told by text; a leader's alert read out by phone and acknowledged.

A caller's number lives only in the contact vault (channel `sms`, the address texts go
to); calls and records point to the pseudonymous person. Nothing here knows the provider:
bot/twilio.py and bot/hotline.py translate.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, or_, select

from conversations import catalog
from conversations.answers import masked
from conversations.clock import Clock
from conversations.flow import APART, Result, Submission
from handlers import alerts, grouping, identity, records
from handlers.context import HandlerContext
from handlers.incidents import (
    ESCALATED,
    WATCH,
    directors,
    incident_params,
    unacknowledged,
    write_filed,
)
from scheduler import workdays
from store import outbox, timers
from store.db import transaction
from store.models import (
    Acknowledgement,
    Alert,
    Attachment,
    Case,
    Contact,
    HotlineCall,
    Incident,
    IncidentLink,
    Notification,
    Person,
    Unit,
    Workshop,
)
from store.org import WORKROOM_ZONE

log = logging.getLogger(__name__)

SMS = "sms"  # a caller's number in the contact vault: texts go there
VOICE = "voice"  # records a caller made by voice
FILED = "hotline"  # records staff filed for a caller who phoned
CALL = "call"  # outbox channel: an alert read to a leader by phone
PHONE = "phone"  # the organisation file's phone contacts
COUNTRY = "+86"  # numbers typed without a country code are Chinese
# A leader who does not take the alert's call is rung again after a pause, CALL_TRIES
# times in a round of the chain; then the chain moves on at once and the director is told.
CALL_TRIES = 3
CALL_BACKOFF = (timedelta(minutes=1), timedelta(minutes=2))
# How a call ended, as the provider's status callback says: every end but a cancel (ours)
# leaves the alert unacknowledged unless "1" was pressed (a voicemail answers `completed`).
CALL_ENDS = ("completed", "no-answer", "busy", "failed", "canceled")
# What Twilio puts in `From` when the caller hides their number: the withheld caller ID as
# words, or those words spelled on a phone keypad (ANONYMOUS = +266696687, UNAVAILABLE =
# +86282452253, RESTRICTED = +7378742833, BLOCKED = +2562533, UNKNOWN = +8656696); see
# https://twilio.com/changelog/upcoming-changes-to-withheld-caller-ids-behavior-for-dial-calls
# Such a caller cannot be texted and must not be taken for anyone else who hid theirs.
HIDDEN_WORDS = frozenset({"anonymous", "restricted", "unknown", "blocked", "unavailable",
                          "private", "withheld"})
HIDDEN_NUMBERS = frozenset({"+266696687", "+86282452253", "+7378742833", "+2562533",
                            "+8656696"})


def phone_number(raw: str) -> str:
    """A number as the provider writes it (E.164): "138 0000 0000" -> "+8613800000000"."""
    value = re.sub(r"[^\d+]", "", raw or "")
    if value.startswith("+"):
        return value
    if value.startswith("00"):
        return "+" + value[2:]
    if value.startswith("0"):  # a landline with its area code: 010 1234 5678
        return COUNTRY + value[1:]
    return COUNTRY + value if len(value) == 11 and value.startswith("1") else value


def hidden(number: str | None) -> bool:
    """Whether the caller's number was withheld (no number, or a placeholder for none)."""
    raw = (number or "").strip()
    if raw.lower().lstrip("+") in HIDDEN_WORDS:
        return True
    value = phone_number(raw)
    return value in HIDDEN_NUMBERS or not re.search(r"\d{3}", value)


def caller(session: Session, number: str, now: datetime) -> Person:
    """The person behind a phone number (an unverified employee the first time); a caller
    who hid their number is a new unverified reporter each call, with no address at all."""
    if not hidden(number):
        e164 = phone_number(number)
        known = _by_phone(session, e164)
        if known is not None:  # a liaison or leader phoning from the number on file
            return identity.resolve_as(session, known, channel=SMS, address=e164, now=now)
        return identity.resolve(session, channel=SMS, address=e164, now=now)
    unit = session.exec(select(Unit.id).order_by(col(Unit.id))).first()
    person = Person(key=f"{VOICE}-{uuid.uuid4().hex[:16]}", role="employee", verified=False,
                    unit_id=unit, created_at=now)
    session.add(person)
    session.flush()
    return person


def _by_phone(session: Session, e164: str) -> Person | None:
    """The active person of the organisation file whose phone is this number."""
    for contact in session.exec(select(Contact).where(Contact.channel == PHONE)
                                .order_by(col(Contact.id))):
        if phone_number(contact.address) == e164:
            person = session.get(Person, contact.person_id)
            if person is not None and person.active:
                return person
    return None


TEXT = "text"  # the Attachment subject of a text with no number: its InboundMessage


def text_from_nobody(session: Session, *, sid: str, body: str,
                     files: tuple[dict[str, Any], ...], now: datetime) -> bool:
    """A text with no number to answer (a sender name instead of a number, or none): it
    cannot run a conversation, and must not be taken for anyone else's, so the staff (the
    director when there are none) get its words to judge and, if need be, file them for
    the sender. Its photos (an MMS) are kept as attachments of the text, as a texter's
    are kept with their report. Once per message (its sid); False when it was taken
    already."""
    from handlers.context import people_of
    from store import steps

    if not sid or steps.find_inbound(session, [(SMS, sid)]):
        return False
    steps.log_inbound(session, [{
        "channel": SMS, "message_id": sid, "conversation_key": f"{SMS}:",
        "received_at": now, "replies": [], "state_version": 0, "draft_key": None,
        "state": None}])
    logged = steps.find_inbound(session, [(SMS, sid)])[(SMS, sid)]
    for item in files:
        session.add(Attachment(subject=TEXT, subject_id=logged.id, channel=SMS,
                               kind=str(item.get("kind", "file")), file_ref=str(item["file_ref"]),
                               mime_type=item.get("mime_type"), created_at=now))
    unit = session.exec(select(Unit.id).order_by(col(Unit.id))).first()
    staff = people_of(session, unit, ("staff",)) or people_of(session, unit, ("director",))
    outbox.add_many(session, [{
        "key": f"sms-nobody:{sid}:{p.id}", "recipient_id": p.id,
        "message": "notice.sms_no_number", "priority": outbox.ALERT,
        "params": {"received_at": now.isoformat(), "text": body.strip()[:1000],
                   "media": len(files)}} for p in staff], now=now)
    return True


def numbers_of(session: Session, people: list[int]) -> dict[int, str]:
    """Each person's phone number from the organisation file, if they have one."""
    rows = session.exec(select(Contact).where(Contact.channel == PHONE,
                                              col(Contact.person_id).in_(people))
                        .order_by(col(Contact.id))).all()
    found: dict[int, str] = {}
    for c in rows:
        found.setdefault(c.person_id, phone_number(c.address))
    return found


def staff_numbers(session: Session, unit_id: int | None) -> list[str]:
    """Who "0" rings: the workroom's staff with a phone, else its director."""
    for roles in (("staff",), ("director",)):
        people = [p.id for p in session.exec(select(Person).where(
            col(Person.role).in_(roles), Person.unit_id == unit_id,
            Person.active == True).order_by(col(Person.id))) if p.id is not None]  # noqa: E712
        found = numbers_of(session, people)
        if found:
            return [found[p] for p in people if p in found]
    return []


# --- a report by phone ------------------------------------------------------------------


def report(ctx: HandlerContext, *, kind: str, what: str, place: str, people: int | None,
           draft_key: str, lang: str, category: str | None = None,
           workshop: str | None = None, attachments: tuple[dict[str, Any], ...] = ()
           ) -> tuple[Result, str, int | None]:
    """File an incident or a complaint for the caller (ctx.actor) through the same
    handlers as chat, and text the caller the outcome; (result, subject, id)."""
    s = ctx.session
    if kind == "incident":
        sub = Submission("emergency", {"what": what, "place": place, "people": people},
                         draft_key, lang, (), attachments)
        result = records.emergency(ctx, sub)
        subject, subject_id = "incident", _incident_of(s, draft_key)
    else:
        sub = Submission("complaint", {
            "category": category or "other", "description": what,
            "since": ctx.today.isoformat(), "affected": people or 1, "cosigners": 0,
            "workshop": workshop or "unknown", "identity": "named",
            "outcome": catalog.t(lang, "hotline.outcome_unknown")}, draft_key, lang, (),
            attachments)
        result = records.complaint(ctx, sub)
        case = s.exec(select(Case).where(Case.draft_key == draft_key)).first()
        subject, subject_id = "case", case.id if case else None
    # What the caller is told, as data: worded in the caller's language when it is sent.
    told = dict(result.params)
    if "alerted" in told and subject == "incident" and subject_id is not None:
        told["alerted"] = {"people": _alerted(s, subject_id)}
    assert ctx.actor.id is not None
    if alerts.reachable(s, ctx.actor.id, texts=ctx.texts):  # else told by voice (or staff)
        outbox.enqueue(s, key=f"hotline:{draft_key}:told", recipient_id=ctx.actor.id,
                       message="notice.caller_told", now=ctx.now,
                       params={"head": "@hotline.sms_head",
                               "told_lines": [[result.message, told]]},
                       priority=outbox.EMERGENCY if kind == "incident" else outbox.REPLY)
    return result, subject, subject_id


def _alerted(session: Session, incident_id: int) -> list[list[str]]:
    """[name, post] of the people alerted about an incident, in the order alerted."""
    write_filed(session)  # a report filed a moment ago: its alerts, to name them
    return [[p.name, p.post or ""] for p in session.exec(
        select(Person).join(Alert, col(Alert.recipient_id) == col(Person.id))
        .where(Alert.subject == "incident", Alert.subject_id == incident_id)
        .order_by(col(Alert.id)))]


def _incident_of(session: Session, draft_key: str) -> int | None:
    row = session.exec(select(Incident.id).where(Incident.draft_key == draft_key)).first()
    if row is not None:
        return row
    return session.exec(select(IncidentLink.incident_id).where(
        IncidentLink.draft_key == draft_key)).first()


def voice_report(ctx: HandlerContext, call: HotlineCall, lang: str) -> Result:
    """The call's last answer is in: file its report now, before the call ends."""
    s = ctx.session
    shop = grouping.workshop_named(s, ctx.unit_id(), call.said)
    if shop is None and ctx.actor.role == "liaison" and ctx.actor.workshop_id is not None:
        shop = s.get(Workshop, ctx.actor.workshop_id)  # a liaison phones from their own
    said = call.said or catalog.t(lang, "hotline.voice.recorded_only")
    files = ({"kind": "voice", "file_ref": call.recording_url, "mime_type": "audio/wav"},) \
        if call.recording_url else ()
    result, subject, subject_id = report(
        ctx, kind=call.kind or "incident", what=said, place=shop.name if shop else "",
        people=call.people, draft_key=f"call-{call.ref}"[:64], lang=lang,
        workshop=shop.key if shop else None, attachments=files)
    call.subject, call.subject_id, call.step = subject, subject_id, "done"
    call.updated_at = ctx.now
    s.add(call)
    return result


def attach_recording(session: Session, *, ref: str, url: str, now: datetime,
                     seconds: int | None = None) -> bool:
    """Keep a call's recording with the record it made (or with the call, until then);
    `seconds`: how long it is, when the provider said."""
    call = session.exec(select(HotlineCall).where(HotlineCall.ref == ref)).first()
    if call is None:
        return False
    if call.subject is not None and call.subject_id is not None and call.recording_url != url:
        known = session.exec(select(Attachment.id).where(
            Attachment.subject == call.subject, Attachment.subject_id == call.subject_id,
            Attachment.file_ref == url)).first()
        if known is None:
            session.add(Attachment(subject=call.subject, subject_id=call.subject_id,
                                   channel=VOICE, kind="voice", file_ref=url,
                                   mime_type="audio/wav", created_at=now))
    call.recording_url, call.recording_seconds, call.updated_at = url, seconds, now
    session.add(call)
    return True


# --- the voice menu -------------------------------------------------------------------------
#
# A call is a HotlineCall row moved step by step (menu -> said -> people -> done, or
# record, or dial), each move saved before the provider gets its answer. These functions
# hold the menu's rules; bot/hotline.py turns a Prompt into the provider's markup.

MENU = {"1": "incident", "2": "complaint", "0": "staff"}  # the key -> what the caller wants
MENU_TRIES = 3  # wrong or missing keys before the call is ended
# A recording shorter than this (seconds), with no number of people keyed after it, is no
# report: a cough, a hang-up during the beep (WORKROOM_HOTLINE_MIN_RECORDING_SECONDS).
SHORTEST_RECORDING = 3
PEOPLE_TRIES = 2  # keys that are no number of people asked again before filing without
ASK = {"incident": "what_where", "complaint": "complaint_what"}  # the first question
ENDS = ("completed", "busy", "failed", "no-answer", "canceled")  # a call's final statuses

ContextFor = Callable[[Person], HandlerContext]  # a handler context acting as the caller


@dataclass(frozen=True)
class Prompt:
    """The call's next move, in no provider's terms: what is said first (catalog keys
    under hotline.voice.), then what is listened for, asked with `ask`:
    menu (one key) | speech (what and where; the call is recorded from here) |
    recording (words after a beep) | people (keys up to #) | dial (`numbers`) |
    nothing (the call ends)."""

    listen: str
    ask: str | None = None
    say: tuple[tuple[str, dict[str, Any]], ...] = ()
    numbers: tuple[str, ...] = ()


def _menu(*say: str) -> Prompt:
    return Prompt("menu", "menu", tuple((key, {}) for key in say))


def _call(session: Session, sid: str, number: str, now: datetime) -> HotlineCall:
    """The call of a request, begun the first time its SID is seen."""
    call = session.exec(select(HotlineCall).where(HotlineCall.ref == sid)).first()
    if call is None:
        person = caller(session, number, now)
        call = HotlineCall(ref=sid, person_id=person.id, created_at=now, updated_at=now)
        session.add(call)
        session.flush()
    return call


def call_begins(session: Session, *, sid: str, number: str, now: datetime) -> Prompt:
    """Someone rang the hotline: the menu."""
    _call(session, sid, number, now)
    return _menu()


def menu_key(session: Session, *, sid: str, number: str, digits: str, now: datetime,
             staff: list[str] | None = None) -> Prompt:
    """A key pressed at the menu (or none): 1 and 2 ask what happened, 0 rings the staff
    on duty (`staff`: numbers set for the hotline, else the workroom's), anything else
    asks again, and after MENU_TRIES the call ends."""
    call = _call(session, sid, number, now)
    call.updated_at = now
    wants = MENU.get(digits.strip())
    if wants in ASK:
        call.kind, call.step, call.tries = wants, "said", 0  # tries now count bad people keys
        session.add(call)
        return Prompt("speech", ASK[wants])
    call.tries += 1  # "0" too: a staff line that never answers does not hold the caller
    if wants == "staff" and call.tries <= MENU_TRIES:
        call.kind, call.step = "staff", "dial"
        session.add(call)
        person = session.get(Person, call.person_id) if call.person_id else None
        numbers = staff or staff_numbers(session, person.unit_id if person else None)
        if numbers:
            return Prompt("dial", say=(("connecting", {}),), numbers=tuple(numbers))
        return _leave("no_staff")
    session.add(call)
    if call.tries > MENU_TRIES:
        return Prompt("nothing", say=(("goodbye", {}),))
    # Silence at the first menu just asks again; a wrong key says so.
    return _menu("again") if digits.strip() or call.tries > 1 else _menu()


def dial_ended(session: Session, *, sid: str, number: str, status: str,
               now: datetime) -> Prompt:
    """The staff's phone was rung: a talk that took place ends the call; else the caller
    is offered to leave a report (1 or 2), not sent round the menu again."""
    call = _call(session, sid, number, now)
    call.updated_at = now
    if status == "completed":
        call.step = "talked"  # the staff member heard the caller: nothing to tell them
        session.add(call)
        return Prompt("nothing")
    session.add(call)
    return _leave("no_staff")


def _leave(*say: str) -> Prompt:
    """The menu that offers to leave a report when nobody picked up."""
    return Prompt("menu", "menu_leave", tuple((key, {}) for key in say))


def speech_heard(session: Session, *, sid: str, number: str, text: str,
                 now: datetime) -> Prompt:
    """What the caller said, as the provider recognised it; nothing recognised: the
    words are taken as a recording instead."""
    call = _call(session, sid, number, now)
    call.updated_at = now
    if not text.strip():
        call.step = "record"
        session.add(call)
        return Prompt("recording", "record")
    call.said, call.step = text.strip()[:2000], "people"
    session.add(call)
    return Prompt("people", "people")


def recording_made(session: Session, *, sid: str, number: str, url: str,
                   now: datetime, seconds: int | None = None) -> Prompt:
    """The caller's words were recorded (`seconds` long): kept with the call; then how
    many people."""
    call = _call(session, sid, number, now)
    if url.strip():
        attach_recording(session, ref=call.ref, url=url.strip(), now=now, seconds=seconds)
    call.step, call.updated_at = "people", now
    session.add(call)
    return Prompt("people", "people")


def people_keyed(session: Session, *, sid: str, number: str, digits: str, now: datetime,
                 context_for: ContextFor, lang: str, shortest: int = SHORTEST_RECORDING,
                 zone: ZoneInfo = WORKROOM_ZONE) -> Prompt:
    """The last answer: the report is filed (once: a repeated request gets the same
    goodbye), and the caller told its number. A complaint with nothing to file (no
    words, a recording shorter than `shortest` seconds and no people keyed) is a call
    that left no report: the staff are told."""
    call = _call(session, sid, number, now)
    if call.step != "done":
        count = _count(digits)
        keyed = (digits or "").strip().rstrip("#")
        if keyed and count is None and call.kind in ASK and call.tries < PEOPLE_TRIES:
            # "*", "0", too many keys: say it was not a number and ask again; after
            # PEOPLE_TRIES misses the report goes with the number unknown.
            call.tries += 1
            call.step, call.updated_at = "people", now
            session.add(call)
            return Prompt("people", "people", (("people_again", {}),))
        call.people = count
    said = _file(session, call, context_for, lang, shortest)
    if said is None and call.kind in ASK:  # a complaint with nothing said: called back
        missed(session, call, now, zone)
        return Prompt("nothing", say=(("goodbye", {}),))
    if said is None:  # pressed nothing that files a report: back to the menu
        return _menu()
    return Prompt("nothing", say=(said,))


def recorded_late(session: Session, *, ref: str, context_for: ContextFor,
                  lang: str, shortest: int = SHORTEST_RECORDING) -> bool:
    """A call's recording came after the call ended as a complaint with no words (the
    staff were asked to call back): the recording holds what was said, so it is filed
    now, the recording with it (one shorter than `shortest` seconds holds nothing).
    Whether a report was filed."""
    call = session.exec(select(HotlineCall).where(HotlineCall.ref == ref)).first()
    if call is None or call.step != "missed" or call.kind not in ASK \
            or call.subject is not None or not _fileable(call, shortest):
        return False
    filed = _file(session, call, context_for, lang, shortest) is not None
    if filed and call.id is not None:  # a report: nobody need be reminded to call back
        timers.cancel(session, kind=CALL_BACK, ref=str(call.id), now=call.updated_at)
    return filed


def call_over(session: Session, *, sid: str, status: str, now: datetime,
              context_for: ContextFor, lang: str, shortest: int = SHORTEST_RECORDING,
              zone: ZoneInfo = WORKROOM_ZONE) -> None:
    """The call has ended: a report whose caller hung up before the last question is
    filed with what was said, or as a recorded call (nothing a caller reports is lost;
    the call's recording is added when it comes)."""
    if status not in ENDS:
        return
    call = session.exec(select(HotlineCall).where(HotlineCall.ref == sid)).first()
    if call is None:
        return
    call.ended_at = now
    session.add(call)
    if call.purpose != "report" or call.step in ("done", "talked", "missed"):
        return
    if _fileable(call, shortest):
        _file(session, call, context_for, lang, shortest)
    else:
        missed(session, call, now, zone)


def _fileable(call: HotlineCall, shortest: int = SHORTEST_RECORDING) -> bool:
    """Whether the call holds a report to file: an emergency whatever was said (nothing
    reported is lost: "1" was pressed for it), a complaint only with words or a recording
    (never an empty case with a 60-day clock handed to a leader). A recording shorter
    than `shortest` seconds (a cough, a hang-up at the beep) is no words, unless the
    caller keyed in how many people after it."""
    if call.kind == "incident":
        return True
    if call.kind != "complaint":
        return False
    if (call.said or "").strip():
        return True
    short = call.recording_seconds is not None and call.recording_seconds < shortest
    return bool(call.recording_url) and (not short or call.people is not None)


def missed(session: Session, call: HotlineCall, now: datetime,
           zone: ZoneInfo = WORKROOM_ZONE) -> bool:
    """A call that ended leaving no report: the staff (the director when there are none)
    are told when it came, how it ended and who rang, as far as they may know it (a
    person of the organisation file by name, anyone else by a masked number: the number
    stays in the contact vault). A caller who can be texted is told they can reply by
    text or ring again. A caller with a number is to be called back: the push carries
    "已回电", and if nobody presses it by the end of the next working morning the staff
    are reminded once (CallBackReminder); a hidden number has nobody to call back, and
    the push says so. Once per call; False when there was nothing to tell."""
    if call.step == "missed":
        return False
    if call.kind == "complaint":
        how = "complaint_silent"
    elif call.kind == "staff":
        how = "no_staff"
    elif call.tries > MENU_TRIES:
        how = "no_key"
    else:
        how = "menu"
    call.step, call.updated_at = "missed", now
    session.add(call)
    person = session.get(Person, call.person_id) if call.person_id else None
    number = session.exec(select(Contact.address).where(
        Contact.person_id == call.person_id, Contact.channel == SMS)).first() \
        if call.person_id else None
    texted = person is not None and person.id is not None and number is not None \
        and alerts.reachable(session, person.id)
    params = {**_about(session, call, person, number), "how": f"@hotline.missed.{how}",
              "told": "@hotline.missed.texted" if texted else "@hotline.missed.not_texted"
              if number else "@hotline.missed.no_number"}
    if number is not None and call.id is not None:
        params.update(_call_back_button(call.id))
        timers.schedule(session, kind=CALL_BACK, ref=str(call.id),
                        due_at=call_back_due(session, call.created_at, zone))
    outbox.add_many(session, [{
        "key": f"{MISSED}:{call.ref}:{p.id}", "recipient_id": p.id,
        "message": "notice.hotline_missed", "priority": outbox.ALERT,
        "params": params} for p in _staff_of(session, person)], now=now)
    if texted:
        assert person is not None and person.id is not None
        outbox.enqueue(session, key=f"{MISSED}:{call.ref}:caller",
                       recipient_id=person.id, message="notice.caller_missed", now=now,
                       params={"head": "@hotline.sms_head"}, priority=outbox.REPLY)
    return True


# --- a call that left no report, called back ---------------------------------------------

MISSED = "hotline-missed"  # the key of the staff's push about a call that left no report
CALL_BACK = "hotline_call_back"  # timer: a call nobody has called back yet, reminded once
REMINDED = "hotline-call-back"  # the key of that reminder's push
CALLED = "called:"  # the value of the "已回电" button: called:<call id>
WORK_STARTS = time(9, 0)  # a working morning begins...
MORNING_ENDS = time(12, 0)  # ...and ends: nobody has called back by then, a reminder


def _about(session: Session, call: HotlineCall, person: Person | None,
           number: str | None) -> dict[str, Any]:
    """When the call came and who rang, as the staff may read it."""
    if person is not None and person.verified and person.name:
        who: Any = person.name
    elif number:
        who = {"say": "hotline.missed.who_number", "masked": masked(number)}
    else:
        who = "@hotline.missed.who_hidden"
    return {"called_at": call.created_at.isoformat(), "who": who}


def _staff_of(session: Session, person: Person | None) -> list[Person]:
    """Who is told of a call that left no report: the staff, else the director."""
    from handlers.context import people_of

    unit = person.unit_id if person else \
        session.exec(select(Unit.id).order_by(col(Unit.id))).first()
    return people_of(session, unit, ("staff",)) or people_of(session, unit, ("director",))


def _call_back_button(call_id: int) -> dict[str, Any]:
    """The line that asks to press "已回电" once the caller is called back, and the button."""
    return {"more_lines": [["hotline.missed.call_back", {}]],
            "actions": [["nav.called_back", f"{CALLED}{call_id}"]]}


def call_back_due(session: Session, called: datetime, zone: ZoneInfo) -> datetime:
    """When the staff are reminded of a call nobody called back: at the end of the next
    working morning (noon of the first working day whose morning begins after the call)."""
    local = called.astimezone(zone)
    day = local.date() if local.time() < WORK_STARTS else local.date() + timedelta(days=1)
    return datetime.combine(workdays.load(session).next_workday(day), MORNING_ENDS, zone)


def _shown_to_staff(session: Session, call: HotlineCall) -> list[Notification]:
    """The staff's pushes about the call (told, reminded), in the order written."""
    keys = or_(col(Notification.idempotency_key).startswith(f"{MISSED}:{call.ref}:"),
               col(Notification.idempotency_key).startswith(f"{REMINDED}:{call.ref}:"))
    return [n for n in session.exec(select(Notification).where(keys)
                                    .order_by(col(Notification.id)))
            if not n.idempotency_key.endswith(":caller")]


def calls_to_call_back(session: Session, person: Person) -> list[HotlineCall]:
    """The calls `person` was told of (or reminded of) that nobody has called back and
    that left no report since, oldest first: what "已回电" may mean when it cannot say
    which (typed on WeChat under two such pushes: the flow "called_back")."""
    if person.id is None:
        return []
    keys = session.exec(select(Notification.idempotency_key).where(
        Notification.recipient_id == person.id,
        or_(col(Notification.idempotency_key).startswith(f"{MISSED}:"),
            col(Notification.idempotency_key).startswith(f"{REMINDED}:")))).all()
    refs = {key.partition(":")[2].rpartition(":")[0] for key in keys}
    if not refs:
        return []
    return list(session.exec(select(HotlineCall).where(
        col(HotlineCall.ref).in_(refs), col(HotlineCall.called_back_at).is_(None),
        col(HotlineCall.subject).is_(None)).order_by(col(HotlineCall.created_at),
                                                       col(HotlineCall.id))).all())


def call_option(session: Session, call: HotlineCall, lang: str, zone: ZoneInfo,
                today: date) -> str:
    """A call as a list to choose from shows it: when it came (the time alone today) and
    who rang, as the push about it says them."""
    from handlers.notices import localize

    person = session.get(Person, call.person_id) if call.person_id else None
    number = session.exec(select(Contact.address).where(
        Contact.person_id == call.person_id, Contact.channel == SMS)).first() \
        if call.person_id else None
    who = localize(_about(session, call, person, number), lang, zone)["who"]
    return catalog.t(lang, "hotline.called_back.option", called_at=_when(call, zone, today),
                     who=who)


def _when(call: HotlineCall, zone: ZoneInfo, today: date) -> str:
    """When a call came, as the staff are answered about it: today's by the time alone."""
    called = call.created_at.astimezone(zone)
    return called.strftime("%H:%M" if called.date() == today else "%Y-%m-%d %H:%M")


def called_back(ctx: HandlerContext, call_id: int) -> Result:
    """"已回电" pressed (or its words typed) by one of the staff told of the call: who
    called back and when is kept on the call, the reminder is called off, and the push is
    edited where it was shown, for everyone told, to say so (a channel that cannot edit
    gets a short message instead). A second press, by anyone, is told who did it."""
    s = ctx.session
    call = s.exec(select(HotlineCall).where(HotlineCall.id == call_id)
                  .with_for_update()).first()  # two pressing at once: one after the other
    shown = _shown_to_staff(s, call) if call is not None else []
    if call is None or ctx.actor.id is None \
            or all(n.recipient_id != ctx.actor.id for n in shown):
        return Result("hotline.called_back.refused", {})
    if call.called_back_at is not None:
        by = s.get(Person, call.called_back_by) if call.called_back_by else None
        when = call.called_back_at.astimezone(ctx.zone)
        at = when.strftime("%H:%M" if when.date() == ctx.today else "%Y-%m-%d %H:%M")
        if by is not None and by.id == ctx.actor.id:
            return Result("hotline.called_back.already_own", {"at": at})
        return Result("hotline.called_back.already", {"name": by.name if by else "", "at": at})
    call.called_back_by, call.called_back_at, call.updated_at = ctx.actor.id, ctx.now, ctx.now
    s.add(call)
    timers.cancel(s, kind=CALL_BACK, ref=str(call_id), now=ctx.now)
    told: set[int] = set()
    for n in shown:
        if n.status != "sent":
            continue
        if n.delivered_ref is not None:  # the push, edited: the button gone, who and when
            original = {k: v for k, v in n.params.items() if k not in ("actions", "more_lines")}
            outbox.enqueue(s, key=f"hotline-called-edit:{n.id}", now=ctx.now,
                           channel=n.delivered_channel, address=n.delivered_address,
                           message="notice.hotline_called_back", priority=outbox.ALERT,
                           params={"edit_ref": n.delivered_ref, "original": n.message_key,
                                   "original_params": original, "name": ctx.actor.name,
                                   "acked_at": ctx.now.isoformat()})
        elif n.delivered_channel in alerts.CANNOT_EDIT and n.recipient_id is not None \
                and n.recipient_id not in told and n.recipient_id != ctx.actor.id:
            told.add(n.recipient_id)
            outbox.enqueue(s, key=f"hotline-called-told:{call.ref}:{n.recipient_id}",
                           now=ctx.now, recipient_id=n.recipient_id,
                           channel=n.delivered_channel, address=n.delivered_address,
                           message="notice.hotline_called_back_told", priority=outbox.ALERT,
                           params={"called_at": n.params.get("called_at"),
                                   "who": n.params.get("who"), "name": ctx.actor.name,
                                   "back_at": ctx.now.isoformat()})
    return Result("hotline.called_back.done", {  # which call: one may have two waiting
        "at": ctx.now.astimezone(ctx.zone).strftime("%H:%M"),
        "called_at": _when(call, ctx.zone, ctx.today)})


def called_back_chosen(ctx: HandlerContext, sub: Submission) -> Result:
    """The flow "called_back": the call chosen of those waiting (see calls_to_call_back)."""
    chosen = str(sub.answers.get("call") or "")
    return called_back(ctx, int(chosen) if chosen.isdigit() else 0)


class CallBackReminder:
    """Timer handler: a call that left no report and that nobody has called back by the
    end of the next working morning; the staff are reminded, once, with "已回电" again."""

    def __init__(self, db: Engine, clock: Clock, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

    def fire(self, ref: str) -> int:
        now = self.clock.now()
        with transaction(self.db) as s:
            if timers.take(s, kind=CALL_BACK, ref=ref, now=now) is None:
                return 0
            call = s.get(HotlineCall, int(ref)) if ref.isdigit() else None
            if call is None or call.id is None or call.called_back_at is not None \
                    or call.subject is not None:  # called back, or reported meanwhile
                return 0
            person = s.get(Person, call.person_id) if call.person_id else None
            number = s.exec(select(Contact.address).where(
                Contact.person_id == call.person_id, Contact.channel == SMS)).first() \
                if call.person_id else None
            if number is None:
                return 0
            params = {**_about(s, call, person, number), **_call_back_button(call.id)}
            staff = _staff_of(s, person)
            outbox.add_many(s, [{
                "key": f"{REMINDED}:{call.ref}:{p.id}", "recipient_id": p.id,
                "message": "notice.hotline_call_back_due", "priority": outbox.ALERT,
                "params": params} for p in staff], now=now)
            return len(staff)


def _file(session: Session, call: HotlineCall, context_for: ContextFor,
          lang: str, shortest: int = SHORTEST_RECORDING) -> tuple[str, dict[str, Any]] | None:
    """File the call's report (once; its texts in the caller's language, else `lang`);
    what to tell the caller, or None if there is nothing to file."""
    if call.kind not in ASK or not _fileable(call, shortest):
        return None
    person = session.get(Person, call.person_id) if call.person_id else None
    if person is None:
        return None
    ctx = context_for(person)
    result = voice_report(ctx, call, person.lang or lang)
    # A number read out sign by sign: "E-2026-0001" as one word is read by a voice as
    # a minus sign and a year, and heard wrong on a workshop floor.
    said = number = {"number": spelled(result.params["number"], lang)}
    if not alerts.reachable(session, person.id):
        # No number to text: the caller hears the number twice, and no text is promised.
        if result.message.startswith("emergency.linked"):
            return "received_linked", said
        if result.message == "emergency.done_nobody":
            return "received_nobody", said
        if result.message.startswith("emergency"):
            return "received_incident", said
        return "received_case", said
    if result.message.startswith("emergency.linked_own"):  # they phoned before
        return "done_linked_own", number
    if result.message.startswith("emergency.linked"):
        return "done_linked", number
    if result.message == "emergency.done_nobody":  # never say someone was told
        return "done_nobody", number
    if result.message.startswith("emergency"):
        return "done_incident", number
    return "done_case", number


def spelled(number: str, lang: str) -> str:
    """A record's number to be read out one sign at a time: "E-2026-0001" -> "E，2，0，…"."""
    return catalog.t(lang, "hotline.voice.digit_sep").join(c for c in number if c.isalnum())


def _count(value: str | None) -> int | None:
    """The number of people keyed in; None unless it is one (1 to 999,999)."""
    value = (value or "").strip().rstrip("#")
    return int(value) if value.isdigit() and len(value) <= 6 and int(value) > 0 else None


# --- staff file for a caller --------------------------------------------------------------


def file_for_caller(ctx: HandlerContext, sub: Submission) -> Result:
    """Staff who took the call file its report as the caller's; the caller is texted."""
    s, a = ctx.session, sub.answers
    if "*" in a["phone"]:  # a draft restored from the replay log, where it is masked
        return Result("file_for_caller.phone_again", {}, back_to="phone")
    ref = f"filed:{sub.draft_id}"[:80]
    person = caller(s, a["phone"], ctx.now)
    workshop = s.exec(select(Workshop).where(Workshop.key == a["workshop"],
                                             Workshop.unit_id == ctx.unit_id())).first()
    as_caller = replace(ctx, actor=person, channel=FILED, filed_by=ctx.actor)
    result, subject, subject_id = report(
        as_caller, kind=a["kind"], what=a["what"], place=workshop.name if workshop else "",
        people=a.get("people"), draft_key=sub.draft_id, lang=person.lang or sub.lang,
        category=a.get("category"), workshop=workshop.key if workshop else None)
    if s.exec(select(HotlineCall).where(HotlineCall.ref == ref)).first() is None:
        s.add(HotlineCall(ref=ref, purpose="filed", person_id=person.id, kind=a["kind"],
                          step="done", said=a["what"], people=a.get("people"),
                          subject=subject, subject_id=subject_id, filed_by=ctx.actor.id,
                          created_at=ctx.now, updated_at=ctx.now, ended_at=ctx.now))
    p = result.params
    # No texts to the caller (no SMS set up): the staff member who took the call is asked
    # to give the caller the number, not told that a text is on its way.
    told = "" if alerts.reachable(s, person.id, texts=ctx.texts) else "_untold"
    if result.message in ("emergency.done", "emergency.done_own"):
        return Result(f"file_for_caller.done_incident{told}", {"number": p["number"],
                                                               "alerted": p["alerted"]})
    if result.message.startswith("emergency.linked"):
        # Under it, the button to file the caller's report apart (another emergency).
        return Result(f"file_for_caller.done_linked{told}", {
            "number": p["number"], **({APART: p[APART]} if APART in p else {})})
    if result.message == "emergency.done_nobody":
        return Result("file_for_caller.done_nobody", {"number": p["number"]})
    return Result(f"file_for_caller.done_case{told}", {"number": p["number"],
                                                       "due_on": p["due_on"]})


# --- a leader's alert by phone --------------------------------------------------------------


def ring(session: Session, incident: Incident, people: list[int], now: datetime) -> int:
    """Call the people of the chain's last step who have a phone: the alert is read to
    them and "1" acknowledges it. One outbox row per call (retried, fallen back on)."""
    assert incident.id is not None
    numbers = numbers_of(session, people)
    params = incident_params(session, incident)
    # Read first on the call, as on the step's chat alert: who before did not acknowledge.
    before = [name for who, name in unacknowledged(session, incident) if who not in people]
    if before:
        minutes = max(0, int((now - incident.created_at).total_seconds() // 60))
        params[ESCALATED] = {"names": before, "minutes": minutes}
    rung = 0
    for pid in dict.fromkeys(people):
        if pid not in numbers:
            continue
        alert = session.exec(select(Alert).where(
            Alert.subject == "incident", Alert.subject_id == incident.id,
            Alert.recipient_id == pid)).first()
        if alert is None:
            continue
        outbox.enqueue(session, key=f"call:{alert.id}:r{incident.chain_round}",
                       recipient_id=pid, channel=CALL, address=numbers[pid],
                       message="notice.incident", params=params, alert_id=alert.id,
                       priority=outbox.EMERGENCY, now=now)
        rung += 1
    return rung


def acknowledge_by_phone(ctx: HandlerContext, alert_id: int) -> Result:
    """"1" on the call: the called leader acknowledges, as the chat button does."""
    return alerts.acknowledge(ctx, alert_id)


@dataclass(frozen=True)
class AlertCall:
    """A call placed to a leader about an alert (one outbox row of channel `call`)."""

    notification: Notification
    alert: Alert
    incident: Incident | None


def alert_call(session: Session, notification_id: int, to: str) -> AlertCall | None:
    """The alert call a provider request is about; None unless it is one we placed to
    that very number."""
    n = session.get(Notification, notification_id)
    if n is None or n.channel != CALL or n.alert_id is None or phone_number(to) != n.address:
        return None
    alert = session.get(Alert, n.alert_id)
    if alert is None:
        return None
    incident = session.get(Incident, alert.subject_id) if alert.subject == "incident" else None
    return AlertCall(n, alert, incident)


def acknowledged_by(session: Session, incident: Incident | None) -> Person | None:
    """Who acknowledged the incident first, if anyone has."""
    if incident is None:
        return None
    return session.exec(select(Person).join(Acknowledgement, col(Acknowledgement.person_id)
                                            == col(Person.id))
                        .join(Alert, col(Alert.id) == Acknowledgement.alert_id)
                        .where(Alert.subject == "incident", Alert.subject_id == incident.id)
                        .order_by(col(Acknowledgement.at))).first()


def answered(session: Session, call: AlertCall, sid: str, now: datetime) -> Result:
    """A called leader picked up: read them the alert, or, when someone acknowledged it
    meanwhile, who has it."""
    _record(session, call, sid, "answered", now)
    by = acknowledged_by(session, call.incident)
    if by is not None:
        return Result("hotline.voice.acked_by", {"name": by.name})
    return Result("hotline.voice.alert", dict(call.notification.params))


def _record(session: Session, call: AlertCall, sid: str, step: str, now: datetime,
            ended: bool = False) -> HotlineCall:
    row = session.exec(select(HotlineCall).where(HotlineCall.ref == sid)).first()
    if row is None:
        row = HotlineCall(ref=sid, purpose="alert", kind="alert", step=step,
                          person_id=call.alert.recipient_id, alert_id=call.alert.id,
                          created_at=now, updated_at=now)
    row.step, row.updated_at = step[:16], now
    if ended:
        row.ended_at = now
    session.add(row)
    session.flush()
    return row


def call_ended(session: Session, call: AlertCall, sid: str, status: str,
               now: datetime) -> str:
    """The provider's word that an alert call ended: recorded; if the incident is still
    unacknowledged the leader is rung again after a pause, and after CALL_TRIES calls in
    this round the chain moves on at once and the director is told. What was done:
    ignored | again | recorded | retry | escalated."""
    if status not in CALL_ENDS:
        return "ignored"  # queued, ringing, in-progress: not the end yet
    known = session.exec(select(HotlineCall).where(HotlineCall.ref == sid)).first()
    if known is not None and known.ended_at is not None:
        return "again"  # the provider sent its callback twice
    _record(session, call, sid, status, now, ended=True)
    incident, alert, n = call.incident, call.alert, call.notification
    if status == "canceled" or incident is None or incident.handled_at is not None \
            or acknowledged_by(session, incident) is not None:
        return "recorded"
    base = f"call:{alert.id}:r{incident.chain_round}"
    if n.idempotency_key != base and not n.idempotency_key.startswith(base + ":"):
        return "recorded"  # a call of an earlier round: the chain has rung again since
    tries = len(session.exec(select(Notification.id).where(
        Notification.channel == CALL, Notification.alert_id == alert.id,
        or_(Notification.idempotency_key == base,
            col(Notification.idempotency_key).startswith(base + ":t")))).all())
    if tries < CALL_TRIES:
        again = outbox.enqueue(session, key=f"{base}:t{tries + 1}", recipient_id=alert.recipient_id,
                               channel=CALL, address=n.address, message=n.message_key,
                               params=n.params, alert_id=alert.id, priority=outbox.EMERGENCY,
                               now=now)
        again.next_attempt_at = now + CALL_BACKOFF[min(tries, len(CALL_BACKOFF)) - 1]
        session.add(again)
        return "retry"
    # Rung CALL_TRIES times in vain: the chain's next step (or round) is alerted now, and
    # the directors learn that the phone did not reach this leader.
    assert incident.id is not None
    timers.schedule(session, kind=WATCH, ref=str(incident.id), due_at=now)
    leader = session.get(Person, alert.recipient_id)
    for d in directors(session, incident.unit_id):
        if d.id is not None:
            outbox.enqueue(session, key=f"{base}:unanswered:{d.id}", recipient_id=d.id,
                           message="notice.call_unanswered", priority=outbox.EMERGENCY,
                           now=now, params={"number": incident.number, "tries": tries,
                                            "name": leader.name if leader else ""})
    log.warning("incident %s: %s did not take %d calls; the chain moves on",
                incident.number, alert.recipient_id, tries)
    return "escalated"


def stop_calls(ctx: HandlerContext, incident: Incident) -> int:
    """The incident was acknowledged: its calls not yet placed are cancelled, and those
    ringing or under way are ended at the provider (nobody is rung for an alert that
    someone already has). How many calls were stopped."""
    s = ctx.session
    # The incident's row is held from here to the commit: a call the dispatcher places
    # meanwhile is looked at again by `placed` under the same lock, after its SID is saved.
    s.exec(select(Incident.id).where(Incident.id == incident.id).with_for_update()).first()
    ids = select(Alert.id).where(Alert.subject == "incident", Alert.subject_id == incident.id)
    # A call the dispatcher is placing this very moment is skipped, not waited for (this
    # is a chat step): `placed` hangs it up once its SID is committed.
    rows = s.exec(select(Notification).where(
        Notification.channel == CALL, col(Notification.alert_id).in_(ids),
        col(Notification.status).in_(("pending", "sent")))
        .order_by(col(Notification.id)).with_for_update(skip_locked=True)).all()
    stopped = 0
    for n in rows:
        if n.status == "pending":
            n.status, n.claimed_until = "cancelled", None
            n.last_error = "the alert was acknowledged before the call"
            s.add(n)
            stopped += 1
            continue
        stopped += _hang_up(s, n, ctx.actor.name, ctx.now)
    return stopped


def placed(session: Session, notification_id: int, now: datetime) -> bool:
    """A call to a leader was placed and its SID committed: if the incident was
    acknowledged while it was being placed (stop_calls skipped its row then), hang it up
    now. Whether it is being hung up."""
    n = session.get(Notification, notification_id)
    if n is None or n.channel != CALL or n.alert_id is None or n.status != "sent":
        return False
    alert = session.get(Alert, n.alert_id)
    if alert is None or alert.subject != "incident":
        return False
    # Waits for an acknowledgement being committed (it holds this row), so one of the
    # two always sees the other: the call is hung up whichever committed first.
    incident = session.exec(select(Incident).where(Incident.id == alert.subject_id)
                            .with_for_update()).first()
    if incident is None or incident.acknowledged_at is None:
        return False
    by = acknowledged_by(session, incident)
    return _hang_up(session, n, by.name if by else "", now) > 0


def _hang_up(session: Session, n: Notification, name: str, now: datetime) -> int:
    """End a call that was placed, unless it is over already (1 if it is being ended)."""
    sid = n.delivered_ref
    if not sid or session.exec(select(HotlineCall.id).where(
            HotlineCall.ref == sid, col(HotlineCall.ended_at).is_not(None))).first():
        return 0
    # The key alerts.acknowledge uses to edit an alert where it was shown: once.
    outbox.enqueue(session, key=f"ack-edit:{n.alert_id}:{n.id}", channel=CALL,
                   address=n.address, message="notice.alert_acked",
                   priority=outbox.EMERGENCY, now=now,
                   params={"edit_ref": sid, "original": n.message_key,
                           "original_params": n.params, "name": name,
                           "acked_at": now.isoformat()})
    return 1
