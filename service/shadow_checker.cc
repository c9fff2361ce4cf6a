#include "service/shadow_checker.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "accel/cpu/cpu_backend.h"
#include "base/status_macros.h"
#include "spdlog/spdlog.h"

namespace pynq::service {

namespace {

// Classes shown of each score vector when a mismatch is logged.
constexpr size_t kLoggedClasses = 10;

std::string Brief(absl::Span<const int32_t> scores) {
  const size_t shown = std::min(scores.size(), kLoggedClasses);
  return absl::StrCat("[", absl::StrJoin(scores.first(shown), ", "),
                      shown < scores.size() ? ", ...]" : "]");
}

}  // namespace

// One attached accelerator.
struct ShadowChecker::Channel {
  std::shared_ptr<const accel::Model> model;
  ModelMetrics* metrics = nullptr;
  // The images its engine computed so far, for sampling and numbering.
  std::atomic<uint64_t> images{0};
  // Set when the Registration goes: the observer offers nothing from then on.
  std::atomic<bool> detached{false};
  // Held by the worker through a check, and by Detach() to end them.
  std::mutex check_mu;
  accel::Accelerator* accelerator ABSL_GUARDED_BY(check_mu) = nullptr;  // null once detached
  std::unique_ptr<accel::CpuAccelerator> cpu ABSL_GUARDED_BY(check_mu);
  std::vector<int32_t> cpu_scores ABSL_GUARDED_BY(check_mu);
  // Images numbered below it were computed before the last reload a mismatch triggered: their
  // verdicts are counted, not reported again (one upset spoils every image until the reload).
  uint64_t reloaded_before ABSL_GUARDED_BY(check_mu) = 0;
};

class ShadowChecker::Observer final : public accel::EngineBatchObserver {
 public:
  Observer(ShadowChecker* checker, std::shared_ptr<Channel> channel)
      : checker_(checker), channel_(std::move(channel)) {}

  void OnEngineBatch(absl::Span<const uint8_t> images, absl::Span<const int32_t> scores) override {
    if (channel_->detached.load(std::memory_order_acquire)) return;
    const size_t image_bytes = channel_->model->input_bytes();
    const size_t classes = channel_->model->num_classes();
    const size_t n = images.size() / image_bytes;
    const uint64_t first = channel_->images.fetch_add(n, std::memory_order_relaxed);
    const double rate = checker_->options_.rate;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t k = first + i;
      if (std::floor(static_cast<double>(k + 1) * rate) <=
          std::floor(static_cast<double>(k) * rate)) {
        continue;
      }
      checker_->Offer(channel_, k, images.subspan(i * image_bytes, image_bytes),
                      scores.subspan(i * classes, classes));
    }
  }

 private:
  ShadowChecker* const checker_;
  const std::shared_ptr<Channel> channel_;
};

absl::StatusOr<std::unique_ptr<ShadowChecker>> ShadowChecker::Create(const Options& options) {
  if (!(options.rate >= 0 && options.rate <= 1)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--shadow_check_rate=%g: the fraction of the engine's images re-run on the CPU must be "
        "in [0, 1] (0 = off)",
        options.rate));
  }
  if (options.max_queued == 0) {
    return absl::InvalidArgumentError("shadow check: max_queued must be at least 1");
  }
  std::unique_ptr<ShadowChecker> checker(new ShadowChecker(options));
  if (options.rate > 0) checker->worker_ = std::thread([c = checker.get()] { c->WorkLoop(); });
  return checker;
}

ShadowChecker::~ShadowChecker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

absl::StatusOr<std::unique_ptr<ShadowChecker::Registration>> ShadowChecker::Attach(
    std::shared_ptr<const accel::Model> model, accel::Accelerator& accelerator,
    ModelMetrics* metrics) {
  if (options_.rate == 0 || !accelerator.engine_report().has_value()) {
    return std::unique_ptr<Registration>(new Registration(this, nullptr));
  }
  auto channel = std::make_shared<Channel>();
  PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<accel::CpuAccelerator> cpu,
                        accel::CpuAccelerator::Create(model, {.max_batch_size = 1}));
  {
    std::lock_guard check(channel->check_mu);
    channel->accelerator = &accelerator;
    channel->cpu = std::move(cpu);
    channel->cpu_scores.resize(model->num_classes());
  }
  channel->model = std::move(model);
  channel->metrics = metrics;
  accelerator.SetEngineBatchObserver(std::make_shared<Observer>(this, channel));
  return std::unique_ptr<Registration>(new Registration(this, std::move(channel)));
}

