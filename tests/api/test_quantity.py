"""Quantities parse, round and print back as resource.Quantity does."""

import pytest

from kubelite.api import quantity


@pytest.mark.parametrize(
    ("text", "milli", "whole"),
    [
        ("100m", 100, 1),
        ("1.5", 1500, 2),
        ("1", 1000, 1),
        ("0.1", 100, 1),
        ("500Mi", 500 * 2**20 * 1000, 500 * 2**20),
        ("1Gi", 2**30 * 1000, 2**30),
        ("2k", 2_000_000, 2000),
        ("1e3", 1_000_000, 1000),
        ("1E3", 1_000_000, 1000),
        ("128974848", 128974848000, 128974848),
        ("129M", 129 * 10**9, 129 * 10**6),
        ("1n", 1, 1),
        ("0.5m", 1, 1),
        ("-1.5", -1500, -2),
        ("+2", 2000, 2),
        (".5", 500, 1),
        ("0", 0, 0),
        (3, 3000, 3),
        (0.25, 250, 1),
    ],
    ids=lambda v: str(v),
)
def test_milli_and_whole_values_round_away_from_zero(text: str, milli: int, whole: int) -> None:
    assert quantity.milli_value(text) == milli
    assert quantity.value(text) == whole


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100m", "100m"),
        ("1.5", "1500m"),
        ("1000", "1k"),
        ("1000m", "1"),
        ("2k", "2k"),
        ("1500", "1500"),
        ("0.1", "100m"),
        ("1e3", "1e3"),
        ("1.5e3", "1500"),
        ("12e6", "12e6"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"),
        ("0.5Ki", "512"),
        ("100Mi", "100Mi"),
        ("1000Mi", "1000Mi"),
        ("128974848", "128974848"),
        ("0.1n", "1n"),
        ("0", "0"),
        ("-100m", "-100m"),
        ("1000E", "1e21"),
        ("0.5", "500m"),
    ],
)
def test_canonical_form(text: str, expected: str) -> None:
    assert quantity.canonical(text) == expected


@pytest.mark.parametrize("text", ["", ".", "abc", "1.2.3", "1Ki1", "1kb", "1 Gi", "--1", "1ki", "e3"])
def test_malformed_quantities_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        quantity.parse(text)


def test_constructors_print_canonically() -> None:
    assert str(quantity.from_milli(100)) == "100m"
    assert str(quantity.from_int(2 * 2**30, quantity.BINARY_SI)) == "2Gi"
    assert str(quantity.from_int(500)) == "500"
