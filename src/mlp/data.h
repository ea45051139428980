// fanfill::mlp data sets for `fanfill validate`: synthetic tasks drawn from
// fanfill streams (so they are the same on every machine and thread count)
// and scikit-learn's handwritten digits read from the file Debian's
// python3-sklearn ships.
//
// Every generator is deterministic: the same arguments give the same bits.
// Streams are StreamId("data.<task>.<what>") under the caller's seed.
#ifndef FANFILL_SRC_MLP_DATA_H_
#define FANFILL_SRC_MLP_DATA_H_

#include <cstdint>
#include <string>
#include <utility>

#include "src/mlp/mlp.h"

namespace fanfill::mlp {

// Two interleaved spirals, 2 inputs, 2 classes (one-hot targets), `n` points
// (n even, half per class, classes alternate by row). Point i of class c:
// t ~ U[0, 1), radius 0.1 + 0.9 t, angle 2 pi turns t + c pi, plus N(0, noise)
// on each coordinate; so the inputs lie in about [-1, 1]^2.
// Throws std::invalid_argument for n < 2, odd n, turns <= 0 or noise < 0.
Dataset MakeTwoSpirals(int n, double turns, double noise, uint64_t seed);

// Regression on a random teacher: x ~ N(0, 1)^input_dim, targets = a fixed
// random tanh network input_dim -> hidden (tanh) -> output_dim (linear),
// xavier_normal weights and zero biases (Network::Initialize under
// seed ^ a fixed salt, so a student initialized with `seed` never starts at
// its teacher). Labels empty.
Dataset MakeTeacherRegression(int n, int input_dim, int hidden, int output_dim, uint64_t seed);

// y = M x with x ~ N(0, 1)^dim and M a fixed random dim x dim matrix with
// N(0, 1 / dim) entries (so E|y|^2 = E|x|^2): the deep-linear-network task.
Dataset MakeLinearRegression(int n, int dim, uint64_t seed);

// Where Debian's python3-sklearn puts the digits data.
inline constexpr const char* kDefaultDigitsPath =
    "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

// scikit-learn's digits (load_digits): 1797 rows of 64 pixel values (0..16)
// and the label (0..9), comma separated, gzip compressed (a plain text file
// also reads: zlib passes it through). Pixels are scaled to [0, 1] (/16),
// targets are one-hot over 10 classes. Throws std::runtime_error naming the
// path and the line for a missing/unreadable file, a malformed line (not 65
// integers, a pixel outside 0..16, a label outside 0..9) or a row count
// other than 1797.
Dataset LoadDigits(const std::string& path);

// Deterministic split: a permutation of the rows drawn from the stream
// StreamId("data.split") under `seed`; the first round(test_fraction * n)
// rows of the permutation are the test set. Both parts keep their original
// row order. Throws std::invalid_argument unless 0 < test_fraction < 1 and
// both parts are non-empty.
std::pair<Dataset, Dataset> SplitTrainTest(const Dataset& data, double test_fraction,
                                           uint64_t seed);

// A permutation of 0..n-1 from FillBits on (seed, stream): Fisher-Yates with
// 64-bit draws, offset floor(x * (i + 1) / 2^64) (bias <= n / 2^64).
std::vector<int> RandomPermutation(int n, uint64_t seed, uint64_t stream);

}  // namespace fanfill::mlp

#endif  // FANFILL_SRC_MLP_DATA_H_
