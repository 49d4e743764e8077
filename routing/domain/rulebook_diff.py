"""What changed between two rulebook documents: rules added, removed, changed or moved; modifiers; terms (the
thresholds); urgency windows; and the other settings. For the console's side-by-side view of two versions.

Items are matched by id (rules, modifiers) or name (terms, windows), so a rule that moved keeps its identity. A
changed item lists the values that differ by their place in it (``when.all[1].at_least: 42 -> 28``); those whose
old and new values are both numbers are the thresholds. Pure Python: documents in, plain data out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ADDED, REMOVED, CHANGED, MOVED, SAME = "added", "removed", "changed", "moved", "same"
#: The rulebook's top-level settings shown as one item each (rules, modifiers, terms and windows have sections).
SETTINGS = ("version", "policy", "needs_review", "labels")


@dataclass(frozen=True)
class Leaf:
    """One value that differs inside an item: where, before, after (None when absent on that side)."""

    path: str
    before: Any
    after: Any

    @property
    def threshold(self) -> bool:
        """Both sides are numbers (not booleans): a threshold moved."""
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in (self.before, self.after))


@dataclass(frozen=True)
class Item:
    """One rule, modifier, term, window or setting, on both sides."""

    key: str
    status: str
    before: Any
    after: Any
    leaves: tuple[Leaf, ...] = ()
    #: For rules and modifiers: the position (1-based) in each version, None where absent.
    positions: tuple[int | None, int | None] = (None, None)

    def shown(self, side: str) -> str:
        """The item's JSON on one side (``before`` or ``after``), indented for reading; empty when absent."""
        value = getattr(self, side)
        return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)

    @property
    def thresholds(self) -> tuple[Leaf, ...]:
        """The leaves that are thresholds (numbers on both sides)."""
        return tuple(leaf for leaf in self.leaves if leaf.threshold)


@dataclass(frozen=True)
class RulebookDiff:
    """Sections of items, each in the newer version's order (removed items where they were)."""

    rules: tuple[Item, ...]
    modifiers: tuple[Item, ...]
    terms: tuple[Item, ...]
    windows: tuple[Item, ...]
    settings: tuple[Item, ...]

    def sections(self) -> list[tuple[str, tuple[Item, ...]]]:
        """(title, items) in the order a reader wants them."""
        return [
            ("Rules", self.rules),
            ("Modifiers", self.modifiers),
            ("Terms and thresholds", self.terms),
            ("Urgency windows (days)", self.windows),
            ("Other settings", self.settings),
        ]

    def counts(self) -> dict[str, int]:
        """How many items were added, removed, changed or moved, across sections."""
        out = dict.fromkeys((ADDED, REMOVED, CHANGED, MOVED), 0)
        for _, items in self.sections():
            for item in items:
                if item.status in out:
                    out[item.status] += 1
        return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> RulebookDiff:
    """Compare two rulebook documents (as validated JSON)."""
    return RulebookDiff(
        rules=_by_id(before.get("rules") or [], after.get("rules") or []),
        modifiers=_by_id(_steps(before.get("modifiers")), _steps(after.get("modifiers"))),
        terms=_by_name(before.get("terms") or {}, after.get("terms") or {}),
        windows=_by_name(before.get("urgency_windows_days") or {}, after.get("urgency_windows_days") or {}),
        settings=_by_name(
            {**{key: before.get(key) for key in SETTINGS}, "never_for_routes": _never(before.get("modifiers"))},
            {**{key: after.get(key) for key in SETTINGS}, "never_for_routes": _never(after.get("modifiers"))},
        ),
    )


def _steps(modifiers: Any) -> list:
    # {"never_for_routes": [...], "steps": [...]}; older rulebooks kept a plain list.
    return (modifiers.get("steps") or []) if isinstance(modifiers, dict) else list(modifiers or [])


def _never(modifiers: Any) -> Any:
    return modifiers.get("never_for_routes") if isinstance(modifiers, dict) else None


def _by_id(before: list[dict], after: list[dict]) -> tuple[Item, ...]:
    old = {spec.get("id"): (index, spec) for index, spec in enumerate(before)}
    new = {spec.get("id"): (index, spec) for index, spec in enumerate(after)}
    items: list[tuple[float, Item]] = []
    # Order: the newer version's, and a removed rule just after the one it followed before.
    for key, (index, spec) in new.items():
        if key not in old:
            items.append((index, Item(str(key), ADDED, None, spec, positions=(None, index + 1))))
            continue
        old_index, old_spec = old[key]
        leaves = tuple(_leaves(old_spec, spec, ""))
        moved = _relative_order(key, before, after)
        status = CHANGED if leaves else (MOVED if moved else SAME)
        items.append((index, Item(str(key), status, old_spec, spec, leaves, (old_index + 1, index + 1))))
    for key, (old_index, spec) in old.items():
        if key not in new:
            follows = _placed_after(old_index, before, new)
            items.append((follows + 0.5, Item(str(key), REMOVED, spec, None, positions=(old_index + 1, None))))
    return tuple(item for _, item in sorted(items, key=lambda pair: pair[0]))


def _relative_order(key: Any, before: list[dict], after: list[dict]) -> bool:
    """Whether the item's place among the items both versions share changed (an insertion alone moves none)."""
    shared = {spec.get("id") for spec in before} & {spec.get("id") for spec in after}
    old = [spec.get("id") for spec in before if spec.get("id") in shared]
    new = [spec.get("id") for spec in after if spec.get("id") in shared]
    return old.index(key) != new.index(key)


def _placed_after(old_index: int, before: list[dict], new: Mapping[Any, tuple[int, dict]]) -> float:
    for previous in reversed(before[:old_index]):
        if previous.get("id") in new:
            return new[previous.get("id")][0]
    return -1


def _by_name(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[Item, ...]:
    items = []
    for key in [*after, *(name for name in before if name not in after)]:
        if key not in before:
            items.append(Item(key, ADDED, None, after[key]))
        elif key not in after:
            items.append(Item(key, REMOVED, before[key], None))
        else:
            leaves = tuple(_leaves(before[key], after[key], ""))
            items.append(Item(key, CHANGED if leaves else SAME, before[key], after[key], leaves))
    return tuple(items)


def _leaves(before: Any, after: Any, path: str):
    """The places where two JSON values differ, down to the values themselves."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            yield from _leaves(before.get(key), after.get(key), f"{path}.{key}" if path else str(key))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _leaves(old, new, f"{path}[{index}]")
    elif before != after or type(before) is not type(after):
        yield Leaf(path or "(whole)", before, after)


__all__ = ["ADDED", "CHANGED", "MOVED", "REMOVED", "SAME", "Item", "Leaf", "RulebookDiff", "diff"]
