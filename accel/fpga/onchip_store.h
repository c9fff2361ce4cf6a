// OnChipStore: the driver's account of the engine's on-chip weight store, which every model on
// the engine shares (overlays/nn_engine/abi/registers.h "Commands"). A model that wants its
// weights resident reserves a range of store rows, a range of params rows and one of the
// engine's resident slots, under a key no other reservation ever had; the engine answers a RUN
// with kStatusNotResident unless its slot holds that key, so a copy that another LOAD or a reset
// overwrote is never used. Ranges are first-fit; nothing is ever evicted: a model that does not
// fit beside the residents runs streamed (fpga_backend.h).
//
//   OnChipStore store({.rows = 2048, .params = 768, .slots = engine::kResidentSlots});
//   if (std::optional<OnChipStore::Reservation> r = store.Reserve(856, 51)) {
//     ... LOAD with r->slot, r->key, r->weights_base, r->params_base ...
//     store.Release(*r);   // when the model goes
//   }
//
// Thread-safe.
#ifndef PYNQ_ACCEL_FPGA_ONCHIP_STORE_H_
#define PYNQ_ACCEL_FPGA_ONCHIP_STORE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace pynq::accel {

class OnChipStore {
 public:
  struct Capacity {
    uint32_t rows = 0;    // store rows residents may use (the engine's kRegStoreRows)
    uint32_t params = 0;  // params rows (kRegStoreParams)
    uint32_t slots = 0;   // resident slots (engine::kResidentSlots)
  };

  struct Reservation {
    uint32_t slot = 0;
    uint32_t key = 0;  // never 0, never reused
    uint32_t weights_base = 0;
    uint32_t rows = 0;
    uint32_t params_base = 0;
    uint32_t params = 0;
  };

  struct Usage {
    uint32_t rows = 0;
    uint32_t params = 0;
    uint32_t residents = 0;
  };

  explicit OnChipStore(const Capacity& capacity) : capacity_(capacity) {}

  // Rows [weights_base, + rows) and params rows [params_base, + params) that no other
  // reservation holds, and a free slot; nullopt if any of the three is not to be had.
  std::optional<Reservation> Reserve(uint32_t rows, uint32_t params);
  // Gives back a reservation Reserve() returned.
  void Release(const Reservation& reservation);

  const Capacity& capacity() const { return capacity_; }
  Usage usage() const;

 private:
  // The first offset where `size` fits among `used` (offset -> size) in [0, limit).
  static std::optional<uint32_t> FirstFit(const std::map<uint32_t, uint32_t>& used,
                                          uint32_t size, uint32_t limit);

  const Capacity capacity_;
  mutable std::mutex mu_;
  std::map<uint32_t, uint32_t> rows_ ABSL_GUARDED_BY(mu_);
  std::map<uint32_t, uint32_t> params_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> slots_ ABSL_GUARDED_BY(mu_) = std::vector<bool>(capacity_.slots, false);
  uint32_t next_key_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_FPGA_ONCHIP_STORE_H_