void ShadowChecker::Offer(const std::shared_ptr<Channel>& channel, uint64_t index,
                          absl::Span<const uint8_t> image, absl::Span<const int32_t> scores) {
  {
    std::lock_guard lock(mu_);
    if (channel->detached.load(std::memory_order_relaxed)) return;
    if (queue_.size() < options_.max_queued && !stopping_) {
      std::unique_ptr<Sample> sample;
      if (pool_.empty()) {
        sample = std::make_unique<Sample>();
      } else {
        sample = std::move(pool_.back());
        pool_.pop_back();
      }
      sample->channel = channel;
      sample->index = index;
      sample->image.assign(image.begin(), image.end());
      sample->scores.assign(scores.begin(), scores.end());
      queue_.push_back(std::move(sample));
      ++stats_.sampled;
    } else {
      ++stats_.skipped;
      channel->metrics->RecordShadowSkipped();
      return;
    }
  }
  work_cv_.notify_one();
}

void ShadowChecker::WorkLoop() {
  // Lowest priority for this thread only (on Linux, nice applies per thread): the checks take
  // what the serving threads leave. Not fatal if refused.
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19) != 0) {
    spdlog::warn("shadow check: could not lower the worker's priority: {}", std::strerror(errno));
  }
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::unique_ptr<Sample> sample = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Check(*sample);
    lock.lock();
    sample->channel.reset();
    pool_.push_back(std::move(sample));
  }
}

void ShadowChecker::Check(Sample& sample) {
  Channel& channel = *sample.channel;
  std::lock_guard check(channel.check_mu);
  if (channel.accelerator == nullptr) {
    std::lock_guard lock(mu_);
    ++stats_.dropped;
    return;
  }
  const std::string& model = channel.model->name();
  if (absl::Status run = channel.cpu->Run(sample.image, absl::MakeSpan(channel.cpu_scores));
      !run.ok()) {
    // Not a verdict on the engine: the check could not be made.
    spdlog::error("shadow check: model {}, engine image #{}: the CPU run failed: {}", model,
                  sample.index, std::string(run.message()));
    std::lock_guard lock(mu_);
    ++stats_.dropped;
    return;
  }
  const bool matched = sample.scores == channel.cpu_scores;
  channel.metrics->RecordShadowCheck(matched);
  // Counted once the accelerator has acted on it (a reload), so that stats() shows it done.
  absl::Cleanup count = [&] {
    std::lock_guard lock(mu_);
    ++stats_.checked;
    if (!matched) ++stats_.mismatches;
  };
  const bool before_reload = sample.index < channel.reloaded_before;
  if (matched) {
    if (!before_reload) channel.accelerator->ReportScoreCheck(true, "");
    return;
  }
  size_t differing = 0;
  for (size_t c = 0; c < sample.scores.size(); ++c) {
    differing += sample.scores[c] != channel.cpu_scores[c] ? 1 : 0;
  }
  const std::string what = absl::StrFormat(
      "model %s, engine image #%d: %d of %d class scores differ from the CPU's; engine %s, "
      "cpu %s",
      model, sample.index, differing, sample.scores.size(), Brief(sample.scores),
      Brief(channel.cpu_scores));
  if (before_reload) {
    spdlog::warn("shadow check: {} (computed before the reload that the last mismatch caused)",
                 what);
    return;
  }
  spdlog::error("shadow check: {}", what);
  channel.accelerator->ReportScoreCheck(false, what);
  channel.reloaded_before = channel.images.load(std::memory_order_relaxed);
}

void ShadowChecker::Detach(const std::shared_ptr<Channel>& channel) {
  {
    // Under mu_: an Offer() that saw the flag clear has queued its sample before this runs.
    std::lock_guard lock(mu_);
    channel->detached.store(true, std::memory_order_release);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->channel != channel) {
        ++it;
        continue;
      }
      (*it)->channel.reset();
      pool_.push_back(std::move(*it));
      it = queue_.erase(it);
      ++stats_.dropped;
    }
  }
  // Waits for a check of this channel's sample in progress; later ones find no accelerator.
  std::lock_guard check(channel->check_mu);
  channel->accelerator = nullptr;
  channel->cpu.reset();
}

ShadowChecker::Stats ShadowChecker::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

ShadowChecker::Registration::~Registration() {
  if (channel_ != nullptr) checker_->Detach(channel_);
}

}  // namespace pynq::service
