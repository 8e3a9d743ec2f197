// Model files (.dfm): one versioned binary holding a learned model's architecture, noise schedule, training
// options and weights, and for resumable files the training state. A fixed 32-byte preamble (magic, version,
// sizes, CRC-32s), a JSON header, then the tensors as little-endian float32. Sizes are checked against the file
// length and both checksums before anything is trusted; every problem is a diffuscope::Error that names the
// file and what is wrong. The layout is documented in docs/model-format.md.
//
//   diffuscope::ModelFile file = diffuscope::LoadModelFile("dino.dfm");   // throws Error on a bad file
//   file.model_type;  // "ddpm-2d"
//   diffuscope::SaveModelFile(file, "copy.dfm");                          // atomic
#pragma once

#include "core/nn/network.h"
#include "core/nn/unet.h"
#include "core/schedule/schedule.h"
#include "core/train/trainer.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace diffuscope {

/// The format version this build reads up to. Files of dense networks are written as version 1 (byte for byte
/// what earlier builds wrote); files of a U-Net as version 2, so an older build says it is too new.
constexpr uint32_t kModelFileVersion = 2;
/// The 8 bytes every model file starts with.
constexpr unsigned char kModelFileMagic[8] = {0x89, 'D', 'S', 'C', 'M', '\r', '\n', 0x1A};
/// Size of the fixed preamble before the JSON header.
constexpr size_t kModelFilePreamble = 32;
/// The largest model file accepted (1 GiB).
constexpr uint64_t kMaxModelFileBytes = 1ULL << 30;

struct ModelFile {
  std::string model_type;                   // what the weights are ("ddpm-2d", ...); chooses the loader
  NetworkSpec network;                      // the architecture of a dense network (empty when unet is set)
  std::optional<UNetSpec> unet;             // the architecture of a convolutional U-Net (version 2)
  ScheduleOptions schedule;                 // the noise schedule it was trained on
  TrainOptions training;                    // the options of its training
  long long trained_steps = 0;              // updates done
  std::map<std::string, std::string> info;  // free text: data set, notes, creator
  std::map<std::string, double> settings;   // model-specific numbers (e.g. image size)
  std::vector<float> weights;               // the weights to sample with (the EMA when trained with one)
  std::optional<TrainState> train_state;    // resumable files only (its step equals trained_steps)

  /// Parameters of the architecture (the U-Net's when set, else the dense network's).
  long long num_parameters() const { return unet ? unet->num_parameters() : network.num_parameters(); }
  bool operator==(const ModelFile&) const = default;
};

/// CRC-32 (the zlib / PNG polynomial) of bytes, continuing from crc (0 to start).
uint32_t Crc32(std::span<const uint8_t> bytes, uint32_t crc = 0);

/// The bytes of a model file. Throws Error when the content is invalid (bad spec, options, sizes, non-finite).
std::vector<uint8_t> SerializeModelFile(const ModelFile& file);
/// Reads a model file from bytes; `source` names it in messages. Throws Error on anything truncated, corrupted,
/// foreign, from a newer version, or inconsistent; never crashes.
ModelFile ParseModelFile(std::span<const uint8_t> bytes, const std::string& source = "model file");

/// Writes a model file atomically (a temporary file renamed over path). Throws Error.
void SaveModelFile(const ModelFile& file, const std::filesystem::path& path);
/// Reads and checks a model file. Throws Error naming the file when it is missing, unreadable or invalid.
ModelFile LoadModelFile(const std::filesystem::path& path);

}  // namespace diffuscope
