"""Prometheus metrics, one registry per app (so tests can build many apps)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shieldwall.engine import STAGES, Matcher
from shieldwall.storage import BankStore

#: Latency buckets (seconds): sub-millisecond lookups up to multi-second overload waits.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _IndexSizes(Collector):
    """Index sizes per bank, read from the matcher at scrape time."""

    def __init__(self, store: BankStore, matcher: Matcher) -> None:
        self._store, self._matcher = store, matcher

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "shieldwall_index_size",
            "Signals indexed for matching, per bank and kind (pdq codes, region signatures).",
            labels=["bank", "signal"],
        )
        for bank in self._store.list_banks():
            family.add_metric([bank.name, "pdq"], self._matcher.size(bank.name))
            family.add_metric([bank.name, "region"], self._matcher.region_size(bank.name))
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.scans = Counter(
            "shieldwall_scans", "Items decided, by verdict.", ["verdict", "via"], registry=r
        )
        self.stage_seconds = Histogram(
            "shieldwall_scan_stage_seconds",
            "Time per pipeline stage of a scan.",
            ["stage"],
            buckets=BUCKETS,
            registry=r,
        )
        self.match_seconds = Histogram(
            "shieldwall_match_seconds",
            "Index lookup time per item (all enabled banks).",
            buckets=BUCKETS,
            registry=r,
        )
        self.request_seconds = Histogram(
            "shieldwall_scan_request_seconds",
            "Whole /v1/scan request time, queueing included.",
            buckets=BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "shieldwall_errors", "Errors answered, by kind.", ["kind"], registry=r
        )
        self.shed = Counter(
            "shieldwall_shed", "Requests refused because the service was busy.", registry=r
        )
        self.in_flight = Gauge(
            "shieldwall_scans_in_flight", "Scans running or waiting for a worker.", registry=r
        )
        # Pre-create label sets so dashboards see zeros rather than gaps.
        for stage in STAGES:
            self.stage_seconds.labels(stage)

    def watch_indexes(self, store: BankStore, matcher: Matcher) -> None:
        self.registry.register(_IndexSizes(store, matcher))

    def observe_stages(self, timings: Mapping[str, float]) -> None:
        for stage, seconds in timings.items():
            self.stage_seconds.labels(stage).observe(seconds)
        if "match" in timings:
            self.match_seconds.observe(timings["match"])
