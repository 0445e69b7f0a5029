"""Draw each flow as a Mermaid state diagram, from its declaration."""

from __future__ import annotations

from conversations.answers import Choice
from conversations.engine import REVIEW
from conversations.flow import Flow
from conversations.flows import FLOWS


def mermaid(flow: Flow) -> str:
    """Return a Mermaid stateDiagram of one flow: steps, back, skip, send now, cancel."""
    names = [a.name for a in flow.steps]
    lines = ["stateDiagram-v2", f"    %% flow: {flow.name}", f"    [*] --> {names[0]}"]
    ends = [*names[1:], REVIEW if flow.review else "submitted"]
    for i, ask in enumerate(flow.steps):
        nxt = ends[i]
        lines.append(f"    {ask.name} --> {nxt}: answer")
        if ask.optional:
            lines.append(f"    {ask.name} --> {nxt}: skip")
        if i > 0:
            lines.append(f"    {ask.name} --> {names[i - 1]}: back")
        lines.append(f"    {ask.name} --> {ask.name}: invalid / help")
        lines.append(f"    {ask.name} --> cancelled: cancel")
        if flow.send_now_after is not None and i >= flow.send_now_after:
            lines.append(f"    {ask.name} --> submitted: send now")
    for i, ask in enumerate(flow.steps):
        if ask.when is not None and i > 0:  # a step asked only after some answers
            step, values = ask.when
            choices = " / ".join(values)
            lines.append(f"    note right of {ask.name}: asked only when {step} is {choices}")
            lines.append(f"    {names[i - 1]} --> {ends[i]}: answer ({step} not {choices})")
        if isinstance(ask.kind, Choice) and ask.kind.given is not None:
            # Its options depend on an earlier answer: with none, that answer is asked again.
            lines.append(f"    note right of {ask.name}: options depend on {ask.kind.given}")
            lines.append(f"    {ask.name} --> {ask.kind.given}: nothing to choose")
    if flow.review:
        lines.append(f"    {REVIEW} --> submitted: confirm")
        lines.append(f"    {REVIEW} --> {names[-1]}: back")
        lines.append(f"    {REVIEW} --> cancelled: cancel")
    lines.append("    submitted --> [*]")
    lines.append("    cancelled --> [*]")
    return "\n".join(lines)


def all_flows() -> str:
    return "\n\n".join(f"```mermaid\n{mermaid(f)}\n```" for f in FLOWS.values())
