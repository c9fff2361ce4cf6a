#include "service/batcher_config.h"

#include <cstdint>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace pynq::service {

namespace {

absl::StatusOr<uint64_t> ParseCount(absl::string_view key, absl::string_view value) {
  uint64_t n = 0;
  if (!absl::SimpleAtoi(value, &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, "=", value, " is not a non-negative whole number"));
  }
  return n;
}

absl::Status ApplyKey(absl::string_view key, absl::string_view value, Batcher::Options& options) {
  if (key == "preferred_batch_sizes") {
    absl::StatusOr<std::vector<size_t>> sizes = ParseBatchSizes(value);
    if (!sizes.ok()) return sizes.status();
    options.preferred_batch_sizes = *std::move(sizes);
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> n = ParseCount(key, value);
  if (!n.ok()) return n.status();
  if (key == "max_batch_size") {
    options.max_batch_size = *n;
  } else if (key == "max_queue_delay_us") {
    options.max_queue_delay = absl::Microseconds(static_cast<int64_t>(*n));
  } else if (key == "max_queue_images") {
    options.max_queue_images = *n;
  } else if (key == "max_batches_in_flight") {
    options.max_batches_in_flight = *n;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown key \"", key, "\"; expected max_batch_size, max_queue_delay_us, ",
        "max_queue_images, preferred_batch_sizes or max_batches_in_flight"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<size_t>> ParseBatchSizes(absl::string_view text) {
  std::vector<size_t> sizes;
  for (absl::string_view item : absl::StrSplit(text, absl::ByAnyChar("/,"), absl::SkipEmpty())) {
    size_t n = 0;
    if (!absl::SimpleAtoi(item, &n) || n == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch size \"", item, "\" in \"", text, "\" is not a whole number >= 1"));
    }
    sizes.push_back(n);
  }
  return sizes;
}

absl::StatusOr<std::map<std::string, Batcher::Options>> ParseModelBatching(
    const std::vector<std::string>& entries, const Batcher::Options& defaults) {
  std::map<std::string, Batcher::Options> by_model;
  for (const std::string& entry : entries) {
    std::vector<absl::string_view> parts = absl::StrSplit(entry, ':');
    if (parts.size() < 2 || parts[0].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model batching entry \"", entry, "\" is not MODEL:KEY=VALUE[:KEY=VALUE...]"));
    }
    const std::string model(parts[0]);
    if (by_model.contains(model)) {
      return absl::InvalidArgumentError(
          absl::StrCat("model ", model, " has two model batching entries"));
    }
    Batcher::Options options = defaults;
    for (size_t i = 1; i < parts.size(); ++i) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(parts[i], '=');
      absl::Status applied = ApplyKey(kv.first, kv.second, options);
      if (!applied.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("model batching entry \"", entry, "\": ", applied.message()));
      }
    }
    by_model.emplace(model, std::move(options));
  }
  return by_model;
}

}  // namespace pynq::service
