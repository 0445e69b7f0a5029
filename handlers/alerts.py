"""Alerts that a person must acknowledge (收到), and their acknowledgement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlmodel import Session, col, select

from conversations.flow import Result
from handlers import notices
from handlers.context import HandlerContext
from store import outbox, timers
from store.models import (
    Acknowledgement,
    Alert,
    Case,
    Contact,
    Incident,
    IncidentLink,
    Notification,
    Person,
)

CANNOT_EDIT = ("wechat", "wecom")  # channels whose messages stay as they were sent


def raise_alert(ctx: HandlerContext, *, subject: str, subject_id: int, recipient_id: int,
                message: str, params: dict[str, Any], priority: int,
                occasion: str | None = None) -> Alert:
    """Create the alert and its push in the caller's transaction, once per recipient; and
    once more per `occasion` (a case given back to someone who held it before: its new
    push is sent, with no 收到 if they acknowledged the case already)."""
    s = ctx.session
    alert = s.exec(select(Alert).where(Alert.subject == subject, Alert.subject_id == subject_id,
                                       Alert.recipient_id == recipient_id)).first()
    if alert is None:
        alert = Alert(subject=subject, subject_id=subject_id, recipient_id=recipient_id,
                      created_at=ctx.now)
        s.add(alert)
        s.flush()
    elif alert.passed_at is not None:  # the case came back to them: theirs to confirm again
        alert.passed_to, alert.passed_at = None, None
        s.add(alert)
    assert alert.id is not None
    key, ask = f"alert:{alert.id}", True
    if occasion is not None:
        key += f":{occasion}"
        ask = s.exec(select(Acknowledgement.id).where(
            Acknowledgement.alert_id == alert.id)).first() is None
    outbox.enqueue(s, key=key, recipient_id=recipient_id, message=message, params=params,
                   alert_id=alert.id if ask else None, priority=priority, now=ctx.now)
    if subject == "case" and ask:
        # A 交办 not confirmed in time is raised with the staff and the director.
        from handlers import assignment  # it hands cases on through this function

        assignment.watch(s, alert, now=ctx.now, zone=ctx.zone)
    return alert


def recipients_text(session: Session, subject: str, subject_id: int, lang: str, *,
                    but: int | None = None) -> str:
    """Who was alerted, as the reporter may read it: names and posts; '' if nobody. The
    reporter (`but`) is not named: a leader who filed it knows it already."""
    rows = session.exec(select(Alert).where(Alert.subject == subject,
                                            Alert.subject_id == subject_id,
                                            Alert.recipient_id != but)
                        .order_by(col(Alert.id))).all()
    people = [session.get(Person, alert.recipient_id) for alert in rows]
    return names_text([p for p in people if p is not None], lang)


class Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def post(self) -> str: ...


def names_text(people: Sequence[Named], lang: str) -> str:
    """Names and posts of the people alerted, as the reporter may read them ('' if none)."""
    return notices.names([[p.name, p.post or ""] for p in people], lang) if people else ""


def may_acknowledge(actor: Person, alert: Alert, recipient: Person | None) -> bool:
    """The addressee acknowledges; a director may do so for any alert of their unit."""
    if actor.id == alert.recipient_id:
        return True
    return (actor.role == "director" and recipient is not None
            and actor.unit_id is not None and actor.unit_id == recipient.unit_id)


def acknowledge(ctx: HandlerContext, alert_id: int, *, handled: bool = False) -> Result:
    """Record who acknowledged an alert and when; tell an incident's reporter. `handled`:
    the actor recorded the end of the emergency's handling (see taken_up), which is what
    their alert then says of them."""
    s = ctx.session
    alert = s.get(Alert, alert_id)
    if alert is None:
        return Result("ack.unknown", {})
    recipient = s.get(Person, alert.recipient_id)
    if not may_acknowledge(ctx.actor, alert, recipient):
        return Result("ack.refused", {})
    done = s.exec(select(Acknowledgement).where(Acknowledgement.alert_id == alert_id)).first()
    if done is not None:
        by = s.get(Person, done.person_id)
        when = done.at.astimezone(ctx.zone)  # the day too, unless it was today
        at = when.strftime("%H:%M" if when.date() == ctx.today else "%Y-%m-%d %H:%M")
        incident = s.get(Incident, alert.subject_id) if alert.subject == "incident" else None
        if incident is not None and done.person_id == alert.recipient_id \
                and incident.handled_at is not None and done.at == incident.handled_at:
            # Marked so by recording the end of the handling, never pressed: said so.
            return Result("ack.already_handled", {"name": by.name if by else "", "at": at,
                                                  "number": incident.number})
        if done.person_id == ctx.actor.id:  # their own press again: not in the third person
            return Result("ack.already_own", {"at": at})
        return Result("ack.already", {"name": by.name if by else "", "at": at})
    if alert.passed_at is not None:  # no longer theirs: said so, nothing recorded
        return passed_result(ctx, alert)
    assert ctx.actor.id is not None
    s.add(Acknowledgement(alert_id=alert_id, person_id=ctx.actor.id, channel=ctx.channel,
                          at=ctx.now))
    s.flush()
    _mark_acknowledged(ctx, alert, handled=handled)
    if alert.subject == "case":  # taken: nobody need be told it was not
        from handlers import assignment

        assignment.unwatch(s, alert_id, now=ctx.now)
    if alert.subject == "incident":
        incident = s.get(Incident, alert.subject_id)
        if incident is not None and incident.acknowledged_at is None:
            # The chain stops now: its timer, due at once, turns into the re-alert watch.
            incident.acknowledged_at = ctx.now
            s.add(incident)
            if incident.handled_at is None:
                timers.schedule(s, kind="incident_watch", ref=str(incident.id), due_at=ctx.now)
            from handlers import hotline  # the leaders' calls are the hotline's

            hotline.stop_calls(ctx, incident)
            if incident.handled_at is None:  # "is on it" only while there is one to be on
                _show_taken(ctx, incident, alert_id)
        # Told "has received it and is handling it" only while it is: an alert pressed
        # after the handling was finished tells the reporters nothing new.
        if incident is not None and incident.handled_at is not None:
            when = incident.handled_at.astimezone(ctx.zone)
            return Result("ack.done_handled", {
                "at": ctx.now.astimezone(ctx.zone).strftime("%H:%M"), "number": incident.number,
                "handled_at": when.strftime("%H:%M" if when.date() == ctx.today
                                            else "%Y-%m-%d %H:%M"),
                "outcome": incident.outcome or ""})
        if incident is not None and reachable(s, incident.reporter_id, texts=ctx.texts):
            outbox.enqueue(s, key=f"incident:{incident.id}:acked", priority=outbox.EMERGENCY,
                           recipient_id=incident.reporter_id, message="notice.acknowledged",
                           now=ctx.now, params={"number": incident.number,
                                                "name": ctx.actor.name,
                                                "acked_at": ctx.now.isoformat()})
        if incident is not None:  # the reports linked to it are told too, once each
            later = s.exec(select(IncidentLink.reporter_id).where(
                IncidentLink.incident_id == incident.id).order_by(col(IncidentLink.id))).all()
            for pid in dict.fromkeys(p for p in later if p not in (None, incident.reporter_id)
                                     and reachable(s, p, texts=ctx.texts)):
                outbox.enqueue(s, key=f"incident:{incident.id}:acked:{pid}",
                               priority=outbox.EMERGENCY, recipient_id=pid,
                               message="notice.acknowledged", now=ctx.now,
                               params={"number": incident.number, "name": ctx.actor.name,
                                       "acked_at": ctx.now.isoformat()})
    return Result("ack.done", {"at": ctx.now.astimezone(ctx.zone).strftime("%H:%M")})


def passed_result(ctx: HandlerContext, alert: Alert) -> Result:
    """What a press of the 收到 of an alert whose case was passed on answers: to whom
    and when (the day too, unless it was today); nothing to confirm."""
    case = ctx.session.get(Case, alert.subject_id)
    to = ctx.session.get(Person, alert.passed_to) if alert.passed_to is not None else None
    assert alert.passed_at is not None
    when = alert.passed_at.astimezone(ctx.zone)
    at = when.strftime("%H:%M" if when.date() == ctx.today else "%Y-%m-%d %H:%M")
    return Result("ack.letter_passed_on" if case is not None and case.letter
                  else "ack.passed_on",
                  {"number": case.number if case is not None else "",
                   "name": to.name if to is not None else "", "at": at})


def pass_on(ctx: HandlerContext, case: Case, old: Person, to: Person) -> None:
    """The case has gone from `old` to `to` (转办, or rerouted by its new category): the
    alert that waited for old's 收到 waits no more. It is no longer followed up; its
    pushes not sent yet (or held) go nowhere; where it was shown and can be edited it
    loses its 收到 (and its button to work on the case) and says to whom it went and when.
    Not the alert of one who keeps a hand in the case: its lead leader, or the director
    of a leader case (alerted to every one)."""
    s = ctx.session
    if old.id == case.lead_leader_id or (case.leader_case and old.role == "director"):
        return
    acked = select(Acknowledgement.alert_id)
    alert = s.exec(select(Alert).where(
        Alert.subject == "case", Alert.subject_id == case.id, Alert.recipient_id == old.id,
        col(Alert.passed_at).is_(None), col(Alert.id).not_in(acked))).first()
    if alert is None or alert.id is None:
        return
    alert.passed_to, alert.passed_at = to.id, ctx.now
    s.add(alert)
    from handlers import assignment  # it hands cases on through this module

    assignment.unwatch(s, alert.id, now=ctx.now)
    for n in s.exec(select(Notification).where(
            Notification.alert_id == alert.id, Notification.recipient_id == old.id,
            col(Notification.status).in_(("pending", outbox.HELD)))):
        n.status, n.last_error = "cancelled", "its case was passed on"
        s.add(n)
    shown = s.exec(select(Notification).where(
        Notification.alert_id == alert.id, Notification.status == "sent",
        col(Notification.delivered_ref).is_not(None))).all()
    _edit_where_shown(ctx, shown, "passed-edit", "notice.alert_passed", keep_button=False,
                      extra={"name": to.name}, actions=False)


def taken_up(ctx: HandlerContext, subject: str, subject_id: int, *,
             handled: bool = False) -> None:
    """Work done on a record by someone alerted to it (a case's reply, an emergency's
    report) is their acknowledgement: the alert that waited for their 收到 is marked as
    pressed, so it is no longer listed as waiting, nor climbs the chain. `handled`: the
    work was recording the end of an emergency's handling, which their alert says."""
    acked = select(Acknowledgement.alert_id)
    waiting = ctx.session.exec(select(Alert.id).where(
        Alert.subject == subject, Alert.subject_id == subject_id,
        Alert.recipient_id == ctx.actor.id, col(Alert.id).not_in(acked))
        .order_by(col(Alert.id))).all()
    for alert_id in waiting:
        if alert_id is not None:
            acknowledge(ctx, alert_id, handled=handled)


