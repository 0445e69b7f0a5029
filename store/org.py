"""The organisation file: validate its YAML and load it into the organisation tables."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError
from sqlmodel import Session, SQLModel, col, or_, select

from conversations.flows import COMPLAINT_CATEGORIES as FLOW_CATEGORIES
from scheduler.workdays import WorkCalendar
from store import roster, timers
from store.calendar_models import DutyPublished, Invitation, RosterPlan
from store.models import (
    ROLES,
    Booking,
    CalendarDay,
    ChainStep,
    Contact,
    DutyEntry,
    Person,
    Responsibility,
    Unit,
    Workshop,
)

COMPLAINT_CATEGORIES = FLOW_CATEGORIES  # one list: the complaint flow offers these
RECEPTION_FORMS = ("fixed", "invited", "topic", "onsite")
WORKSHOP_KINDS = ("workshop", "section")
DUTY_LEADER = "duty_leader"
# Timer: a person who left the file, whose open cases are to be handed on (ref: person id;
# handlers/assignment.py fires it; handlers.roster.load_file takes it at once).
PERSON_LEFT = "person_left"
WORKROOM_ZONE = ZoneInfo("Asia/Shanghai")
_DUTY_ROLES = ("leader", "director")
_NULL = "tag:yaml.org,2002:null"
# Rotation counts working days from a fixed date, so a reload on another day keeps each
# day's leader (bookings point at those duty entries).
_ROTATION_ANCHOR = date(2024, 1, 1)


def _one_of(choices: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in choices:
            raise PydanticCustomError("choice", "'{value}' is not one of {choices}",
                                      {"value": value, "choices": ", ".join(choices)})
        return value
    return AfterValidator(check)


def _shaped(pattern: str, parse: Callable[[str], Any], like: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        try:
            if isinstance(value, str) and re.fullmatch(pattern, value):
                return parse(value)
        except ValueError:
            pass
        raise PydanticCustomError("shape", "'{value}' is not {like}",
                                  {"value": value, "like": like})
    return BeforeValidator(check)


def _text(max_len: int) -> Any:
    return Field(min_length=1, max_length=max_len)


Key = Annotated[str, _shaped(r"[a-z][a-z0-9_]{0,63}", str, "a key of lower-case letters, "
                             "digits and _, starting with a letter")]
Name = Annotated[str, _text(100)]
Text = Annotated[str, _text(200)]
Clock = Annotated[time, _shaped(r"\d{2}:\d{2}", time.fromisoformat, 'a time like "08:30"')]
Day = Annotated[date, _shaped(r"\d{4}-\d{2}-\d{2}", date.fromisoformat, "a date like 2026-11-23")]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class UnitSpec(_Spec):
    key: Key
    name: Text


class WorkshopSpec(_Spec):
    key: Key
    name: Text
    kind: Annotated[str, _one_of(WORKSHOP_KINDS)] = "workshop"


class ContactsSpec(_Spec):
    web: Text | None = None
    console: Text | None = None
    telegram: Text | None = None
    wechat: Text | None = None
    wecom: Text | None = None
    phone: Text | None = None


CONTACT_CHANNELS = tuple(ContactsSpec.model_fields)  # web console telegram wechat wecom phone

class PersonSpec(_Spec):
    key: Key
    name: Name
    role: Annotated[str, _one_of(ROLES)]
    post: Annotated[str, Field(max_length=100)] = ""
    portfolio: Annotated[str, Field(max_length=300)] = ""
    workshop: Key | None = None
    lang: Annotated[str, _one_of(("zh", "en"))] | None = None
    contacts: ContactsSpec = ContactsSpec()


class ChainStepSpec(_Spec):
    notify: tuple[Key, ...] = Field(min_length=1)  # may hold the duty_leader token
    wait_minutes: int = Field(ge=0, le=1440)

    @property
    def people(self) -> tuple[str, ...]:
        """Return the person keys to notify, without the duty_leader token."""
        return tuple(k for k in self.notify if k != DUTY_LEADER)


class _Reception(_Spec):
    start: Clock
    end: Clock
    place: Text
    form: Annotated[str, _one_of(RECEPTION_FORMS)] = "fixed"

    @model_validator(mode="after")
    def _start_before_end(self) -> _Reception:
        if self.start >= self.end:
            raise PydanticCustomError("order", "start {s} must be before end {e}",
                                      {"s": f"{self.start:%H:%M}", "e": f"{self.end:%H:%M}"})
        return self


class DutySpec(_Reception):
    day: Day = Field(alias="date")
    leader: Key
    post: Annotated[str, Field(max_length=100)] | None = None  # None: the leader's own
    portfolio: Annotated[str, Field(max_length=300)] | None = None


class DutyRotationSpec(_Reception):
    days: int = Field(ge=1, le=60)
    leaders: tuple[Key, ...] = Field(min_length=1)
    # Union leaders receive any day (工会领导随时接访); the publication names them.
    union_leaders: tuple[Key, ...] = ()


class AwaySpec(_Spec):
    """A leader away: the rotation skips them from `from` to `to` (both included)."""

    leader: Key
    first: Day = Field(alias="from")
    last: Day = Field(alias="to")
    kind: Annotated[str, _one_of(("leave", "trip"))] = "leave"

    @model_validator(mode="after")
    def _in_order(self) -> AwaySpec:
        if self.last < self.first:
            raise PydanticCustomError("order", "to {t} is before from {f}",
                                      {"t": self.last.isoformat(), "f": self.first.isoformat()})
        return self


_Responsibilities = create_model(  # type: ignore[call-overload]
    "_Responsibilities", __base__=_Spec, **{c: (Key | None, None) for c in COMPLAINT_CATEGORIES})


def _days(value: Any) -> Any:
    """Read a list of dates, where "2027-02-06..2027-02-12" stands for every day between."""
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for item in value:
        first, sep, last = str(item).partition("..")
        try:
            lo = date.fromisoformat(first.strip())
            hi = date.fromisoformat(last.strip()) if sep else lo
        except ValueError as exc:
            raise PydanticCustomError("shape", "'{value}' is not a date like 2027-01-01 or a "
                                      "range like 2027-02-06..2027-02-12",
                                      {"value": item}) from exc
        if hi < lo:
            raise PydanticCustomError("order", "range '{value}' ends before it starts",
                                      {"value": item})
        out += [lo + timedelta(days=n) for n in range((hi - lo).days + 1)]
    return out


Days = Annotated[tuple[date, ...], BeforeValidator(_days)]


class CalendarYearSpec(_Spec):
    """A year's statutory holidays and swapped workdays (调休), for a year the calendar
    package does not know yet (or to correct it)."""

    year: int = Field(ge=2000, le=2100)
    holidays: Days = ()
    workdays: Days = ()

    @model_validator(mode="after")
    def _inside_year(self) -> CalendarYearSpec:
        for day in (*self.holidays, *self.workdays):
            if day.year != self.year:
                raise PydanticCustomError("year", "{day} is not in {year}",
                                          {"day": day.isoformat(), "year": self.year})
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise PydanticCustomError("both", "{day} is both a holiday and a workday",
                                      {"day": both[0].isoformat()})
        return self


class _File(_Spec):
    unit: Any
    workshops: list[Any] = []
    people: list[Any]
    responsibilities: Any
    alert_chain: list[Any] = Field(min_length=1)
    duty: list[Any] = []
    duty_rotation: Any = None
    calendar: list[Any] = []
    away: list[Any] = []


@dataclass(frozen=True)
class OrgSpec:
    unit: UnitSpec
    workshops: tuple[WorkshopSpec, ...]
    people: tuple[PersonSpec, ...]
    responsibilities: dict[str, str]  # complaint category -> leader key
    alert_chain: tuple[ChainStepSpec, ...]
    duty: tuple[DutySpec, ...]
    duty_rotation: DutyRotationSpec | None
    calendar: tuple[CalendarYearSpec, ...] = ()
    away: tuple[AwaySpec, ...] = ()

    def work_calendar(self) -> WorkCalendar:
        """The working-day calendar with this file's years added."""
        extra: dict[date, bool] = {}
        for year in self.calendar:
            extra.update({d: False for d in year.holidays})
            extra.update({d: True for d in year.workdays})
        return WorkCalendar(extra, years={y.year for y in self.calendar})

    def person(self, key: str) -> PersonSpec:
        """Return the person with this key."""
        return next(p for p in self.people if p.key == key)


