#include "tools/fanfill_cli/formats.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace fanfill::cli {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void AppendLittleEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

const char* NpyDescr(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "<f4";
    case DType::kF64:
      return "<f8";
    case DType::kF16:
      return "<f2";
    case DType::kBF16:
      break;
    case DType::kF8E4M3:
    case DType::kF8E5M2:
      throw std::invalid_argument(
          std::string(DTypeName(dtype)) +
          " has no standard numpy dtype, so it cannot be written as .npy: write .safetensors (" +
          (dtype == DType::kF8E4M3 ? "F8_E4M3" : "F8_E5M2") + ") or .bin (raw FP8 bytes)");
  }
  throw std::invalid_argument(
      "bf16 has no numpy dtype, so it cannot be written as .npy: write .safetensors (BF16) or "
      ".bin (raw bfloat16 bits), or choose --dtype f32 or f16");
}

const char* SafetensorsDType(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "F32";
    case DType::kF64:
      return "F64";
    case DType::kBF16:
      return "BF16";
    case DType::kF16:
      return "F16";
    case DType::kF8E4M3:
      return "F8_E4M3";
    case DType::kF8E5M2:
      return "F8_E5M2";
  }
  throw std::invalid_argument("unknown dtype");
}

std::string ToString(unsigned __int128 v) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  return digits;
}

// The name with each byte outside printable ASCII as \xHH, for a message
// about a name that is not UTF-8 (which cannot be printed as it is).
std::string Escaped(std::string_view name) {
  constexpr size_t kShown = 60;
  std::string out;
  for (size_t i = 0; i < name.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
    }
  }
  return name.size() > kShown ? out + "..." : out;
}

// Whether `text` is UTF-8, by nlohmann's own check (strict as RFC 3629), which
// every JSON header and message text needs.
bool IsUtf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
  return true;
}

}  // namespace

std::string PrintableName(const std::string& name) {
  const bool control = std::any_of(name.begin(), name.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7F;
  });
  return !control && IsUtf8(name) ? name : Escaped(name);
}

uint64_t FileSize::Total(std::string_view what) const {
  constexpr uint64_t kMax = INT64_MAX;
  if (bytes_ > kMax) {
    throw std::invalid_argument(std::string(what) + " would be " + ToString(bytes_) +
                                " bytes, more than the largest file size, 2^63 - 1 = " +
                                std::to_string(kMax) + " bytes");
  }
  return static_cast<uint64_t>(bytes_);
}

Format FormatOfPath(std::string_view path) {
  if (EndsWith(path, ".npy")) return Format::kNpy;
  if (EndsWith(path, ".safetensors")) return Format::kSafetensors;
  if (EndsWith(path, ".bin")) return Format::kBin;
  throw std::invalid_argument("cannot tell the output format of '" + std::string(path) +
                              "': the name must end in .npy, .safetensors or .bin");
}

std::string NpyHeader(DType dtype, std::span<const int64_t> shape) {
  // numpy 2 reads arrays of at most 64 dimensions (NPY_MAXDIMS; numpy 1: 32).
  constexpr size_t kNpyMaxDims = 64;
  if (shape.size() > kNpyMaxDims) {
    throw std::invalid_argument(".npy holds at most 64 dimensions (numpy's limit); the shape has " +
                                std::to_string(shape.size()) + ": write .safetensors or .bin");
  }
  std::string dict = "{'descr': '";
  dict += NpyDescr(dtype);
  dict += "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) dict += ", ";
    dict += std::to_string(shape[i]);
  }
  if (shape.size() == 1) dict += ",";  // a Python 1-tuple
  dict += "), }";
  // numpy aligns the data to 64 bytes; the dictionary ends in '\n'. With at
  // most 64 dimensions of at most 19 digits the header is far below 65535
  // bytes, so format version 1.0 (a 2-byte length) always holds it.
  constexpr size_t kAlign = 64, kPrefix = 10;  // magic, version, length field
  const size_t body = dict.size() + (kAlign - (kPrefix + dict.size() + 1) % kAlign) % kAlign;
  std::string out = "\x93NUMPY";
  out.push_back(1);
  out.push_back(0);
  AppendLittleEndian(out, body + 1, 2);
  out += dict;
  out.append(body - dict.size(), ' ');
  out.push_back('\n');
  return out;
}

std::string SafetensorsHeader(std::span<const SafetensorsEntry> entries,
                              const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (const SafetensorsEntry& e : entries) {
    if (e.name == "__metadata__") {
      throw std::invalid_argument("the tensor name '__metadata__' is reserved by safetensors");
    }
    if (!IsUtf8(e.name)) {
      throw std::invalid_argument("the tensor name '" + Escaped(e.name) +
                                  "' is not valid UTF-8, which a .safetensors header (JSON) "
                                  "needs");
    }
    header[e.name] = {{"dtype", SafetensorsDType(e.dtype)},
                      {"shape", e.shape},
                      {"data_offsets", {e.begin, e.end}}};
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out;
  AppendLittleEndian(out, json.size(), 8);
  return out + json;
}

SafetensorsModelLayout ModelLayout(const ModelSpec& model,
                                   std::span<const TensorDescription> descs, uint64_t seed) {
  if (descs.size() != model.tensors.size()) {
    throw std::invalid_argument("ModelLayout: descriptions do not match the model");
  }
  // Items 0..n-1 are the tensors, n.. the scale tensors of the scaled ones.
  const size_t n = descs.size();
  std::vector<size_t> scaled;  // tensor index of each scale item
  FileSize data;
  for (size_t i = 0; i < n; ++i) {
    data.Add(descs[i].bytes);
    if (model.tensors[i].has_scale()) {
      scaled.push_back(i);
      data.Add(4);
    }
  }
  data.Total("the file's tensors");  // so the offsets below cannot wrap
  auto size_of = [&](size_t item) { return item < n ? DTypeSize(descs[item].dtype) : 4; };
  std::vector<size_t> order(n + scaled.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return size_of(a) > size_of(b); });
  SafetensorsModelLayout layout;
  layout.offsets.resize(n);
  std::vector<uint64_t> scale_offsets(scaled.size());
  std::vector<SafetensorsEntry> entries;
  std::map<std::string, size_t> names;
  for (size_t i = 0; i < n; ++i) names[descs[i].name] = i;
  uint64_t offset = 0;
  for (size_t item : order) {
    if (item < n) {
      layout.offsets[item] = offset;
      entries.push_back({descs[item].name, descs[item].dtype, model.tensors[item].shape, offset,
                         offset + descs[item].bytes});
      offset += descs[item].bytes;
    } else {
      const std::string name = descs[scaled[item - n]].name + "_scale";
      if (names.count(name)) {
        throw std::invalid_argument("tensor '" + descs[scaled[item - n]].name +
                                    "' has a scale, stored as '" + name +
                                    "', but the model has a tensor of that name");
      }
      scale_offsets[item - n] = offset;
      entries.push_back({name, DType::kF32, {}, offset, offset + 4});
      offset += 4;
    }
  }
  layout.header = SafetensorsHeader(entries, {{"generator", std::string("fanfill ") + Version()},
                                              {"seed", std::to_string(seed)}});
  for (uint64_t& o : layout.offsets) o += layout.header.size();
  for (size_t k = 0; k < scaled.size(); ++k) {
    layout.scales.push_back({layout.header.size() + scale_offsets[k],
                             static_cast<float>(model.tensors[scaled[k]].scale)});
  }
  layout.size = FileSize().Add(layout.header.size()).Add(offset).Total();
  return layout;
}

}  // namespace fanfill::cli
