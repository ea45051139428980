// Shared by the C API's translation units (c_api.cc, c_api_schemes.cc): the
// exception -> status guard, the calling thread's error message and thread
// limit, and the dtype conversion. Internal: not installed.
#ifndef FANFILL_SRC_CAPI_C_API_INTERNAL_H_
#define FANFILL_SRC_CAPI_C_API_INTERNAL_H_

#include <exception>
#include <stdexcept>
#include <string>

#include "fanfill/fanfill.h"
#include "fanfill/fanfill.hpp"

namespace fanfill::capi {

// The calling thread's last error message ("" after a success) and the
// thread limit set by fanfill_set_max_threads.
std::string& LastError();
int& MaxThreads();

// Runs f; returns FANFILL_OK, or a negative status with LastError() set.
template <class F>
int Guard(F&& f) {
  try {
    f();
    LastError().clear();
    return FANFILL_OK;
  } catch (const std::invalid_argument& e) {
    LastError() = e.what();
    return FANFILL_ERR_INVALID_ARGUMENT;
  } catch (const std::exception& e) {
    LastError() = std::string("internal error: ") + e.what();
    return FANFILL_ERR_INTERNAL;
  } catch (...) {
    LastError() = "internal error: unknown exception";
    return FANFILL_ERR_INTERNAL;
  }
}

DType ToDType(fanfill_dtype dtype);  // throws std::invalid_argument on unknown values

}  // namespace fanfill::capi

#endif  // FANFILL_SRC_CAPI_C_API_INTERNAL_H_