@dataclass(frozen=True)
class OrgProblem:
    file: str
    line: int  # 1-based; 0 when the file could not be read
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else \
            f"{self.file}: {self.message}"


class OrgError(Exception):
    """Every problem found in an organisation file."""

    def __init__(self, problems: list[OrgProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in self.problems))


_M = TypeVar("_M", bound=BaseModel)


def _at(node: yaml.Node, loc: Iterable[int | str], *, key: bool = False) -> yaml.Node:
    """Return the deepest node along `loc` (the key node of the last step if `key`)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = [(k, v) for k, v in node.value if k.value == part]
            if not hit:
                break
            node = hit[0][0] if key else hit[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part]
        else:
            break
    return node


class _Reader:
    """Collect every problem of one file, each with the line of the node it is about."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[OrgProblem] = []
        # Keys of items already reported as invalid: references to them add no new problem.
        self.broken: set[tuple[str, str]] = set()

    def error(self, node: yaml.Node, message: str) -> None:
        self.problems.append(OrgProblem(self.file, node.start_mark.line + 1, message))

    def plain(self, node: yaml.Node) -> Any:
        """Return the node as dicts, lists and raw scalar text (so 08:30 stays text)."""
        if isinstance(node, yaml.SequenceNode):
            return [self.plain(n) for n in node.value]
        if not isinstance(node, yaml.MappingNode):
            return None if node.tag == _NULL else node.value
        out: dict[str, Any] = {}
        for k, v in node.value:
            if str(k.value) in out:
                self.error(k, f"key '{k.value}' appears twice")
            out[str(k.value)] = self.plain(v)
        return out

    def check(self, node: yaml.Node, data: Any, model: type[_M], where: str) -> _M | None:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                self.explain(node, err, model, where)
            return None

    def explain(self, node: yaml.Node, err: ErrorDetails, model: type[BaseModel],
                where: str) -> None:
        loc, kind, msg = err["loc"], err["type"], err["msg"]
        name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
        if kind == "missing":
            self.error(_at(node, loc[:-1]), f"{where}: missing key '{name}'")
        elif kind == "extra_forbidden":
            for part in loc[:-1]:  # the nested model that refused the key
                sub = getattr(model.model_fields.get(str(part)), "annotation", None)
                model = sub if isinstance(sub, type) and issubclass(sub, BaseModel) else model
            allowed = [f.alias or n for n, f in model.model_fields.items()]
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            inside = f" in {'.'.join(map(str, loc[:-1]))}" if len(loc) > 1 else ""
            self.error(_at(node, loc, key=True), f"{where}: unknown key '{name}'{inside}; "
                       f"{hint}expected one of {', '.join(allowed)}")
        elif kind in ("choice", "shape"):
            self.error(_at(node, loc), f"{where}: {name} {msg}")
        elif not loc:
            mapping = "expected a mapping of keys to values"
            self.error(node, f"{where}: {mapping if kind == 'model_type' else msg}")
        else:
            value = f" '{err['input']}'" if isinstance(err["input"], str) else ""
            self.error(_at(node, loc), f"{where}: {name}{value}: {msg}")

    def items(self, node: yaml.Node, data: Any, model: type[_M],
              label: str) -> list[tuple[int, yaml.Node, _M]]:
        """Return (1-based position, node, spec) of the list's valid items."""
        if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
            return []
        out = []
        for i, (n, d) in enumerate(zip(node.value, data, strict=True), 1):
            key = d.get("key") if isinstance(d, dict) else None
            where = f"{label} '{key}'" if isinstance(key, str) else f"{label} {i}"
            if (spec := self.check(n, d, model, where)) is not None:
                out.append((i, n, spec))
            elif isinstance(key, str):
                self.broken.add((label, key))
        return out

    def ref(self, node: yaml.Node, where: str, key: str, people: dict[str, PersonSpec],
            roles: tuple[str, ...]) -> None:
        if ("person", key) in self.broken:
            return
        if key not in people:
            self.error(node, f"{where} '{key}' is not a person of this file")
        elif people[key].role not in roles:
            self.error(node, f"{where} '{key}' has role {people[key].role}; "
                       f"expected {' or '.join(roles)}")


