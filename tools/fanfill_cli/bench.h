// `fanfill bench`: this machine's fill throughput beside memset of the same
// buffer (the store-bandwidth limit), for each distribution and dtype, on one
// thread and on all threads (the oneTBB arena, limited by --threads).
#ifndef FANFILL_TOOLS_CLI_BENCH_H_
#define FANFILL_TOOLS_CLI_BENCH_H_

#include <cstdint>
#include <ostream>

namespace fanfill::cli {

// Prints a Markdown table; each figure is the best of `reps` timed runs after
// one untimed run (which also faults the buffer in). `elements` per fill.
void RunBench(uint64_t elements, int reps, std::ostream& out);

}  // namespace fanfill::cli

#endif  // FANFILL_TOOLS_CLI_BENCH_H_
