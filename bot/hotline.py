"""The hotline channel: texts and calls to the workroom's number, through Twilio.

Texts are a chat like any other: each one is an Inbound of channel `sms` stepped by the
same engine (a text that picks nothing from the menu starts an emergency report), choices
rendered as numbered text, the replies sent as texts by the outbox dispatcher.

Calls are a short voice menu driven by the provider's webhooks, one step per request.
Its rules (which key means what, how often a wrong key is forgiven, when the report is
filed) are handlers/hotline.py's: each webhook here hands the caller's move over, and
turns the Prompt it gets back into TwiML once the move is committed. The report is filed
— incident and alert chain — before the TwiML that says goodbye leaves. A leader on the
chain's last step may be called: the alert is read and "1" acknowledges it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels import split_text, spoken_place
from bot.settings import Settings
from bot.twilio import SMS_LIMIT, TwilioClient, TwiML
from bot.wechat_render import typed_words
from conversations import catalog
from conversations.clock import Clock
from conversations.engine import Reply
from handlers import hotline
from handlers.context import HandlerContext
from handlers.inbound import Inbound, Options, Workroom
from handlers.notices import escalated_line, localize
from store.db import transaction
from store.models import Contact, Person

log = logging.getLogger(__name__)
# What <Say> speaks: Mandarin is "zh-CN" in Twilio's <Say> language list
# (https://www.twilio.com/docs/voice/twiml/say).
VOICE_LANGS = {"zh": "zh-CN", "en": "en-US"}
# What <Gather input="speech"> recognises: speech recognition takes its own tags, and
# Mandarin (Simplified, China) is "cmn-Hans-CN" there, not "zh-CN"
# (https://www.twilio.com/docs/voice/twiml/gather#languagetags; twilio-java's
# com.twilio.twiml.Language marks zh-CN as a <Say> language and cmn-Hans-CN as <Gather>'s).
SPEECH_LANGS = {"zh": "cmn-Hans-CN", "en": "en-US"}
PREFIX = "/hotline"


def sms_text(reply: Reply, lang: str) -> str:
    """A reply as one text for a phone that has no buttons: the catalog's "tap a button"
    sentences in their words to reply (their `_typed` variants, as WeChat gets them),
    choices numbered (a number or the words answer), then the words that go back, skip or
    send. Only characters every Chinese handset shows (no arrows or other symbols)."""
    lines = [typed_words(reply.text, lang)]
    choices = [b for b in reply.buttons if b.kind == "choice"]
    lines += [f"{i}. {b.label}" for i, b in enumerate(choices, start=1)]
    words = [b.label for b in reply.buttons
             if b.kind != "choice" and not b.value.startswith("ack:")]
    if words:
        lines.append(catalog.t(lang, "hotline.sms_words", words=" / ".join(words)))
    return "\n".join(lines)


def chunks(text: str, limit: int = SMS_LIMIT) -> list[str]:
    """Split a long text at line ends to fit the provider's body limit."""
    return split_text(text, limit)


class SmsSender:
    """Deliver outbox rows as texts from the hotline's number."""

    channel = hotline.SMS

    def __init__(self, client: TwilioClient, lang: str) -> None:
        self.client, self.lang = client, lang

    def deliver(self, session: Session | None, *, address: str, reply: Reply,
                notification_id: int, edit_ref: str | None = None) -> str | None:
        # The reply is worded in the texter's language (outbox.route): its words to reply
        # are that language's too.
        contact = session.exec(select(Contact).where(
            Contact.channel == self.channel, Contact.address == address)).first() \
            if session is not None else None
        person = session.get(Person, contact.person_id) if session and contact else None
        lang = (person.lang if person else None) or self.lang
        for part in chunks(sms_text(reply, lang)):
            self.client.send_sms(address, part)
        return None  # a text cannot be edited later: nothing to keep


