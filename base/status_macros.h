// Early-return helpers for absl::Status / absl::StatusOr, which Debian's Abseil (20220623) lacks,
// and Annotate(), which says where an error from below happened without changing its code.
//
//   PYNQ_RETURN_IF_ERROR(buffer->SyncToDevice(0, bytes));
//   PYNQ_ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::LoadFile(path));
//   if (!model.ok()) return Annotate(model.status(), path);   // "models/a.pim: bad CRC ..."
//
// Both macros evaluate their argument once and return its status unchanged on error. The PYNQ_
// prefix keeps them from colliding with the same names in other libraries (newer Abseil, XRT).
#ifndef PYNQ_BASE_STATUS_MACROS_H_
#define PYNQ_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

#define PYNQ_STATUS_CONCAT_INNER(a, b) a##b
#define PYNQ_STATUS_CONCAT(a, b) PYNQ_STATUS_CONCAT_INNER(a, b)

#define PYNQ_RETURN_IF_ERROR(expr)                                \
  do {                                                            \
    if (absl::Status _pynq_status = (expr); !_pynq_status.ok()) { \
      return _pynq_status;                                        \
    }                                                             \
  } while (false)

#define PYNQ_ASSIGN_OR_RETURN(lhs, expr) \
  PYNQ_ASSIGN_OR_RETURN_IMPL(PYNQ_STATUS_CONCAT(_pynq_statusor_, __LINE__), lhs, expr)

#define PYNQ_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) {                                 \
    return std::move(statusor).status();                \
  }                                                     \
  lhs = std::move(statusor).value()

namespace pynq {

// `status` with "`context`: " put before its message and its code kept, so a caller that knows
// more (the file, the model, the flag) says so and the caller's caller still sees the cause's code.
// An OK status stays OK.
inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

}  // namespace pynq

#endif  // PYNQ_BASE_STATUS_MACROS_H_
