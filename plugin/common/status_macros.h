// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status and absl::StatusOr (Abseil 20220623 has
// neither).
#ifndef COLLABCARE_PLUGIN_COMMON_STATUS_MACROS_H_
#define COLLABCARE_PLUGIN_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define COLLABCARE_CONCAT_INNER_(a, b) a##b
#define COLLABCARE_CONCAT_(a, b) COLLABCARE_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                                \
  do {                                                       \
    ::absl::Status collabcare_status_ = (expr);              \
    if (!collabcare_status_.ok()) return collabcare_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F())` declares x from F()'s value or returns F()'s status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  COLLABCARE_ASSIGN_OR_RETURN_IMPL_(COLLABCARE_CONCAT_(collabcare_statusor_, __LINE__), lhs, expr)

#define COLLABCARE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                      \
  if (!statusor.ok()) return std::move(statusor).status();     \
  lhs = std::move(statusor).value()

#endif  // COLLABCARE_PLUGIN_COMMON_STATUS_MACROS_H_
