"""Render an outbox row in its recipient's language."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from conversations import catalog
from conversations.engine import Button, Reply
from handlers.context import derive_receipt_code
from store import outbox
from store.models import Case, Person

log = logging.getLogger(__name__)

_LABELLED = {"category": "opt.category", "form": "form"}


def local_time(iso: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def localize(params: dict[str, Any], lang: str, zone: ZoneInfo) -> dict[str, Any]:
    """Turn stored raw values (category keys, UTC times) into words for this reader."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None or value == "":
            out[name] = catalog.t(lang, "review.skipped")
        elif isinstance(value, str) and value.startswith("@@"):
            out[name] = value[1:]  # someone's own words that begin with "@" (literal)
        elif isinstance(value, str) and value.startswith("@") and catalog.has(value[1:]):
            out[name] = catalog.t(lang, value[1:])  # who, a status…, in the reader's words
        elif name == "events" and isinstance(value, list):
            out[name] = timeline(value, lang, zone)
        elif name.endswith("lines") and isinstance(value, list):
            out[name] = lines(value, lang, zone)
        elif name.endswith(("names", "numbers", "months")) and isinstance(value, list):
            out[name] = catalog.t(lang, "list.sep").join(map(str, value))
        elif isinstance(value, dict) and isinstance(value.get("say"), str):
            # Words with parts of their own: {"say": key, part: value, ...}.
            inner = localize({k: v for k, v in value.items() if k != "say"}, lang, zone)
            out[name] = catalog.t(lang, value["say"], **inner)
        elif isinstance(value, dict) and isinstance(value.get("people"), list):
            out[name] = names(value["people"], lang)
        elif name in _LABELLED:
            out[name] = catalog.t(lang, f"{_LABELLED[name]}.{value}")
        elif name.endswith("_at") and isinstance(value, str):
            out[name] = local_time(value, zone)
        else:
            out[name] = value
    # A time gone by said in the largest units that fit ("2 小时 10 分钟", "7 天"): a
    # push's `minutes` (an emergency still open for days) is read as {elapsed}.
    minutes = params.get("minutes")
    if "elapsed" not in params and isinstance(minutes, int) and not isinstance(minutes, bool):
        out["elapsed"] = duration(minutes, lang)
    # A day shown with its weekday ("2026-11-25 周三"): the weekday of an ISO `date` (or
    # `old_date`, `new_date`…) is derived, so a push queued before its words named it
    # still renders.
    for name in [n for n in params if n == "date" or n.endswith("_date")]:
        weekday, day = name.replace("date", "weekday"), _iso_day(params.get(name))
        if weekday not in out and day is not None:
            out[weekday] = catalog.t(lang, f"weekday.{day.weekday()}")
    return out


