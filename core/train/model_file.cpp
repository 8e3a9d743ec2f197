#include "core/train/model_file.h"

#include "core/common/atomic_file.h"
#include "core/common/types.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

namespace diffuscope {
namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 16ULL << 20;
constexpr int kMaxJsonDepth = 32;
constexpr const char* kFormatName = "diffuscope-model";

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t GetU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void AppendFloats(std::vector<uint8_t>& out, const std::vector<float>& values) {
  const size_t at = out.size();
  out.resize(at + 4 * values.size());
  if constexpr (std::endian::native == std::endian::little) {
    if (!values.empty()) std::memcpy(out.data() + at, values.data(), 4 * values.size());
  } else {
    for (size_t i = 0; i < values.size(); ++i) PutU32(out.data() + at + 4 * i, std::bit_cast<uint32_t>(values[i]));
  }
}

std::vector<float> ReadFloats(const uint8_t* p, size_t count) {
  std::vector<float> values(count);
  if constexpr (std::endian::native == std::endian::little) {
    if (count) std::memcpy(values.data(), p, 4 * count);
  } else {
    for (size_t i = 0; i < count; ++i) values[i] = std::bit_cast<float>(GetU32(p + 4 * i));
  }
  return values;
}

bool AllFinite(const std::vector<float>& values) {
  return std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); });
}