class CallSender:
    """Deliver an alert as a phone call: the provider fetches what to say from us."""

    channel = hotline.CALL

    def __init__(self, client: TwilioClient, public_url: str, db: Engine, clock: Clock) -> None:
        self.client, self.public_url, self.db, self.clock = client, public_url, db, clock

    def deliver(self, session: Session | None, *, address: str, reply: Reply,
                notification_id: int, edit_ref: str | None = None) -> str | None:
        if edit_ref is not None:  # the alert was acknowledged: stop the call if it rings
            self.client.end_call(edit_ref)
            return edit_ref
        # How it ended comes back to us: a call nobody took is rung again or escalated.
        return self.client.call(
            address, url=f"{self.public_url}{PREFIX}/voice/alert?n={notification_id}",
            status_callback=f"{self.public_url}{PREFIX}/voice/alert/status?n={notification_id}")

    def committed(self, notification_id: int, ref: str) -> None:
        """The call's SID is saved: acknowledged while it was placed, it is hung up."""
        with transaction(self.db) as s:
            if hotline.placed(s, notification_id, self.clock.now()):
                log.info("hotline: alert call %s acknowledged while placed: ending it",
                         notification_id)


class HotlineChannel:
    """The hotline's webhooks, one method each; the web routes verify and call these."""

    def __init__(self, *, settings: Settings, db: Engine, clock: Clock, workroom: Workroom,
                 kick: Callable[[], Any] | None = None) -> None:
        assert settings.twilio_account_sid and settings.twilio_auth_token \
            and settings.hotline_number
        self.settings, self.db, self.clock, self.workroom = settings, db, clock, workroom
        self.auth_token = settings.twilio_auth_token
        self.number = settings.hotline_number
        self.public_url = (settings.hotline_public_url or settings.base_url).rstrip("/")
        self.lang = settings.default_lang
        self.client = TwilioClient(account_sid=settings.twilio_account_sid,
                                   auth_token=settings.twilio_auth_token,
                                   number=settings.hotline_number,
                                   api_url=settings.twilio_api_url)
        self.sms_sender = SmsSender(self.client, settings.default_lang)
        self.call_sender = CallSender(self.client, self.public_url, db, clock)
        self.kick = kick  # deliver what a step wrote now, not at the next tick

    @property
    def options(self) -> Options:
        return self.workroom.options

    def url(self, path: str) -> str:
        return f"{self.public_url}{PREFIX}{path}"

    def t(self, key: str, **params: Any) -> str:
        return catalog.t(self.lang, f"hotline.voice.{key}", **params)

    def twiml(self) -> TwiML:
        return TwiML(VOICE_LANGS.get(self.lang, "zh-CN"),
                     SPEECH_LANGS.get(self.lang, "cmn-Hans-CN"))

    def close(self) -> None:
        self.client.close()

    # --- texts ----------------------------------------------------------------------------

    def sms(self, form: Mapping[str, str]) -> None:
        """Step one text; its replies are in the outbox when this returns (the route then
        kicks the dispatcher, which sends each person's texts in the order written)."""
        files = _media(form)
        if hotline.hidden(form.get("From")):  # nobody to answer: the staff read it
            with transaction(self.db) as s:
                hotline.text_from_nobody(s, sid=form.get("MessageSid", ""),
                                         body=form.get("Body", ""), files=files,
                                         now=self.clock.now())
            return
        number = hotline.phone_number(form.get("From", ""))
        self.workroom.process(Inbound(hotline.SMS, number, form.get("MessageSid", ""),
                                      text=form.get("Body", ""), push_replies=True,
                                      joined=True, default_flow="emergency",
                                      attachments=files))

    # --- a call to the hotline ---------------------------------------------------------
    # Each webhook: the caller's move to handlers/hotline.py (saved in the transaction),
    # the Prompt it answers as TwiML once committed.

    def render(self, prompt: hotline.Prompt) -> str:
        """A Prompt as TwiML: what is said, then what is listened for."""
        twiml = self.twiml()
        for key, params in prompt.say:
            twiml.say(self.t(key, **params))
        ask = self.t(prompt.ask) if prompt.ask else ""
        if prompt.listen == "menu":
            twiml.gather(ask, action=self.url("/voice/menu"), num_digits=1)
            twiml.redirect(self.url("/voice/menu"))  # no key pressed: the menu rules say
        elif prompt.listen == "speech":  # the words are recorded too, whatever is heard
            twiml.start_recording(callback=self.url("/voice/recording"))
            twiml.gather(ask, action=self.url("/voice/said"), input="speech",
                         speech_timeout="auto", timeout=6, action_on_empty_result=True)
        elif prompt.listen == "recording":
            twiml.say(ask)
            twiml.record(action=self.url("/voice/recorded"))
        elif prompt.listen == "people":
            twiml.gather(ask, action=self.url("/voice/people"), finish_on_key="#",
                         num_digits=6, timeout=8, action_on_empty_result=True)
        elif prompt.listen == "dial":
            twiml.dial(list(prompt.numbers), caller_id=self.number,
                       action=self.url("/voice/dialed"))
        else:
            twiml.hangup()
        return str(twiml)

    def _step(self, move: Callable[..., hotline.Prompt], form: Mapping[str, str],
              **more: Any) -> str:
        with transaction(self.db) as s:
            prompt = move(s, sid=form.get("CallSid", ""), number=form.get("From", ""),
                          now=self.clock.now(), **more)
        return self.render(prompt)

    def _as_caller(self, s: Session) -> hotline.ContextFor:
        return lambda person: self._ctx(s, person, hotline.VOICE)

    def incoming(self, form: Mapping[str, str]) -> str:
        return self._step(hotline.call_begins, form)

    def menu(self, form: Mapping[str, str]) -> str:
        staff = [hotline.phone_number(n) for n in
                 (self.settings.hotline_staff_numbers or "").split(",") if n.strip()]
        return self._step(hotline.menu_key, form, digits=form.get("Digits", ""),
                          staff=staff or None)

    def dialed(self, form: Mapping[str, str]) -> str:
        return self._step(hotline.dial_ended, form, status=form.get("DialCallStatus", ""))

    def said(self, form: Mapping[str, str]) -> str:
        return self._step(hotline.speech_heard, form, text=form.get("SpeechResult", ""))

    def recorded(self, form: Mapping[str, str]) -> str:
        return self._step(hotline.recording_made, form, url=form.get("RecordingUrl", ""),
                          seconds=_int(form.get("RecordingDuration")))

    @property
    def shortest(self) -> int:
        """The shortest recording that is a report (seconds)."""
        return self.settings.hotline_min_recording_seconds

    def people(self, form: Mapping[str, str]) -> str:
        """The last answer: the report is filed and committed before the goodbye."""
        with transaction(self.db) as s:
            prompt = hotline.people_keyed(
                s, sid=form.get("CallSid", ""), number=form.get("From", ""),
                digits=form.get("Digits", ""), now=self.clock.now(),
                context_for=self._as_caller(s), lang=self.lang, shortest=self.shortest,
                zone=self.options.zone)
        return self.render(prompt)

    def recording(self, form: Mapping[str, str]) -> None:
        """The call's recording is ready: keep its address with the report."""
        url = form.get("RecordingUrl", "").strip()
        if not url or form.get("RecordingStatus", "completed") != "completed":
            return
        with transaction(self.db) as s:
            ref = form.get("CallSid", "")
            if hotline.attach_recording(s, ref=ref, url=url, now=self.clock.now(),
                                        seconds=_int(form.get("RecordingDuration"))):
                hotline.recorded_late(s, ref=ref, context_for=self._as_caller(s),
                                      lang=self.lang, shortest=self.shortest)

    def ended(self, form: Mapping[str, str]) -> None:
        """The call is over (its status callback)."""
        with transaction(self.db) as s:
            hotline.call_over(s, sid=form.get("CallSid", ""), status=form.get("CallStatus", ""),
                              now=self.clock.now(), context_for=self._as_caller(s),
                              lang=self.lang, shortest=self.shortest, zone=self.options.zone)

    # --- a leader called about an alert -----------------------------------------------

    def _ctx(self, s: Session, actor: Person, channel: str) -> HandlerContext:
        o = self.options
        return HandlerContext(session=s, now=self.clock.now(), actor=actor, channel=channel,
                              zone=o.zone, secret=o.secret, grouping=o.grouping,
                              call_last_step=o.call_last_step)

    def _press(self, twiml: TwiML, nid: int, first: str = "") -> TwiML:
        for prompt in (first + self.t("alert_press"), self.t("alert_press")):
            twiml.gather(prompt, action=self.url(f"/voice/alert/ack?n={nid}"), num_digits=1,
                         timeout=8)
        return twiml.say(self.t("goodbye"))

    def alert_call(self, form: Mapping[str, str], nid: int) -> str:
        """The leader picked up: read the alert and take "1" (or say who has it)."""
        twiml = self.twiml()
        with transaction(self.db) as s:
            found = hotline.alert_call(s, nid, form.get("To", ""))
            if found is None:
                return str(twiml.hangup())
            said = hotline.answered(s, found, form.get("CallSid") or f"alert:{nid}",
                                    self.clock.now())
            params = dict(said.params)
            if isinstance(params.get("place"), str):  # a shared location: its name read
                params["place"] = spoken_place(params["place"])
            text = catalog.t(self.lang, said.message,
                             **localize(params, self.lang, self.options.zone))
        # A call of a later chain step says first who did not acknowledge, as its chat does.
        if said.message == "hotline.voice.alert" and \
                (escalated := escalated_line(said.params, self.lang)):
            text = f"{escalated}{text}"
        if said.message != "hotline.voice.alert":  # acknowledged meanwhile
            return str(twiml.say(text).hangup())
        return str(self._press(twiml, nid, text))

    def alert_ack(self, form: Mapping[str, str], nid: int) -> str:
        twiml = self.twiml()
        if form.get("Digits", "").strip() != "1":
            return str(self._press(twiml, nid))
        with transaction(self.db) as s:
            found = hotline.alert_call(s, nid, form.get("To", ""))
            leader = s.get(Person, found.alert.recipient_id) if found else None
            if found is None or leader is None:
                return str(twiml.hangup())
            result = hotline.acknowledge_by_phone(self._ctx(s, leader, hotline.CALL),
                                                  found.alert.id or 0)
        key = "alert_done" if result.message == "ack.done" else "alert_already"
        return str(twiml.say(self.t(key)).hangup())

    def alert_status(self, form: Mapping[str, str], nid: int) -> None:
        """How a call to a leader ended (the provider's status callback)."""
        with transaction(self.db) as s:
            found = hotline.alert_call(s, nid, form.get("To", ""))
            if found is None:
                return
            done = hotline.call_ended(s, found, form.get("CallSid", ""),
                                      form.get("CallStatus", ""), self.clock.now())
        log.info("hotline: alert call %s ended %s: %s", nid, form.get("CallStatus"), done)


def _media(form: Mapping[str, str]) -> tuple[dict[str, Any], ...]:
    """The files of an MMS (Twilio's MediaUrl<i> and MediaContentType<i>) as attachments."""
    return tuple(
        {"kind": "photo" if form.get(f"MediaContentType{i}", "").startswith("image")
         else "voice" if form.get(f"MediaContentType{i}", "").startswith("audio")
         else "file", "file_ref": form[f"MediaUrl{i}"],
         "mime_type": form.get(f"MediaContentType{i}")}
        for i in range(_int(form.get("NumMedia")) or 0) if form.get(f"MediaUrl{i}"))


def _int(value: str | None) -> int | None:
    value = (value or "").strip().rstrip("#")
    return int(value) if value.isdigit() and len(value) <= 6 else None
