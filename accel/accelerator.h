// The one contract every backend implements: run a batch of images through a loaded model and
// return per-class integer scores. Backends of the same model return bit-identical scores (the
// engine computes in integers, so there is one right answer; tests check it across backends).
//
//   std::unique_ptr<Accelerator> cpu = *CpuAccelerator::Create(model, {});
//   std::vector<int32_t> scores(n * model->num_classes());
//   absl::Status s = cpu->Run(images, scores);  // images: n * model->input_bytes() bytes
#ifndef PYNQ_ACCEL_ACCELERATOR_H_
#define PYNQ_ACCEL_ACCELERATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "accel/model/model.h"

namespace pynq::accel {

class Accelerator {
 public:
  virtual ~Accelerator() = default;

  // The model this accelerator runs; fixed for its lifetime.
  virtual const Model& model() const = 0;

  // Short name of the backend, as shown to users: "cpu" or "fpga".
  virtual std::string_view backend_name() const = 0;

  // Largest batch Run() accepts, in images.
  virtual size_t max_batch_size() const = 0;

  // How many Run() calls may be in progress at once on this accelerator. A backend that overlaps
  // host work with device work (the FPGA driver stages and syncs batch N+1 while the engine runs
  // batch N) returns 2 or more; the batcher then keeps that many batches in flight.
  virtual size_t max_concurrent_runs() const { return 1; }

  // Runs a batch. `images` holds n images of model().input_bytes() bytes each, back to back;
  // `scores` receives n rows of model().num_classes() int32 scores. n is taken from
  // images.size(); 1 <= n <= max_batch_size(), and scores must have exactly the matching size,
  // otherwise kInvalidArgument and nothing is run. Blocks until the batch is done.
  // Thread-safe for up to max_concurrent_runs() concurrent calls. Allocates no memory per image.
  virtual absl::Status Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) = 0;
};

// Checks Run()'s argument contract once for every backend; returns kInvalidArgument naming the
// sizes when it is broken, otherwise the number of images in the batch.
absl::StatusOr<size_t> CheckBatchShape(const Model& model, size_t max_batch_size,
                                       absl::Span<const uint8_t> images,
                                       absl::Span<const int32_t> scores);

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_ACCELERATOR_H_
