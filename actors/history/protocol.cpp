#include "actors/history/protocol.hpp"

namespace lpa::history {

void register_history_protocol(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::lpa_history>();
}

} // namespace lpa::history
