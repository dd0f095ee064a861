// RETURN_IF_ERROR / ASSIGN_OR_RETURN: early returns for absl::Status(Or).
//
// Abseil 20220623 ships no status macros, so dsar carries these two small ones.
#ifndef DSAR_LIB_CORE_STATUS_MACROS_H_
#define DSAR_LIB_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define DSAR_STATUS_CONCAT_INNER_(a, b) a##b
#define DSAR_STATUS_CONCAT_(a, b) DSAR_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// when it is not OK.
#define RETURN_IF_ERROR(expr)                                        \
  do {                                                               \
    ::absl::Status dsar_status_ = (expr);                            \
    if (ABSL_PREDICT_FALSE(!dsar_status_.ok())) return dsar_status_; \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status, otherwise moves the value into `lhs`, which may be
// a declaration (`auto x`) or an existing variable.
#define ASSIGN_OR_RETURN(lhs, expr) \
  DSAR_ASSIGN_OR_RETURN_IMPL_(DSAR_STATUS_CONCAT_(dsar_statusor_, __LINE__), lhs, expr)

#define DSAR_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)            \
  auto statusor = (expr);                                           \
  if (ABSL_PREDICT_FALSE(!statusor.ok())) return statusor.status(); \
  lhs = std::move(statusor).value()

#endif  // DSAR_LIB_CORE_STATUS_MACROS_H_
