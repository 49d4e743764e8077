"""The postal-code table: where each postal code is on the map, read from a CSV file and checked at start.

A patient who gives a postal code and no preferred site is booked first at a site within the travel radius of it.
The table is data the practice keeps (``ROUTING_POSTAL_CODES_FILE``): one row per code, ``postal_code,latitude,
longitude``; lines starting with ``#`` are comments. A bad row stops the start with a message naming its line.
"""

from __future__ import annotations

import csv
from pathlib import Path

from routing.domain.locations import Coordinates, normalise_postal_code

DEFAULT_POSTAL_CODES_PATH = Path(__file__).with_name("postal_codes.csv")
_HEADER = ["postal_code", "latitude", "longitude"]


class PostalCodesError(ValueError):
    """The postal-code table is missing or has a bad row (the message names the file and line)."""


def load_postal_codes(path: Path = DEFAULT_POSTAL_CODES_PATH) -> dict[str, Coordinates]:
    """The table as {normalised postal code: coordinates}; PostalCodesError naming the first bad line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise PostalCodesError(f"{path}: cannot be read ({error.strerror})") from None
    rows = [
        (number, row)
        for number, row in enumerate(csv.reader(text.splitlines()), start=1)
        if row and not row[0].lstrip().startswith("#")
    ]
    if not rows or [cell.strip() for cell in rows[0][1]] != _HEADER:
        raise PostalCodesError(f"{path}: the first row must be the header {','.join(_HEADER)}")
    table: dict[str, Coordinates] = {}
    for number, row in rows[1:]:
        table[_code(path, number, row, table)] = _point(path, number, row)
    return table


def _code(path: Path, number: int, row: list[str], table: dict[str, Coordinates]) -> str:
    if len(row) != 3:
        raise PostalCodesError(f"{path}, line {number}: expected postal_code,latitude,longitude, got {len(row)} values")
    code = normalise_postal_code(row[0])
    if not code or len(code) > 16:
        raise PostalCodesError(f"{path}, line {number}: {row[0]!r} is not a postal code")
    if code in table:
        raise PostalCodesError(f"{path}, line {number}: {code} is listed twice")
    return code


def _point(path: Path, number: int, row: list[str]) -> Coordinates:
    try:
        latitude, longitude = float(row[1]), float(row[2])
    except ValueError:
        raise PostalCodesError(f"{path}, line {number}: latitude and longitude must be numbers (degrees)") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise PostalCodesError(f"{path}, line {number}: ({latitude}, {longitude}) is not on the map")
    return Coordinates(latitude, longitude)


__all__ = ["DEFAULT_POSTAL_CODES_PATH", "PostalCodesError", "load_postal_codes"]
