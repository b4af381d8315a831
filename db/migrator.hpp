#pragma once

#include <pqxx/pqxx>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lpa::db {

// One versioned SQL file, compiled into the binary.
struct migration {
  int version;
  std::string name;
  std::string sql;
};

// A database's migration sets, each sorted by version: the service database's (db/migrations)
// and package-history's own (db/history_migrations).
const std::vector<migration>& known_migrations();
const std::vector<migration>& history_migrations();

// The database carries a schema version this binary does not know: an older binary must not
// write to a newer schema.
struct schema_too_new : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct migration_report {
  int version_before = 0;
  int version_after = 0;
  std::vector<std::string> applied;
};

// Applies every pending migration of `set`, each in its own transaction, and records it in
// schema_migrations. Serialized across processes by a session advisory lock, so servers that
// start at once apply each migration exactly once.
migration_report migrate(pqxx::connection& conn,
                         const std::vector<migration>& set = known_migrations());

// Start-up was interrupted by a stop request before the database could be reached.
struct startup_cancelled : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct store_settings;

// migrate() once PostgreSQL answers: connection failures are waited out (retrying every
// second, checking stop_requested() meanwhile); a failing migration or schema_too_new is fatal
// and propagates. Throws startup_cancelled when stop_requested() turns true while waiting.
migration_report migrate_when_reachable(const store_settings& store,
                                        const std::function<bool()>& stop_requested,
                                        const std::vector<migration>& set = known_migrations());

// Highest applied version; 0 for an empty database.
int schema_version(pqxx::connection& conn);

} // namespace lpa::db
