"""`/metrics` with `--workers N`: a scrape of any worker shows every worker's series, labelled `worker`.

    shared = WorkerMetrics(registry, spec.metrics_dir, spec.index)   # the worker's own registry, and the others'
    await shared.publish_every(PUBLISH_EVERY_S)                      # while serving: its figures, for the others

The series are this process's own collectors (serve/http/metrics.py), read at scrape time as with one process;
each worker also writes them, every `PUBLISH_EVERY_S`, as JSON to a file of its own in a directory the parent
made empty at start (and removes at exit). A scrape merges the scraped worker's live series with the others'
files: one family per name, each sample labelled `worker="<index>"`. Another worker's figures are at most
`PUBLISH_EVERY_S` old; a replaced worker's counters start again from 0 under the same label (a counter reset,
which Prometheus handles). Sum over `worker` for the server's totals (`sum without (worker) (...)`).

Why not prometheus-client's multiprocess mode: it aggregates the values its own metric objects write to
memory-mapped files as they change; ours are read from the guards at scrape time (custom collectors), which
that mode never sees.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

__all__ = ["PUBLISH_EVERY_S", "WORKER_LABEL", "WorkerMetrics"]

logger = logging.getLogger("junior_ai.http")

PUBLISH_EVERY_S = 1.0  # how old another worker's figures may be in a scrape
WORKER_LABEL = "worker"


class WorkerMetrics(Collector):
    """Every worker's series: this one's live from `own`, the others' from their files in `directory`."""

    def __init__(self, own: CollectorRegistry, directory: str, index: int) -> None:
        self.own = own
        self.directory = Path(directory)
        self.index = index

    def _file(self, index: int) -> Path:
        return self.directory / f"worker-{index}.json"

    def publish(self) -> None:
        """Write this worker's series for the others (atomically: a reader sees the old file or the new one)."""
        families = [_to_json(family) for family in self.own.collect()]
        partial = self.directory / f".worker-{self.index}.{os.getpid()}.tmp"
        partial.write_text(json.dumps(families))
        os.replace(partial, self._file(self.index))

    async def publish_every(self, seconds: float) -> None:
        """Publish now and every `seconds`, until cancelled."""
        while True:
            try:
                self.publish()
            except OSError as error:  # a full or removed directory: the scrape of this worker still works
                logger.warning("could not share this worker's metrics with the others: %s", error)
            await anyio.sleep(seconds)

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for index, families in [(self.index, [_to_json(f) for f in self.own.collect()]), *self._others()]:
            for family in families:
                metric = merged.setdefault(
                    family["name"], Metric(family["name"], family["documentation"], family["type"], family["unit"])
                )
                for name, labels, value in family["samples"]:
                    metric.add_sample(name, {**labels, WORKER_LABEL: str(index)}, value)
        yield from merged.values()

    def _others(self) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        for path in sorted(self.directory.glob("worker-*.json")):
            index = int(path.stem.removeprefix("worker-"))
            if index == self.index:
                continue
            try:
                yield index, json.loads(path.read_text())
            except (OSError, ValueError):  # gone between the listing and the read (its worker exited)
                continue


def _to_json(family: Metric) -> dict[str, Any]:
    return {
        "name": family.name,
        "documentation": family.documentation,
        "type": family.type,
        "unit": family.unit,
        "samples": [[sample.name, sample.labels, sample.value] for sample in family.samples],
    }
