"""The hotline's use cases: a report by phone, filed by the caller's voice or by staff who
answered, the caller told by text; a leader's alert read out by phone and acknowledged.

A caller's number lives only in the contact vault (channel `sms`, the address texts go
to); calls and records point to the pseudonymous person. Nothing here knows the provider:
bot/twilio.py and bot/hotline.py translate.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from conversations import catalog
from conversations.flow import Result, Submission
from handlers import alerts, grouping, identity, records
from handlers.context import HandlerContext
from handlers.incidents import incident_params
from store import outbox
from store.models import (
    Alert,
    Attachment,
    Case,
    Contact,
    HotlineCall,
    Incident,
    IncidentLink,
    Person,
    Workshop,
)

SMS = "sms"  # a caller's number in the contact vault: texts go there
VOICE = "voice"  # records a caller made by voice
FILED = "hotline"  # records staff filed for a caller who phoned
CALL = "call"  # outbox channel: an alert read to a leader by phone
PHONE = "phone"  # the organisation file's phone contacts
COUNTRY = "+86"  # numbers typed without a country code are Chinese


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


def caller(session: Session, number: str, now: datetime) -> Person:
    """The person behind a phone number (an unverified employee the first time)."""
    return identity.resolve(session, channel=SMS, address=phone_number(number), now=now)


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
    text = catalog.t(lang, "hotline.sms_head") + catalog.t(lang, result.message, **result.params)
    assert ctx.actor.id is not None
    outbox.enqueue(s, key=f"hotline:{draft_key}:told", recipient_id=ctx.actor.id,
                   message="notice.raw", params={"text": text}, now=ctx.now,
                   priority=outbox.EMERGENCY if kind == "incident" else outbox.REPLY)
    return result, subject, subject_id


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


def attach_recording(session: Session, *, ref: str, url: str, now: datetime) -> bool:
    """Keep a call's recording with the record it made (or with the call, until then)."""
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
    call.recording_url, call.updated_at = url, now
    session.add(call)
    return True


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
    as_caller = replace(ctx, actor=person, channel=FILED)
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
    if result.message == "emergency.done":
        return Result("file_for_caller.done_incident", {"number": p["number"],
                                                        "alerted": p["alerted"]})
    if result.message.startswith("emergency.linked"):
        return Result("file_for_caller.done_linked", {"number": p["number"]})
    if result.message == "emergency.done_nobody":
        return Result("file_for_caller.done_nobody", {"number": p["number"]})
    return Result("file_for_caller.done_case", {"number": p["number"], "due_on": p["due_on"]})


# --- a leader's alert by phone --------------------------------------------------------------


def ring(session: Session, incident: Incident, people: list[int], now: datetime) -> int:
    """Call the people of the chain's last step who have a phone: the alert is read to
    them and "1" acknowledges it. One outbox row per call (retried, fallen back on)."""
    assert incident.id is not None
    numbers = numbers_of(session, people)
    params = incident_params(session, incident)
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
