"""The step counter "（n/total）" before each question: n goes up by one a question asked,
and the total is what will be asked given the answers so far. A step asked only after a
certain answer counts once that answer is given, so going forward the total never goes
down: it grows, right after such an answer, by the questions that answer opens."""

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
def test_the_counter_of_every_flow_counts_up_and_its_total_never_goes_down(
        flow: Flow, lang: str) -> None:
    for choose in _branches(flow):
        asked, out = _walk(flow, lang, choose)
        steps = [step for step, _, _ in asked]
        assert steps == [a.name for a in flow.steps if a.applies(out.state.answers)]
        assert [n for _, n, _ in asked] == list(range(1, len(asked) + 1))
        # The last question says how many there were.
        assert asked[-1][2] == len(asked)
        for (before, _, was), (_, _, now) in itertools.pairwise(asked):
            opened = [a.name for a in flow.steps
                      if a.when is not None and a.when[0] == before
                      and a.applies(out.state.answers)]
            # Unchanged, or grown by exactly what the answer just given opened.
            assert now - was == len(opened), (flow.name, choose, asked)


@pytest.mark.parametrize("lang", catalog.LANGS)
def test_a_named_complainant_rating_a_reply_is_asked_two_of_two(lang: str) -> None:
    """Choosing one's own case: "（1/2） which case?", "（2/2） your rating", not "（1/3）"
    then "（2/2）"; typing a receipt code instead adds its question."""
    rate = FLOWS["rate"]
    out = _start(lang, "flow:rate")
    assert out.replies[-1].text == t(lang, "flow.progress", n=1, total=2) + " " \
        + t(lang, "rate.case.ask")
    chosen = _answer(out, "1")  # the case of their own
    assert chosen.replies[-1].text == t(lang, "flow.progress", n=2, total=2) + " " \
        + t(lang, "rate.rating.ask")
    asked, _ = _walk(rate, lang, {"case": "2"})  # 凭回执码 / by receipt code
    assert [(step, n, total) for step, n, total in asked] == [
        ("case", 1, 2), ("code", 2, 3), ("rating", 3, 3)]


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
    assert out.replies[-1].text == t(lang, "flow.progress", n=1, total=5) + " " \
        + t(lang, "file_for_caller.kind.ask")
    incident = _answer(out, t(lang, "opt.caller_kind.incident"))
    assert incident.replies[-1].text == t(lang, "flow.progress", n=2, total=5) + " " \
        + t(lang, "file_for_caller.phone.ask")
    asked, _ = _walk(flow, lang, {"kind": t(lang, "opt.caller_kind.complaint")})
    assert [(n, total) for _, n, total in asked] == [(1, 5), (2, 6), (3, 6), (4, 6), (5, 6),
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
    assert asked == [("action", 1, 1), ("note", 2, 2)]
