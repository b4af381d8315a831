#pragma once

#include "actors/tracing/span.hpp"

#include <string>
#include <vector>

namespace lpa::tracing {

// An OTLP ExportTraceServiceRequest in OTLP/JSON: one resource (service.name = `service_name`)
// with one scope holding `spans`. Ids are lowercase hex, keys lowerCamelCase, 64-bit integers
// (timeUnixNano, intValue) decimal strings, enums (kind, status code) integers.
std::string encode_export_request(const std::vector<span_data>& spans,
                                  const std::string& service_name);

} // namespace lpa::tracing
