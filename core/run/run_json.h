// nlohmann JSON of RunSpec and its options for the core's own writers (bundles, model files); not public API:
// nlohmann is a private dependency of the core, front ends use the text functions of run_spec.h.
#pragma once

#include "core/run/run_spec.h"

#include <nlohmann/json.hpp>

#include <string>

namespace diffuscope::run_json {

nlohmann::json ScheduleToJson(const ScheduleOptions& options);
/// where: the field's name for errors ("schedule", "spec.schedule").
ScheduleOptions ScheduleFromJson(const nlohmann::json& j, const std::string& where);
nlohmann::json SamplerToJson(const SamplerOptions& options);
SamplerOptions SamplerFromJson(const nlohmann::json& j, const std::string& where);
/// The run's fields, flat in one object (a bundle's spec adds its own beside them).
nlohmann::json RunToJson(const RunSpec& run);
RunSpec RunFromJson(const nlohmann::json& j, const std::string& where);

}  // namespace diffuscope::run_json
