"""Read an HSDS 3.0 package into rows: the tabular form (CSV files + datapackage.json)
or the JSON form (service objects with their organization, locations, phones … nested).

Every row remembers where it came from (file and line, or file and JSON path) so the
importer can say exactly which row it refused and why.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Tables the importer reads; any other resource or column in a package is ignored.
TABLES = (
    "organization",
    "taxonomy_term",
    "service",
    "location",
    "address",
    "phone",
    "language",
    "schedule",
    "service_at_location",
    "service_area",
    "attribute",
    "metadata",
)
_PLURALS = {"addresses": "address", "addresss": "address", "taxonomy_terms": "taxonomy_term"}


class PackageError(ValueError):
    """The package as a whole cannot be read (no datapackage.json, not JSON …)."""


@dataclass(frozen=True, slots=True)
class Row:
    table: str
    values: dict[str, str]
    source: str
    line: str
    """A line number for CSV, a JSON path for the JSON form."""
    problem: str | None = None
    """Set when the row is malformed before any field is read (too many values)."""


@dataclass(slots=True)
class Package:
    rows: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))

    def add(self, row: Row) -> None:
        self.rows[row.table].append(row)


def table_name(name: str) -> str | None:
    """'services', 'service.csv', 'Service' -> 'service'; None for a table we do not read."""
    stem = name.strip().lower().removesuffix(".csv")
    stem = _PLURALS.get(stem, stem)
    if stem not in TABLES and stem.endswith("s") and stem[:-1] in TABLES:
        stem = stem[:-1]
    return stem if stem in TABLES else None


def read_package(path: Path) -> Package:
    """Read a directory holding datapackage.json, a datapackage.json, or a .json file."""
    if path.is_dir():
        descriptor = path / "datapackage.json"
        if descriptor.exists():
            return _read_tabular(descriptor)
        raise PackageError("no datapackage.json in that directory")
    if path.name == "datapackage.json":
        return _read_tabular(path)
    if path.suffix.lower() == ".json":
        return _read_json_form(path)
    raise PackageError("expected a directory with datapackage.json, or a .json file")


# --- tabular form ----------------------------------------------------------------------


def _read_tabular(descriptor: Path) -> Package:
    try:
        meta = json.loads(descriptor.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PackageError(
            f"datapackage.json is not readable JSON ({type(error).__name__})"
        ) from error
    package = Package()
    resources = meta.get("resources") if isinstance(meta, dict) else None
    if not isinstance(resources, list):
        raise PackageError("datapackage.json has no resources list")
    for resource in resources:
        if not isinstance(resource, dict) or not isinstance(resource.get("path"), str):
            continue
        table = table_name(str(resource.get("name") or "")) or table_name(
            Path(resource["path"]).name
        )
        if table is None:
            continue
        csv_path = (descriptor.parent / resource["path"]).resolve()
        if descriptor.parent.resolve() not in csv_path.parents:
            raise PackageError(f"resource {table} points outside the package")
        if not csv_path.exists():
            package.add(Row(table, {}, resource["path"], "-", "file is missing"))
            continue
        for row in _read_csv(csv_path, table):
            package.add(row)
    return package


def _read_csv(path: Path, table: str) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, restkey="\0extra")
        for values in reader:
            line = str(reader.line_num)
            extra = values.pop("\0extra", None)
            clean = {
                str(key).strip().lower(): (value or "").strip()
                for key, value in values.items()
                if key is not None
            }
            problem = "more values than columns" if extra else None
            yield Row(table, clean, path.name, line, problem)


# --- JSON form -------------------------------------------------------------------------

# Nested lists and objects in the JSON form, and the link column each child gets.
_CHILDREN: dict[str, dict[str, tuple[str, str]]] = {
    "organization": {
        "phones": ("phone", "organization_id"),
        "locations": ("location", "organization_id"),
        "services": ("service", "organization_id"),
        "attributes": ("attribute", "link_id"),
        "metadata": ("metadata", "resource_id"),
    },
    "service": {
        "phones": ("phone", "service_id"),
        "schedules": ("schedule", "service_id"),
        "languages": ("language", "service_id"),
        "service_areas": ("service_area", "service_id"),
        "service_at_locations": ("service_at_location", "service_id"),
        "attributes": ("attribute", "link_id"),
        "metadata": ("metadata", "resource_id"),
    },
    "service_at_location": {
        "phones": ("phone", "service_at_location_id"),
        "schedules": ("schedule", "service_at_location_id"),
        "attributes": ("attribute", "link_id"),
    },
    "location": {
        "addresses": ("address", "location_id"),
        "addresss": ("address", "location_id"),
        "phones": ("phone", "location_id"),
        "schedules": ("schedule", "location_id"),
        "languages": ("language", "location_id"),
        "attributes": ("attribute", "link_id"),
        "metadata": ("metadata", "resource_id"),
    },
    "phone": {"languages": ("language", "phone_id")},
}


def _read_json_form(path: Path) -> Package:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PackageError(f"not readable JSON ({type(error).__name__})") from error
    if isinstance(data, dict) and isinstance(data.get("contents"), list):
        data = data["contents"]  # a page of the HSDS API: {"contents": [...], ...}
    items = data if isinstance(data, list) else [data]
    package = Package()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            package.add(Row("service", {}, path.name, f"[{index}]", "not an object"))
            continue
        root = "organization" if "services" in item and "status" not in item else "service"
        _flatten(package, root, item, path.name, f"[{index}]", {})
    return package


def _flatten(
    package: Package,
    table: str,
    item: dict[str, Any],
    source: str,
    where: str,
    links: dict[str, str],
) -> None:
    values = {key.lower(): _scalar(value) for key, value in item.items() if _is_scalar(value)}
    values.update({key: value for key, value in links.items() if not values.get(key)})
    if table == "attribute":
        values.setdefault("link_entity", links.get("\0entity", ""))
    values.pop("\0entity", None)
    own_id = values.get("id", "")
    children = _CHILDREN.get(table, {})
    # One-to-one objects: service.organization, service_at_location.location, attribute.taxonomy_term.
    for key, child_table, link in (
        ("organization", "organization", "organization_id"),
        ("location", "location", "location_id"),
        ("taxonomy_term", "taxonomy_term", "taxonomy_term_id"),
    ):
        child = item.get(key)
        if isinstance(child, dict):
            if isinstance(child.get("id"), str | int):
                values.setdefault(link, str(child["id"]))
            _flatten(package, child_table, child, source, f"{where}.{key}", {})
    package.add(Row(table, values, source, where))
    for key, (child_table, link) in children.items():
        listed = item.get(key)
        if not isinstance(listed, list):
            continue
        for index, child in enumerate(listed):
            if isinstance(child, dict):
                child_links = {link: own_id, "\0entity": table} if own_id else {}
                _flatten(
                    package, child_table, child, source, f"{where}.{key}[{index}]", child_links
                )


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()
