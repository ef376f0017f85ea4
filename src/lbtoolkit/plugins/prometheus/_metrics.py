"""Typed helpers declaring metrics under the service's namespace, in its registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from prometheus_client import Counter, Gauge, Histogram, Summary
from prometheus_client.metrics import MetricWrapperBase

from lbtoolkit.plugins.prometheus._errors import PrometheusMetricError

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["GaugeMode", "MetricFactory"]

M = TypeVar("M", bound=MetricWrapperBase)
# prometheus-client's multiprocess modes that forget a worker once it exits.
GaugeMode = Literal["livesum", "livemax", "livemin", "liveall", "livemostrecent"]


@dataclass(frozen=True, slots=True)
class _Declared:
    kind: type[MetricWrapperBase]
    labelnames: tuple[str, ...]
    extra: tuple[tuple[str, Any], ...]
    metric: MetricWrapperBase


class MetricFactory:
    """Declares metrics once: the same declaration again returns the same metric."""

    def __init__(self, owner: str, registry: CollectorRegistry, namespace: str) -> None:
        self._owner = owner
        self.registry = registry
        self.namespace = namespace
        self._declared: dict[tuple[str, str], _Declared] = {}

    def counter(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), *, unit: str = ""
    ) -> Counter:
        """A counter named ``{namespace}_{name}[_{unit}]_total``."""
        return self._declare(Counter, name, documentation, labelnames, unit)

    def gauge(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        unit: str = "",
        multiprocess_mode: GaugeMode = "livesum",
    ) -> Gauge:
        """A gauge named ``{namespace}_{name}[_{unit}]``.

        ``multiprocess_mode`` says how the values of ``{PREFIX}_WORKERS``
        worker processes combine in ``/metrics``: ``livesum`` (the default)
        adds those of the running workers, ``livemax``/``livemin`` keep the
        largest/smallest, ``liveall`` keeps one series per worker (``pid``
        label). A single process ignores it.
        """
        extra = {"multiprocess_mode": multiprocess_mode}
        return self._declare(Gauge, name, documentation, labelnames, unit, extra=extra)

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        unit: str = "",
        buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
    ) -> Histogram:
        """A histogram named ``{namespace}_{name}[_{unit}]`` with ``buckets``."""
        extra = {"buckets": tuple(float(b) for b in buckets)}
        return self._declare(Histogram, name, documentation, labelnames, unit, extra=extra)

    def summary(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), *, unit: str = ""
    ) -> Summary:
        """A summary named ``{namespace}_{name}[_{unit}]``."""
        return self._declare(Summary, name, documentation, labelnames, unit)

    def _declare(
        self,
        kind: type[M],
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        unit: str,
        *,
        extra: dict[str, Any] | None = None,
    ) -> M:
        labels = (labelnames,) if isinstance(labelnames, str) else tuple(labelnames)
        options = tuple(sorted((extra or {}).items()))
        key = (name, unit)
        found = self._declared.get(key)
        if found is not None:
            if (found.kind, found.labelnames, found.extra) != (kind, labels, options):
                problem = (
                    f"already declared as a {found.kind.__name__.lower()} with labels "
                    f"{list(found.labelnames)}{_describe(found.extra)}; now asked for a "
                    f"{kind.__name__.lower()} with labels {list(labels)}{_describe(options)}"
                )
                raise PrometheusMetricError(self._owner, name, problem)
            return cast("M", found.metric)  # the same kind, checked above
        try:
            metric = kind(
                name,
                documentation,
                labelnames=labels,
                namespace=self.namespace,
                unit=unit,
                registry=self.registry,
                **dict(options),
            )
        except ValueError as error:
            # prometheus_client says what is wrong: a bad name, or a name taken
            # in the registry by someone who did not declare it through us.
            raise PrometheusMetricError(self._owner, name, str(error)) from error
        self._declared[key] = _Declared(kind, labels, options, metric)
        return metric


def _describe(options: tuple[tuple[str, Any], ...]) -> str:
    return "".join(f", {key} {value}" for key, value in options)
