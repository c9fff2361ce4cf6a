// Early-return helpers for absl::Status / absl::StatusOr, which Debian's Abseil (20220623) lacks.
//
//   RETURN_IF_ERROR(device.Sync(buffer));
//   ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::LoadFile(path));
//
// Both evaluate their argument once and return its status unchanged on error.
#ifndef PYNQ_BASE_STATUS_MACROS_H_
#define PYNQ_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PYNQ_STATUS_CONCAT_INNER(a, b) a##b
#define PYNQ_STATUS_CONCAT(a, b) PYNQ_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                         \
  do {                                                \
    if (absl::Status _pynq_status = (expr); !_pynq_status.ok()) { \
      return _pynq_status;                            \
    }                                                 \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  PYNQ_ASSIGN_OR_RETURN_IMPL(PYNQ_STATUS_CONCAT(_pynq_statusor_, __LINE__), lhs, expr)

#define PYNQ_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) {                                 \
    return std::move(statusor).status();                \
  }                                                     \
  lhs = std::move(statusor).value()

#endif  // PYNQ_BASE_STATUS_MACROS_H_
