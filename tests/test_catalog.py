"""The message catalogs: both languages say the same things, and every flow finds its words."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conversations import catalog
from conversations.answers import Choice, DateAnswer, Number, Phone, Text, YesNo
from conversations.calendar_flows import REPORT_ACTIONS
from conversations.engine import REVIEW, Context, Engine, Outcome, State
from conversations.flow import Ask, Flow, Submission
from conversations.flows import (
    CASE_ACTIONS,
    COMPLAINT_CATEGORIES,
    FLOWS,
    MENU,
    SUGGESTION_TOPICS,
)
from handlers.queries import OPEN

LANGS = catalog.LANGS
ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


class OneOption:
    """A directory that offers one option for every run-time source, and every action
    on a case (so that each action's steps are walked)."""

    def options(self, source: str, lang: str, given: str | None = None
                ) -> list[tuple[str, str]]:
        if source == "case_actions":
            return [(a, catalog.t(lang, f"opt.case_action.{a}")) for a in CASE_ACTIONS]
        if source == "report_actions":
            return [(a, catalog.t(lang, f"opt.report_action.{a}")) for a in REPORT_ACTIONS]
        return [("7", f"{source} option")]


def keys_of(flow: Flow) -> list[str]:
    """Every catalog key a flow uses by convention."""
    keys = [f"{flow.name}.title", f"{flow.name}.intro"]
    for ask in flow.steps:
        keys += [f"{flow.name}.{ask.name}.{part}" for part in ("ask", "label", "help")]
        if isinstance(ask.kind, Choice):
            keys += [o.label for o in ask.kind.options]
            if not ask.kind.options:  # only run-time options: it may have none
                keys.append(f"{flow.name}.empty")
    return keys


# --- both catalogs alike ---------------------------------------------------------------


def test_both_catalogs_have_the_same_keys() -> None:
    zh, en = set(catalog.load("zh")), set(catalog.load("en"))
    assert sorted(zh - en) == []
    assert sorted(en - zh) == []


def test_each_message_has_the_same_placeholders_in_both_languages() -> None:
    zh, en = catalog.load("zh"), catalog.load("en")
    differ = {k: (sorted(catalog.placeholders(zh[k])), sorted(catalog.placeholders(en[k])))
              for k in zh.keys() & en.keys()
              if catalog.placeholders(zh[k]) != catalog.placeholders(en[k])}
    assert differ == {}
    assert catalog.placeholders(zh["complaint.done_anonymous"]) == {"number", "due_on", "days",
                                                                   "code"}


@pytest.mark.parametrize("lang", LANGS)
def test_no_message_is_empty(lang: str) -> None:
    assert [k for k, v in catalog.load(lang).items() if not v.strip()] == []


def test_a_missing_placeholder_parameter_is_an_error_not_a_blank() -> None:
    with pytest.raises(KeyError):
        catalog.t("zh", "suggestion.done")


# --- every key the code refers to ------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("flow", list(FLOWS.values()), ids=list(FLOWS))
def test_every_key_of_every_flow_step_exists(flow: Flow, lang: str) -> None:
    missing = [k for k in keys_of(flow) if k not in catalog.load(lang)]
    assert missing == []


@pytest.mark.parametrize("lang", LANGS)
def test_menu_navigation_and_option_labels_exist(lang: str) -> None:
    needed = [m.label for m in MENU]
    needed += [f"nav.{n}" for n in ("back", "cancel", "help", "skip", "send_now", "confirm",
                                    "ack")]
    needed += [f"opt.topic.{v}" for v in SUGGESTION_TOPICS]
    needed += [f"opt.category.{v}" for v in COMPLAINT_CATEGORIES]
    needed += [f"opt.case_action.{v}" for v in CASE_ACTIONS]
    needed += [f"opt.report_action.{v}" for v in REPORT_ACTIONS]
    needed += [f"status.{s}" for s in (*OPEN, "closed")]
    needed += [f"weekday.{d}" for d in range(7)]
    needed += [f"form.{f}" for f in ("fixed", "invited", "topic", "onsite")]
    assert [k for k in needed if k not in catalog.load(lang)] == []


def _literal_keys() -> set[str]:
    """Catalog keys written as literals in the handlers and the engine."""
    found: set[str] = set()
    for path in [*(ROOT / "handlers").glob("*.py"), ROOT / "conversations" / "engine.py"]:
        source = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'Result\(\s*"([a-z_.]+)"', source))
        found |= set(re.findall(r'"((?:notice|ack|query|invalid|flow|review|timeout|menu|'
                                r'lang|help|person|emergency|receipt|booking|complaint|'
                                r'suggestion|cancel_booking)\.[a-z_.]+)"', source))
    return found


