#pragma once

// The API server's whole actor protocol: what the gRPC gateway asks the repository supervisor,
// what the supervisor forwards to its RepoActors, and the errors that come back.

#include "actors/tracing/trace_context.hpp"
#include "db/package_store.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lpa {

// Travels with every request so each actor can log it under the caller's request id, at debug
// level when the client asked for it, stop waiting when the client's deadline passes, and trace
// its work as children of the rpc's span.
struct request_meta {
  std::string request_id;
  bool debug = false;
  int64_t deadline_unix_ms = 0;
  std::string trace_id;           // of the rpc's span, in hex
  tracing::span_context rpc_span; // all zero for the RepoActors' own work (no spans)
  int64_t enqueued_unix_ns = 0;   // when the supervisor handed it to a RepoActor
};

using package_page = std::vector<db::package_row>;

} // namespace lpa

CAF_BEGIN_TYPE_ID_BLOCK(lpa_repo, caf::first_custom_type_id)
  CAF_ADD_TYPE_ID(lpa_repo, (lpa::request_meta))
  CAF_ADD_TYPE_ID(lpa_repo, (lpa::db::package_row))
  CAF_ADD_TYPE_ID(lpa_repo, (lpa::db::write_command))
  CAF_ADD_TYPE_ID(lpa_repo, (lpa::db::list_query))
  CAF_ADD_TYPE_ID(lpa_repo, (lpa::package_page))
  CAF_ADD_ATOM(lpa_repo, lpa, write_atom, "write")
  CAF_ADD_ATOM(lpa_repo, lpa, describe_atom, "describe")
  CAF_ADD_ATOM(lpa_repo, lpa, list_atom, "list")
  CAF_ADD_ATOM(lpa_repo, lpa, ping_atom, "ping")
  CAF_ADD_ATOM(lpa_repo, lpa, restart_atom, "restart")
  CAF_ADD_ATOM(lpa_repo, lpa, health_atom, "health")
  CAF_ADD_ATOM(lpa_repo, lpa, commit_atom, "commit")
  CAF_ADD_ATOM(lpa_repo, lpa, expire_atom, "expire")
CAF_END_TYPE_ID_BLOCK(lpa_repo)

namespace lpa::tracing {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, span_context& x) {
  return f(caf::meta::type_name("span_context"), x.trace, x.span, x.flags);
}

} // namespace lpa::tracing

namespace lpa {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_meta& x) {
  return f(caf::meta::type_name("request_meta"), x.request_id, x.debug, x.deadline_unix_ms,
           x.trace_id, x.rpc_span, x.enqueued_unix_ns);
}

enum class repo_errc : uint8_t {
  not_found = 1,
  unavailable, // PostgreSQL unreachable or the RepoActor restarting: the client may retry
  internal,    // logged with the request id; never carries SQL or driver text
  key_reused,  // the idempotency key was committed with other fields
  overloaded,  // the RepoActors' queue is full: refused before any work
};

std::string to_string(repo_errc x);

} // namespace lpa

namespace lpa::db {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, package_row& x) {
  return f(caf::meta::type_name("package_row"), x.id, x.title, x.material, x.max_volume, x.reusable,
           x.created_us, x.has_updated, x.updated_us);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_command& x) {
  return f(caf::meta::type_name("write_command"), x.kind, x.package_id, x.title, x.material,
           x.max_volume, x.set_reusable, x.reusable, x.traceparent, x.idempotency_key);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_query& x) {
  return f(caf::meta::type_name("list_query"), x.offset, x.cursor, x.limit);
}

} // namespace lpa::db

CAF_ERROR_CODE_ENUM(lpa::repo_errc, "repo")

namespace lpa {

// What the repository answers, whether asked at the supervisor or at a RepoActor. A write is
// answered only once its outcome is known: committed (the id), rolled back or never run (an
// error). Writes are commands, not per-rpc messages, so that concurrent ones share a transaction.
using repo_api = caf::typed_actor<
    caf::replies_to<write_atom, request_meta, db::write_command>::with<uint64_t>,
    caf::replies_to<describe_atom, request_meta, uint64_t>::with<db::package_row>,
    caf::replies_to<list_atom, request_meta, db::list_query>::with<package_page>,
    caf::replies_to<ping_atom>::with<bool>>;

// A RepoActor: the API plus the commit of the writes it has gathered (it sends that to itself)
// and the expiry of old idempotency keys (sent by the supervisor).
using repo_actor = repo_api::extend<caf::reacts_to<commit_atom>, caf::reacts_to<expire_atom>>;

// The supervisor answers the same requests (it routes them) plus its own timers.
using repo_supervisor_actor
    = repo_api::extend<caf::reacts_to<restart_atom, uint64_t, uint64_t>,
                       caf::reacts_to<expire_atom>, caf::reacts_to<health_atom>,
                       // The RepoActors running now, for inspection and fault injection.
                       caf::replies_to<caf::get_atom>::with<std::vector<caf::actor>>>;

// Registers the protocol's types and error category with an actor system config.
void register_repo_protocol(caf::actor_system_config& cfg);

} // namespace lpa
