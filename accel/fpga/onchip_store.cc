#include "accel/fpga/onchip_store.h"

namespace pynq::accel {

std::optional<uint32_t> OnChipStore::FirstFit(const std::map<uint32_t, uint32_t>& used,
                                              uint32_t size, uint32_t limit) {
  uint32_t start = 0;
  for (const auto& [offset, taken] : used) {
    if (offset - start >= size) return start;
    start = offset + taken;
  }
  if (start <= limit && limit - start >= size) return start;
  return std::nullopt;
}

std::optional<OnChipStore::Reservation> OnChipStore::Reserve(uint32_t rows, uint32_t params) {
  std::lock_guard lock(mu_);
  uint32_t slot = 0;
  while (slot < slots_.size() && slots_[slot]) ++slot;
  if (slot == slots_.size()) return std::nullopt;
  const std::optional<uint32_t> weights_base = FirstFit(rows_, rows, capacity_.rows);
  const std::optional<uint32_t> params_base = FirstFit(params_, params, capacity_.params);
  if (!weights_base || !params_base) return std::nullopt;
  // An empty range needs no rows; it still takes a slot, whose key is what RUN checks.
  if (rows > 0) rows_[*weights_base] = rows;
  if (params > 0) params_[*params_base] = params;
  slots_[slot] = true;
  const uint32_t key = next_key_;
  next_key_ = next_key_ == UINT32_MAX ? 1 : next_key_ + 1;
  return Reservation{.slot = slot,
                     .key = key,
                     .weights_base = *weights_base,
                     .rows = rows,
                     .params_base = *params_base,
                     .params = params};
}

void OnChipStore::Release(const Reservation& reservation) {
  std::lock_guard lock(mu_);
  if (reservation.rows > 0) rows_.erase(reservation.weights_base);
  if (reservation.params > 0) params_.erase(reservation.params_base);
  if (reservation.slot < slots_.size()) slots_[reservation.slot] = false;
}

OnChipStore::Usage OnChipStore::usage() const {
  std::lock_guard lock(mu_);
  Usage usage;
  for (const auto& [offset, size] : rows_) usage.rows += size;
  for (const auto& [offset, size] : params_) usage.params += size;
  for (bool taken : slots_) usage.residents += taken ? 1 : 0;
  return usage;
}

}  // namespace pynq::accel