def test_the_literal_key_scan_finds_the_handlers_messages() -> None:
    keys = _literal_keys()
    assert {"ack.done", "booking.already", "notice.incident", "complaint.done_anonymous",
            "invalid.not_optional"} <= keys


@pytest.mark.parametrize("lang", LANGS)
def test_every_literal_key_in_handlers_and_engine_exists(lang: str) -> None:
    # "notice.raw" is rendered from its stored text, not from the catalog.
    missing = sorted(k for k in _literal_keys() - {"notice.raw"}
                     if k not in catalog.load(lang))
    assert missing == []


# --- every flow renders its questions, help and review in both languages ---------------


def _valid(ask: Ask) -> str:
    kind = ask.kind
    if isinstance(kind, Choice):
        return "1"
    if isinstance(kind, Phone):
        return "138 0000 0000"
    if isinstance(kind, Text):
        return "写" * max(kind.min_len, 2)
    if isinstance(kind, Number):
        return str(max(kind.min_value, 1))
    if isinstance(kind, DateAnswer):
        return "2026-10-01"
    if isinstance(kind, YesNo):
        return "是"
    raise AssertionError(f"no sample answer for {kind!r}")


_seconds = itertools.count()


def _ctx(role: str = "director") -> Context:
    # The director's menu holds every flow but the workers' own (the letter to a leader).
    # Ten seconds an answer: the same words twice in a row are two answers, not one sent
    # twice.
    return Context(now=NOW + timedelta(seconds=10 * next(_seconds)), role=role,
                   directory=OneOption())


def _role(flow: Flow) -> str:
    """Who may start the flow: the director, else an employee."""
    from conversations.flows import reachable

    mine = {m.value.partition("@")[0] for m in reachable("director")}
    return "director" if f"flow:{flow.name}" in mine else "employee"


def _branches(flow: Flow) -> list[dict[str, str]]:
    """One walk per option of a step that other steps depend on (`when`), else one walk."""
    deciding = {ask.when[0] for ask in flow.steps if ask.when is not None}
    walks: list[dict[str, str]] = [{}]
    for name in deciding:
        kind = flow.step(name).kind
        assert isinstance(kind, Choice)
        count = len(kind.options) + (len(OneOption().options(kind.source, "zh", "7"))
                                     if kind.source else 0)
        walks = [{**w, name: str(i)} for w in walks for i in range(1, count + 1)]
    return walks


def _walk(engine: Engine, flow: Flow, lang: str, choose: dict[str, str] | None = None
          ) -> tuple[Outcome, list[tuple[str, Outcome]]]:
    """Start `flow`, ask for help at each step and answer it; return the last outcome."""
    choose = choose or {}
    role = _role(flow)
    ctx = _ctx(role)
    out = engine.step(State(lang=lang, updated_at=NOW.isoformat()).to_dict(), text=None,
                      action=f"flow:{flow.name}", ctx=ctx)
    helps = []
    while out.state.flow and out.state.step not in (None, REVIEW):
        step = out.state.step or ""
        helps.append((step, engine.step(out.state.to_dict(), text=None, action="cmd:help",
                                        ctx=ctx)))
        ctx = _ctx(role)
        out = engine.step(out.state.to_dict(), text=choose.get(step, _valid(flow.step(step))),
                          action=None, ctx=ctx)
    return out, helps


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("flow", list(FLOWS.values()), ids=list(FLOWS))
def test_every_step_help_renders(flow: Flow, lang: str) -> None:
    asked: set[str] = set()
    for choose in _branches(flow):
        out, helps = _walk(Engine(), flow, lang, choose)
        assert [step for step, _ in helps] == [a.name for a in flow.steps
                                               if a.applies(out.state.answers)]
        asked |= {step for step, _ in helps}
        _check_helps(flow, lang, helps)
    assert asked == {a.name for a in flow.steps}  # every branch was walked


