#include "tools/fanfill_cli/formats.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

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
  }
  throw std::invalid_argument("unknown dtype");
}

}  // namespace

Format FormatOfPath(std::string_view path) {
  if (EndsWith(path, ".npy")) return Format::kNpy;
  if (EndsWith(path, ".safetensors")) return Format::kSafetensors;
  if (EndsWith(path, ".bin")) return Format::kBin;
  throw std::invalid_argument("cannot tell the output format of '" + std::string(path) +
                              "': the name must end in .npy, .safetensors or .bin");
}

std::string NpyHeader(DType dtype, std::span<const int64_t> shape) {
  std::string dict = "{'descr': '";
  dict += NpyDescr(dtype);
  dict += "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) dict += ", ";
    dict += std::to_string(shape[i]);
  }
  if (shape.size() == 1) dict += ",";  // a Python 1-tuple
  dict += "), }";
  // numpy aligns the data to 64 bytes; the dictionary ends in '\n'.
  constexpr size_t kAlign = 64;
  constexpr size_t kPrefixV1 = 10, kPrefixV2 = 12;  // magic, version, length field
  auto padded = [&](size_t prefix) {
    const size_t unpadded = prefix + dict.size() + 1;
    return dict.size() + (kAlign - unpadded % kAlign) % kAlign;
  };
  const bool v2 = padded(kPrefixV1) + 1 > 0xFFFF;
  const size_t body = padded(v2 ? kPrefixV2 : kPrefixV1);
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back(0);
  AppendLittleEndian(out, body + 1, v2 ? 4 : 2);
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
  std::vector<size_t> order(descs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return DTypeSize(descs[a].dtype) > DTypeSize(descs[b].dtype);
  });
  SafetensorsModelLayout layout;
  layout.offsets.resize(descs.size());
  std::vector<SafetensorsEntry> entries;
  uint64_t offset = 0;
  for (size_t i : order) {
    layout.offsets[i] = offset;
    entries.push_back(
        {descs[i].name, descs[i].dtype, model.tensors[i].shape, offset, offset + descs[i].bytes});
    offset += descs[i].bytes;
  }
  layout.header = SafetensorsHeader(entries, {{"generator", std::string("fanfill ") + Version()},
                                              {"seed", std::to_string(seed)}});
  for (uint64_t& o : layout.offsets) o += layout.header.size();
  layout.size = layout.header.size() + offset;
  return layout;
}

}  // namespace fanfill::cli
