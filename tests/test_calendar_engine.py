"""Buttons of pushes that start a flow with answers given (flow:<name>?step=value), and the
message catalogs' own consistency."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conversations import catalog
from conversations.engine import REVIEW, Context, Engine, State
from conversations.flow import Result, Submission

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
LOCALES = Path(__file__).resolve().parent.parent / "conversations" / "locales"


class Returns:
    """One open screening return (id 3) and one warning (id 9)."""

    def options(self, source: str, lang: str) -> list[tuple[str, str]]:
        return {"my_returns": [("3", "机加工车间 2026-11 · 未报")],
                "open_warnings": [("9", "D-2026-0001")]}.get(source, [])


def ctx(role: str = "liaison") -> Context:
    return Context(now=NOW, role=role, directory=Returns())


def start(action: str, role: str = "liaison") -> tuple[Engine, object]:
    engine = Engine()
    raw = State(updated_at=NOW.isoformat()).to_dict()
    return engine, engine.step(raw, text=None, action=action, ctx=ctx(role))


def test_a_button_that_answers_everything_submits_at_once() -> None:
    _, out = start("flow:screening?return=3&answer=zero")
    assert isinstance(out.effect, Submission)  # type: ignore[attr-defined]
    assert out.effect.answers == {"return": "3", "answer": "zero"}  # type: ignore[attr-defined]


def test_a_button_that_answers_some_steps_asks_the_rest() -> None:
    _, out = start("flow:screening?return=3&answer=dispute")
    state = out.state  # type: ignore[attr-defined]
    assert (state.step, state.prefilled) == ("what", ["return", "answer"])
    assert catalog.t("zh", "screening.what.ask") in out.replies[-1].text  # type: ignore[attr-defined]


def test_a_given_answer_that_is_not_an_option_is_asked_instead() -> None:
    _, out = start("flow:screening?return=77&answer=zero")
    state = out.state  # type: ignore[attr-defined]
    assert state.step == "return" and state.answers == {"answer": "zero"}


def test_a_button_for_a_flow_not_on_the_menu_starts_nothing() -> None:
    _, out = start("flow:warning_action?warning=9&action=case", role="employee")
    assert out.state.flow is None  # type: ignore[attr-defined]
    assert catalog.t("zh", "menu.unknown") in out.replies[0].text  # type: ignore[attr-defined]


def test_a_refused_given_answer_is_then_asked() -> None:
    """Regression: the handler sending the user back to a step a button had answered
    crashed the engine (the step was neither asked nor answerable)."""
    engine, out = start("flow:screening?return=3&answer=zero")
    back = engine.finish(out.state.to_dict(),  # type: ignore[attr-defined]
                         Result("screening.has_disputes", {"workshop": "机加工车间",
                                                            "month": "2026-11"},
                                back_to="answer"), ctx())
    assert back.state.step == "answer" and "answer" not in back.state.prefilled
    assert catalog.t("zh", "screening.answer.ask") in back.replies[-1].text
    done = engine.step(back.state.to_dict(), text="1", action=None, ctx=ctx())
    assert done.state.step == "what"  # a dispute now


def test_the_review_of_a_partly_given_flow_shows_every_answer() -> None:
    engine, out = start("flow:warning_action?warning=9", role="staff")
    out = engine.step(out.state.to_dict(), text="1", action=None,  # type: ignore[attr-defined]
                      ctx=ctx("staff"))
    assert out.state.step == REVIEW
    assert "D-2026-0001" in out.replies[-1].text


def test_no_key_is_written_twice_in_a_catalog_file() -> None:
    """Regression: a second notice.report_late silently replaced the emergency's one."""
    for path in LOCALES.glob("*.yaml"):
        keys = re.findall(r"^([a-z_][a-z0-9_.]*):", path.read_text(encoding="utf-8"), re.M)
        assert sorted({k for k in keys if keys.count(k) > 1}) == [], path.name


class NoReceptions:
    """Open cases, leaders and workshops, but no published reception to invite to."""

    def options(self, source: str, lang: str) -> list[tuple[str, str]]:
        return {"invite_cases": [("5", "C-2026-0001 工资福利")],
                "duty_leaders": [("2", "赵国强（总经理）")],
                "workshops": [("casting", "铸造车间")],
                "my_invitations": [("3", "C-2026-0001 · 11-25 赵国强")]}.get(source, [])


def staff_ctx() -> Context:
    return Context(now=NOW, role="staff", directory=NoReceptions())


def test_a_choice_that_is_not_asked_does_not_stop_the_flow() -> None:
    """Regression: with no published reception the staff could not even schedule a visit
    to the site, which asks for none (the flow was refused as "no open case")."""
    engine = Engine()
    raw = State(updated_at=NOW.isoformat()).to_dict()
    out = engine.step(raw, text=None, action="flow:invite", ctx=staff_ctx())
    assert out.state.flow == "invite" and out.state.step == "kind"
    out = engine.step(out.state.to_dict(), text="opt:onsite", action=None, ctx=staff_ctx())
    out = engine.step(out.state.to_dict(), text="1", action=None, ctx=staff_ctx())
    assert out.state.step == "leader"
    assert catalog.t("zh", "invite.leader.ask") in out.replies[-1].text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_choice_about_to_be_asked_with_nothing_to_offer_is_explained(lang: str) -> None:
    engine = Engine()
    raw = State(lang=lang, updated_at=NOW.isoformat()).to_dict()
    out = engine.step(raw, text=None, action="flow:invite", ctx=staff_ctx())
    out = engine.step(out.state.to_dict(), text="opt:invited", action=None, ctx=staff_ctx())
    out = engine.step(out.state.to_dict(), text="1", action=None, ctx=staff_ctx())
    # No reception to invite to: said so, and the kind is asked again; the case is kept.
    assert out.replies[0].text == catalog.t(lang, "invite.slot.empty")
    assert out.state.step == "kind" and out.state.answers == {"case": "5"}
    assert catalog.t(lang, "invite.kind.ask") in out.replies[-1].text
    out = engine.step(out.state.to_dict(), text="opt:onsite", action=None, ctx=staff_ctx())
    assert out.state.step == "leader"


def test_a_button_whose_given_answer_needs_an_empty_choice_is_answered_at_once() -> None:
    engine = Engine()
    raw = State(updated_at=NOW.isoformat()).to_dict()
    employee = Context(now=NOW, role="employee", directory=NoReceptions())
    out = engine.step(raw, text=None, action="flow:invitation?invite=3&answer=other",
                      ctx=employee)
    assert out.state.flow is None
    assert out.replies[0].text == catalog.t("zh", "invitation.slot.empty")
    out = engine.step(raw, text=None, action="flow:invitation?invite=3&answer=accept",
                      ctx=employee)
    assert isinstance(out.effect, Submission)  # accepting needs no other time