def parse_org(path: str | Path) -> OrgSpec:
    """Validate an organisation file and return its spec, or raise OrgError."""
    r = _Reader(str(path))
    try:
        root = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except OSError as exc:
        raise OrgError([OrgProblem(str(path), 0, f"cannot read the file: {exc}")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise OrgError([OrgProblem(str(path), mark.line + 1 if mark else 1,
                                   f"not valid YAML: {problem}")]) from exc
    if root is None:
        raise OrgError([OrgProblem(str(path), 1, "the file is empty")])
    data = r.plain(root)
    r.check(root, data, _File, "file")
    if not isinstance(data, dict):
        raise OrgError(r.problems)
    sec = {k: _at(root, (k,)) for k in data}
    unit = r.check(sec["unit"], data["unit"], UnitSpec, "unit") if "unit" in data else None
    shops: dict[str, WorkshopSpec] = {}
    for _, node, ws in r.items(sec.get("workshops", root), data.get("workshops"), WorkshopSpec,
                               "workshop"):
        if shops.setdefault(ws.key, ws) is not ws:
            r.error(node, f"workshop '{ws.key}': key '{ws.key}' is used by another workshop")
    people: dict[str, PersonSpec] = {}
    owner: dict[tuple[str, str], str] = {}
    for _, node, p in r.items(sec.get("people", root), data.get("people"), PersonSpec, "person"):
        where = f"person '{p.key}'"
        if p.key in people:
            r.error(node, f"{where}: key '{p.key}' is used by another person")
            continue
        people[p.key] = p
        if p.workshop not in (None, *shops) and ("workshop", p.workshop) not in r.broken:
            r.error(_at(node, ("workshop",)), f"{where}: workshop '{p.workshop}' is not a "
                    f"workshop of this file (known: {', '.join(shops) or 'none'})")
        if p.role == "liaison" and p.workshop is None:
            r.error(node, f"{where}: a liaison needs the workshop or section they serve")
        for channel, address in _contacts(p):
            if owner.setdefault((channel, address), p.key) != p.key:
                r.error(_at(node, ("contacts", channel)), f"{where}: {channel} contact "
                        f"'{address}' is already given to person '{owner[(channel, address)]}'")
    if "people" in sec and [p.role for p in people.values()].count("director") != 1:
        r.error(sec["people"], "people: exactly one person must have role director "
                "(the union chairman)")

    responsibilities: dict[str, str] = {}
    if "responsibilities" in sec:
        node, raw = sec["responsibilities"], data["responsibilities"]
        resp = r.check(node, raw, _Responsibilities, "responsibilities")
        if resp is not None:
            responsibilities = {c: k for c, k in resp.model_dump().items() if k is not None}
        missing = [c for c in COMPLAINT_CATEGORIES if isinstance(raw, dict) and not raw.get(c)]
        if missing:
            r.error(node, "responsibilities: no leader for complaint category(ies) "
                    f"{', '.join(missing)}; every category needs one")
        for category, key in responsibilities.items():
            r.ref(_at(node, (category,)), f"responsibilities: {category} leader", key, people,
                  _DUTY_ROLES)

    chain = r.items(sec.get("alert_chain", root), data.get("alert_chain"), ChainStepSpec,
                    "alert_chain step")
    for i, node, step in chain:
        for j, key in enumerate(step.notify):
            where, at = f"alert_chain step {i}", _at(node, ("notify", j))
            if key in step.notify[:j]:
                r.error(at, f"{where}: '{key}' is listed twice")
            elif key == DUTY_LEADER and i > 1:
                r.error(at, f"{where}: {DUTY_LEADER} may appear only in the first step")
            elif key != DUTY_LEADER:
                r.ref(at, f"{where}: notify", key, people,
                      tuple(x for x in ROLES if x != "employee"))

    duty = r.items(sec.get("duty", root), data.get("duty"), DutySpec, "duty entry")
    taken: set[tuple[date, str]] = set()
    for i, node, entry in duty:
        r.ref(_at(node, ("leader",)), f"duty entry {i}: leader", entry.leader, people,
              _DUTY_ROLES)
        if (entry.day, entry.leader) in taken:
            r.error(node, f"duty entry {i}: '{entry.leader}' already has an entry on {entry.day}")
        taken.add((entry.day, entry.leader))

    rotation = None
    if data.get("duty_rotation") is not None:
        node = sec["duty_rotation"]
        rotation = r.check(node, data["duty_rotation"], DutyRotationSpec, "duty_rotation")
        for j, key in enumerate(rotation.leaders if rotation else ()):
            r.ref(_at(node, ("leaders", j)), "duty_rotation: leader", key, people, _DUTY_ROLES)
        for j, key in enumerate(rotation.union_leaders if rotation else ()):
            r.ref(_at(node, ("union_leaders", j)), "duty_rotation: union leader", key, people,
                  _DUTY_ROLES)

    away = r.items(sec.get("away", root), data.get("away"), AwaySpec, "away")
    for i, node, gone in away:
        r.ref(_at(node, ("leader",)), f"away {i}: leader", gone.leader, people, _DUTY_ROLES)

    years = r.items(sec.get("calendar", root), data.get("calendar"), CalendarYearSpec,
                    "calendar year")
    seen_years: set[int] = set()
    for i, node, year in years:
        if year.year in seen_years:
            r.error(node, f"calendar year {i}: {year.year} is given twice")
        seen_years.add(year.year)

    if r.problems or unit is None:
        raise OrgError(r.problems)
    return OrgSpec(unit, tuple(shops.values()), tuple(people.values()), responsibilities,
                   tuple(s for _, _, s in chain), tuple(e for _, _, e in duty), rotation,
                   tuple(y for _, _, y in years), tuple(a for _, _, a in away))


def _contacts(person: PersonSpec) -> list[tuple[str, str]]:
    return [(c, a) for c, a in person.contacts.model_dump().items() if a is not None]


def demo_org_path() -> Path:
    """Return the path of the shipped demo organisation file."""
    return Path(__file__).parent / "demo" / "org.yaml"


def demo_duty_days(start: date, count: int, calendar: WorkCalendar | None = None) -> list[date]:
    """Return the next `count` Chinese working days, `start` included."""
    return (calendar or WorkCalendar()).workdays(start, count)


def expand_rotation(rotation: DutyRotationSpec, today: date,
                    calendar: WorkCalendar | None = None) -> list[tuple[date, str]]:
    """Return (day, leader key) for the rotation's working days from `today` on."""
    cal = calendar or WorkCalendar()
    days = cal.workdays(today, rotation.days)
    lo, hi, sign = (_ROTATION_ANCHOR, days[0], 1) if days[0] >= _ROTATION_ANCHOR \
        else (days[0], _ROTATION_ANCHOR, -1)
    first = sign * sum(cal.is_workday(lo + timedelta(days=n)) for n in range((hi - lo).days))
    return [(d, rotation.leaders[(first + i) % len(rotation.leaders)]) for i, d in enumerate(days)]


@dataclass
class LoadReport:
    created: Counter[str] = field(default_factory=Counter)  # table class name -> rows
    updated: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    deactivated: list[str] = field(default_factory=list)  # person keys gone from the file
    kept: list[str] = field(default_factory=list)  # booked or published entries gone from it
    # Days on the roster whose rotation leader changed (a leader away, the rotation edited):
    # each gets a hand-over timer in the load's transaction, so the roster hands it over
    # with its bookings and notices whoever loaded the file (handlers.roster.load_file does
    # it at once; the timer sweep does it for any other caller).
    handover: list[date] = field(default_factory=list)
    uncovered: list[date] = field(default_factory=list)  # ...and nobody could take them
    # Open cases of the people deactivated, handed on to who now answers for them (filled
    # by handlers.roster.load_file; a PERSON_LEFT timer does it for any other caller).
    handed_on: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Tell whether the load wrote anything."""
        return bool(+self.created or +self.updated or +self.deleted or self.handover)

    def __str__(self) -> str:
        parts = [f"{verb} " + ", ".join(f"{n} {t}" for t, n in sorted(c.items()))
                 for verb, c in (("created", self.created), ("updated", self.updated),
                                 ("deleted", self.deleted)) if +c]
        parts += [f"deactivated {', '.join(self.deactivated)}"] if self.deactivated else []
        parts += [f"kept (booked or published) {', '.join(self.kept)}"] if self.kept else []
        parts += [f"handed over {', '.join(map(str, self.handover))}"] if self.handover else []
        parts += [f"nobody to receive on {', '.join(map(str, self.uncovered))}"] \
            if self.uncovered else []
        parts += [f"cases handed on {', '.join(self.handed_on)}"] if self.handed_on else []
        return "; ".join(parts) or "no change"


_Row = TypeVar("_Row", bound=SQLModel)


def _put(session: Session, report: LoadReport, row: _Row | None, model: type[_Row],
         values: dict[str, Any], **on_create: Any) -> _Row:
    if row is None:
        row = model(**values, **on_create)
        session.add(row)
        report.created[model.__name__] += 1
        return row
    changed = [k for k, v in values.items() if getattr(row, k) != v]
    for k in changed:
        setattr(row, k, values[k])
    if changed:
        report.updated[model.__name__] += 1
    return row


def _delete(session: Session, report: LoadReport, rows: Iterable[SQLModel]) -> None:
    for row in rows:
        session.delete(row)
        report.deleted[type(row).__name__] += 1


def _id(row: Unit | Workshop | Person) -> int:
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id after flush")
    return row.id


def load_org(session: Session, spec: OrgSpec, *, now: datetime) -> LoadReport:
    """Upsert the organisation of `spec` into the tables; a repeated load changes nothing."""
    if now.tzinfo is None:
        raise ValueError("load_org needs a timezone-aware now")
    today = now.astimezone(WORKROOM_ZONE).date()
    rep = LoadReport()
    unit = _put(session, rep, session.exec(select(Unit).where(Unit.key == spec.unit.key)).first(),
                Unit, {"key": spec.unit.key, "name": spec.unit.name})
    session.flush()
    unit_id = _id(unit)

    old_shops = {w.key: w for w in session.exec(
        select(Workshop).where(Workshop.unit_id == unit_id))}
    # Workshops gone from the file stay: cases and incidents point to them.
    shops = {ws.key: _put(session, rep, old_shops.get(ws.key), Workshop, {
        "unit_id": unit_id, "key": ws.key, "name": ws.name, "kind": ws.kind})
        for ws in spec.workshops}
    session.flush()

    keys = [p.key for p in spec.people]
    old_people = {p.key: p for p in session.exec(select(Person).where(
        or_(col(Person.key).in_(keys), col(Person.unit_id) == unit_id)))}
    people = {ps.key: _put(session, rep, old_people.get(ps.key), Person, {
        "key": ps.key, "name": ps.name, "role": ps.role, "unit_id": unit_id,
        "workshop_id": _id(shops[ps.workshop]) if ps.workshop else None, "post": ps.post,
        "portfolio": ps.portfolio, "verified": True, "active": True,
        # A language chosen in chat survives a reload unless the file sets one.
        **({"lang": ps.lang} if ps.lang else {}),
    }, created_at=now.astimezone(UTC)) for ps in spec.people}
    for key, person in old_people.items():
        # Only people of the file leave with it; chat visitors (unverified) are not the
        # file's to deactivate.
        if key not in people and person.unit_id == unit_id and person.active \
                and person.verified:
            person.active = False  # never deleted: cases point to them
            rep.updated["Person"] += 1
            rep.deactivated.append(key)
            # Their open cases are handed on in this load's transaction's wake: a timer
            # row, so that no caller can deactivate them and leave their cases with them.
            timers.schedule(session, kind=PERSON_LEFT, ref=str(_id(person)),
                            due_at=now.astimezone(UTC))
    session.flush()
    pid = {key: _id(p) for key, p in people.items()}

    wanted: dict[tuple[str, str], int] = {}
    managed: set[tuple[int, str]] = set()  # (person, channel) the file speaks for
    for ps in spec.people:
        for channel, address in (("web", f"p:{ps.key}"), ("console", f"p:{ps.key}"),
                                 *_contacts(ps)):
            wanted[(channel, address)] = pid[ps.key]
        managed.update((pid[ps.key], channel) for channel, _ in _contacts(ps))
    old_contacts = {(c.channel, c.address): c for c in session.exec(select(Contact).where(
        col(Contact.address).in_({a for _, a in wanted})))}
    for (channel, address), person_id in wanted.items():
        _put(session, rep, old_contacts.get((channel, address)), Contact,
             {"person_id": person_id, "channel": channel, "address": address})
    # A changed phone or chat id replaces the old one, so no push goes to a stale address;
    # channels the file does not mention (e.g. web sessions) are the bot's own.
    _delete(session, rep, [c for c in session.exec(select(Contact).where(
        col(Contact.person_id).in_(pid.values())))
        if (c.person_id, c.channel) in managed and (c.channel, c.address) not in wanted])

    old_resp = {r.category: r for r in session.exec(
        select(Responsibility).where(Responsibility.unit_id == unit_id))}
    for category, leader in spec.responsibilities.items():
        _put(session, rep, old_resp.pop(category, None), Responsibility,
             {"unit_id": unit_id, "category": category, "leader_id": pid[leader]})
    _delete(session, rep, old_resp.values())

    old_steps = {(s.position, s.person_id): s for s in session.exec(
        select(ChainStep).where(ChainStep.unit_id == unit_id))}
    for position, step in enumerate(spec.alert_chain, 1):
        for key in step.people:
            _put(session, rep, old_steps.pop((position, pid[key]), None), ChainStep,
                 {"unit_id": unit_id, "position": position, "person_id": pid[key],
                  "wait_minutes": step.wait_minutes})
    _delete(session, rep, old_steps.values())

    entries: list[tuple[date, str, _Reception, str | None, str | None]] = [
        (d.day, d.leader, d, d.post, d.portfolio) for d in spec.duty]
    rot = spec.duty_rotation
    roster.sync_from_file(
        session, unit_id, leaders=[pid[k] for k in rot.leaders] if rot else [],
        union_leaders=[pid[k] for k in rot.union_leaders] if rot else [],
        hours=(rot.start, rot.end) if rot else None, place=rot.place if rot else None,
        form=rot.form if rot else None, now=now.astimezone(UTC),
        away=[(pid[a.leader], a.first, a.last, a.kind) for a in spec.away])
    rotated: set[tuple[date, int]] = set()
    if rot is not None:
        # Through the last day already on the roster: days generated in chat stay.
        last = roster.last_entry_day(session, unit_id)
        through = min(last, today + timedelta(days=92)) if last else None
        by_key = {v: k for k, v in pid.items()}
        rotated = {(day, lid) for day, lid in roster.rotation_days(
            session, unit_id, [pid[k] for k in rot.leaders], today, rot.days,
            spec.work_calendar(), through=through) if lid in by_key}
        entries += [(day, by_key[lid], rot, None, None) for day, lid in sorted(rotated)]
    duty: dict[tuple[date, int], dict[str, Any]] = {}
    for day, key, hours, post, portfolio in entries:  # an explicit entry wins over the rotation
        duty.setdefault((day, pid[key]), {
            "unit_id": unit_id, "day": day, "start": hours.start, "end": hours.end,
            "place": hours.place, "leader_id": pid[key], "form": hours.form,
            "post": spec.person(key).post if post is None else post,
            "portfolio": spec.person(key).portfolio if portfolio is None else portfolio})
    old_duty = {(e.day, e.leader_id): e for e in session.exec(select(DutyEntry).where(
        DutyEntry.unit_id == unit_id, col(DutyEntry.day) >= min([today, *(d for d, _ in duty)])))}
    # A day whose rotation reception now falls to another leader keeps its one reception:
    # it is handed over (bookings, publication and all) by the roster, never doubled by a
    # second entry, nor deleted under its bookings or its publication.
    rota_leaders = {pid[k] for k in rot.leaders} if rot else set()
    handover: dict[date, DutyEntry] = {}
    for e in old_duty.values():
        if rot is not None and (e.day, e.leader_id) not in duty and e.day >= today \
                and e.form != "onsite" and (e.leader_id in rota_leaders or e.form == rot.form):
            handover.setdefault(e.day, e)
    for k, values in duty.items():
        held = handover.get(k[0])
        if k in rotated and k not in old_duty and held is not None:
            old_duty.pop((held.day, held.leader_id), None)
            rep.handover.append(k[0])
            continue
        _put(session, rep, old_duty.pop(k, None), DutyEntry, values)
    # Past entries are the visit ledger's history; booked ones must not lose their bookings,
    # nor published ones vanish from what the employees were told.
    stale = [e for e in old_duty.values() if e.day >= today]
    booked = set(session.exec(select(Booking.duty_entry_id).where(
        col(Booking.duty_entry_id).in_([e.id for e in stale]))))
    booked |= set(session.exec(select(DutyPublished.duty_entry_id).where(
        col(DutyPublished.duty_entry_id).in_([e.id for e in stale]))))
    # A visit to the site scheduled in chat is not the file's to delete.
    booked |= set(session.exec(select(Invitation.duty_entry_id).where(
        col(Invitation.duty_entry_id).in_([e.id for e in stale]))))
    by_id = {v: k for k, v in pid.items()}
    rep.kept += [f"{e.day} {by_id.get(e.leader_id, e.leader_id)}" for e in stale
                 if e.id in booked]
    _delete(session, rep, [e for e in stale if e.id not in booked])
    _load_calendar(session, rep, spec)
    session.flush()
    _hand_over_later(session, rep, spec, unit_id, pid, today, now)
    return rep


def _hand_over_later(session: Session, rep: LoadReport, spec: OrgSpec, unit_id: int,
                     pid: dict[str, int], today: date, now: datetime) -> None:
    """Leave a hand-over timer for each day the load gives to another leader, so no caller
    can list the days and leave them (and their bookings) with a leader who is away."""
    days = set(rep.handover)
    if session.exec(select(RosterPlan).where(RosterPlan.unit_id == unit_id)).first():
        # A swapped day of a leader now away: the rotation did not move it by itself.
        given = {(d.day, pid[d.leader]) for d in spec.duty}
        away = roster.away_check(session, unit_id)
        for e in session.exec(select(DutyEntry).where(
                DutyEntry.unit_id == unit_id, col(DutyEntry.form) != "onsite",
                col(DutyEntry.day) >= today)):
            if away(e.leader_id, e.day) and (e.day, e.leader_id) not in given:
                days.add(e.day)
    for day in sorted(days):
        timers.schedule(session, kind=roster.HANDOVER, ref=f"{unit_id}:{day}",
                        due_at=now.astimezone(UTC))
    rep.handover = sorted(days)
    session.flush()


def _load_calendar(session: Session, rep: LoadReport, spec: OrgSpec) -> None:
    """Make CalendarDay rows exactly the file's holidays and swapped workdays."""
    cal = spec.work_calendar()
    old = {r.day: r for r in session.exec(select(CalendarDay))}
    for day, workday in sorted(cal.extra.items()):
        _put(session, rep, old.pop(day, None), CalendarDay, {"day": day, "workday": workday})
    _delete(session, rep, old.values())
