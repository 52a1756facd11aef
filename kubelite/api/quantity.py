"""Kubernetes resource quantities ("100m", "1.5", "500Mi", "2k", "1e3").

A quantity is an exact rational number plus the format it was written in (DecimalSI,
BinarySI or DecimalExponent); the format decides how it prints back. Parsing rounds
away from zero to nano precision, and `value`/`milli_value` round away from zero to
whole units or thousandths, as resource.Quantity does. Values are kept exact with
`fractions.Fraction`, so no float error ever reaches a comparison.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {exp: suffix for suffix, exp in _DECIMAL.items()}
_NUMBER = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)\Z", re.DOTALL)
_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)\Z")
_NANO = Fraction(1, 10**9)
_MAX_BINARY = Fraction(2**63 - 1)
_ERR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


@dataclass(frozen=True)
class Quantity:
    """An exact amount and the format it prints in."""

    amount: Fraction
    format: str = DECIMAL_SI

    def __str__(self) -> str:
        return format_quantity(self)


def parse(text: str | float) -> Quantity:
    """Parse a quantity string (JSON numbers are accepted too); ValueError when malformed."""
    if isinstance(text, bool):  # JSON true/false: bool is an int subclass, not a quantity
        raise TypeError(_ERR)
    if isinstance(text, (int, float)):
        text = repr(text) if isinstance(text, float) else str(text)
    return _parse_cached(text.strip())


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Quantity:
    match = _NUMBER.match(text)
    if not text or match is None:
        raise ValueError(_ERR)
    sign, whole, frac, suffix = match.groups()
    frac = frac or ""
    if not whole and not frac:
        raise ValueError(_ERR)
    number = Fraction(int(whole + frac or "0"), 10 ** len(frac))
    fmt, multiplier = _suffix(suffix)
    amount = number * multiplier
    amount = -_round_up(amount, _NANO) if sign == "-" else _round_up(amount, _NANO)
    if fmt == BINARY_SI:
        amount = min(amount, _MAX_BINARY)
        if 0 < abs(amount) < 1:
            fmt = DECIMAL_SI
    return Quantity(amount, fmt)


def _suffix(suffix: str) -> tuple[str, Fraction]:
    if suffix in _BINARY:
        return BINARY_SI, Fraction(2 ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return DECIMAL_SI, Fraction(10) ** _DECIMAL[suffix]
    exp = _EXPONENT.match(suffix)
    if exp is None:
        raise ValueError("unable to parse quantity's suffix")
    return DECIMAL_EXPONENT, Fraction(10) ** int(exp.group(1))


def _round_up(amount: Fraction, unit: Fraction) -> Fraction:
    """Round a non-negative amount up to a multiple of unit."""
    return math.ceil(amount / unit) * unit


def _away_from_zero(amount: Fraction) -> int:
    return math.ceil(amount) if amount >= 0 else -math.ceil(-amount)


def value(text: str | float) -> int:
    """The quantity in whole units, rounded away from zero (Quantity.Value)."""
    return _away_from_zero(parse(text).amount)


def milli_value(text: str | float) -> int:
    """The quantity in thousandths, rounded away from zero (Quantity.MilliValue)."""
    return _away_from_zero(parse(text).amount * 1000)


def canonical(text: str | float) -> str:
    """The canonical string of a quantity, as the API server stores it."""
    return format_quantity(parse(text))


def from_milli(milli: int) -> Quantity:
    """A DecimalSI quantity of `milli` thousandths (NewMilliQuantity)."""
    return Quantity(Fraction(milli, 1000), DECIMAL_SI)


def from_int(number: int, fmt: str = DECIMAL_SI) -> Quantity:
    """A quantity of a whole number in the given format (NewQuantity)."""
    return Quantity(Fraction(number), fmt)


def format_quantity(q: Quantity) -> str:
    """Canonical form: integer mantissa, largest suffix that keeps it exact."""
    if q.amount == 0:
        return "0"
    fmt = q.format
    if fmt == BINARY_SI:
        if abs(q.amount) < 1024 or q.amount.denominator != 1:
            fmt = DECIMAL_SI
        else:
            return _format_binary(int(q.amount))
    mantissa, exponent = _decimal_parts(q.amount)
    if fmt == DECIMAL_SI and exponent in _DECIMAL_BY_EXP:
        return f"{mantissa}{_DECIMAL_BY_EXP[exponent]}"
    return f"{mantissa}e{exponent}" if exponent else str(mantissa)


def _format_binary(number: int) -> str:
    exponent = 0
    while exponent < 60 and number % 1024 == 0:
        number //= 1024
        exponent += 10
    suffix = {v: k for k, v in _BINARY.items()}.get(exponent, "")
    return f"{number}{suffix}"


def _decimal_parts(amount: Fraction) -> tuple[int, int]:
    """(mantissa, exponent) with exponent a multiple of 3 and mantissa an integer, largest exponent."""
    exponent = -9
    whole = _away_from_zero(amount * 10**9)  # exact after parse; rounds hand-built values
    while whole % 1000 == 0:
        whole //= 1000
        exponent += 3
    return whole, exponent
