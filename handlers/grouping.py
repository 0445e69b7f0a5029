"""Many voices, one incident.

Reports of one workshop that arrive close together, by chat, hotline or liaison, are one
incident: the later ones are linked to it (its leaders told, the reporter told it is being
handled) instead of starting another alert chain. Complaints of one category from one
workshop close together are a suspected group incident: the director is alerted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, func, select

from conversations import catalog
from conversations.answers import normalize
from conversations.flow import APART, Result, Submission
from handlers import alerts, incidents
from handlers.context import HandlerContext
from handlers.identity import HOTLINE_CHANNELS, reporter_name
from store import fast, outbox
from store.models import (
    Acknowledgement,
    Alert,
    Case,
    ComplaintCluster,
    Incident,
    IncidentLink,
    Person,
    Workshop,
)

_SUFFIXES = ("车间", "工段", "班组")
# The draft key of words a reporter sent after their report (records.said_to): kept as a
# link of the incident, but not a report of its own.
SAID = "said-"


def workshop_named(session: Session, unit_id: int | None, place: str | None) -> Workshop | None:
    """The workshop a free-text place names ("铸造车间门口", "铸造那边", "casting")."""
    if not place:
        return None
    text = normalize(place).lower()
    memo = session.info.setdefault("workshops_by_length", {})  # once per transaction
    if unit_id not in memo:
        memo[unit_id] = sorted(
            session.exec(select(Workshop).where(Workshop.unit_id == unit_id)).all(),
            key=lambda w: -len(w.name))
    shops = memo[unit_id]
    for shop in shops:
        if shop.name and shop.name.lower() in text:
            return shop
    for shop in shops:
        stem = shop.name
        for suffix in _SUFFIXES:
            stem = stem.removesuffix(suffix)
        if len(stem) >= 2 and stem != shop.name and stem.lower() in text:
            return shop
        if len(shop.key) >= 4 and shop.key.lower() in text:
            return shop
    return None


# Words right after a workshop's name that say where at it ("铸造车间门口"): kept with the
# name when a report's words are offered back as its place (place_named).
_PLACE_TAILS = ("大门口", "大门外", "门口", "门外", "门前", "大门", "附近", "外面", "里面",
                "旁边", "楼下", "楼上", "东侧", "西侧", "南侧", "北侧", "东门", "西门", "南门",
                "北门", "办公室", "仓库", "食堂")


def place_named(session: Session, unit_id: int | None, words: str) -> str | None:
    """The place a report's words name by a workshop, as they said it: "铸造车间门口有二十
    多人聚集" -> "铸造车间门口"; "铸造那边", "the casting shop" -> "铸造车间". None when
    they name no workshop of the unit."""
    shop = workshop_named(session, unit_id, words)
    if shop is None or not shop.name:
        return None
    text = normalize(words)
    at = text.find(shop.name)
    if at < 0:
        return shop.name
    end = at + len(shop.name)
    return shop.name + next((tail for tail in _PLACE_TAILS if text.startswith(tail, end)), "")


def open_incident(ctx: HandlerContext, unit_id: int | None,
                  workshop_id: int | None) -> Incident | None:
    """The incident of this workshop still being handled that had a report within the
    window (its first, or a linked one), if any."""
    window = ctx.grouping.link_window
    if workshop_id is None or window.total_seconds() <= 0:
        return None
    s, since = ctx.session, ctx.now - window
    # Reports of one workshop are decided one at a time (two callers hanging up at once
    # must not start two chains): the workshop's row is the lock.
    s.exec(select(Workshop.id).where(Workshop.id == workshop_id).with_for_update()).first()
    recent = s.exec(select(Incident).where(
        Incident.unit_id == unit_id, Incident.workshop_id == workshop_id,
        col(Incident.handled_at).is_(None), Incident.status == "open")
        .order_by(col(Incident.created_at).desc()).limit(5)).all()
    for incident in recent:
        if incident.created_at >= since:
            return incident
        last = s.exec(select(func.max(IncidentLink.created_at)).where(
            IncidentLink.incident_id == incident.id)).first()
        if last is not None and last >= since:
            return incident
    return None


def own_open_incident(ctx: HandlerContext, unit_id: int | None) -> Incident | None:
    """The reporter's own incident still being handled, reported within the window: a
    caller who texted a few words and then phones, with the workshop this time, is adding
    to their report, not reporting a second emergency."""
    window = ctx.grouping.link_window
    if ctx.actor.id is None or unit_id is None or window.total_seconds() <= 0:
        return None
    t = Incident.__table__  # type: ignore[attr-defined]
    rows = fast.execute(  # prepared, on the reporter's index: the filing step must not wait
        ctx.session, "own_open_incident", lambda: select(t.c.id).where(
            t.c.reporter_id == bindparam("reporter"), t.c.unit_id == bindparam("unit"),
            t.c.handled_at.is_(None), t.c.status == "open",
            t.c.created_at >= bindparam("since")).order_by(t.c.created_at.desc()).limit(1),
        {"reporter": ctx.actor.id, "unit": unit_id, "since": ctx.now - window})
    return ctx.session.get(Incident, rows[0][0]) if rows else None


def link(ctx: HandlerContext, incident: Incident, sub: Submission) -> Result:
    """Add this report to the incident; tell the people already alerted about it."""
    s, a = ctx.session, sub.answers
    assert incident.id is not None
    incidents.write_filed(s)  # an incident filed in this batch: its alerts, to tell them
    row = IncidentLink(incident_id=incident.id, draft_key=sub.draft_id,
                       reporter_id=ctx.actor.id, channel=ctx.channel, what=a["what"],
                       place=a.get("place") or "", people=a.get("people"),
                       measures=a.get("measures"), suggestion=a.get("suggestion"),
                       created_at=ctx.now)
    s.add(row)
    s.flush()
    from handlers.records import keep_attachments  # records files reports through here

    keep_attachments(ctx, sub, "incident", incident.id)  # a caller's recording, photos
    # Reports: the first and those linked; words a reporter added after theirs (said_to's
    # rows) are not a report of their own.
    count = 1 + len(s.exec(select(IncidentLink.id).where(
        IncidentLink.incident_id == incident.id,
        ~col(IncidentLink.draft_key).startswith(SAID))).all())
    told = s.exec(select(Alert.recipient_id).where(
        Alert.subject == "incident", Alert.subject_id == incident.id)
        .order_by(col(Alert.id))).all()
    params: dict[str, Any] = {"number": incident.number, "count": count, "what": row.what,
                              "place": row.place, "people": row.people,
                              "measures": row.measures, "suggestion": row.suggestion,
                              "channel": f"@channel.{channel_label(ctx.channel)}",
                              "reporter": reporter_name(ctx.actor, ctx.channel, ctx.filed_by),
                              "reported_at": ctx.now.isoformat()}
    if sub.attachments:  # this report's photos: the button sends the incident's files
        from handlers.files import counted

        params["files"] = counted(sub.attachments)
    for pid in dict.fromkeys(told):
        outbox.enqueue(s, key=f"incident:{incident.id}:more:{row.id}:{pid}", recipient_id=pid,
                       message="notice.incident_added_full", now=ctx.now,
                       priority=outbox.EMERGENCY,
                       params=params)
    result = linked_result(ctx, incident, sub.lang)
    if offers_apart(ctx):
        result.params[APART] = row.id
    return result


def offers_apart(ctx: HandlerContext) -> bool:
    """Linked by its workshop alone, the report may be of another emergency there (a fire
    during a stoppage): the answer that says where it went offers its reporter, in a
    chat, or the staff member who filed it for a caller, one tap to file it apart. In
    that answer, not in a push of its own, so that the merge is said once, with its
    button under it. A report texted or phoned to the hotline is offered nothing."""
    who = ctx.filed_by or (ctx.actor if ctx.channel not in HOTLINE_CHANNELS else None)
    return who is not None and who.id is not None


def apart(ctx: HandlerContext, sub: Submission) -> Result:
    """File a linked report as an emergency of its own: its own number, alerts and chain;
    the people alerted about the incident it was added to are told it is another one."""
    from handlers import records  # it files through here

    s = ctx.session
    chosen = str(sub.answers["report"])
    row = s.get(IncidentLink, int(chosen)) if chosen.isdigit() else None
    earlier = s.get(Incident, row.incident_id) if row is not None else None
    if row is None or earlier is None or not may_part(ctx.actor, row, earlier):
        return Result("emergency_apart.gone", {})
    reporter = s.get(Person, row.reporter_id) if row.reporter_id else None
    staff = ctx.actor if reporter is None or reporter.id != ctx.actor.id else None
    as_reporter = replace(ctx, actor=reporter or ctx.actor, channel=row.channel,
                          filed_by=staff or ctx.filed_by)
    answers = {"what": row.what, "place": row.place or earlier.place, "people": row.people,
               "measures": row.measures, "suggestion": row.suggestion}
    s.delete(row)
    s.flush()
    result = records.emergency(as_reporter, Submission(
        flow="emergency", answers=answers, draft_id=row.draft_key, lang=sub.lang),
        link=False)
    number = result.params["number"]
    told = s.exec(select(Alert.recipient_id).where(
        Alert.subject == "incident", Alert.subject_id == earlier.id)
        .order_by(col(Alert.id))).all()
    for pid in dict.fromkeys(told):
        outbox.enqueue(s, key=f"incident:{earlier.id}:apart:{row.id}:{pid}", recipient_id=pid,
                       message="notice.incident_apart", now=ctx.now, priority=outbox.ALERT,
                       params={"number": earlier.number, "what": brief(row.what),
                               "new": number})
    if result.message == "emergency.done_nobody":
        return Result("emergency_apart.done_nobody", {"number": number})
    return Result("emergency_apart.done", {"number": number, "earlier": earlier.number,
                                           "alerted": result.params.get("alerted", "")})


def may_part(actor: Person, row: IncidentLink, incident: Incident) -> bool:
    """Whether `actor` may file the linked report apart: its reporter, or the staff and
    the director of the unit, while the incident is still being handled."""
    if incident.handled_at is not None or incident.status != "open":
        return False
    return row.reporter_id == actor.id or (
        actor.role in ("staff", "director") and actor.unit_id == incident.unit_id)


def linked_result(ctx: HandlerContext, incident: Incident, lang: str) -> Result:
    """What a linked reporter is told: the incident's number and what it is about (it
    may be another emergency), and who has it."""
    s = ctx.session
    incidents.write_filed(s)
    # The same person again (a second call, a second chat): their own report, not
    # "someone has reported it already".
    mine = ctx.actor.id is not None and (incident.reporter_id == ctx.actor.id or len(s.exec(
        select(IncidentLink.id).where(IncidentLink.incident_id == incident.id,
                                      IncidentLink.reporter_id == ctx.actor.id)).all()) > 1)
    own = "_own" if mine else ""
    acked = s.exec(select(Person).join(Acknowledgement, col(Acknowledgement.person_id)
                                       == col(Person.id))
                   .join(Alert, col(Alert.id) == Acknowledgement.alert_id)
                   .where(Alert.subject == "incident", Alert.subject_id == incident.id)
                   .order_by(col(Acknowledgement.at))).first()
    if acked is not None:
        return Result(f"emergency.linked{own}_acked", {
            "number": incident.number, "name": acked.name, "what": brief(incident.what)})
    names = alerts.recipients_text(s, "incident", incident.id or 0, lang)
    return Result(f"emergency.linked{own}", {
        "number": incident.number, "what": brief(incident.what),
        "alerted": names or catalog.t(lang, "review.skipped")})


def linked_before(ctx: HandlerContext, sub: Submission) -> Result | None:
    """A re-delivered confirmation of a report that was linked: the same answer again."""
    t = IncidentLink.__table__  # type: ignore[attr-defined]
    rows = fast.execute(  # prepared: the emergency's step must not wait
        ctx.session, "linked_before",
        lambda: select(t.c.incident_id).where(t.c.draft_key == bindparam("draft")),
        {"draft": sub.draft_id})
    incident = ctx.session.get(Incident, rows[0][0]) if rows else None
    return linked_result(ctx, incident, sub.lang) if incident is not None else None


def brief(text: str, limit: int = 40) -> str:
    """A report's words short enough to recognise it by, in a line about it."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def channel_label(channel: str) -> str:
    return channel if catalog.has(f"channel.{channel}") else "other"


