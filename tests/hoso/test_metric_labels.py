"""Metric labels come from configured sets: a sender cannot mint a new time series with a new code or OA id."""

from __future__ import annotations

from hoso.metrics import OTHER, BoundedLabels


def test_agency_codes_are_labelled_by_the_configured_code_or_pattern_and_the_rest_as_other():
    labels = BoundedLabels()
    labels.configure(agencies=["000.00.49.H22", "000.00.*.H56", " "])
    assert labels.agency("000.00.49.H22") == "000.00.49.H22"
    assert labels.agency("000.00.12.H56") == "000.00.*.H56"  # one series for the whole family
    assert labels.agency("000.00.13.H56") == "000.00.*.H56"
    assert {labels.agency(f"X{i}") for i in range(1000)} == {OTHER}
    assert labels.agency("") == OTHER and labels.agency(None) == OTHER


def test_oa_ids_outside_the_registry_are_other():
    labels = BoundedLabels()
    labels.configure(oas={"hoso-demo-oa": object()})
    assert labels.oa("hoso-demo-oa") == "hoso-demo-oa"
    assert labels.oa("oa-from-a-forged-record") == OTHER and labels.oa(None) == OTHER


def test_an_unconfigured_process_passes_values_through():
    labels = BoundedLabels()
    assert labels.agency("000.00.49.H22") == "000.00.49.H22" and labels.oa("x") == "x"


def test_a_cached_label_child_is_the_metrics_own_series_and_counts_into_it():
    from hoso import metrics

    first = metrics.child(metrics.DELIVERIES, "oa-child-spec", "sent")
    assert metrics.child(metrics.DELIVERIES, "oa-child-spec", "sent") is first
    assert first is metrics.DELIVERIES.labels("oa-child-spec", "sent")
    before = metrics.REGISTRY.get_sample_value("hoso_deliveries_total", {"oa": "oa-child-spec", "outcome": "sent"})
    first.inc()
    after = metrics.REGISTRY.get_sample_value("hoso_deliveries_total", {"oa": "oa-child-spec", "outcome": "sent"})
    assert after == (before or 0.0) + 1
    assert metrics.child(metrics.DELIVERIES, "oa-child-spec", "dead_lettered") is not first
