#include "actors/repo/protocol.hpp"

namespace lpa {

std::string to_string(repo_errc x) {
  switch (x) {
  case repo_errc::not_found:
    return "not_found";
  case repo_errc::unavailable:
    return "unavailable";
  case repo_errc::internal:
    return "internal";
  case repo_errc::key_reused:
    return "key_reused";
  case repo_errc::overloaded:
    return "overloaded";
  }
  return "unknown";
}

void register_repo_protocol(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::lpa_repo>();
  cfg.add_error_category(caf::atom("repo"), [](uint8_t code, caf::atom_value, const caf::message&) {
    return "repo::" + to_string(static_cast<repo_errc>(code));
  });
}

} // namespace lpa
