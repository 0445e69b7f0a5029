"""Flow diagrams drawn from the declarations, and the `workroom flows` command."""

from __future__ import annotations

from itertools import pairwise

import pytest
from typer.testing import CliRunner

from bot.cli import app
from conversations.diagram import mermaid
from conversations.engine import REVIEW
from conversations.flow import Flow
from conversations.flows import FLOWS

ALL = list(FLOWS.values())
IDS = list(FLOWS)


def edges(diagram: str) -> set[str]:
    return {line.strip() for line in diagram.splitlines()}


@pytest.mark.parametrize("flow", ALL, ids=IDS)
def test_diagram_starts_at_the_first_step_and_has_every_step(flow: Flow) -> None:
    drawn = mermaid(flow)
    assert drawn.startswith("stateDiagram-v2")
    assert f"[*] --> {flow.steps[0].name}" in edges(drawn)
    for ask in flow.steps:
        assert any(e.startswith(f"{ask.name} --> ") for e in edges(drawn)), ask.name
        assert f"{ask.name} --> cancelled: cancel" in edges(drawn)
        assert f"{ask.name} --> {ask.name}: invalid / help" in edges(drawn)


@pytest.mark.parametrize("flow", ALL, ids=IDS)
def test_diagram_answers_lead_from_step_to_step_and_to_the_end(flow: Flow) -> None:
    names = [a.name for a in flow.steps]
    ends = [*names[1:], REVIEW if flow.review else "submitted"]
    for here, there in zip(names, ends, strict=True):
        assert f"{here} --> {there}: answer" in edges(mermaid(flow))


@pytest.mark.parametrize("flow", ALL, ids=IDS)
def test_diagram_has_a_back_edge_from_every_step_but_the_first(flow: Flow) -> None:
    drawn = edges(mermaid(flow))
    names = [a.name for a in flow.steps]
    for earlier, later in pairwise(names):
        assert f"{later} --> {earlier}: back" in drawn
    assert not any(e.startswith(f"{names[0]} --> ") and e.endswith(": back") for e in drawn)


@pytest.mark.parametrize("flow", ALL, ids=IDS)
def test_diagram_has_skip_edges_exactly_for_optional_steps(flow: Flow) -> None:
    skips = {e.split(" --> ")[0] for e in edges(mermaid(flow)) if e.endswith(": skip")}
    assert skips == {a.name for a in flow.steps if a.optional}


def test_a_choice_whose_options_depend_on_an_answer_goes_back_to_it_when_empty() -> None:
    drawn = edges(mermaid(FLOWS["case_action"]))
    assert "note right of action: options depend on case" in drawn
    assert "action --> case: nothing to choose" in drawn


def test_emergency_diagram_sends_now_only_after_the_first_two_answers() -> None:
    drawn = edges(mermaid(FLOWS["emergency"]))
    senders = {e.split(" --> ")[0] for e in drawn if e.endswith(": send now")}
    assert senders == {"people", "measures", "suggestion"}
    assert "people --> submitted: send now" in drawn
    assert "what --> submitted: send now" not in drawn
    assert "place --> submitted: send now" not in drawn


@pytest.mark.parametrize("flow", [f for f in ALL if f.send_now_after is None],
                         ids=[f.name for f in ALL if f.send_now_after is None])
def test_flows_without_send_now_draw_none(flow: Flow) -> None:
    assert "send now" not in mermaid(flow)


@pytest.mark.parametrize("flow", [f for f in ALL if f.review],
                         ids=[f.name for f in ALL if f.review])
def test_review_flows_confirm_go_back_and_cancel_from_the_review(flow: Flow) -> None:
    drawn = edges(mermaid(flow))
    assert f"{REVIEW} --> submitted: confirm" in drawn
    assert f"{REVIEW} --> {flow.steps[-1].name}: back" in drawn
    assert f"{REVIEW} --> cancelled: cancel" in drawn


def test_emergency_has_no_review_in_its_diagram() -> None:
    assert REVIEW not in mermaid(FLOWS["emergency"])


def test_cli_prints_one_mermaid_diagram_per_flow() -> None:
    result = CliRunner().invoke(app, ["flows", "--mermaid"])
    assert result.exit_code == 0, result.output
    assert result.output.count("```mermaid") == len(FLOWS)
    for flow in ALL:
        assert f"%% flow: {flow.name}" in result.output
        assert mermaid(flow) in result.output


def test_cli_lists_the_flow_names() -> None:
    result = CliRunner().invoke(app, ["flows", "--list"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == list(FLOWS)


def test_a_step_asked_only_after_some_answer_is_drawn_with_its_condition() -> None:
    drawn = edges(mermaid(FLOWS["rate"]))
    assert "note right of code: asked only when case is code" in drawn
    assert "case --> rating: answer (case not code)" in drawn  # the step is passed by
