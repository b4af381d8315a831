#pragma once

// The history API's actor protocol: what its gRPC service asks the reader supervisor, what the
// supervisor forwards to its readers, and the errors that come back. Its type IDs start 100
// above caf::first_custom_type_id, clear of package-history's ingest block (lpa_history).

#include "db/history_read_store.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lpa::history_api {

// Travels with every read, so a reader logs it under the caller's request id (at debug level
// when the client asked for it) and stops when the client's deadline has passed.
struct call_meta {
  std::string request_id;
  bool debug = false;
  int64_t deadline_unix_ms = 0;
};

using event_page = std::vector<db::history_entry>;

} // namespace lpa::history_api

CAF_BEGIN_TYPE_ID_BLOCK(lpa_history_api, caf::first_custom_type_id + 300)
  CAF_ADD_TYPE_ID(lpa_history_api, (lpa::history_api::call_meta))
  CAF_ADD_TYPE_ID(lpa_history_api, (lpa::db::history_entry))
  CAF_ADD_TYPE_ID(lpa_history_api, (lpa::db::history_page_query))
  CAF_ADD_TYPE_ID(lpa_history_api, (lpa::history_api::event_page))
  CAF_ADD_ATOM(lpa_history_api, lpa::history_api, list_events_atom, "h_list")
  CAF_ADD_ATOM(lpa_history_api, lpa::history_api, event_at_atom, "h_at")
  CAF_ADD_ATOM(lpa_history_api, lpa::history_api, ping_atom, "h_ping")
  CAF_ADD_ATOM(lpa_history_api, lpa::history_api, restart_atom, "h_restart")
  CAF_ADD_ATOM(lpa_history_api, lpa::history_api, health_atom, "h_health")
CAF_END_TYPE_ID_BLOCK(lpa_history_api)

namespace lpa::history_api {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_meta& x) {
  return f(caf::meta::type_name("call_meta"), x.request_id, x.debug, x.deadline_unix_ms);
}

enum class errc : uint8_t {
  unavailable = 1, // the history database unreachable, or no reader up: the client may retry
  internal,        // logged with the request id; never carries SQL or driver text
};

std::string to_string(errc x);

} // namespace lpa::history_api

namespace lpa::db {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_entry& x) {
  return f(caf::meta::type_name("history_entry"), x.package_id, x.event_id, x.seq, x.type,
           x.created_us, x.payload, x.traceparent);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_page_query& x) {
  return f(caf::meta::type_name("history_page_query"), x.package_id, x.after_seq, x.after_event_id,
           x.limit);
}

} // namespace lpa::db

CAF_ERROR_CODE_ENUM(lpa::history_api::errc, "hist_api")

namespace lpa::history_api {

// What a reader answers, and the supervisor too (it routes): a page of a package's events; the
// package's last event at or before a moment (unix microseconds), as a page of at most one; and
// whether the history database answers.
using reader_api = caf::typed_actor<
    caf::replies_to<list_events_atom, call_meta, db::history_page_query>::with<event_page>,
    caf::replies_to<event_at_atom, call_meta, uint64_t, int64_t>::with<event_page>,
    caf::replies_to<ping_atom>::with<bool>>;

using reader_actor = reader_api;

// The supervisor adds its restart and health timers, and the readers running now (for
// inspection and fault injection).
using supervisor_actor
    = reader_api::extend<caf::reacts_to<restart_atom, uint64_t, uint64_t>,
                         caf::reacts_to<health_atom>,
                         caf::replies_to<caf::get_atom>::with<std::vector<caf::actor>>>;

// Registers the protocol's types and error category with an actor system config.
void register_protocol(caf::actor_system_config& cfg);

} // namespace lpa::history_api