def reachable(session: Session, person_id: int | None, *, texts: bool = True) -> bool:
    """Whether the reporter has an address at all (a hotline caller who hid their number
    has none: telling them would only fail and alarm the staff); without `texts` (no SMS
    set up), a phone number is not one."""
    from handlers.hotline import SMS

    if person_id is None:
        return False
    query = select(Contact.id).where(Contact.person_id == person_id)
    if not texts:
        query = query.where(Contact.channel != SMS)
    return session.exec(query).first() is not None


def _show_taken(ctx: HandlerContext, incident: Incident, alert_id: int) -> None:
    """The first acknowledgement of an emergency, shown on the other leaders' alerts where
    they can be edited: a leader woken at night sees that someone has it, without a new
    message; their own 收到 stays."""
    from handlers.hotline import CALL  # a call "edited" is a call ended: stop_calls' own

    others = select(Alert.id).where(Alert.subject == "incident", Alert.subject_id == incident.id,
                                    Alert.id != alert_id)
    shown = ctx.session.exec(select(Notification).where(
        col(Notification.alert_id).in_(others), Notification.status == "sent",
        col(Notification.delivered_ref).is_not(None),
        col(Notification.delivered_channel) != CALL)).all()
    _edit_where_shown(ctx, shown, "ack-seen", "notice.alert_taken", keep_button=True)
    # WeChat and WeCom cannot edit a message: there, a short message of its own says it,
    # once per alert, so that the leader the chain woke does not set out for nothing.
    unedited = ctx.session.exec(select(Notification).where(
        col(Notification.alert_id).in_(others), Notification.status == "sent",
        col(Notification.delivered_ref).is_(None),
        col(Notification.delivered_channel).in_(CANNOT_EDIT))).all()
    for n in {n.alert_id: n for n in unedited}.values():
        outbox.enqueue(ctx.session, key=f"ack-told:{n.alert_id}", now=ctx.now,
                       recipient_id=n.recipient_id, channel=n.delivered_channel,
                       address=n.delivered_address, message="notice.alert_taken_told",
                       priority=outbox.ALERT,
                       params={"number": incident.number, "name": ctx.actor.name,
                               "acked_at": ctx.now.isoformat()})


