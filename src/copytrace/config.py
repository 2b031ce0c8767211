"""One source of truth for parameters: each is defined once, with its default,
help text and constraint, and every entry point (CLI, Python API, index) uses
that definition.

``FingerprintConfig`` holds the parameters that decide which pairs exist and
that an index stores (ngram, num_perm, seed, threshold, sample_rate, max_df).
``FindOptions`` (:mod:`copytrace.options`) takes these fields from it and adds
the rest of ``find``; :class:`~copytrace.index.Index` is created from a
``FingerprintConfig`` and validates the one it reads back from the file.

A parameter is a dataclass field made by :func:`param`: its metadata
(:class:`Spec`) holds the help text, the constraint (a :class:`Check`) and how
it shows on the command line.  From that metadata

* ``validate(obj)`` checks every field (dataclasses call it in
  ``__post_init__``); messages name the parameter as Python spells it
  ("ngram must be in 1..64, got 0") and carry it in ``OptionError.param``,
  and the CLI rewrites the name into the flag ("--ngram must be …");
* ``cli_common.click_options(cls)`` generates the click options: flag
  ``--field-name``, default, help, ``--x/--no-x`` for booleans;
* ``copytrace.find(**options)`` takes the field names as keywords.

How to add an option (one place)
--------------------------------
* An option of ``find``: add a field to ``FindOptions`` with
  ``param(default, "help", check)``.  The ``find`` flag, the keyword of
  ``copytrace.find``, the validation and ``summary.json``'s parameters
  follow; an engine reads it as ``options.name``.
* A fingerprint parameter (one an index must store): add it to
  ``FingerprintConfig`` and inherit it in ``FindOptions`` with
  ``inherit(FingerprintConfig, "name")`` at the place it should appear;
  ``index create`` gets the flag and the index stores it.
* An input-reading option: a field of ``stages.read.ReadOptions`` and its
  flag in ``cli_common.reader_options`` (``find`` and ``index add`` pass the
  reader flags through to ``ReadOptions`` by name).
* A flag that is not a field (``find --engine``): write it as a click option
  in ``cli.py``; ``find_cmd`` passes unknown parameters on as keywords.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

from copytrace.errors import OptionError

__all__ = [
    "Check",
    "IntRange",
    "FloatRange",
    "OneOf",
    "Spec",
    "param",
    "inherit",
    "spec_of",
    "validate",
    "check_value",
    "FingerprintConfig",
    "THRESHOLD_HELP",
    "PORT",
    "BOOL",
]

INT32_MAX = 2**31 - 1
INT63_MAX = 2**63 - 1


class Check:
    """A constraint on one value: ``check(name, value)`` raises
    :class:`OptionError` naming ``name``; ``describe()`` says what is allowed."""

    def __call__(self, name: str, value: Any) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


def _bound(x: int) -> str:
    if x > 10**6 and ((x + 1) & x) == 0:
        return f"2^{(x + 1).bit_length() - 1}-1"
    return str(x)


@dataclass(frozen=True)
class IntRange(Check):
    """An integer (not a bool) in ``lo..hi`` (inclusive); ``none_ok``: None allowed."""

    lo: int
    hi: int = INT32_MAX
    none_ok: bool = False

    def describe(self) -> str:
        return f"{_bound(self.lo)}..{_bound(self.hi)}"

    def __call__(self, name: str, value: Any) -> None:
        if value is None and self.none_ok:
            return
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise OptionError(f"{name} must be an integer in {self.describe()}, got {value!r}", param=name)
        if not self.lo <= int(value) <= self.hi:
            raise OptionError(f"{name} must be in {self.describe()}, got {int(value)}", param=name)


@dataclass(frozen=True)
class FloatRange(Check):
    """A finite number in ``(lo, hi]`` (``lo_open``) or ``[lo, hi]``."""

    lo: float
    hi: float
    lo_open: bool = False

    def describe(self) -> str:
        return f"{'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}]"

    def __call__(self, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            raise OptionError(f"{name} must be a number in {self.describe()}, got {value!r}", param=name)
        v = float(value)
        if v > self.hi or v < self.lo or (self.lo_open and v == self.lo):
            raise OptionError(f"{name} must be in {self.describe()}, got {value}", param=name)


@dataclass(frozen=True)
class OneOf(Check):
    """One of the given values."""

    values: tuple[Any, ...]

    def describe(self) -> str:
        return ", ".join(map(str, self.values))

    def __call__(self, name: str, value: Any) -> None:
        if value not in self.values:
            raise OptionError(f"{name} must be one of {self.describe()}, got {value!r}", param=name)


PORT = IntRange(1, 65535)  # a TCP port to listen on
BOOL = OneOf((True, False))


@dataclass(frozen=True)
class Spec:
    """What a parameter field carries besides its default.

    ``help``: one text for ``--help`` and the docs; ``check``: its constraint;
    ``cli``: whether ``click_options`` makes a flag of it; ``flag``: the
    flag's name when not ``--field-name``; ``negatable``: a bool as
    ``--x/--no-x`` (else a plain ``--x`` switch); ``path``: ``"dir"`` for a
    directory argument."""

    help: str
    check: Check | None = None
    cli: bool = True
    flag: str | None = None
    negatable: bool = True
    path: str | None = None

    def flag_name(self, name: str) -> str:
        return self.flag or "--" + name.replace("_", "-")


_KEY = "copytrace"


def param(default: Any = dataclasses.MISSING, help: str = "", check: Check | None = None, *,
          default_factory: Any = dataclasses.MISSING, **spec: Any) -> Any:
    """A dataclass field that is a parameter (see the module doc); a bool
    default without a check gets :data:`BOOL`."""
    if check is None and isinstance(default, bool):
        check = BOOL
    md = {_KEY: Spec(help, check, **spec)}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=md)
    return field(default=default, metadata=md)


def inherit(cls: type, name: str, **changes: Any) -> Any:
    """The field ``name`` of ``cls`` (default, help, check) for another dataclass;
    ``changes`` replace parts of its :class:`Spec`."""
    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    md = dict(f.metadata)
    if changes:
        md[_KEY] = dataclasses.replace(md[_KEY], **changes)
    return field(default=f.default, metadata=md)


def spec_of(cls_or_obj: Any, name: str) -> Spec | None:
    for f in dataclasses.fields(cls_or_obj):
        if f.name == name:
            return f.metadata.get(_KEY)
    raise KeyError(name)


def help_of(cls_or_obj: Any, name: str) -> str:
    """The help text of the parameter field ``name`` (KeyError: no such parameter field)."""
    spec = spec_of(cls_or_obj, name)
    if spec is None:
        raise KeyError(f"{name} is not a parameter field")
    return spec.help


def validate(obj: Any) -> None:
    """Check every parameter field of a dataclass instance (first failure raises)."""
    for f in dataclasses.fields(obj):
        spec = f.metadata.get(_KEY)
        if spec is not None and spec.check is not None:
            spec.check(f.name, getattr(obj, f.name))


def check_value(cls: type, name: str, value: Any, as_name: str | None = None) -> None:
    """Check ``value`` against the constraint of ``cls``'s field ``name``
    (for an entry point that takes the parameter outside the dataclass);
    the message names ``as_name`` (default ``name``)."""
    spec = spec_of(cls, name)
    if spec is not None and spec.check is not None:
        spec.check(as_name or name, value)


THRESHOLD_HELP = ("Pair two documents when their similarity reaches this: the share of the more-contained text "
                  "found in the other, by exact shingles or aligned passages (stages/rule.py; the same rule in "
                  "find, compare, index query and the service).")


@dataclass(frozen=True)
class FingerprintConfig:
    """The parameters that decide which pairs of documents exist: shared by
    ``find`` (``FindOptions``) and the index (which stores them; its
    ``threshold`` also chooses the LSH bands and rows).  Each field's help
    text and constraint is in its definition; the same seed gives the same
    output."""

    threshold: float = param(0.5, THRESHOLD_HELP, FloatRange(0.0, 1.0, lo_open=True))
    ngram: int = param(5, "Words per shingle.", IntRange(1, 64))
    num_perm: int = param(128, "MinHash permutations.", IntRange(1, 4096))
    seed: int = param(42, "Seed of the MinHash permutations.", IntRange(0, INT63_MAX))
    sample_rate: int = param(8, "1-in-N shingle sample for containment candidates.", IntRange(1))
    max_df: int = param(64, "Ignore sampled shingles found in more documents than this.", IntRange(2))

    def __post_init__(self) -> None:
        validate(self)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "FingerprintConfig":
        """From a mapping that holds (at least) every field, e.g. an index's
        stored parameters or another options object's ``vars``."""
        missing = [n for n in cls.names() if n not in values]
        if missing:
            raise OptionError(f"missing parameter(s): {', '.join(missing)}")
        return cls(**{n: values[n] for n in cls.names()})

    @classmethod
    def of(cls, obj: Any) -> "FingerprintConfig":
        """The fingerprint parameters of an object that has them as attributes."""
        return cls(**{n: getattr(obj, n) for n in cls.names()})
