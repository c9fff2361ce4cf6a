#include "service/metrics_reporter.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace pynq::service {

std::string SummaryLine(const ServedModel& served, const ModelMetricsSnapshot& previous,
                        const ModelMetricsSnapshot& now, absl::Duration interval) {
  std::vector<std::string> failures;
  for (size_t r = 0; r < kFailureReasons; ++r) {
    if (const uint64_t n = now.failures[r] - previous.failures[r]; n > 0) {
      failures.push_back(
          absl::StrCat(FailureReasonName(static_cast<FailureReason>(r)), " ", n));
    }
  }
  const uint64_t images = now.images - previous.images;
  const uint64_t batches = now.batches - previous.batches;
  const double seconds = std::max(1e-3, absl::ToDoubleSeconds(interval));
  return absl::StrFormat(
      "%s [%s] last %s: %.1f images/s (1s %.1f, 60s %.1f), requests +%d ok +%d failed%s, "
      "batches +%d (mean %.1f images), latency us p50 %.0f p99 %.0f, queue us p99 %.0f, "
      "accelerator us p99 %.0f, queue depth %d; since start %d ok %d failed",
      served.model->name(), served.batcher->accelerator().backend_name(),
      absl::FormatDuration(absl::Trunc(interval, absl::Milliseconds(1))),
      static_cast<double>(images) / seconds, now.images_per_s_1s, now.images_per_s_60s,
      now.requests_ok - previous.requests_ok, now.requests_failed - previous.requests_failed,
      failures.empty() ? "" : absl::StrCat(" (", absl::StrJoin(failures, ", "), ")"), batches,
      batches == 0 ? 0.0 : static_cast<double>(images) / static_cast<double>(batches),
      now.latency.p50_us, now.latency.p99_us, now.queue.p99_us, now.accelerator.p99_us,
      served.batcher->queue_depth(), now.requests_ok, now.requests_failed);
}

std::unique_ptr<MetricsReporter> MetricsReporter::Start(const ModelRegistry* registry,
                                                        absl::Duration interval) {
  std::unique_ptr<MetricsReporter> reporter(new MetricsReporter(registry, interval));
  reporter->thread_ = std::thread([r = reporter.get()] { r->Loop(); });
  return reporter;
}

MetricsReporter::MetricsReporter(const ModelRegistry* registry, absl::Duration interval)
    : registry_(registry), interval_(interval) {
  const absl::Time now = absl::Now();
  std::lock_guard lock(mu_);
  previous_at_ = now;
  for (const auto& served : registry_->models()) {
    previous_[served->model->name()] = served->metrics->Snapshot(now);
  }
}

MetricsReporter::~MetricsReporter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void MetricsReporter::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    const absl::Time due = previous_at_ + interval_;
    if (stop_cv_.wait_until(lock, absl::ToChronoTime(due), [this] { return stop_; })) return;
    lock.unlock();
    LogNow();
    lock.lock();
  }
}

void MetricsReporter::LogNow() {
  std::vector<std::string> lines;
  {
    std::lock_guard lock(mu_);
    const absl::Time now = absl::Now();
    for (const auto& served : registry_->models()) {
      ModelMetricsSnapshot current = served->metrics->Snapshot(now);
      ModelMetricsSnapshot& previous = previous_[served->model->name()];
      lines.push_back(SummaryLine(*served, previous, current, now - previous_at_));
      previous = current;
    }
    previous_at_ = now;
  }
  for (const std::string& line : lines) spdlog::info("{}", line);
}

}  // namespace pynq::service