def duration(minutes: int, lang: str) -> str:
    """A span of minutes as a reader says it: minutes under an hour, hours (and minutes)
    under a day, then days (and hours)."""
    minutes = max(0, minutes)
    if minutes < 60:
        return catalog.t(lang, "duration.minutes", minutes=minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return catalog.t(lang, "duration.hours_minutes" if rest else "duration.hours",
                         hours=hours, minutes=rest)
    days, hours = divmod(hours, 24)
    return catalog.t(lang, "duration.days_hours" if hours else "duration.days",
                     days=days, hours=hours)


def _iso_day(value: Any) -> date | None:
    """The day an ISO date string names ("2026-11-25"), else None."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def timeline(events: list[list[str]], lang: str, zone: ZoneInfo) -> str:
    """A case's timeline entries ([time, kind, note]) as lines for this reader."""
    if not events:
        return catalog.t(lang, "review.skipped")
    colon = "：" if lang == "zh" else ": "
    lines = []
    for at, kind, note in events:
        label = catalog.t(lang, f"event.{kind}") if catalog.has(f"event.{kind}") else kind
        note = note_words(kind, note, lang)
        lines.append(f"• {local_time(at, zone)} {label}" + (f"{colon}{note}" if note else ""))
    return "\n".join(lines)


_CHANGE = re.compile(r"([+-])(\d+): (.*)", re.DOTALL)  # an extension's "+30: reason"
_RECLASSIFIED = re.compile(r"(\w+)>(\w+): (.*)", re.DOTALL)  # "other>safety: reason"


def note_words(kind: str, note: str, lang: str) -> str:
    """A timeline note in the reader's words: some entries keep a code or a bare number
    there (the category a case was assigned by, the days late, a rating, the days asked)."""
    if kind == "assigned" and note.startswith("category:"):
        key = f"opt.category.{note.removeprefix('category:')}"
        return catalog.t(lang, key) if catalog.has(key) else note
    if (kind.startswith("escalated_") or kind == "overdue_own") and note.isdigit():
        return catalog.t(lang, "event.late", days=int(note))
    if kind == "leader_away" and note.count("|") == 3:  # handlers.assignment.away_note
        away, until, leader, name = note.split("|", 3)
        return catalog.t(lang, "event.leader_away_note", leader=leader, until=until,
                         name=name, away=catalog.t(lang, f"case.away.{away}"))
    if kind in ("rate", "reopen") and catalog.has(f"opt.rating.{note}"):
        return catalog.t(lang, f"opt.rating.{note}")
    moved = _RECLASSIFIED.fullmatch(note) if kind == "reclassify" else None
    if moved is not None and all(catalog.has(f"opt.category.{c}") for c in moved.groups()[:2]):
        old, new, reason = moved.groups()
        return catalog.t(lang, "event.reclassified", old=catalog.t(lang, f"opt.category.{old}"),
                         new=catalog.t(lang, f"opt.category.{new}"), reason=reason)
    change = _CHANGE.fullmatch(note) if kind in ("extend", "extended") else None
    if change is not None:
        sign, days, reason = change.groups()
        key = "event.more_days" if kind == "extend" \
            else "event.approved" if sign == "+" else "event.refused"
        return catalog.t(lang, key, days=int(days), reason=reason)
    return note


def names(people: list[list[str]], lang: str) -> str:
    """People ([name, post] each) as a reporter reads who was alerted; none: "(not given)"."""
    if not people:
        return catalog.t(lang, "review.skipped")
    open_, close = ("（", "）") if lang == "zh" else (" (", ")")
    return catalog.t(lang, "list.sep").join(
        name + (f"{open_}{post}{close}" if post else "") for name, post in people)


def lines(items: list[list[Any]], lang: str, zone: ZoneInfo) -> str:
    """Catalog lines ([key, params] each) as text for this reader; none: "(not given)"."""
    if not items:
        return catalog.t(lang, "review.skipped")
    return "\n".join(catalog.t(lang, str(key), **localize(dict(p), lang, zone))
                     for key, p in items)


# A push that invites an action carries the button that starts it (a menu entry's value).
_STARTS = {"notice.case_replied": ("menu.rate", "flow:rate"),
           "notice.letter_replied": ("menu.rate", "flow:rate"),
           "notice.extension_asked": ("menu.decide_extension", "flow:decide_extension")}



SUMMARY = 20  # characters of a case's description that say what it is about, in a line


def summary(text: str, length: int = SUMMARY) -> str:
    """The first words of a text, on one line, cut with "…" when longer: at a space when
    one falls in the second half (English words stay whole), else at the length."""
    one = " ".join(text.split())
    if len(one) <= length:
        return one
    cut = one[:length - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space >= length // 2 else cut).rstrip() + "…"


def literal(text: str) -> str:
    """Someone's own words as a push's parameter, shown as written: one that begins with
    "@" would otherwise be taken for a catalog key (localize)."""
    return f"@{text}" if text.startswith("@") else text


def letter_named(session: Session, case: Case, *, writer: bool = False
                 ) -> dict[str, Any] | None:
    """How a letter to a leader is named, in each reader's words ({"say": key, ...}:
    notices.localize): "写给陈丽华的信", or one to no leader in particular "来信（工资待遇）";
    to its writer "您写给陈丽华的信" / "您的来信（工资待遇）". None: a complaint."""
    if not case.letter:
        return None
    addressee = session.get(Person, case.addressed_to) if case.addressed_to else None
    if addressee is not None:
        return {"say": "letter.yours_to" if writer else "case.letter_to", "to": addressee.name}
    return {"say": "letter.yours_any" if writer else "case.letter_any",
            "category": case.category}


def letter_status(case: Case) -> str:
    """Where a letter stands, as a reader of letters says it (an @key for localize): one
    with its reader and not answered yet is 待答复 / awaiting an answer (a case's 已交办
    means nothing to whom it was written to); else the case's status words."""
    return "@letter.awaiting" if case.status == "assigned" else f"@status.{case.status}"


def as_letter(session: Session, case: Case, message: str, params: dict[str, Any], *,
              writer: bool = False) -> tuple[str, dict[str, Any]]:
    """A push about a case in a letter's words when the case is a letter: its key's
    letter variant ("notice.case_remind_week" → "notice.letter_remind_week", "rate.reopened"
    → "rate.letter_reopened"), naming the letter as {what}; else the message as it is."""
    what = letter_named(session, case, writer=writer)
    head, _, tail = message.partition(".")
    key = f"{head}.letter_{tail.removeprefix('case_')}"
    if what is None or not catalog.has(key):
        return message, params
    return key, {**params, "what": what}


def work_on(case_id: int | None) -> list[list[str]]:
    """The `actions` of a case's push to someone who can act on it: one tap to "办理问题"
    with that case chosen (the engine then offers what they may do to it now)."""
    return [["nav.work_on_case", f"flow:case_action?case={case_id}"]] if case_id else []


RECEIPT_MARK = "⟪receipt⟫"
FILE_NOTICE = "notice.file"


@dataclass
class FileReply(Reply):
    """A push that is one of a record's files (its text the caption): a channel that can
    send files sends it (bot/telegram.py, bot/wechat_files.py), any other shows the
    caption. `file`: kind, channel and file_ref where it was received and when
    (received_at), media_id of its kept bytes, mime_type; the record's number, the
    file's index and its Attachment id (the web chat shows /files/<id>)."""

    file: dict[str, Any] = field(default_factory=dict)


def _files_line(params: dict[str, Any], lang: str) -> str | None:
    """"附件：照片 3 张、语音 1 条" for a push that counts a record's files."""
    from handlers.files import files_words  # files renders its answers with these words

    counts = params.get("files")
    if not counts or not isinstance(counts, dict):
        return None
    return catalog.t(lang, "notice.files", files=files_words(counts, lang))


def escalated_line(params: dict[str, Any], lang: str) -> str | None:
    """"【升级】报告已 20 分钟，张三、李四 未确认，现升级通知您。" above an alert sent by a
    chain step after the first (handlers/incidents.py: its `escalated` param)."""
    escalated = params.get("escalated")
    if not isinstance(escalated, dict):
        return None
    sep = catalog.t(lang, "list.sep")
    names, lost = escalated.get("names") or [], escalated.get("unreached") or []
    minutes = escalated.get("minutes", 0)
    # Whom the alert never reached is said so, not "did not acknowledge".
    unreached = catalog.t(lang, "notice.escalated_unreached", unreached=sep.join(map(str, lost)))
    if not names:
        if not lost:
            return None
        key = "notice.escalated_again_none" if escalated.get("again") \
            else "notice.escalated_none"
        return catalog.t(lang, key, minutes=minutes, unreached=unreached)
    # To someone paged before who has not answered either: a reminder, not "now you".
    key = "notice.escalated_again" if escalated.get("again") else "notice.escalated"
    line = catalog.t(lang, key, names=sep.join(map(str, names)), minutes=minutes)
    return f"{line}{catalog.t(lang, 'notice.escalated_also', unreached=unreached)}" \
        if lost else line


def _files_button(params: dict[str, Any], lang: str) -> list[Button]:
    """The button that sends the files into the chat ("files:E-2026-0001")."""
    if not params.get("files") or not params.get("number"):
        return []
    return [Button(catalog.t(lang, "nav.files"), f"files:{params['number']}", "action")]


def quiet(priority: int, now: datetime, zone: ZoneInfo,
          hours: tuple[time, time] | None) -> bool:
    """Whether a push goes without a sound: a routine push or a case's alert in the quiet
    hours (22:00-07:00 local by default). An emergency, and the answer to what someone
    just wrote, always sound; nothing is held back, only its sound."""
    if hours is None or priority < outbox.ALERT:
        return False
    start, end = hours
    at = now.astimezone(zone).time()
    return start <= at < end if start <= end else (at >= start or at < end)


def render(message: str, params: dict[str, Any], lang: str, zone: ZoneInfo,
           alert_id: int | None = None, secret: str | None = None, *,
           older: bool = False) -> Reply:
    """The text and buttons of a push; an alert carries its acknowledge button. A push
    held for its reader and sent late (outbox.release) says first when it was written.
    `older`: written by a version before the one running (queued before a restart)."""
    try:
        reply = _render(message, params, lang, zone, alert_id, secret)
    except KeyError:
        if not older or not catalog.has(message):
            raise  # this version's own push lacking a parameter: a bug, said loudly
        # Written before its wording changed (a parameter the new words name, which this
        # push lacks): it goes with "…" there, never stuck in the outbox being retried.
        log.warning("push %s lacks parameters its wording now asks for", message,
                    exc_info=True)
        with catalog.lenient():
            reply = _render(message, params, lang, zone, alert_id, secret)
    held = params.get(outbox.HELD_FROM)
    if isinstance(held, str):
        reply.text = f"{catalog.t(lang, 'notice.held_from', at=local_time(held, zone))}\n" \
            f"{reply.text}"
    return reply


def _render(message: str, params: dict[str, Any], lang: str, zone: ZoneInfo,
            alert_id: int | None, secret: str | None) -> Reply:
    if message == "notice.raw":
        text = str(params["text"])
        if RECEIPT_MARK in text and params.get("draft_key") and secret:
            # A receipt code is never stored: it is derived again at the moment of sending.
            text = text.replace(RECEIPT_MARK,
                                derive_receipt_code(secret, str(params["draft_key"])))
        return Reply(text, [Button(**b) for b in params.get("buttons", [])],
                     [Button(**b) for b in params.get("menu", [])])
    if message == "notice.alert_passed":
        # The alert of a case since passed on to someone else (`name`), and when: its 收到
        # gone, as its button to work on the case is (handlers/alerts.py pass_on).
        first = render(str(params["original"]), params["original_params"], lang, zone)
        line = catalog.t(lang, message, name=params["name"],
                         at=local_time(str(params["acked_at"]), zone))
        return Reply(f"{first.text}\n{line}", first.buttons)
    if message in ("notice.alert_acked", "notice.alert_taken", "notice.hotline_called_back"):
        # The alert as first shown, now acknowledged (its button gone); or acknowledged by
        # someone else, its own button still there (`alert`); or a hotline call that left
        # no report, called back (its 已回电 gone: handlers/hotline.py called_back).
        # Its other buttons (see the files) stay.
        first = render(str(params["original"]), params["original_params"], lang, zone)
        # Its reader's own line: acknowledged, or (`line`) the end of the handling recorded.
        line = catalog.t(lang, str(params.get("line") or message), name=params["name"],
                         acked_at=local_time(str(params["acked_at"]), zone))
        earlier = params.get("first")
        if isinstance(earlier, dict):  # someone else had it first: that stays said
            line = catalog.t(lang, "notice.alert_acked", name=earlier["name"],
                             acked_at=local_time(str(earlier["acked_at"]), zone)) \
                + f"\n{line}"
        if message == "notice.alert_taken" and params.get("alert"):
            # Someone has it: one's own 收到 now says one has seen it too, no more asked.
            return Reply(f"{first.text}\n{line}\n{catalog.t(lang, 'nav.ack_prompt_also')}", [
                Button(catalog.t(lang, "nav.ack"), f"ack:{params['alert']}", "action"),
                *first.buttons])
        return Reply(f"{first.text}\n{line}", first.buttons)
    if message == FILE_NOTICE:
        text = catalog.t(lang, message, **localize(
            {k: params[k] for k in ("number", "index", "total", "file")}, lang, zone))
        return FileReply(text, file={k: params.get(k) for k in (
            "kind", "channel", "file_ref", "media_id", "mime_type", "received_at", "number",
            "index", "attachment")})
    words = localize(params, lang, zone)
    if isinstance(params.get("added_files"), dict):  # the files just added, by kind
        from handlers.files import files_words

        words["added"] = files_words(params["added_files"], lang)
    text = catalog.t(lang, message, **words)
    escalated = escalated_line(params, lang)
    if escalated:
        text = f"{escalated}\n{text}"
    if params.get("added_lines"):  # an incident's reports added since its first
        more = catalog.t(lang, "notice.incident_more_title", count=params.get("added_count", 0))
        text = f"{text}\n{more}\n{lines(params['added_lines'], lang, zone)}"
    if params.get("more_lines"):  # lines a push carries below its sentence
        text = f"{text}\n{lines(params['more_lines'], lang, zone)}"
    files = _files_line(params, lang)
    if files:
        text = f"{text}\n{files}"
    buttons: list[Button] = []
    taken = params.get(outbox.TAKEN)
    if isinstance(taken, dict):  # sent late: someone else has the emergency meanwhile
        text = f"{text}\n" + catalog.t(lang, "notice.alert_taken", name=taken["name"],
                                        acked_at=local_time(str(taken["acked_at"]), zone))
    if alert_id:  # the button, and the line that asks for it: gone together once pressed
        prompt = "nav.ack_prompt_also" if isinstance(taken, dict) else "nav.ack_prompt"
        text = f"{text}\n{catalog.t(lang, prompt)}"
        buttons.append(Button(catalog.t(lang, "nav.ack"), f"ack:{alert_id}", "action"))
    if message in _STARTS:
        label, value = _STARTS[message]
        buttons.append(Button(catalog.t(lang, label), value))
    # Buttons a push carries itself: [catalog key of the label, value], e.g. a one-tap
    # answer "flow:screening?return=3&answer=zero".
    buttons += [Button(catalog.t(lang, str(label)), str(value))
                for label, value in params.get("actions") or ()]
    return Reply(text, buttons + _files_button(params, lang))
