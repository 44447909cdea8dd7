"""Parsing a run's measurement artifacts (SPEC §9): pure, no I/O.

Three kinds of JSON file, recognised by the base name's prefix (``.json``, optionally
``.gz``-suffixed by the caller before decompression):

* ``backend-disruption*.json``: ``{"BackendDisruptions": {KEY: {...}}}``. A backend is named by
  its ``BackendName`` (newer files), else its ``Name`` (older files), else the map's key.
* ``alerts*.json``: ``{"Alerts": [{"Name", "Namespace", "Level", "Duration"}]}``; the level's
  casing is normalised (``warning`` and ``Warning`` meet as ``Warning``).
* ``cluster-data*.json``: the run's variant. Newer files carry ``Release``, ``FromRelease``,
  ``Platform``, ``Architecture``, ``Network``, ``Topology`` at the top (origin embeds its
  ``JobType``); older ones nest them under ``"JobType"``. ``MasterNodesUpdated`` is top-level.

Durations are Go durations (``"0s"``, ``"1m2.5s"``, ``"1h2m3.5s"``, ``"500ms"``). Within one file a
key's durations are summed and then rounded **up** to whole seconds; a run's files are summed
(:func:`run_seconds`). A file that is not what its name says raises
:class:`ArtifactParseError` naming the file, so nothing of its request is stored.
"""

from __future__ import annotations

import enum
import json
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from api.disruption.model import MeasurementKey, MeasurementKind, Variant
from api.names import PRINTABLE

NAME_MAX = 1024


class ArtifactKind(enum.StrEnum):
    DISRUPTIONS = "disruptions"
    ALERTS = "alerts"
    CLUSTER_DATA = "cluster-data"


_PREFIXES = (("backend-disruption", ArtifactKind.DISRUPTIONS), ("alerts", ArtifactKind.ALERTS),
             ("cluster-data", ArtifactKind.CLUSTER_DATA))
_MEASURED = {ArtifactKind.DISRUPTIONS: MeasurementKind.DISRUPTIONS,
             ArtifactKind.ALERTS: MeasurementKind.ALERTS}


class ArtifactParseError(ValueError):
    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason


def base_name(name: str) -> str:
    """The file's own name without directories and without a trailing ``.gz``."""
    base = posixpath.basename(name.replace("\\", "/"))
    return base[:-3] if base.lower().endswith(".gz") else base


def artifact_kind(name: str) -> ArtifactKind | None:
    """The measurement kind a file's name says it is, or ``None`` (JUnit or refused)."""
    base = base_name(name)
    if not base.lower().endswith(".json"):
        return None
    for prefix, kind in _PREFIXES:
        if base.startswith(prefix):
            return kind
    return None


def is_junit_name(name: str) -> bool:
    return base_name(name).lower().endswith(".xml")


# -- Go durations ----------------------------------------------------------------------------

_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
            "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """A Go duration (``time.Duration.String()``) in whole nanoseconds, exactly (no floats).

    Negative durations are refused: a measurement of time lost is never below zero."""
    body = text.strip()
    if body in ("0", "0s"):
        return 0
    if not body or body.startswith(("-", "+")):
        raise ValueError(f"not a non-negative Go duration: {text!r}")
    total, pos = 0, 0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        number, unit = match.groups()
        whole, _, frac = number.partition(".")
        scale = _UNIT_NS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        pos = match.end()
    if pos != len(body):
        raise ValueError(f"not a Go duration: {text!r}")
    return total


def ceil_seconds(nanoseconds: int) -> int:
    return -(-nanoseconds // 1_000_000_000)


def normalise_level(level: str) -> str:
    """Origin's casing: ``Warning``, ``Critical``, ``Info`` (first letter upper, rest lower)."""
    text = level.strip()
    return text[:1].upper() + text[1:].lower()


# -- files -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ParsedArtifact:
    """One measurement file: its seconds per key (rounded up), or the variant it states."""

    name: str
    sha256: str
    kind: ArtifactKind
    seconds: Mapping[MeasurementKey, int] = field(default_factory=dict)
    variant: Variant | None = None


