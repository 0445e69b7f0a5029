"""Group chats: what is said to the bot there is answered with where to go instead.

A group is many people: it cannot be one person, nor hold one conversation. What a member
says to the bot in a group (a command, a reply to the bot, a mention, a button pressed) is
answered there with a short notice that reports are made in a private chat with the bot,
in the member's language, and nothing more: no person is made for the group, no
conversation is started or stepped, no menu is shown. The answer follows the step path's
rules all the same: it is an outbox row written in one transaction with the message's id
(a re-delivery is absorbed and answered once), claimed for the caller to send right after
the commit, the dispatcher's to send if that fails (DESIGN rules 1, 2 and 4).

`GroupChats` stands where a channel's Pipeline (bot/pipeline.py) expects the workroom:
the channel steps its group messages through a pipeline of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import Any

from conversations import catalog
from conversations.engine import GROUP_CHAT, GROUP_NOTICES, Reply
from handlers.inbound import (
    BeforeCommit,
    Inbound,
    Outgoing,
    Stepped,
    Workroom,
    attempts,
    reply_row,
)
from store import steps
from store.db import transaction

# The notice with the link that opens a private chat with the bot, when the channel has one.
_WITH_LINK = {GROUP_CHAT: "group.private_link"}


class GroupChats:
    """Answer messages from group chats (their action one of GROUP_NOTICES) for a
    workroom; `link`: the address that opens a private chat with the bot, or None while
    the channel does not know it (then the notice says how to find the bot instead)."""

    def __init__(self, workroom: Workroom,
                 link: Callable[[], str | None] = lambda: None) -> None:
        self.workroom, self.link = workroom, link

    def render_push(self, out: Outgoing) -> Reply:
        return self.workroom.render_push(out)

    def lang(self, msg: Inbound) -> str:
        """The sender's language, as their app is set: no person is kept for them here."""
        return msg.lang_hint if msg.lang_hint in catalog.LANGS \
            else self.workroom.options.default_lang

    def notice(self, msg: Inbound) -> Reply:
        """The answer to one message, in its sender's language."""
        lang = self.lang(msg)
        action = msg.action if msg.action in GROUP_NOTICES else GROUP_CHAT
        link = self.link() if action in _WITH_LINK else None
        if link:
            return Reply(catalog.t(lang, _WITH_LINK[action], link=link))
        return Reply(catalog.t(lang, GROUP_NOTICES[action]))

    def process_batch(self, msgs: list[Inbound], *, direct: Collection[str] = (),
                      in_flight: Collection[int] = (),
                      settle: Sequence[steps.Settled] = (),
                      before_commit: BeforeCommit | None = None) -> list[Stepped]:
        """As Workroom.process_batch: record and answer messages of different chats in
        one transaction; `settle` records what became of earlier deliveries."""
        return attempts(partial(self._batch, msgs, direct, in_flight, settle, before_commit))

    def _batch(self, msgs: list[Inbound], direct: Collection[str], in_flight: Collection[int],
               settle: Sequence[steps.Settled],
               before_commit: BeforeCommit | None) -> list[Stepped]:
        now = self.workroom.clock.now()
        with transaction(self.workroom.db) as s:
            if settle:
                steps.settle(s, settle, now)
            if not msgs:
                return []
            dups = steps.find_inbound(s, [(m.channel, m.message_id) for m in msgs])
            results: list[Stepped] = []
            logged: list[dict[str, Any]] = []
            replies: list[tuple[int, dict[str, Any]]] = []
            langs: dict[int, str] = {}
            for i, m in enumerate(msgs):
                dup = dups.get((m.channel, m.message_id))
                if dup is not None:  # answered once already
                    results.append(Stepped([Reply.from_dict(r) for r in dup.replies or []]))
                    continue
                reply = self.notice(m)
                results.append(Stepped([reply]))
                logged.append({
                    "channel": m.channel, "message_id": m.message_id,
                    "conversation_key": m.conversation_key, "received_at": now,
                    "replies": [reply.to_dict()], "state_version": 0, "draft_key": None,
                    "state": None})
                if m.push_replies:
                    replies.append((i, reply_row(m, f"reply:{m.channel}:{m.message_id}:0",
                                                 reply.to_dict(), now, now)))
                    langs[i] = self.lang(m)
            steps.log_inbound(s, logged)
            # Written and claimed as a step's replies are: after a chat's earlier pushes.
            self.workroom.write_replies(s, msgs, results, replies, langs, direct, in_flight,
                                        now)
            if before_commit is not None:
                before_commit(s, msgs, results)
        return results