def _mark_acknowledged(ctx: HandlerContext, alert: Alert, *, handled: bool = False) -> None:
    """Edit the alert where it was shown: who acknowledged it and when, no more button;
    above it, who had the emergency first, if someone else did (the line the edit showing
    it had added stays); `handled`: that the actor recorded the end of the handling, not
    that they acknowledged it only now."""
    shown = ctx.session.exec(select(Notification).where(
        Notification.alert_id == alert.id, Notification.status == "sent",
        col(Notification.delivered_ref).is_not(None))).all()
    extra: dict[str, Any] = {}
    if alert.subject == "incident":
        first = outbox.first_acknowledger(
            ctx.session, alert.subject_id,
            [p for p in (ctx.actor.id, alert.recipient_id) if p is not None])
        if first is not None:
            extra["first"] = first
    if handled:
        extra["line"] = "notice.alert_handled"
    _edit_where_shown(ctx, shown, "ack-edit", "notice.alert_acked", keep_button=False,
                      extra=extra)


def _edit_where_shown(ctx: HandlerContext, shown: Sequence[Notification], key: str,
                      message: str, *, keep_button: bool,
                      extra: dict[str, Any] | None = None, actions: bool = True) -> None:
    """An edit of each alert push where it was shown (handlers/notices.py renders its
    first text with the line of `message` below): who acknowledged it, and when.
    `actions`: the buttons it carried to act on its record stay."""
    for n in shown:
        original = n.params if actions else {k: v for k, v in n.params.items()
                                             if k != "actions"}
        params: dict[str, Any] = {"edit_ref": n.delivered_ref, "original": n.message_key,
                                  "original_params": original, "name": ctx.actor.name,
                                  "acked_at": ctx.now.isoformat(), **(extra or {})}
        if keep_button:
            params["alert"] = n.alert_id
        outbox.enqueue(ctx.session, key=f"{key}:{n.alert_id}:{n.id}", now=ctx.now,
                       channel=n.delivered_channel, address=n.delivered_address,
                       message=message, priority=outbox.ALERT, params=params)
