// libFuzzer target for the model file loader: any bytes must give a model or a diffuscope::Error, never a crash,
// a hang, a huge allocation or another exception. Inputs are tried as they are and with both checksums
// rewritten, so mutations also reach the JSON header parser and the content checks behind the CRCs.
#include "core/common/types.h"
#include "core/models/ddpm2d.h"
#include "core/train/model_file.h"

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace {

using namespace diffuscope;

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void Load(std::span<const uint8_t> bytes) {
  try {
    ModelFile file = ParseModelFile(bytes, "fuzz input");
    // What parses must also build: the network, and a DDPM 2D model that predicts.
    if (file.model_type == kDdpm2dModelType) {
      Ddpm2dModel model(std::move(file));
      Batch x = Batch::Constant(3, 2, 0.5f), eps;
      model.PredictEps(x, 0.0, &eps);
      DenoiseQuery query;
      query.t = model.schedule().num_steps();
      query.alpha_bar = model.schedule().alpha_bar(query.t);
      model.Predict(x, query);
    } else {
      Network<float> net(file.network);
      net.parameters() = file.weights;
    }
  } catch (const Error&) {
    // A clear error is the expected outcome for nearly every input.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Load(std::span<const uint8_t>(data, size));
  if (size >= kModelFilePreamble) {
    std::vector<uint8_t> fixed(data, data + size);
    PutU32(fixed.data() + 24, Crc32(std::span<const uint8_t>(fixed).subspan(kModelFilePreamble)));
    PutU32(fixed.data() + 28, Crc32(std::span<const uint8_t>(fixed).first(28)));
    Load(fixed);
  }
  return 0;
}
