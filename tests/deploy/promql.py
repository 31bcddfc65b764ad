"""Metric names out of PromQL expressions, and the sample names hoso exports, so queries can be checked.

Not a PromQL parser: it removes what cannot be a metric name (strings, label matchers, grouping label lists,
range and offset durations, Grafana variables, numbers, keywords and function calls) and keeps the rest.
"""

from __future__ import annotations

import re

from prometheus_client import REGISTRY

import hoso.metrics  # noqa: F401  (registers every hoso family in the default registry)

# Series Prometheus itself attaches to every target; hoso queries may use them.
PROMETHEUS_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "bool",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "inf",
        "nan",
    }
)
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_VARIABLES = re.compile(r"\$\{?\w+(?::\w+)?\}?")
_NUMBERS = re.compile(r"(?<![\w:])\d[\w.]*")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects."""
    text = _STRINGS.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _VARIABLES.sub(" 0 ", text)
    text = re.sub(r"\boffset\s+\S+", " ", text)
    text = _NUMBERS.sub(" ", text)
    names = set()
    for m in _IDENT.finditer(text):
        word = m.group(0)
        is_call = re.match(r"\s*\(", text[m.end() :]) is not None
        if word.lower() in _KEYWORDS or is_call:
            continue
        names.add(word)
    return names


def exported_samples() -> set[str]:
    """Every sample name hoso's processes can export (counters' _total, histograms' _bucket/_sum/_count)."""
    out: set[str] = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("hoso_"):
            continue
        if family.type == "counter":
            out.add(f"{family.name}_total")
        elif family.type == "histogram":
            out |= {f"{family.name}_bucket", f"{family.name}_sum", f"{family.name}_count"}
        else:
            out.add(family.name)
    return out


def unknown_metrics(expr: str) -> set[str]:
    """Names in ``expr`` that neither hoso nor Prometheus exports."""
    return metric_names(expr) - exported_samples() - PROMETHEUS_SERIES
