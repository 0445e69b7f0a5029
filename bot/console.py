"""The console channel: `workroom chat --as <person>`, through the same engine."""

from __future__ import annotations

import string
import uuid
from collections.abc import Callable

from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.engine import Button, Reply
from handlers.inbound import Inbound
from store.models import InboxMessage


class ConsoleChat:
    """A line-at-a-time chat.

    Options are numbered ([1] [2] …) like the engine numbers them, so a typed number picks
    an option; actions (submit, send now, acknowledge) get letters ([a] [b] …), so a number
    typed as an answer ("3 people") never presses one. Back, cancel, help and skip are typed
    as words, as on WeChat.
    """

    def __init__(self, services: Services, person_key: str,
                 write: Callable[[str], None] = print) -> None:
        self.services, self.address, self.write = services, f"p:{person_key}", write
        self.options: list[Button] = []
        self.actions: list[Button] = []
        self.last_inbox = self._newest_inbox()

    def _newest_inbox(self) -> int:
        with Session(self.services.db) as s:
            row = s.exec(select(InboxMessage.id).where(InboxMessage.channel == "console",
                                                       InboxMessage.address == self.address)
                         .order_by(col(InboxMessage.id).desc())).first()
        return row or 0

    def show(self, replies: list[Reply]) -> None:
        self.options, self.actions = [], []
        for reply in replies:
            self._print(reply)

    def _print(self, reply: Reply) -> None:
        self.write(reply.text)
        nav = []
        for b in reply.buttons:
            if b.kind == "nav":
                nav.append(b.label)
            elif b.kind == "action":
                self.actions.append(b)
                self.write(f"  [{string.ascii_lowercase[len(self.actions) - 1]}] {b.label}")
            else:
                self.options.append(b)
                self.write(f"  [{len(self.options)}] {b.label}")
        if nav:  # brackets of the labels' own script: （返回 / 取消） but (Back / Cancel)
            words = " / ".join(nav)
            wide = any("\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" for c in words)
            self.write(f"  （{words}）" if wide else f"  ({words})")

    def send(self, line: str) -> None:
        line = line.strip()
        action = None
        if line.isdigit() and 1 <= int(line) <= len(self.options):
            action = self.options[int(line) - 1].value
        elif len(line) == 1 and line.lower() in string.ascii_lowercase[: len(self.actions)]:
            action = self.actions[string.ascii_lowercase.index(line.lower())].value
        inbound = Inbound(channel="console", address=self.address,
                          message_id=uuid.uuid4().hex, text=None if action else line,
                          action=action)
        self.show(self.services.workroom.process(inbound))
        self.services.dispatcher.run_once()
        self.poll_inbox()

    def poll_inbox(self) -> None:
        with Session(self.services.db) as s:
            rows = s.exec(select(InboxMessage).where(InboxMessage.channel == "console",
                                                     InboxMessage.address == self.address,
                                                     col(InboxMessage.id) > self.last_inbox)
                          .order_by(col(InboxMessage.id))).all()
        for row in rows:
            self.last_inbox = row.id or self.last_inbox
            self.write("── 通知 / notice ──")
            self._print(Reply(row.text, [Button(**b) for b in row.buttons]))
