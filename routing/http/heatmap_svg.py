"""The impact report's transition matrix as a heat map, drawn on the server as SVG.

Rows are the outcomes inquiries got (route/urgency), columns what the draft would give them; a cell's colour
grows darker with its count (on a log scale, so one inquiry still shows beside thousands). Cells on the diagonal
(nothing changes) are grey, changes are orange, and any cell leaving urgent_review is red with a thick border.
Only SVG presentation attributes are used, no ``style`` and no script, so the console's strict Content Security
Policy stays as it is. Every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from routing.domain.vocabulary import Route

CELL_WIDTH, CELL_HEIGHT = 84, 34
#: Room for the row labels on the left, the slanted column labels above and their overhang on the right.
LEFT, TOP, RIGHT = 250, 170, 190
#: Light to dark, for cells where nothing changes, for changes, and for exits from urgent_review. The darkest
#: shades stay light enough for the dark count written on them (contrast above 4.5:1).
SAME = ((0xF3, 0xF4, 0xF6), (0xA3, 0xA9, 0xB1))
CHANGE = ((0xFF, 0xF3, 0xE0), (0xF0, 0x9A, 0x3E))
EXIT = ((0xFD, 0xE7, 0xEA), (0xF0, 0x7A, 0x88))
INK = "#1a1a1a"


def _mix(scale: tuple[tuple[int, int, int], tuple[int, int, int]], share: float) -> str:
    light, dark = scale
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(light, dark, strict=True))


def _label(key: str, labels: Mapping[str, Mapping[str, str]]) -> str:
    route, _, urgency = key.partition("/")
    return f"{labels.get('route', {}).get(route, route)}, {labels.get('urgency', {}).get(urgency, urgency)}"


def heatmap(report: Mapping[str, Any], labels: Mapping[str, Mapping[str, str]], title_id: str = "heatmap-title"):
    """The report's transition matrix as inline SVG markup (safe to put in a page as it is)."""
    outcomes: Sequence[str] = report.get("outcomes") or []
    counts: dict[tuple[str, str], int] = {}
    for transition in report.get("transitions") or []:
        before = f"{transition['from']['route']}/{transition['from']['urgency']}"
        after = f"{transition['to']['route']}/{transition['to']['urgency']}"
        counts[before, after] = transition["count"]
    top = max(counts.values(), default=1)
    width, height = LEFT + CELL_WIDTH * len(outcomes) + RIGHT, TOP + CELL_HEIGHT * len(outcomes) + 10
    changed = sum(count for (before, after), count in counts.items() if before != after)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{escape(title_id)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" class="heatmap">',
        f'<title id="{escape(title_id)}">Transition matrix: decision in force (rows) to the draft\'s (columns); '
        f"{changed} of {sum(counts.values())} inquiries would change.</title>",
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="700" fill="#1a1a1a">The draft would decide →</text>',
        '<text x="4" y="16" font-size="13" font-weight="700" fill="#1a1a1a">Decided ↓</text>',
    ]
    for index, key in enumerate(outcomes):
        x = LEFT + index * CELL_WIDTH + CELL_WIDTH / 2
        parts.append(
            f'<text x="{x:.0f}" y="{TOP - 8}" font-size="12" fill="#1a1a1a" '
            f'transform="rotate(-40 {x:.0f} {TOP - 8})">{escape(_label(key, labels))}</text>'
        )
        y = TOP + index * CELL_HEIGHT + CELL_HEIGHT / 2 + 4
        parts.append(
            f'<text x="{LEFT - 8}" y="{y:.0f}" font-size="12" text-anchor="end" fill="#1a1a1a">'
            f"{escape(_label(key, labels))}</text>"
        )
    for row, before in enumerate(outcomes):
        for column, after in enumerate(outcomes):
            count = counts.get((before, after), 0)
            x, y = LEFT + column * CELL_WIDTH, TOP + row * CELL_HEIGHT
            share = math.log1p(count) / math.log1p(top) if count else 0.0
            exits = before.startswith(f"{Route.URGENT_REVIEW}/") and not after.startswith(f"{Route.URGENT_REVIEW}/")
            scale = SAME if before == after else EXIT if exits else CHANGE
            fill = _mix(scale, share) if count else "#ffffff"
            border = ' stroke="#a4001c" stroke-width="3"' if exits and count else ' stroke="#c8c8c8" stroke-width="1"'
            what = "unchanged" if before == after else "would change"
            parts.append(
                f'<g class="cell" data-from="{escape(before)}" data-to="{escape(after)}" data-count="{count}">'
                f"<title>{escape(_label(before, labels))} → {escape(_label(after, labels))}: {count} ({what})</title>"
                f'<rect x="{x}" y="{y}" width="{CELL_WIDTH}" height="{CELL_HEIGHT}" fill="{fill}"{border}/>'
            )
            if count:
                parts.append(
                    f'<text x="{x + CELL_WIDTH / 2:.0f}" y="{y + CELL_HEIGHT / 2 + 5:.0f}" font-size="14" '
                    f'text-anchor="middle" font-weight="700" fill="{INK}">{count}</text>'
                )
            parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is a number or escaped


__all__ = ["heatmap"]
