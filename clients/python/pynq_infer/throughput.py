"""Closed-loop throughput measurement for Client.throughput_test()."""

import dataclasses
import math
import threading
import time

__all__ = ["ThroughputReport", "percentile"]


def percentile(sorted_values, p):
    """Nearest-rank percentile ``p`` (0 < p <= 100) of ascending values; 0 when there are none.

    The definition the C++ client's reports use (clients/latency_stats.h).
    """
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclasses.dataclass(frozen=True)
class ThroughputReport:
    """What Client.throughput_test() measured, after its warm-up.

    Latencies are client-side (request sent to response received) in milliseconds; the server's
    figures are means over the images answered (queue wait per image, accelerator time of its
    batch, batch size).
    """

    model: str
    seconds: float
    concurrency: int
    images_per_request: int
    requests: int
    images: int
    failed_requests: int
    images_per_s: float
    requests_per_s: float
    latency_p50_ms: float
    latency_p90_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    latency_mean_ms: float
    queue_us_mean: float
    accelerator_us_mean: float
    batch_size_mean: float
    first_error: str = ""

    def as_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        return (f"{self.model}: {self.images_per_s:.1f} images/s ({self.requests_per_s:.1f} "
                f"requests/s of {self.images_per_request} image(s), {self.concurrency} in flight) "
                f"over {self.seconds:.2f} s; latency p50 {self.latency_p50_ms:.3f} ms, "
                f"p90 {self.latency_p90_ms:.3f} ms, p99 {self.latency_p99_ms:.3f} ms, "
                f"max {self.latency_max_ms:.3f} ms; server queue {self.queue_us_mean:.0f} us, "
                f"accelerator {self.accelerator_us_mean:.0f} us per batch of "
                f"{self.batch_size_mean:.1f}; {self.failed_requests} failed")


class _Tally:
    """Results of every request answered inside the measurement window. Thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.images = 0
        self.failed = 0
        self.first_error = ""
        self.queue_us = 0
        self.accelerator_us = 0
        self.batch_size = 0


def run_closed_loop(send, requests, *, model, seconds, warmup, concurrency, images_per_request):
    """Keeps ``concurrency`` calls of ``send(request)`` in flight for ``warmup + seconds``.

    ``send`` returns the ClassifyResponse or raises; ``requests`` are cycled through. Only calls
    that start and finish inside the measured window count.
    """
    start = time.monotonic()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    tally = _Tally()
    next_request = [0]
    pick_lock = threading.Lock()

    def worker():
        while True:
            with pick_lock:
                request = requests[next_request[0] % len(requests)]
                next_request[0] += 1
            sent = time.monotonic()
            if sent >= stop_at:
                return
            try:
                response = send(request)
                error = None
            except Exception as e:  # counted and reported, never hidden
                response, error = None, e
            done = time.monotonic()
            if sent < measure_from or done > stop_at:
                continue
            with tally.lock:
                if error is not None:
                    tally.failed += 1
                    tally.first_error = tally.first_error or str(error)
                    continue
                tally.latencies.append((done - sent) * 1e3)
                tally.images += len(response.results)
                for r in response.results:
                    tally.queue_us += r.queue_us
                    tally.accelerator_us += r.accelerator_us
                    tally.batch_size += r.batch_size

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = sorted(tally.latencies)
    images = max(tally.images, 1)
    return ThroughputReport(
        model=model,
        seconds=seconds,
        concurrency=concurrency,
        images_per_request=images_per_request,
        requests=len(latencies),
        images=tally.images,
        failed_requests=tally.failed,
        images_per_s=tally.images / seconds,
        requests_per_s=len(latencies) / seconds,
        latency_p50_ms=percentile(latencies, 50),
        latency_p90_ms=percentile(latencies, 90),
        latency_p99_ms=percentile(latencies, 99),
        latency_max_ms=latencies[-1] if latencies else 0.0,
        latency_mean_ms=sum(latencies) / len(latencies) if latencies else 0.0,
        queue_us_mean=tally.queue_us / images,
        accelerator_us_mean=tally.accelerator_us / images,
        batch_size_mean=tally.batch_size / images,
        first_error=tally.first_error,
    )
