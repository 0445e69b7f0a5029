"""How a flow is declared: named string states, typed answers, catalog keys by convention.

A step `s` of flow `f` asks `f.s.ask`, shows `f.s.label` in the review and `f.s.help` on
help. State names are strings and never renumbered, so saved conversations survive a
release that adds a step.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from conversations.answers import Kind


@dataclass(frozen=True)
class Ask:
    name: str
    kind: Kind
    optional: bool = False
    # Asked only when an earlier answer is one of these values: ("action", ("note",)).
    when: tuple[str, tuple[str, ...]] | None = None
    # Checked against the data before the next question (Directory.check): a receipt code
    # that names no case is refused at once, not after the questions that follow it.
    check: str | None = None
    # Must be answered, and "无" / "none" answers it: what has been done so far, what is
    # suggested (at 3 a.m. there may be nothing yet). Elsewhere 无 skips, or is refused.
    none_ok: bool = False
    # Words from the data shown above the question (Directory.preface): what the report
    # chosen says, so that whoever approves it reads it where the approval is asked.
    preface: str | None = None

    def applies(self, answers: dict[str, Any]) -> bool:
        """Tell whether this step is asked, given the answers so far."""
        if self.when is None:
            return True
        step, values = self.when
        return answers.get(step) in values


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[Ask, ...]
    review: bool = True
    # After this many answered steps a "send now" button submits at once (emergencies).
    send_now_after: int | None = None
    roles: tuple[str, ...] = ()  # empty: everybody
    # Photos and voice notes sent while filling it in are kept with the record.
    takes_attachments: bool = False
    # Its messages go ahead of other chats' (an emergency report: leaders wait on it).
    urgent: bool = False

    def step(self, name: str) -> Ask:
        for ask in self.steps:
            if ask.name == name:
                return ask
        raise KeyError(f"flow {self.name!r} has no step {name!r}")

    def progress(self, answers: dict[str, Any], prefilled: tuple[str, ...] | list[str],
                 current: str, offered: Mapping[str, Collection[Any]] | None = None
                 ) -> tuple[int, int]:
        """Where `current` stands, and how many questions the person may still be asked
        in all ("第2步/共5步").

        The total counts the questions already asked and those still reachable given the
        answers so far: of a question not answered yet that others hang on (an action, a
        kind), the answer that leads to the most questions; of those answers, only the
        ones it offers now where that is known (`offered`: its options from the data, as
        what may be done to the case chosen). So it never grows as the person goes
        forward ("共5步" is not followed by "共7步"); it comes down when an answer leaves
        a branch out (a case chosen, not a receipt code to type). A step filled in by a
        button is not counted. The last question reads n/n."""
        counted = [a for a in self.steps if a.name not in prefilled or a.name == current]
        reached = max((self._asked(counted, {**answers, **pick})
                       for pick in self._picks(counted, answers, offered or {})), key=len)
        return reached.index(current) + 1, len(reached)

    @staticmethod
    def _asked(steps: list[Ask], answers: dict[str, Any]) -> list[str]:
        """The steps asked given `answers`; one hanging on a step not asked is not (a
        step filled in by a button, not among `steps`, counts by its answer)."""
        names = {a.name for a in steps}
        asked: list[str] = []
        for a in steps:
            if a.when is None or (a.applies(answers)
                                  and (a.when[0] in asked or a.when[0] not in names)):
                asked.append(a.name)
        return asked

    @staticmethod
    def _picks(steps: list[Ask], answers: dict[str, Any],
               offered: Mapping[str, Collection[Any]]) -> list[dict[str, Any]]:
        """Every way of answering the questions still to come that others hang on, by
        the values their `when` names (and None: an answer that opens nothing); of a
        question whose options are `offered`, by those only."""
        open_: dict[str, set[Any]] = {}
        for a in steps:
            if a.when is not None and a.when[0] not in answers:
                open_.setdefault(a.when[0], {None}).update(a.when[1])
        for name, values in open_.items():
            if offered.get(name):
                values.intersection_update(
                    {v if v in values else None for v in offered[name]})
        picks: list[dict[str, Any]] = [{}]
        for name, values in open_.items():
            picks = [{**p, name: v} for p in picks for v in values]
        return picks


@dataclass(frozen=True)
class MenuItem:
    value: str  # "flow:<name>", "flow:<name>@workshop", "query:<name>" or "cmd:<name>"
    label: str  # catalog key
    roles: tuple[str, ...] = ()
    # Not listed: reached only through the button of a push (answering an invitation).
    hidden: bool = False


class Directory(Protocol):
    """Run-time options a flow needs (duty slots, workshops, a person's bookings)."""

    def options(self, source: str, lang: str, given: str | None = None
                ) -> list[tuple[str, str]]:
        """Return (value, label) pairs for a choice whose options come from data; `given`
        is the earlier answer they depend on (Choice.given), else None."""
        ...

    # Optional: `label(source, lang, value) -> str | None`, the words of a value the source
    # no longer offers (an answer given before the case changed), for the review screen.
    # Optional: `option(source, lang, value) -> str | None`, the words of a value the
    # source has beyond the options it shows (a list cut at a screen's length), so that a
    # push's button for it still chooses it.
    # Optional: `option_day(source, value) -> date | None`, the day of an option of a
    # Choice(dated=True) (a reception), so that a typed day chooses it.
    # Optional: `day_over(source, day) -> bool`, whether that source had an option on `day`
    # that is over now (today's reception ended), so that a day typed for it is told so.
    # Optional: `slots_on(source, day) -> list[str]`, the values of such options on `day`,
    # also those past the ones `options` shows (a list cut at a screen's length): a later
    # day typed finds its own; their words come from `option`.
    # Optional: `slots_of(source, typed) -> tuple[str, list[str]] | None`, the leader whose
    # name a typed text says and the values of their options of that source (also those
    # past the ones `options` shows), so that a leader's name typed chooses among them.
    # Optional: `slot_brief(source, lang, value) -> str | None`, such an option in a few
    # words (its day, hours, leader and place), as a typed answer that chose it is told.
    # Optional: `option_button(source, lang, value) -> str | None`, the words on the button
    # of an option whose own words are longer than a phone shows on one (a reception: its
    # day, start and leader; a visit booked with a leader: its day, start and visitor),
    # else None: the button carries the option's words, as do options whose short words
    # would be alike. The list of a channel without buttons (WeChat) shows the same words.
    # Optional: `place_in(words) -> str | None`, the place a report's words name ("铸造车间
    # 门口有人聚集": "铸造车间门口"), offered as a one-tap answer where it asks where.
    # Optional: `options_note(source, lang, values) -> str | None`, what those buttons
    # leave out, said once under the question for the options shown (`values`): of
    # receptions, their hours, place and form, and the leaders' posts and portfolios; of
    # visits and invitations, what each is about.
    # Optional: `option_hours(source, value) -> tuple[time, time] | None`, when such an option
    # begins and ends, so that a part of the day ("周三下午", "明晚") or a time of day
    # ("周四下午两点", "Thu 2pm") typed with the day chooses the one in it, or under way then.
    # Optional: `check(name, lang, value, answers) -> tuple[str, dict] | None`, why an
    # answer to a step with `check=name`, given the answers before it, cannot be taken (a
    # catalog key and its parameters), else None.
    # Optional: `preface(name, lang, answers) -> str | None`, the words shown above the
    # question of a step with `preface=name`, given the answers so far (the report chosen,
    # as it reads), else None: the question is asked alone.


@dataclass(frozen=True)
class Submission:
    flow: str
    answers: dict[str, Any]
    draft_id: str
    lang: str
    prefilled: tuple[str, ...] = ()
    attachments: tuple[dict[str, Any], ...] = ()
    # When the last message that shaped it came (ISO), for a report sent by the silence
    # after it: the workroom had it from then, not from the sweep that sent it.
    received_at: str | None = None


@dataclass(frozen=True)
class Query:
    name: str


@dataclass(frozen=True)
class Acknowledge:
    alert_id: int  # PENDING: the one alert waiting for the person's 收到, if only one
    # Typed with it ("收到 2", "ack E-2026-0002"): which of the person's own waiting
    # alerts: its number in the list, its record's number, or the alert's id.
    named: str | None = None


PENDING = 0


@dataclass(frozen=True)
class OpenFiles:
    """A record's photos and voice notes asked for (its number), to be sent to the chat."""

    number: str


@dataclass(frozen=True)
class AddFiles:
    """Photos or voice notes sent just after a report was sent: they join that record (the
    draft it was filed from) rather than being turned away."""

    flow: str
    draft_id: str
    items: tuple[dict[str, Any], ...]
    caption: str | None = None  # the words sent with them ("this is the pipe")


@dataclass(frozen=True)
class CalledBack:
    """"已回电" pressed under the staff's push about a hotline call that left no report."""

    call_id: int


Effect = Submission | Query | Acknowledge | OpenFiles | AddFiles | CalledBack


# A Result's param: the id of a report added to an emergency of its workshop, whose
# reporter (or the staff member who filed it for a caller) is offered in that answer, not
# in a push of its own, to file it apart (handlers/grouping.offers_apart).
APART = "apart"


@dataclass(frozen=True)
class Result:
    """What a handler says back: a catalog message, or a refusal that sends the user back."""

    message: str
    params: dict[str, Any]
    back_to: str | None = None  # step to re-ask when the handler refused the answer