# --- complaints that add up ---------------------------------------------------------------


def after_case(ctx: HandlerContext, case: Case, workshop: Workshop | None) -> None:
    """Count the case into its workshop's cluster; alert the director when it is one."""
    policy = ctx.grouping
    if policy.cluster_count <= 0 or case.workshop_id is None or workshop is None:
        return
    s, since = ctx.session, ctx.now - policy.cluster_window
    cluster = s.exec(select(ComplaintCluster).where(
        ComplaintCluster.workshop_id == case.workshop_id,
        ComplaintCluster.category == case.category,
        col(ComplaintCluster.last_at) >= since)
        .order_by(col(ComplaintCluster.id).desc())).first()
    numbers = s.exec(select(Case.number).where(
        Case.unit_id == case.unit_id, Case.workshop_id == case.workshop_id,
        Case.category == case.category,
        col(Case.created_at) >= (cluster.first_at if cluster else since))
        .order_by(col(Case.id))).all()
    if cluster is None:
        cluster = ComplaintCluster(unit_id=case.unit_id, workshop_id=case.workshop_id,
                                   category=case.category, first_at=ctx.now, last_at=ctx.now)
    cluster.cases, cluster.last_at = len(numbers), ctx.now
    s.add(cluster)
    s.flush()
    if cluster.raised_at is not None or cluster.cases < policy.cluster_count:
        return
    cluster.raised_at = ctx.now
    s.add(cluster)
    assert cluster.id is not None
    hours = int(policy.cluster_window.total_seconds() // 3600)
    params: dict[str, Any] = {"workshop": workshop.name, "category": case.category,
                              "count": cluster.cases, "hours": hours,
                              "numbers": list(numbers)}  # joined in the reader's words
    for director in s.exec(select(Person).where(
            Person.role == "director", Person.unit_id == case.unit_id,
            Person.active == True).order_by(col(Person.id))):  # noqa: E712
        assert director.id is not None
        alerts.raise_alert(ctx, subject="cluster", subject_id=cluster.id,
                           recipient_id=director.id, message="notice.cluster_suspected",
                           params=params, priority=outbox.EMERGENCY)
