"""Twilio, the hotline's first provider: webhook signatures, TwiML, the REST calls.

Only the provider's shapes live here: how a request is signed (X-Twilio-Signature), how
a voice answer is written (TwiML), how a text or a call is asked for (the 2010-04-01 REST
API: Messages and Calls, form-encoded, HTTP basic auth with the account SID and token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from xml.etree import ElementTree as ET

import httpx

from bot.channels import DeliveryError

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Twilio-Signature"
API_VERSION = "2010-04-01"
SMS_LIMIT = 1600  # characters Twilio takes in one message body
# Errors that say this number cannot take it (invalid, unsubscribed, not a mobile…): try
# the person's next channel rather than retrying the same one.
_NOT_REACHABLE = {21211, 21214, 21217, 21219, 21407, 21408, 21610, 21612, 21614, 21659}


# --- signatures ----------------------------------------------------------------------------


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's signature of a request: HMAC-SHA1 of the URL followed by every POST
    parameter's name and value, sorted by name, base64-encoded."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        grouped.setdefault(key, []).append(value)
    data = url + "".join(key + value for key in sorted(grouped)
                         for value in sorted(grouped[key]))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    """The URL as given, and with its default port added or removed (Twilio signs what it
    called, and proxies differ on whether the port is written)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    host = parts.hostname
    other = host if parts.port is not None else f"{host}:{default}"
    if parts.port not in (None, default):
        return [url]
    return [url, urlunsplit((parts.scheme, other, parts.path, parts.query, parts.fragment))]


def valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], given: str) -> bool:
    """Whether `given` is the signature of this request (compared in constant time)."""
    if not given or not auth_token:
        return False
    items = list(params)
    return any(hmac.compare_digest(signature(auth_token, u, items).encode(), given.encode())
               for u in _port_variants(url))


# --- TwiML ---------------------------------------------------------------------------------


class TwiML:
    """A voice response: <Say>, <Gather>, <Record>, <Dial>… in order, as XML."""

    def __init__(self, language: str = "zh-CN", speech_language: str | None = None) -> None:
        self.root = ET.Element("Response")
        self.language = language  # what <Say> speaks
        self.speech_language = speech_language or language  # what <Gather> recognises

    def _add(self, name: str, parent: ET.Element | None = None, text: str | None = None,
             **attrs: Any) -> ET.Element:
        el = ET.SubElement(self.root if parent is None else parent, name,
                           {_camel(k): _attr(v) for k, v in attrs.items() if v is not None})
        if text is not None:
            el.text = text
        return el

    def say(self, text: str, parent: ET.Element | None = None) -> TwiML:
        self._add("Say", parent, text, language=self.language)
        return self

    def gather(self, prompt: str, *, action: str, input: str = "dtmf",
               num_digits: int | None = None, finish_on_key: str | None = None,
               timeout: int = 8, speech_timeout: str | None = None,
               action_on_empty_result: bool | None = None) -> TwiML:
        language = self.speech_language if "speech" in input else self.language
        el = self._add("Gather", None, None, input=input, action=action, method="POST",
                       language=language, num_digits=num_digits,
                       finish_on_key=finish_on_key, timeout=timeout,
                       speech_timeout=speech_timeout,
                       action_on_empty_result=action_on_empty_result)
        self.say(prompt, el)
        return self

    def record(self, *, action: str, max_length: int = 120, finish_on_key: str = "#",
               timeout: int = 5) -> TwiML:
        self._add("Record", action=action, method="POST", max_length=max_length,
                  finish_on_key=finish_on_key, timeout=timeout, play_beep=True)
        return self

    def start_recording(self, *, callback: str) -> TwiML:
        start = self._add("Start")
        self._add("Recording", start, recording_status_callback=callback,
                  recording_status_callback_method="POST",
                  recording_status_callback_event="completed")
        return self

    def dial(self, numbers: list[str], *, caller_id: str, action: str,
             timeout: int = 25) -> TwiML:
        el = self._add("Dial", caller_id=caller_id, action=action, method="POST",
                       timeout=timeout)
        for number in numbers:
            self._add("Number", el, number)
        return self

    def redirect(self, url: str) -> TwiML:
        self._add("Redirect", None, url, method="POST")
        return self

    def hangup(self) -> TwiML:
        self._add("Hangup")
        return self

    def __str__(self) -> str:
        return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(self.root,
                                                                       encoding="unicode")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def _attr(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


# --- the REST API --------------------------------------------------------------------------


class ApiError(DeliveryError):
    """The API refused a request: DeliveryError with the HTTP status."""

    def __init__(self, reason: str, status: int, *, fallback: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(reason, fallback=fallback, retry_after=retry_after)
        self.status = status


class TwilioClient:
    """Messages and Calls of one account, over HTTP (httpx), as DeliveryError on failure."""

    def __init__(self, *, account_sid: str, auth_token: str, number: str, api_url: str,
                 timeout: float = 10.0) -> None:
        self.account_sid, self.number = account_sid, number
        self.base = f"{api_url.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}"
        self.http = httpx.Client(auth=(account_sid, auth_token), timeout=timeout)

    def send_sms(self, to: str, body: str) -> str:
        """Send one text from the hotline's number; the message's SID."""
        return self._post("Messages", {"To": to, "From": self.number, "Body": body})

    def call(self, to: str, *, url: str, status_callback: str | None = None) -> str:
        """Ring `to` from the hotline's number; Twilio fetches its TwiML from `url`."""
        data = {"To": to, "From": self.number, "Url": url, "Method": "POST"}
        if status_callback:
            data |= {"StatusCallback": status_callback, "StatusCallbackMethod": "POST"}
        return self._post("Calls", data)

    def end_call(self, sid: str) -> bool:
        """Hang up a call we placed, ringing or under way; False when it was over (or
        unknown) already: nothing left to end."""
        try:
            self._post(f"Calls/{sid}", {"Status": "completed"})
        except ApiError as err:
            if 400 <= err.status < 500 and err.status != 429:
                return False
            raise
        return True

    def _post(self, resource: str, data: Mapping[str, str]) -> str:
        try:
            r = self.http.post(f"{self.base}/{resource}.json", data=dict(data))
        except httpx.HTTPError as err:
            raise DeliveryError(f"network: {err}") from err
        if r.status_code in (200, 201):
            return str(r.json().get("sid", ""))
        try:
            body = r.json()
        except ValueError:
            body = {}
        code = body.get("code") if isinstance(body, dict) else None
        reason = f"{r.status_code} {code or ''} {body.get('message', '') if body else ''}"
        if r.status_code == 429:
            after = r.headers.get("Retry-After", "")
            raise ApiError(reason.strip(), r.status_code,
                           retry_after=float(after) if after.isdigit() else 5.0)
        if code in _NOT_REACHABLE:
            raise ApiError(reason.strip(), r.status_code, fallback=True)
        raise ApiError(reason.strip(), r.status_code)

    def close(self) -> None:
        self.http.close()
