#include "actors/retranslator/protocol.hpp"

namespace lpa {

void register_retranslator_protocol(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::lpa_retranslator>();
}

} // namespace lpa
