"""Dialog tests as transcripts: say something, see what the bot answers."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.engine import Button, Reply
from handlers.inbound import Inbound
from store.models import InboxMessage

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
