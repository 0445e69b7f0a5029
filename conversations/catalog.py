"""Message catalogs: every sentence the bot says, in Simplified Chinese and English."""

from __future__ import annotations

import string
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
_DIR = Path(__file__).parent / "locales"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when built with it


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        if _LENIENT.get():
            return "…"
        raise KeyError(f"message parameter {key!r} missing")


# Set while a push written before its wording changed is rendered (handlers/notices.render):
# a parameter the new wording asks for and the old push lacks reads "…", and the push goes.
_LENIENT: ContextVar[bool] = ContextVar("lenient", default=False)


@contextmanager
def lenient() -> Iterator[None]:
    """Render with missing parameters shown as "…" instead of refused."""
    token = _LENIENT.set(True)
    try:
        yield
    finally:
        _LENIENT.reset(token)


@cache
def load(lang: str) -> dict[str, str]:
    """Load one language's catalog from its YAML file."""
    with open(_DIR / f"{lang}.yaml", encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_LOADER)  # a safe loader (no object tags)
    return {str(k): str(v) for k, v in data.items()}


def has(key: str) -> bool:
    return key in load(DEFAULT_LANG)


class _Plural(string.Formatter):
    """`{count:plural|# file|# files}`: the first form for one, the second for any other
    number, `#` standing for the number (English says "1 file", "2 files"; Chinese needs
    no such form and writes `{count}`). `{title:upper}`: the words in capitals, as an
    English push's tag reads ("[WEEKLY REPORT]", like "[OVERDUE]") where the same words
    are lower case in a sentence ("the weekly report was returned")."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "upper":
            return str(value).upper()
        if not format_spec.startswith("plural|"):
            return super().format_field(value, format_spec)
        one, _, other = format_spec[len("plural|"):].partition("|")
        try:
            single = int(value) == 1
        except (TypeError, ValueError):
            single = False
        return (one if single else other).replace("#", str(value))


_PLURAL = _Plural()


def t(lang: str, key: str, /, **params: Any) -> str:
    """Render message `key` in `lang` (falling back to Chinese) with its parameters."""
    if lang not in LANGS:
        lang = DEFAULT_LANG
    template = load(lang).get(key)
    if template is None:
        template = load(DEFAULT_LANG)[key]
    if ":plural|" in template or ":upper}" in template:
        return _PLURAL.vformat(template, (), _Params(params))
    return template.format_map(_Params(params))


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
