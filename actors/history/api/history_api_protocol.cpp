#include "actors/history/api/history_api_protocol.hpp"

namespace lpa::history_api {

std::string to_string(errc x) {
  switch (x) {
  case errc::unavailable:
    return "unavailable";
  case errc::internal:
    return "internal";
  }
  return "unknown";
}

void register_protocol(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::lpa_history_api>();
  cfg.add_error_category(caf::atom("hist_api"),
                         [](uint8_t code, caf::atom_value, const caf::message&) {
                           return "history_api::" + to_string(static_cast<errc>(code));
                         });
}

} // namespace lpa::history_api