def _check_helps(flow: Flow, lang: str, helps: list[tuple[str, Outcome]]) -> None:
    for step, out in helps:
        text = "\n".join(r.text for r in out.replies)
        assert catalog.t(lang, f"{flow.name}.{step}.help") in text
        assert catalog.t(lang, "help.commands") in text
        assert catalog.t(lang, f"{flow.name}.{step}.ask") in text  # and it asks again


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("flow", [f for f in FLOWS.values() if f.review],
                         ids=[n for n, f in FLOWS.items() if f.review])
def test_every_review_renders_every_answer_and_its_help(flow: Flow, lang: str) -> None:
    for choose in _branches(flow):
        _check_review(flow, lang, choose)


def _check_review(flow: Flow, lang: str, choose: dict[str, str]) -> None:
    engine = Engine()
    out, _ = _walk(engine, flow, lang, choose)
    asked = [a for a in flow.steps if a.applies(out.state.answers)]
    assert out.state.step == REVIEW
    review = out.replies[-1].text

    def own(key: str) -> str:  # a flow's own words for its review, else the general ones
        return catalog.t(lang, f"{flow.name}.{key}" if catalog.has(f"{flow.name}.{key}")
                         else key)

    assert review.startswith(catalog.t(lang, "review.title"))
    assert review.endswith(own("review.confirm"))
    for ask in asked:
        assert f"• {catalog.t(lang, f'{flow.name}.{ask.name}.label')}" in review
    assert out.replies[-1].buttons[0].label == own("nav.confirm")
    helped = engine.step(out.state.to_dict(), text=None, action="cmd:help",
                         ctx=_ctx(_role(flow)))
    assert own("review.help") in helped.replies[0].text
    confirmed = engine.step(out.state.to_dict(), text=None, action="cmd:confirm",
                            ctx=_ctx(_role(flow)))
    assert isinstance(confirmed.effect, Submission)
    assert set(confirmed.effect.answers) == {a.name for a in asked}


@pytest.mark.parametrize("lang", LANGS)
def test_flow_without_review_submits_after_its_last_answer(lang: str) -> None:
    out, _ = _walk(Engine(), FLOWS["emergency"], lang)
    assert isinstance(out.effect, Submission)
    assert out.effect.lang == lang


def test_an_options_other_words_name_no_other_option_of_its_question() -> None:
    """`<option>.also` words are typed answers: each must point at one option only."""
    from conversations.engine import _option_words
    for flow in FLOWS.values():
        for ask in flow.steps:
            if not isinstance(ask.kind, Choice):
                continue
            seen: dict[str, str] = {}
            for option in ask.kind.options:
                words = set(_option_words(option.label))
                words |= {catalog.t(lang, option.label).lower() for lang in LANGS}
                for word in words:
                    assert seen.setdefault(word, option.value) == option.value, \
                        (flow.name, ask.name, word)
    assert "anonymous" in _option_words("opt.identity.anonymous")
    assert "dunno" in _option_words("opt.workshop.unknown")


@pytest.mark.parametrize("lang", LANGS)
def test_an_options_other_words_typed_choose_it(lang: str) -> None:
    """Each `.also` word, typed in either language's conversation, chooses its own option:
    not another option's words first (a label holding it, "satisfied" of "Not satisfied"),
    not a command ("none" is "skip")."""
    from conversations.engine import COMMANDS, _option_words, command_of
    engine, ctx = Engine(), Context(now=NOW, role="director")
    commands = {w for words in COMMANDS.values() for w in words}
    for flow in FLOWS.values():
        for ask in flow.steps:
            if not isinstance(ask.kind, Choice):
                continue
            for option in ask.kind.options:
                for word in _option_words(option.label):
                    assert word not in commands and command_of(word) is None, word
                    st = State(lang=lang, flow=flow.name, step=ask.name)
                    assert engine._parse(st, ask.kind, word, ctx) == option.value, \
                        (flow.name, ask.name, word)


