// Hugging Face checkpoints from a config.json: the tensor list that
// transformers' save_pretrained writes for a model built by from_config, each
// tensor with the value rule of that architecture's _init_weights, and the
// way save_pretrained splits it into shards and names them. Only the list is
// made here (no values): `fanfill hf` (main.cc) writes it with the chunk
// writer; docs/hf.md cites the transformers source per family.
//
// Streams: every tensor is drawn from (seed, StreamId(stream)), where
// `stream` is the name of the model's own parameter in the running model
// (named_parameters of the model class), as fanfill.torch.init_model keys
// it. That is the checkpoint name except where save_pretrained converts
// names or splits tensors: Mixtral's experts are one fused parameter per
// layer (mlp.experts.gate_up_proj [E, 2I, H], mlp.experts.down_proj
// [E, H, I]); the checkpoint's experts.e.w1/w3/w2 are contiguous slices of
// them (source_first), so any split of the work gives the same bytes.
#ifndef FANFILL_TOOLS_CLI_HF_MODEL_H_
#define FANFILL_TOOLS_CLI_HF_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"

namespace fanfill::hf {

// One tensor of the checkpoint.
struct HfTensor {
  std::string name;  // as save_pretrained writes it
  std::vector<int64_t> shape;
  // Index into HfModel::sources: the model parameter whose values these are.
  size_t source = 0;
  uint64_t source_first = 0;  // element of the source where this tensor starts
  // Embedding padding row (transformers zeroes it after the normal draw):
  // elements [zero_first, zero_first + zero_count) of this tensor are 0.
  uint64_t zero_first = 0, zero_count = 0;
  // save_pretrained's sharding counts storages: tensors that are views of one
  // storage (Mixtral's reverted experts) go to the shard of the first one.
  // Equal `storage` = one storage; its size is the sum of its tensors.
  size_t storage = 0;
};

struct HfModel {
  std::string model_type;
  std::string architecture;  // the model class: architectures[0] or the family's default
  DType dtype = DType::kF32;
  std::string dtype_name;  // "float32", "bfloat16", "float16" (config.json's dtype)
  // The model's parameters that are drawn (tied ones once), with schemes;
  // PrepareModel(sources, seed) validates and plans them.
  ModelSpec sources;
  // Checkpoint tensors in the order save_pretrained shards them (its state
  // dict order after removing tied weights and reverting conversions).
  std::vector<HfTensor> tensors;
  uint64_t total_parameters = 0;  // num_parameters(): every source's elements once
  uint64_t total_size = 0;        // bytes of all tensors (the index's total_size)
};

// config_json: the text of a config.json. dtype: "bf16", "f16" or "f32" (also
// "bfloat16", "float16", "float32"); empty = the config's "dtype" or
// "torch_dtype", else f32. Throws std::invalid_argument naming the field for
// unknown model_type or architecture, missing, mistyped or inconsistent
// fields, and FP8 or other dtypes it cannot write.
HfModel BuildHfModel(std::string_view config_json, std::string_view dtype = {});

// "5GB" -> 5000000000: huggingface_hub's parse_size_to_int (units KB, MB, GB,
// TB case-insensitive, powers of 1000, the number may have a fraction and is
// truncated to bytes), or a plain integer number of bytes. Throws otherwise.
uint64_t ParseShardSize(std::string_view text);
// save_pretrained's default max_shard_size in the transformers version this
// follows (5.x: "50GB").
inline constexpr const char* kDefaultMaxShardSize = "50GB";

struct HfShard {
  std::string file;             // model.safetensors or model-0000k-of-0000N.safetensors
  std::vector<size_t> tensors;  // indices into HfModel::tensors, in file order (by name)
};
// huggingface_hub's split_state_dict_into_shards_factory over the tensors in
// order: a storage larger than max_shard_size gets a shard of its own at once;
// otherwise a shard is closed when the next storage would not fit.
std::vector<HfShard> SplitShards(const HfModel& model, uint64_t max_shard_size);

// One shard file's safetensors header ({"format": "pt"} metadata, the
// shard's tensors in its order, packed) and where each tensor's data starts
// in the file (offsets[k] for shard.tensors[k]); size = the file's bytes.
// Shared by `fanfill hf` and the MPI writer (examples/mpi_init --hf).
struct HfShardLayout {
  std::string header;
  std::vector<uint64_t> offsets;
  uint64_t size = 0;
};
HfShardLayout ShardLayout(const HfModel& model, const HfShard& shard);

// model.safetensors.index.json as save_pretrained writes it (sorted keys,
// indent 2, trailing newline): metadata total_parameters and total_size, weight_map.
std::string IndexJson(const HfModel& model, const std::vector<HfShard>& shards);
// The input config with "dtype" (and "torch_dtype" if present) set to the
// dtype written; key order kept, indent 2, trailing newline.
std::string OutputConfigJson(std::string_view config_json, const HfModel& model);

// Whether `name` is one of the weight file names save_pretrained (and `fanfill
// hf`) writes: model.safetensors, model.safetensors.index.json or a shard
// model-NNNNN-of-NNNNN.safetensors (five digits each). After a save, such
// files of an earlier save that this one did not write are removed (`fanfill
// hf` and fanfill_mpi_init --hf); other files (model_ema.safetensors...) stay.
bool IsHfWeightFileName(std::string_view name);

// The scheme of each tensor as text, for the dry-run table.
std::string TensorScheme(const HfModel& model, const HfTensor& tensor);

}  // namespace fanfill::hf

#endif  // FANFILL_TOOLS_CLI_HF_MODEL_H_
