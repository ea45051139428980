// Helpers shared by the tests.
#ifndef FANFILL_TESTS_TEST_UTIL_H_
#define FANFILL_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fanfill::test {

// f() must throw std::invalid_argument whose message contains every part.
inline void ExpectThrowsWith(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning '" << parts.front() << "'";
  } catch (const std::invalid_argument& e) {
    for (const std::string& p : parts) {
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message '" << e.what() << "' lacks '" << p << "'";
    }
  }
}

}  // namespace fanfill::test

#endif  // FANFILL_TESTS_TEST_UTIL_H_