@pytest.mark.parametrize(("typed", "label", "found"), [
    ("canteen", "Canteen and living", True), ("Wage", "Wages and benefits", True),
    ("the", "Send the reply to the complainant", False),
    ("reply", "Send the reply to the complainant", True),
    ("send reply", "Send the reply to the complainant", True),
    ("reply now", "Send the reply to the complainant", False),
    ("食堂", "食堂生活", True), ("食", "食堂生活", False), ("铸造", "铸造车间", True)])
def test_a_typed_text_is_in_a_label_as_its_words(typed: str, label: str, found: bool) -> None:
    from conversations.engine import _in_label
    assert _in_label(typed.lower(), label) is found


def test_english_counts_say_one_or_many_not_s_in_brackets() -> None:
    """'Attached: 1 photo(s), 1 voice note(s)' and '1 alert(s) waiting': English says one
    or many as the number asks; Chinese has no plural and is unchanged."""
    assert [k for k, v in catalog.load("en").items() if "(s)" in v] == []
    assert [k for k, v in catalog.load("zh").items() if ":plural|" in v] == []
    assert (catalog.t("en", "notice.files.photo", count=1),
            catalog.t("en", "notice.files.voice", count=1),
            catalog.t("en", "notice.files.photo", count=2)) == (
        "1 photo", "1 voice note", "2 photos")
    assert catalog.t("en", "attachment.added", count=1, number="E-2026-0001") == \
        "Added this file to the report you just sent, E-2026-0001."
    assert catalog.t("en", "attachment.added", count=3, number="E-2026-0001") == \
        "Added these 3 files to the report you just sent, E-2026-0001."
    assert catalog.t("en", "query.my_alerts.title", count=1) == \
        "1 alert waiting for your acknowledgement:"
    assert catalog.t("en", "files.sending", count=1, number="E-2026-0001") == \
        "Sending the file of E-2026-0001; it follows below."
    assert catalog.t("en", "files.already", count=2, number="E-2026-0001") == \
        "The 2 files of E-2026-0001 were already sent to you: see the messages above."
    assert catalog.t("en", "event.late", days=1) == "1 day late"
    assert [catalog.t("en", "notice.incident_more_title", count=n) for n in (1, 5)] == [
        "1 more report or addition since (latest below):",
        "5 more reports or additions since (latest below):"]
    assert catalog.t("zh", "notice.files.photo", count=1) == "照片 1 张"


def test_english_says_its_terms_in_english_not_in_chinese_brackets() -> None:
    """"Your instruction (交办):", "record the return visit (回访)", "the 五定": an English
    reader cannot read the Chinese term; the English says what it means. Chinese is left
    only where it is meant: the switch to Chinese and the example of leaders' names."""
    chinese = re.compile(r"[\u4e00-\u9fff]")
    assert sorted(k for k, v in catalog.load("en").items() if chinese.search(v)) == [
        "menu.lang", "roster.leaders.ask", "telegram.command.lang", "wechat.menu.lang_zh"]
    assert catalog.t("en", "visit_record.instruction.ask") == \
        "Your instruction to the handler (what to do and by when):"


def test_an_unverified_employee_reads_as_a_person_in_english() -> None:
    assert catalog.t("en", "notice.case_new", number="C-2026-0001", category="Safety",
                     affected=3, workshop="铸造车间", description="d", outcome="o",
                     complainant=catalog.t("en", "person.unverified"), due_on="2027-01-22"
                     ).endswith("Raised by: an unverified employee\nDue: 2027-01-22.")


@pytest.mark.parametrize("lang", LANGS)
def test_a_workers_form_is_named_by_its_menu_words(lang: str) -> None:
    """Idle and draft messages named "Problem" where the menu says "Raise a problem"."""
    for name in ("suggestion", "complaint", "booking", "emergency"):
        assert catalog.t(lang, f"{name}.title") == catalog.t(lang, f"menu.{name}")
    assert catalog.t("en", "timeout.kept", flow=catalog.t("en", "complaint.title"),
                     minutes=30).startswith('Your form "Raise a problem" has been idle')