def parse_artifact(name: str, data: bytes, sha256: str) -> ParsedArtifact:
    """Parse one file of the kind its name says; raises :class:`ArtifactParseError`."""
    kind = artifact_kind(name)
    if kind is None:
        raise ArtifactParseError(name, "not a measurement file name (backend-disruption*.json, "
                                       "alerts*.json or cluster-data*.json)")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactParseError(name, f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ArtifactParseError(name, "expected a JSON object at the top")
    try:
        if kind is ArtifactKind.CLUSTER_DATA:
            return ParsedArtifact(name, sha256, kind, variant=_variant(document))
        parts = _disruptions(document) if kind is ArtifactKind.DISRUPTIONS else _alerts(document)
    except (TypeError, ValueError, KeyError) as exc:
        raise ArtifactParseError(name, str(exc).strip("'\"")) from None
    ns: dict[MeasurementKey, int] = {}
    for key, duration in parts:
        ns[key] = ns.get(key, 0) + duration
    return ParsedArtifact(name, sha256, kind,
                          seconds={key: ceil_seconds(value) for key, value in ns.items()})


def _text(entry: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = entry.get(key)
    if value is None:
        if required:
            raise ValueError(f"an entry has no {key!r}")
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{key!r} must be a string, not {type(value).__name__}")
    # Names are shown and sorted (control characters would break both) and bounded.
    if len(value) > NAME_MAX or not PRINTABLE.match(value):
        raise ValueError(f"{key!r} must be printable text of at most {NAME_MAX} characters")
    return value


def _duration(entry: Mapping[str, Any], key: str) -> int:
    text = _text(entry, key, required=True)
    return parse_duration(text)


def _disruptions(document: Mapping[str, Any]) -> list[tuple[MeasurementKey, int]]:
    backends = document.get("BackendDisruptions")
    if backends is None:
        raise ValueError("no 'BackendDisruptions' object")
    if not isinstance(backends, dict):
        raise TypeError("'BackendDisruptions' must be an object")
    out = []
    for map_key, entry in backends.items():
        if not isinstance(entry, dict):
            raise TypeError(f"backend {map_key!r} must be an object")
        name = _text(entry, "BackendName") or _text(entry, "Name") or str(map_key)
        out.append((MeasurementKey(MeasurementKind.DISRUPTIONS, name),
                    _duration(entry, "DisruptedDuration")))
    return out


def _alerts(document: Mapping[str, Any]) -> list[tuple[MeasurementKey, int]]:
    alerts = document.get("Alerts")
    if alerts is None:
        raise ValueError("no 'Alerts' list")
    if not isinstance(alerts, list):
        raise TypeError("'Alerts' must be a list")
    out = []
    for entry in alerts:
        if not isinstance(entry, dict):
            raise TypeError("each alert must be an object")
        key = MeasurementKey(MeasurementKind.ALERTS, _text(entry, "Name", required=True),
                             _text(entry, "Namespace"), normalise_level(_text(entry, "Level")))
        out.append((key, _duration(entry, "Duration")))
    return out


_VARIANT_FIELDS = {"Release": "release", "FromRelease": "from_release", "Platform": "platform",
                   "Architecture": "architecture", "Network": "network",
                   "Topology": "topology"}


def _variant(document: Mapping[str, Any]) -> Variant:
    nested = document.get("JobType")
    source = nested if isinstance(nested, dict) else document
    values = {attr: _text(source, key) or _text(document, key)
              for key, attr in _VARIANT_FIELDS.items()}
    updated = _text(document, "MasterNodesUpdated").strip().upper()
    if updated not in ("Y", "N", ""):
        raise ValueError(f"'MasterNodesUpdated' must be Y, N or empty, not {updated!r}")
    return Variant(**values, master_nodes_updated=updated)


# -- a run's files together ------------------------------------------------------------------

def run_seconds(files: Iterable[ParsedArtifact]) -> dict[MeasurementKey, int]:
    """A run's seconds per key: the sum over its files (each already rounded up)."""
    total: dict[MeasurementKey, int] = {}
    for item in files:
        for key, seconds in item.seconds.items():
            total[key] = total.get(key, 0) + seconds
    return total


def merge_variant(old: Variant | None, new: Variant | None) -> Variant | None:
    """Two cluster-data statements of one run as one: each field keeps the first non-empty
    value, except ``MasterNodesUpdated``, where any "Y" wins (then "N", then "")."""
    if old is None or new is None:
        return old or new
    merged = {f.name: getattr(old, f.name) or getattr(new, f.name) for f in fields(Variant)}
    flags = {old.master_nodes_updated, new.master_nodes_updated}
    merged["master_nodes_updated"] = "Y" if "Y" in flags else "N" if "N" in flags else ""
    return Variant(**merged)


# -- the variant from a job's name -----------------------------------------------------------

_PLATFORMS = ("aws", "gcp", "azure", "vsphere", "metal", "openstack", "ovirt", "nutanix",
              "ibmcloud", "alibaba", "libvirt", "powervs")
_ARCHES = ("amd64", "arm64", "ppc64le", "s390x")
_RELEASE = re.compile(r"(?<![\d.])(\d+\.\d+)(?![\d.])")
_FROM = re.compile(r"upgrade-from-(?:stable-|nightly-|ci-)?(\d+\.\d+)")


def variant_from_job_name(job: str, labels: Mapping[str, str] | None = None) -> Variant:
    """What a job's name tells of its variant, for runs that sent no cluster-data.

    Derived: ``release`` (the first ``N.M`` in the name), ``from_release`` (the ``N.M`` after
    ``upgrade-from-[stable-|nightly-|ci-]``; a plain ``upgrade`` job leaves it "" because its
    source is unknown), ``platform`` (first of aws, gcp, azure, vsphere, metal, openstack, ...
    that is a ``-``-separated word), ``architecture`` (amd64 unless arm64/ppc64le/s390x is named;
    ``multi`` is left ""), ``network`` (ovn or sdn when named), ``topology`` ("single" for
    ``single-node``/``sno``, else "ha" when a platform was found). ``labels`` (the job's variant
    labels, same names as the fields) override what the name says.
    ``master_nodes_updated`` is never derived.
    """
    words = set(re.split(r"[-_/]", job.lower()))
    lowered = job.lower()
    release = _RELEASE.search(lowered)
    upgrade_from = _FROM.search(lowered)
    platform = next((p for p in _PLATFORMS if p in words), "")
    arch = next((a for a in _ARCHES if a in words), "" if "multi" in words else "amd64")
    network = "ovn" if "ovn" in words else "sdn" if "sdn" in words else ""
    single = "single-node" in lowered or "sno" in words
    topology = "single" if single else ("ha" if platform else "")
    variant = Variant(release=release.group(1) if release else "",
                      from_release=upgrade_from.group(1) if upgrade_from else "",
                      platform=platform, architecture=arch, network=network, topology=topology)
    known = {f.name for f in fields(Variant)}
    overrides = {k: str(v) for k, v in (labels or {}).items() if k in known and v}
    return replace(variant, **overrides)
