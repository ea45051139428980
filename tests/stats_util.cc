// See stats_util.h. Linked into each statistical test binary as a source of
// its own (not a library), so that the Environment below always registers.
#include "tests/stats_util.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

namespace fanfill::test::stats {

CountBounds BinomialBounds(uint64_t n, double p, double alpha) {
  const double mean = n * p, sd = std::sqrt(n * p * (1 - p));
  const auto kmin = static_cast<int64_t>(std::max(0.0, std::floor(mean - 15 * sd - 30)));
  const auto kmax =
      static_cast<int64_t>(std::min(static_cast<double>(n), std::ceil(mean + 15 * sd + 30)));
  std::vector<double> pmf(static_cast<size_t>(kmax - kmin + 1));
  const double lgn = std::lgamma(n + 1.0), lp = std::log(p), lq = std::log1p(-p);
  for (int64_t k = kmin; k <= kmax; ++k) {
    pmf[k - kmin] = std::exp(lgn - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) + k * lp +
                             (n - k) * lq);
  }
  int64_t lo = kmin;  // P(X < lo) = sum of pmf below lo (mass below kmin ~ 0)
  double below = 0;
  while (lo <= kmax && below + pmf[lo - kmin] <= alpha) below += pmf[lo++ - kmin];
  int64_t hi = kmax;  // P(X > hi)
  double above = 0;
  while (hi >= kmin && above + pmf[hi - kmin] <= alpha) above += pmf[hi-- - kmin];
  return {static_cast<uint64_t>(lo), static_cast<uint64_t>(hi)};
}

// ------------------------------------------------------------------ budget

FalseFailureBudget& FalseFailureBudget::Global() {
  static FalseFailureBudget* const budget = new FalseFailureBudget;  // never destroyed
  return *budget;
}

FalseFailureBudget::Account& FalseFailureBudget::Find(const std::string& name) {
  for (Account& a : accounts_) {
    if (a.name == name) return a;
  }
  accounts_.push_back({name});
  return accounts_.back();
}

void FalseFailureBudget::Spend(const std::string& account, double p_fail, int checks) {
  const std::lock_guard<std::mutex> lock(mu_);
  Account& a = Find(account);
  a.checks += checks;
  a.p_fail += checks * p_fail;
}

void FalseFailureBudget::DeclareMaximum(const std::string& account, int max_checks) {
  const std::lock_guard<std::mutex> lock(mu_);
  Find(account).max_checks = max_checks;
}

int FalseFailureBudget::Checks(const std::string& account) const {
  const std::lock_guard<std::mutex> lock(mu_);
  for (const Account& a : accounts_) {
    if (a.name == account) return a.checks;
  }
  return 0;
}

int FalseFailureBudget::Checks() const {
  const std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const Account& a : accounts_) n += a.checks;
  return n;
}

double FalseFailureBudget::Total() const {
  const std::lock_guard<std::mutex> lock(mu_);
  double p = 0;
  for (const Account& a : accounts_) p += a.p_fail;
  return p;
}

std::string FalseFailureBudget::Report() const {
  const std::lock_guard<std::mutex> lock(mu_);
#if defined(__GLIBC__)
  const char* binary = program_invocation_short_name;
#else
  const char* binary = "this binary";
#endif
  std::string out = std::string("false-failure budget of ") + binary + " (this process):\n";
  char line[256];
  int checks = 0;
  double total = 0;
  for (const Account& a : accounts_) {
    std::string max = a.max_checks < 0 ? "" : " (declared maximum " + std::to_string(a.max_checks) + ")";
    std::snprintf(line, sizeof line, "  %-40s %4d checks, p_fail sum %.3g%s\n", a.name.c_str(),
                  a.checks, a.p_fail, max.c_str());
    out += line;
    checks += a.checks;
    total += a.p_fail;
  }
  std::snprintf(line, sizeof line, "  %-40s %4d checks, P(false failure) <= %.3g\n", "total",
                checks, total);
  return out + line;
}

std::vector<std::string> FalseFailureBudget::Exceeded() const {
  const std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const Account& a : accounts_) {
    if (a.max_checks >= 0 && a.checks > a.max_checks) {
      out.push_back(a.name + ": " + std::to_string(a.checks) + " checks, declared maximum " +
                    std::to_string(a.max_checks));
    }
  }
  return out;
}

namespace {

// Prints the tally when the binary's tests are done; fails the run when an
// account is over its declared maximum (the budget comment understates it).
class BudgetReport : public ::testing::Environment {
 public:
  void TearDown() override {
    std::fputs(Budget().Report().c_str(), stdout);
    for (const std::string& e : Budget().Exceeded()) {
      ADD_FAILURE() << "more statistical checks than the budget comment declares: " << e;
    }
  }
};
const auto* const kBudgetReport = ::testing::AddGlobalTestEnvironment(new BudgetReport);

}  // namespace
}  // namespace fanfill::test::stats
