// The Denoiser interface lives with its consumer, the sampler (core/sampling/denoiser.h), so that sampling does not
// depend on the models folder (which uses the sampler: SR3's SuperResolve). Kept for includes of the old path.
#pragma once

#include "core/sampling/denoiser.h"
