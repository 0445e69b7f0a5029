"""The step counter "第n步/共m步" before each question: n goes up by one a question asked,
and the total is what may still be asked given the answers so far: of an answer still to
come that opens questions, the one that opens the most. So going forward the total never
grows (a worker shown 共5步 is never shown 共7步); it comes down when an answer leaves a
branch out, and the last question reads n/n."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from conversations import catalog
from conversations.catalog import t
from conversations.engine import REVIEW, Context, Engine, Outcome, State
from conversations.flow import Flow
from conversations.flows import FLOWS
from tests.test_catalog import OneOption, _branches, _valid

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


_seconds = itertools.count()


ROLE = {"letter": "employee"}  # the workers' own; the director's menu holds the others


def _ctx(role: str = "director") -> Context:
    # Ten seconds an answer: the same words twice in a row are two answers, not the
    # phone sending one twice (Engine's SENT_TWICE).
    return Context(now=NOW + timedelta(seconds=10 * next(_seconds)), role=role,
                   directory=OneOption())


def _start(lang: str, action: str) -> Outcome:
    return Engine().step(State(lang=lang, updated_at=NOW.isoformat()).to_dict(), text=None,
                         action=action,
                         ctx=_ctx(ROLE.get(action.removeprefix("flow:").partition("?")[0],
                                           "director")))


def _answer(out: Outcome, text: str) -> Outcome:
    return Engine().step(out.state.to_dict(), text=text, action=None,
                         ctx=_ctx(ROLE.get(out.state.flow or "", "director")))


def _counter(lang: str, text: str) -> tuple[int, int]:
    """The (n, total) a question opens with."""
    header = re.escape(t(lang, "flow.progress", n=111, total=222))
    pattern = header.replace("111", r"(\d+)").replace("222", r"(\d+)")
    found = re.match(pattern, text)
    assert found, text
    return int(found.group(1)), int(found.group(2))


def _question(lang: str, flow: Flow, out: Outcome) -> tuple[str, int, int]:
    step = out.state.step or ""
    text = out.replies[-1].text
    assert text.endswith(t(lang, f"{flow.name}.{step}.ask")), text
    return (step, *_counter(lang, text))


def _walk(flow: Flow, lang: str, choose: dict[str, str], action: str | None = None
          ) -> tuple[list[tuple[str, int, int]], Outcome]:
    """Every question of one walk through `flow`: its step and counter."""
    out = _start(lang, action or f"flow:{flow.name}")
    asked = []
    while out.state.flow and out.state.step not in (None, REVIEW):
        asked.append(_question(lang, flow, out))
        step = out.state.step or ""
        out = _answer(out, choose.get(step, _valid(flow.step(step))))
    return asked, out


@pytest.mark.parametrize("lang", catalog.LANGS)
@pytest.mark.parametrize("flow", list(FLOWS.values()), ids=list(FLOWS))
def test_the_counter_of_every_flow_counts_up_and_its_total_never_grows(
        flow: Flow, lang: str) -> None:
    for choose in _branches(flow):
        asked, out = _walk(flow, lang, choose)
        steps = [step for step, _, _ in asked]
        assert steps == [a.name for a in flow.steps if a.applies(out.state.answers)]
        assert [n for _, n, _ in asked] == list(range(1, len(asked) + 1))
        # The last question says how many there were, unless its answer could have led
        # to more (it counts them: "2/9", then the review).
        last = asked[-1][0]
        if not any(a.when is not None and a.when[0] == last for a in flow.steps):
            assert asked[-1][2] == len(asked)
        for (before, _, was), (_, _, now) in itertools.pairwise(asked):
            # Unchanged, or come down after an answer that left questions out.
            assert now <= was, (flow.name, choose, asked)
            if now < was:
                assert any(a.when is not None and a.when[0] == before for a in flow.steps), \
                    (flow.name, choose, asked)


@pytest.mark.parametrize("lang", catalog.LANGS)
def test_a_named_complainant_rating_a_reply_is_asked_two_of_two(lang: str) -> None:
    """"（1/3） which case?" (by receipt code, there is the code to type too), then, one's
    own case chosen, "（2/2） your rating"; by receipt code "（2/3）", "（3/3）". Before, it
    was "（1/2）" then "（2/3）": a total that grew."""
    rate = FLOWS["rate"]
    out = _start(lang, "flow:rate")
    assert out.replies[-1].text == t(lang, "flow.progress", n=1, total=3) + " " \
        + t(lang, "rate.case.ask")
    chosen = _answer(out, "1")  # the case of their own
    assert chosen.replies[-1].text == t(lang, "flow.progress", n=2, total=2) + " " \
        + t(lang, "rate.rating.ask")
    asked, _ = _walk(rate, lang, {"case": "2"})  # 凭回执码 / by receipt code
    assert [(step, n, total) for step, n, total in asked] == [
        ("case", 1, 3), ("code", 2, 3), ("rating", 3, 3)]


@pytest.mark.parametrize("lang", catalog.LANGS)
def test_a_receipt_code_typed_at_which_case_counts_on_by_one(lang: str) -> None:
    """The code typed straight at "which case?" answers the code's question unasked: the
    rating is "（2/2）", not "（3/3）" after "（1/2）"."""
    out = _start(lang, "flow:rate")
    typed = _answer(out, "K7M3P-Q8R2T")
    assert typed.state.answers["case"] == "code"
    assert typed.replies[-1].text == t(lang, "flow.progress", n=2, total=2) + " " \
        + t(lang, "rate.rating.ask")


@pytest.mark.parametrize("lang", catalog.LANGS)
def test_filing_for_a_caller_counts_the_category_only_for_a_complaint(lang: str) -> None:
    flow = FLOWS["file_for_caller"]
    out = _start(lang, "flow:file_for_caller")
    assert out.replies[-1].text == t(lang, "flow.progress", n=1, total=6) + " " \
        + t(lang, "file_for_caller.kind.ask")
    incident = _answer(out, t(lang, "opt.caller_kind.incident"))
    assert incident.replies[-1].text == t(lang, "flow.progress", n=2, total=5) + " " \
        + t(lang, "file_for_caller.phone.ask")
    asked, _ = _walk(flow, lang, {"kind": t(lang, "opt.caller_kind.complaint")})
    assert [(n, total) for _, n, total in asked] == [(1, 6), (2, 6), (3, 6), (4, 6), (5, 6),
                                                     (6, 6)]


@pytest.mark.parametrize("lang", catalog.LANGS)
def test_an_answer_given_by_a_button_is_not_counted(lang: str) -> None:
    """A push's button that chooses the case: the rating is the one question, "（1/1）";
    the case's actions are asked from "（1/1）", then what the action needs, "（2/2）"."""
    out = _start(lang, "flow:rate?case=7")
    assert out.replies[-1].text == t(lang, "flow.progress", n=1, total=1) + " " \
        + t(lang, "rate.rating.ask")
    asked, _ = _walk(FLOWS["case_action"], lang, {"action": "1"},
                     action="flow:case_action?case=7")
    assert asked == [("action", 1, 5), ("note", 2, 2)]  # 包案 (five_fix) asks 4 more


@pytest.mark.parametrize("lang", catalog.LANGS)
def test_a_total_once_shown_never_grows_in_the_longest_walk(lang: str) -> None:
    """An emergency reads "（n/5）" and a complaint "（n/8）" throughout. A leader choosing
    包案 (five fixes) at "what to do with the case?" read "（1/1）" and then "（2/5）": now
    "（1/5）", and the total stays 5 to the end."""
    for name, action, total in (("emergency", None, 5), ("complaint", None, 8),
                                ("case_action", "flow:case_action?case=7", 5)):
        flow = FLOWS[name]
        walks = [_walk(flow, lang, choose, action=action)[0] for choose in _branches(flow)]
        longest = max(walks, key=len)
        assert [(n, m) for _, n, m in longest] == [(n, total) for n in range(1, total + 1)], \
            (name, longest)
