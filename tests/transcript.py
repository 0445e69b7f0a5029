"""Dialog tests as transcripts: say something, see what the bot answers."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from bot.bootstrap import Services
from conversations import catalog
from conversations.engine import Button, Reply
from handlers.inbound import Inbound
from store.models import Conversation, InboxMessage, Person

_ids = itertools.count(1)


class Chat:
    """One person's chat with the bot through the real pipeline (engine, handlers, store)."""

    def __init__(self, services: Services, *, person: str | None = None,
                 channel: str = "console", address: str | None = None) -> None:
        self.services = services
        self.channel = channel
        self.address = address or f"p:{person}"
        self.replies: list[Reply] = []

    def say(self, text: str, *, message_id: str | None = None) -> list[Reply]:
        return self._send(Inbound(self.channel, self.address, message_id or self._id(),
                                  text=text))

    def press(self, label: str, *, message_id: str | None = None) -> list[Reply]:
        """Press the button of the last replies whose label is `label`."""
        button = self.button(label)
        return self._send(Inbound(self.channel, self.address, message_id or self._id(),
                                  action=button.value))

    def press_starting(self, prefix: str) -> list[Reply]:
        """Press the button of the last replies whose label starts with `prefix` (a day
        "11-25 周三 …" chosen by its date)."""
        return self.press(next(b.label for r in self.replies for b in r.buttons
                               if b.label.startswith(prefix)))

    def button(self, label: str) -> Button:
        for reply in reversed(self.replies):
            for b in reply.buttons:
                if b.label == label:
                    return b
        shown = [b.label for r in self.replies for b in r.buttons]
        raise AssertionError(f"no button {label!r}; shown: {shown}")

    def labels(self) -> list[str]:
        return [b.label for r in self.replies for b in r.buttons]

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    def _send(self, inbound: Inbound) -> list[Reply]:
        self.replies = self.services.workroom.process(inbound)
        return self.replies

    def _id(self) -> str:
        return f"t{next(_ids)}"

    def inbox(self) -> list[InboxMessage]:
        with Session(self.services.db) as s:
            return list(s.exec(select(InboxMessage).where(
                InboxMessage.channel == self.channel, InboxMessage.address == self.address)
                .order_by(col(InboxMessage.id))).all())

    def dialog(self, steps: Sequence[tuple[str, str]]) -> None:
        """Run (said, expected-in-answer) pairs; a said of '[label]' presses that button."""
        for said, expected in steps:
            if said.startswith("[") and said.endswith("]"):
                self.press(said[1:-1])
            else:
                self.say(said)
            assert expected in self.text, f"after {said!r}, expected {expected!r} in:\n{self.text}"


# --- shared by the flow transcripts ----------------------------------------------------

LANGS = ["zh", "en"]
SKIP = "<skip>"  # replaced by the skip word of the chat's language


def t(lang: str, key: str, **params: Any) -> str:
    return catalog.t(lang, key, **params)


def open_menu(chat: Chat, lang: str) -> None:
    """Show the menu in `lang`, switching with the menu's language button if needed."""
    chat.say("菜单")
    other = "zh" if lang == "en" else "en"
    if t(other, "menu.lang") in chat.labels():  # the button offers `lang`: switch to it
        chat.press(t(other, "menu.lang"))
        assert t(lang, "lang.switched") in chat.text
    assert t(lang, "menu.lang") in chat.labels()


def draft(services: Services, chat: Chat) -> dict[str, Any]:
    """The saved conversation state of this chat (what a restart would resume)."""
    with Session(services.db) as s:
        row = s.get(Conversation, f"{chat.channel}:{chat.address}")
        state = dict(row.state) if row else {}
    return {k: state.get(k) for k in ("lang", "flow", "step", "answers", "trail", "draft_id",
                                      "paused")}


def person(services: Services, key: str) -> Person:
    with Session(services.db) as s:
        return s.exec(select(Person).where(Person.key == key)).one()


def all_rows(services: Services, model: type[SQLModel], *where: Any) -> list[Any]:
    with Session(services.db) as s:
        return list(s.exec(select(model).where(*where)
                           .order_by(col(model.id))).all())  # type: ignore[attr-defined]