// The deepest nesting of [ and { in a JSON text (strings skipped); stops counting once past `limit`.
int JsonDepth(std::span<const uint8_t> text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (uint8_t c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// ------------------------------------------------------------------------------------------------ writing

json UNetToJson(const UNetSpec& u) {
  return {{"in_channels", u.in_channels}, {"out_channels", u.out_channels},     {"channels", u.channels},
          {"groups", u.groups},           {"embedding_size", u.embedding_size}, {"embedding_width", u.embedding_width},
          {"zero_init", u.zero_init}};
}

json LayerToJson(const LayerSpec& layer) {
  json j;
  j["kind"] = std::string(LayerKindName(layer.kind));
  switch (layer.kind) {
    case LayerKind::kLinear:
      j["in"] = layer.in;
      j["out"] = layer.out;
      break;
    case LayerKind::kGelu:
    case LayerKind::kSilu: j["width"] = layer.in; break;
    case LayerKind::kResidual:
      j["width"] = layer.in;
      j["activation"] = std::string(LayerKindName(layer.activation));
      break;
    case LayerKind::kEmbed: {
      json groups = json::array();
      for (const EmbedGroup& g : layer.groups)
        groups.push_back({{"columns", g.columns}, {"size", g.size}, {"scale", g.scale}});
      j["groups"] = groups;
      break;
    }
  }
  return j;
}

json ScheduleToJson(const ScheduleOptions& s) {
  return {{"kind", std::string(ScheduleKindName(s.kind))},
          {"num_steps", s.num_steps},
          {"beta_start", s.beta_start},
          {"beta_end", s.beta_end},
          {"cosine_s", s.cosine_s},
          {"max_beta", s.max_beta},
          {"zero_terminal_snr", s.zero_terminal_snr},
          {"custom", s.custom}};
}

json TrainingToJson(const TrainOptions& t) {
  return {{"iterations", t.iterations},
          {"batch_size", t.batch_size},
          {"learning_rate", t.learning_rate},
          {"weight_decay", t.weight_decay},
          {"adam_beta1", t.adam_beta1},
          {"adam_beta2", t.adam_beta2},
          {"adam_epsilon", t.adam_epsilon},
          {"warmup_steps", t.warmup_steps},
          {"cosine_decay", t.cosine_decay},
          {"min_learning_rate", t.min_learning_rate},
          {"grad_clip_norm", t.grad_clip_norm},
          {"ema_decay", t.ema_decay},
          {"seed", t.seed},
          {"checkpoint_every", t.checkpoint_every},
          {"report_every", t.report_every}};
}

// Everything a valid file must satisfy; `fail` throws.
template <typename Fail>
void Validate(const ModelFile& file, const Fail& fail) {
  if (file.model_type.empty() || file.model_type.size() > 64) fail("the model type must be 1..64 characters");
  if (file.unet) {
    if (!file.network.layers.empty()) fail("it describes both a dense network and a U-Net");
    if (std::string problem = file.unet->Check(); !problem.empty()) fail("network: " + problem);
  } else if (std::string problem = file.network.Check(); !problem.empty()) {
    fail("network: " + problem);
  }
  if (std::string problem = file.schedule.Check(); !problem.empty()) fail("schedule: " + problem);
  if (std::string problem = file.training.Check(); !problem.empty()) fail("training options: " + problem);
  if (file.trained_steps < 0) fail("the number of trained steps is negative");
  const auto count = static_cast<size_t>(file.num_parameters());
  if (file.weights.size() != count)
    fail("it holds " + std::to_string(file.weights.size()) + " weights but its network has " + std::to_string(count) +
         " parameters");
  if (!AllFinite(file.weights)) fail("its weights hold NaN or infinite values (the training diverged)");
  for (const auto& [key, value] : file.settings)
    if (!std::isfinite(value)) fail("setting '" + key + "' is not a finite number");
  if (file.train_state) {
    const TrainState& s = *file.train_state;
    if (s.step != file.trained_steps) fail("the training state's step differs from the trained steps");
    if (s.weights.size() != count || s.adam_m.size() != count || s.adam_v.size() != count ||
        (!s.ema.empty() && s.ema.size() != count))
      fail("the training state's arrays do not match the network's " + std::to_string(count) + " parameters");
    if (!AllFinite(s.weights) || !AllFinite(s.adam_m) || !AllFinite(s.adam_v) || !AllFinite(s.ema) ||
        !std::isfinite(s.loss_ema))
      fail("its training state holds NaN or infinite values");
  }
}

// ------------------------------------------------------------------------------------------------ reading

class HeaderReader {
 public:
  explicit HeaderReader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void Fail(const std::string& what) const {
    throw Error("'" + source_ + "' is not a valid model file: " + what);
  }
  const json& Field(const json& object, const std::string& key, const std::string& where) const {
    if (!object.is_object()) Fail("'" + where + "' must be an object");
    auto it = object.find(key);
    if (it == object.end()) Fail("the header lacks '" + Join(where, key) + "'");
    return *it;
  }
  long long Int(const json& object, const std::string& key, const std::string& where, long long lo,
                long long hi) const {
    const json& v = Field(object, key, where);
    long long x = 0;
    if (v.is_number_unsigned()) {
      const auto u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<long long>::max())) OutOfRange(where, key, lo, hi);
      x = static_cast<long long>(u);
    } else if (v.is_number_integer()) {
      x = v.get<long long>();
    } else {
      Fail("'" + Join(where, key) + "' must be an integer");
    }
    if (x < lo || x > hi) OutOfRange(where, key, lo, hi);
    return x;
  }
  uint64_t U64(const json& object, const std::string& key, const std::string& where) const {
    const json& v = Field(object, key, where);
    if (!v.is_number_unsigned()) Fail("'" + Join(where, key) + "' must be a non-negative integer");
    return v.get<uint64_t>();
  }
  double Double(const json& object, const std::string& key, const std::string& where) const {
    return Number(Field(object, key, where), Join(where, key));
  }
  double Number(const json& v, const std::string& name) const {
    if (!v.is_number()) Fail("'" + name + "' must be a number");
    const double x = v.get<double>();
    if (!std::isfinite(x)) Fail("'" + name + "' must be finite");
    return x;
  }
  bool Bool(const json& object, const std::string& key, const std::string& where) const {
    const json& v = Field(object, key, where);
    if (!v.is_boolean()) Fail("'" + Join(where, key) + "' must be true or false");
    return v.get<bool>();
  }
  std::string String(const json& object, const std::string& key, const std::string& where) const {
    const json& v = Field(object, key, where);
    if (!v.is_string()) Fail("'" + Join(where, key) + "' must be a string");
    return v.get<std::string>();
  }
  const json& Array(const json& object, const std::string& key, const std::string& where) const {
    const json& v = Field(object, key, where);
    if (!v.is_array()) Fail("'" + Join(where, key) + "' must be an array");
    return v;
  }
  static std::string Join(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }

 private:
  [[noreturn]] void OutOfRange(const std::string& where, const std::string& key, long long lo, long long hi) const {
    Fail("'" + Join(where, key) + "' must be an integer " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  std::string source_;
};

UNetSpec ParseUNet(const HeaderReader& r, const json& j, const std::string& where) {
  UNetSpec u;
  u.in_channels = static_cast<int>(r.Int(j, "in_channels", where, 1, 64));
  u.out_channels = static_cast<int>(r.Int(j, "out_channels", where, 1, 64));
  const json& channels = r.Array(j, "channels", where);
  if (channels.empty() || channels.size() > 6) r.Fail("'" + where + ".channels' must hold 1..6 levels");
  u.channels.clear();
  for (const json& c : channels) {
    if (!c.is_number_integer() || c.get<long long>() < 1 || c.get<long long>() > 1024)
      r.Fail("'" + where + ".channels' must hold integers 1..1024");
    u.channels.push_back(c.get<int>());
  }
  u.groups = static_cast<int>(r.Int(j, "groups", where, 1, 64));
  u.embedding_size = static_cast<int>(r.Int(j, "embedding_size", where, 4, 4096));
  u.embedding_width = static_cast<int>(r.Int(j, "embedding_width", where, 1, 4096));
  u.zero_init = r.Bool(j, "zero_init", where);
  return u;
}

LayerSpec ParseLayer(const HeaderReader& r, const json& j, const std::string& where) {
  const std::string kind_name = r.String(j, "kind", where);
  const auto kind = ParseLayerKind(kind_name);
  if (!kind) r.Fail("'" + where + ".kind' is '" + kind_name + "', not a known layer kind");
  switch (*kind) {
    case LayerKind::kLinear:
      return LayerSpec::Linear(static_cast<int>(r.Int(j, "in", where, 1, kMaxLayerWidth)),
                               static_cast<int>(r.Int(j, "out", where, 1, kMaxLayerWidth)));
    case LayerKind::kGelu: return LayerSpec::Gelu(static_cast<int>(r.Int(j, "width", where, 1, kMaxLayerWidth)));
    case LayerKind::kSilu: return LayerSpec::Silu(static_cast<int>(r.Int(j, "width", where, 1, kMaxLayerWidth)));
    case LayerKind::kResidual: {
      const int width = static_cast<int>(r.Int(j, "width", where, 1, kMaxLayerWidth));
      const std::string act_name = r.String(j, "activation", where);
      const auto act = ParseLayerKind(act_name);
      if (act != LayerKind::kGelu && act != LayerKind::kSilu)
        r.Fail("'" + where + ".activation' is '" + act_name + "'; it must be gelu or silu");
      return LayerSpec::Residual(width, *act);
    }
    case LayerKind::kEmbed: {
      const json& groups = r.Array(j, "groups", where);
      if (groups.empty() || groups.size() > static_cast<size_t>(kMaxLayerWidth))
        r.Fail("'" + where + ".groups' must hold 1.." + std::to_string(kMaxLayerWidth) + " groups");
      std::vector<EmbedGroup> parsed;
      for (size_t i = 0; i < groups.size(); ++i) {
        const std::string w = where + ".groups[" + std::to_string(i) + "]";
        parsed.push_back({static_cast<int>(r.Int(groups[i], "columns", w, 1, kMaxLayerWidth)),
                          static_cast<int>(r.Int(groups[i], "size", w, 0, kMaxLayerWidth)),
                          r.Double(groups[i], "scale", w)});
      }
      return LayerSpec::Embed(std::move(parsed));
    }
  }
  r.Fail("unknown layer kind");
}

ScheduleOptions ParseSchedule(const HeaderReader& r, const json& j) {
  const std::string where = "schedule";
  ScheduleOptions s;
  const std::string kind_name = r.String(j, "kind", where);
  const auto kind = ParseScheduleKind(kind_name);
  if (!kind) r.Fail("'schedule.kind' is '" + kind_name + "', not a known schedule");
  s.kind = *kind;
  s.num_steps = static_cast<int>(r.Int(j, "num_steps", where, 1, 100000));
  s.beta_start = r.Double(j, "beta_start", where);
  s.beta_end = r.Double(j, "beta_end", where);
  s.cosine_s = r.Double(j, "cosine_s", where);
  s.max_beta = r.Double(j, "max_beta", where);
  s.zero_terminal_snr = r.Bool(j, "zero_terminal_snr", where);
  const json& custom = r.Array(j, "custom", where);
  if (custom.size() > 100000) r.Fail("'schedule.custom' holds more than 100000 values");
  for (const json& v : custom) s.custom.push_back(r.Number(v, "schedule.custom[]"));
  return s;
}

TrainOptions ParseTraining(const HeaderReader& r, const json& j) {
  const std::string w = "training";
  constexpr long long kBig = std::numeric_limits<long long>::max();
  TrainOptions t;
  t.iterations = r.Int(j, "iterations", w, 1, kBig);
  t.batch_size = static_cast<int>(r.Int(j, "batch_size", w, 1, 1 << 30));
  t.learning_rate = r.Double(j, "learning_rate", w);
  t.weight_decay = r.Double(j, "weight_decay", w);
  t.adam_beta1 = r.Double(j, "adam_beta1", w);
  t.adam_beta2 = r.Double(j, "adam_beta2", w);
  t.adam_epsilon = r.Double(j, "adam_epsilon", w);
  t.warmup_steps = r.Int(j, "warmup_steps", w, 0, kBig);
  t.cosine_decay = r.Bool(j, "cosine_decay", w);
  t.min_learning_rate = r.Double(j, "min_learning_rate", w);
  t.grad_clip_norm = r.Double(j, "grad_clip_norm", w);
  t.ema_decay = r.Double(j, "ema_decay", w);
  t.seed = r.U64(j, "seed", w);
  t.checkpoint_every = r.Int(j, "checkpoint_every", w, 0, kBig);
  t.report_every = r.Int(j, "report_every", w, 1, kBig);
  return t;
}

}  // namespace

uint32_t Crc32(std::span<const uint8_t> bytes, uint32_t crc) {
  crc = ~crc;
  for (uint8_t b : bytes) crc = kCrcTable[(crc ^ b) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

std::vector<uint8_t> SerializeModelFile(const ModelFile& file) {
  Validate(file, [](const std::string& what) -> void { throw Error("cannot write the model file: " + what); });
  json header;
  header["format"] = kFormatName;
  header["model"] = file.model_type;
  header["trained_steps"] = file.trained_steps;
  if (file.unet) {
    header["network"] = {{"unet", UNetToJson(*file.unet)}};
  } else {
    json layers = json::array();
    for (const LayerSpec& layer : file.network.layers) layers.push_back(LayerToJson(layer));
    header["network"] = {{"layers", layers}};
  }
  header["schedule"] = ScheduleToJson(file.schedule);
  header["training"] = TrainingToJson(file.training);
  header["info"] = json(file.info);
  header["settings"] = json(file.settings);
  std::vector<std::pair<std::string, const std::vector<float>*>> tensors = {{"weights", &file.weights}};
  if (file.train_state) {
    const TrainState& s = *file.train_state;
    header["train_state"] = {{"step", s.step}, {"loss_ema", s.loss_ema}};
    tensors.push_back({"train.weights", &s.weights});
    tensors.push_back({"train.adam_m", &s.adam_m});
    tensors.push_back({"train.adam_v", &s.adam_v});
    if (!s.ema.empty()) tensors.push_back({"train.ema", &s.ema});
  }
  json table = json::array();
  for (const auto& [name, values] : tensors) table.push_back({{"name", name}, {"count", values->size()}});
  header["tensors"] = table;
  const std::string text = header.dump(1, ' ', false, json::error_handler_t::replace);

  std::vector<uint8_t> out(kModelFilePreamble + text.size());
  std::memcpy(out.data() + kModelFilePreamble, text.data(), text.size());
  for (const auto& [name, values] : tensors) AppendFloats(out, *values);
  const uint64_t header_bytes = text.size();
  const uint64_t payload_bytes = out.size() - kModelFilePreamble - header_bytes;
  Require(header_bytes <= kMaxHeaderBytes && out.size() <= kMaxModelFileBytes,
          "cannot write the model file: it would exceed the size limits of the format");
  std::memcpy(out.data(), kModelFileMagic, 8);
  PutU32(out.data() + 8, file.unet ? 2u : 1u);
  PutU32(out.data() + 12, static_cast<uint32_t>(header_bytes));
  PutU64(out.data() + 16, payload_bytes);
  PutU32(out.data() + 24, Crc32(std::span<const uint8_t>(out).subspan(kModelFilePreamble)));
  PutU32(out.data() + 28, Crc32(std::span<const uint8_t>(out).first(28)));
  return out;
}

ModelFile ParseModelFile(std::span<const uint8_t> bytes, const std::string& source) {
  const std::string name = "'" + source + "'";
  const size_t magic_seen = std::min<size_t>(bytes.size(), 8);
  if (magic_seen == 0 || std::memcmp(bytes.data(), kModelFileMagic, magic_seen) != 0)
    throw Error(name + " is not a Diffuscope model file (it does not start with the model-file signature)");
  if (bytes.size() < kModelFilePreamble)
    throw Error(name + " is truncated: " + std::to_string(bytes.size()) + " bytes, too short for a model file");
  if (Crc32(bytes.first(28)) != GetU32(bytes.data() + 28))
    throw Error(name + " is corrupted: the checksum of its first 32 bytes does not match");
  const uint32_t version = GetU32(bytes.data() + 8);
  if (version == 0 || version > kModelFileVersion)
    throw Error(name + " has model-file format version " + std::to_string(version) +
                "; this build of Diffuscope reads " + "versions 1 to " + std::to_string(kModelFileVersion) +
                (version > kModelFileVersion ? " (the file comes from a newer Diffuscope)" : ""));
  const uint64_t header_bytes = GetU32(bytes.data() + 12);
  const uint64_t payload_bytes = GetU64(bytes.data() + 16);
  if (header_bytes == 0 || header_bytes > kMaxHeaderBytes || payload_bytes > kMaxModelFileBytes ||
      payload_bytes % 4 != 0)
    throw Error(name + " is corrupted: its header gives impossible sizes");
  const uint64_t expected = kModelFilePreamble + header_bytes + payload_bytes;
  if (bytes.size() < expected)
    throw Error(name + " is truncated: it has " + std::to_string(bytes.size()) + " bytes of the " +
                std::to_string(expected) + " its header announces");
  if (bytes.size() > expected)
    throw Error(name + " is corrupted: it has " + std::to_string(bytes.size() - expected) +
                " bytes after the end its header announces");
  if (Crc32(bytes.subspan(kModelFilePreamble)) != GetU32(bytes.data() + 24))
    throw Error(name + " is corrupted: the checksum of its contents does not match");

  const auto header_text = bytes.subspan(kModelFilePreamble, header_bytes);
  if (JsonDepth(header_text, kMaxJsonDepth) > kMaxJsonDepth)
    throw Error(name + " is not a valid model file: its header nests too deeply");
  const json header = json::parse(header_text.begin(), header_text.end(), nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) throw Error(name + " is corrupted: its header is not valid JSON");
  if (!header.is_object()) throw Error(name + " is not a valid model file: its header is not a JSON object");

  HeaderReader r(source);
  ModelFile file;
  try {
    if (r.String(header, "format", "") != kFormatName)
      r.Fail("its header's format is not '" + std::string(kFormatName) + "'");
    file.model_type = r.String(header, "model", "");
    file.trained_steps = r.Int(header, "trained_steps", "", 0, std::numeric_limits<long long>::max());
    const json& network = r.Field(header, "network", "");
    if (network.is_object() && network.contains("unet")) {
      if (version < 2) r.Fail("a U-Net needs model-file format version 2");
      file.unet = ParseUNet(r, network["unet"], "network.unet");
    } else {
      const json& layers = r.Array(network, "layers", "network");
      if (layers.empty() || layers.size() > 1024) r.Fail("'network.layers' must hold 1..1024 layers");
      for (size_t i = 0; i < layers.size(); ++i)
        file.network.layers.push_back(ParseLayer(r, layers[i], "network.layers[" + std::to_string(i) + "]"));
    }
    file.schedule = ParseSchedule(r, r.Field(header, "schedule", ""));
    file.training = ParseTraining(r, r.Field(header, "training", ""));
    const json& info = r.Field(header, "info", "");
    if (!info.is_object()) r.Fail("'info' must be an object");
    for (const auto& [key, value] : info.items()) {
      if (!value.is_string()) r.Fail("'info." + key + "' must be a string");
      file.info[key] = value.get<std::string>();
    }
    const json& settings = r.Field(header, "settings", "");
    if (!settings.is_object()) r.Fail("'settings' must be an object");
    for (const auto& [key, value] : settings.items()) file.settings[key] = r.Number(value, "settings." + key);

    // Validate the architecture before sizing anything by it.
    if (file.unet) {
      if (std::string problem = file.unet->Check(); !problem.empty()) r.Fail("network: " + problem);
    } else if (std::string problem = file.network.Check(); !problem.empty()) {
      r.Fail("network: " + problem);
    }
    const auto count = static_cast<uint64_t>(file.num_parameters());

    const json& table = r.Array(header, "tensors", "");
    if (table.size() > 16) r.Fail("'tensors' lists more than 16 tensors");
    std::map<std::string, std::vector<float>> tensors;
    uint64_t offset = 0;
    for (size_t i = 0; i < table.size(); ++i) {
      const std::string w = "tensors[" + std::to_string(i) + "]";
      const std::string tensor = r.String(table[i], "name", w);
      const auto n = static_cast<uint64_t>(r.Int(table[i], "count", w, 0, static_cast<long long>(payload_bytes / 4)));
      if (tensor != "weights" && tensor != "train.weights" && tensor != "train.adam_m" && tensor != "train.adam_v" &&
          tensor != "train.ema")
        r.Fail("'" + w + ".name' is '" + tensor + "', not a tensor of this format version");
      if (tensors.count(tensor)) r.Fail("tensor '" + tensor + "' appears twice");
      if (n != count)
        r.Fail("tensor '" + tensor + "' holds " + std::to_string(n) + " values but the network has " +
               std::to_string(count) + " parameters");
      if (offset + 4 * n > payload_bytes) r.Fail("the tensors need more bytes than the file holds");
      tensors[tensor] = ReadFloats(bytes.data() + kModelFilePreamble + header_bytes + offset, n);
      offset += 4 * n;
    }
    if (offset != payload_bytes) r.Fail("the tensors do not fill the file's data section exactly");
    if (!tensors.count("weights")) r.Fail("it holds no 'weights' tensor");
    file.weights = std::move(tensors["weights"]);
    const bool has_state = header.contains("train_state");
    const bool has_arrays = tensors.count("train.weights") || tensors.count("train.adam_m") ||
                            tensors.count("train.adam_v") || tensors.count("train.ema");
    if (has_state != has_arrays) r.Fail("its training state is incomplete");
    if (has_state) {
      if (!tensors.count("train.weights") || !tensors.count("train.adam_m") || !tensors.count("train.adam_v"))
        r.Fail("its training state lacks the weights or the AdamW moments");
      const json& st = header["train_state"];
      TrainState state;
      state.step = r.Int(st, "step", "train_state", 0, std::numeric_limits<long long>::max());
      state.loss_ema = r.Double(st, "loss_ema", "train_state");
      state.weights = std::move(tensors["train.weights"]);
      state.adam_m = std::move(tensors["train.adam_m"]);
      state.adam_v = std::move(tensors["train.adam_v"]);
      if (tensors.count("train.ema")) state.ema = std::move(tensors["train.ema"]);
      file.train_state = std::move(state);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // nlohmann reports type problems by exception; they all mean a malformed header.
    throw Error(name + " is not a valid model file: " + e.what());
  }
  Validate(file, [&](const std::string& what) -> void { r.Fail(what); });
  return file;
}

void SaveModelFile(const ModelFile& file, const std::filesystem::path& path) {
  const std::vector<uint8_t> bytes = SerializeModelFile(file);
  AtomicFile out(path);
  out.stream().write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.Commit();
}

ModelFile LoadModelFile(const std::filesystem::path& path) {
  std::error_code ec;
  const std::string source = path.string();
  Require(std::filesystem::exists(path, ec), "model file '" + source + "' does not exist");
  Require(std::filesystem::is_regular_file(path, ec), "'" + source + "' is not a file");
  const auto size = std::filesystem::file_size(path, ec);
  Require(!ec, "cannot read the size of '" + source + "': " + ec.message());
  Require(size <= kMaxModelFileBytes,
          "'" + source + "' is " + std::to_string(size) + " bytes, larger than any model file (1 GiB)");
  std::ifstream in(path, std::ios::binary);
  Require(in.good(), "cannot open model file '" + source + "'");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  Require(static_cast<uint64_t>(in.gcount()) == size, "cannot read model file '" + source + "'");
  return ParseModelFile(bytes, source);
}

}  // namespace diffuscope
