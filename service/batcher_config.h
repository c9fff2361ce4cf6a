// Per-model batching configuration from the daemon's flags: defaults for every model, and
// overrides for named models.
//
//   --model_batching=mnist-bnn-tfc:max_batch_size=128:preferred_batch_sizes=64/128,other:max_queue_delay_us=2000
//
//   PYNQ_ASSIGN_OR_RETURN(auto by_model,
//                         ParseModelBatching(absl::GetFlag(FLAGS_model_batching), defaults));
//   by_model["mnist-bnn-tfc"].max_batch_size == 128
//
// Each entry is MODEL:KEY=VALUE[:KEY=VALUE...]; keys: max_batch_size, max_queue_delay_us,
// max_queue_images, preferred_batch_sizes (sizes separated by '/'), max_batches_in_flight. A key
// not given keeps the default. Values are checked for form here and for consistency by
// Batcher::Create().
#ifndef PYNQ_SERVICE_BATCHER_CONFIG_H_
#define PYNQ_SERVICE_BATCHER_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/batcher.h"

namespace pynq::service {

// Parses "32/64/128" (or "32,64,128") into sizes; kInvalidArgument naming the bad item.
absl::StatusOr<std::vector<size_t>> ParseBatchSizes(absl::string_view text);

// The options of every model named in `entries`, each starting from `defaults`.
// kInvalidArgument, naming the entry, for a malformed entry, an unknown key, a bad number or a
// model named twice. Pure function.
absl::StatusOr<std::map<std::string, Batcher::Options>> ParseModelBatching(
    const std::vector<std::string>& entries, const Batcher::Options& defaults);

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_BATCHER_CONFIG_H_
