"""Column definitions shared by the printers (metav1.TableColumnDefinition as dicts),
and the Printer record each kind registers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

NAME_DOC = ("Name must be unique within a namespace; it is what clients use to refer to the "
            "object.")
AGE_DOC = ("CreationTimestamp is when the server created this object, in RFC 3339 form; "
           "shown as the time since then.")


def column(name: str, type_: str = "string", description: str = "", *, priority: int = 0,
           fmt: str = "") -> dict[str, Any]:
    """One column definition; every field is present, as upstream serialises them."""
    return {"name": name, "type": type_, "format": fmt, "description": description,
            "priority": priority}


def name() -> dict[str, Any]:
    return column("Name", description=NAME_DOC, fmt="name")


def age() -> dict[str, Any]:
    return column("Age", description=AGE_DOC)


def wide(name_: str, description: str, type_: str = "string") -> dict[str, Any]:
    """A priority-1 column: shown by `kubectl get -o wide` only."""
    return column(name_, type_, description, priority=1)


def template_columns(with_selector: bool = True) -> list[dict[str, Any]]:
    """The Containers / Images (/ Selector) wide columns of workload kinds."""
    cols = [wide("Containers", "Names of each container in the template."),
            wide("Images", "Images referenced by each container in the template.")]
    if with_selector:
        cols.append(wide("Selector", "Label query over the pods this object manages."))
    return cols


@dataclass(frozen=True)
class Printer:
    """How one kind becomes table rows: its columns and a function from object to cells.

    `cells` always returns every column's value, wide ones included: the server prints
    wide and kubectl drops priority-1 columns unless asked for `-o wide`.
    """

    columns: tuple[dict[str, Any], ...]
    cells: Callable[[dict[str, Any], datetime], list[Any]]
    conditions: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None


def printer(cols: list[dict[str, Any]], cells: Callable[[dict[str, Any], datetime], list[Any]],
            conditions: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None) -> Printer:
    return Printer(tuple(cols), cells, conditions)
