#include "db/migrator.hpp"

#include "db/connection.hpp"
#include "db/pg_errors.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

namespace lpa::db {

namespace {

// Arbitrary but fixed: every process of this service agrees on it.
constexpr long long migration_lock_key = 0x6c70615f6d6967; // "lpa_mig"

// Migrations may wait for the lock and run long (an index on a large outbox): no statement
// timeout. A DDL statement waiting for a table lock gives up after this long instead, so a
// long transaction elsewhere fails the start with a clear error rather than hanging it.
constexpr const char* migration_session_settings
    = "SET statement_timeout = 0; SET lock_timeout = '1min'";

// Holds the migration lock. Another process migrating holds it too: wait, saying so now and
// then.
class advisory_lock {
public:
  explicit advisory_lock(pqxx::connection& conn) : conn_(conn) {
    const auto try_lock = "SELECT pg_try_advisory_lock(" + std::to_string(migration_lock_key) + ")";
    for (int waited_s = 0;; ++waited_s) {
      pqxx::nontransaction tx{conn_};
      if (tx.exec1(try_lock)[0].as<bool>())
        return;
      if (waited_s % 10 == 0)
        spdlog::info("waiting for another process to finish its migrations ({} s so far)",
                     waited_s);
      std::this_thread::sleep_for(std::chrono::seconds{1});
    }
  }
  ~advisory_lock() {
    try {
      pqxx::nontransaction tx{conn_};
      tx.exec("SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")");
    } catch (const std::exception&) {
      // The session ends with the connection, and the lock with it.
    }
  }
  advisory_lock(const advisory_lock&) = delete;
  advisory_lock& operator=(const advisory_lock&) = delete;

private:
  pqxx::connection& conn_;
};

void ensure_schema_table(pqxx::connection& conn) {
  pqxx::work tx{conn};
  tx.exec0("CREATE TABLE IF NOT EXISTS schema_migrations ("
           " version int PRIMARY KEY,"
           " name text NOT NULL,"
           " applied_at timestamptz NOT NULL DEFAULT now())");
  tx.commit();
}

int read_version(pqxx::connection& conn) {
  pqxx::read_transaction tx{conn};
  auto exists = tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>();
  if (!exists)
    return 0;
  return tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
}

} // namespace

int schema_version(pqxx::connection& conn) {
  return read_version(conn);
}

migration_report migrate(pqxx::connection& conn, const std::vector<migration>& all) {
  const int latest = all.empty() ? 0 : all.back().version;
  pqxx::nontransaction{conn}.exec0(migration_session_settings);
  advisory_lock lock{conn};
  ensure_schema_table(conn);
  migration_report report;
  report.version_before = read_version(conn);
  if (report.version_before > latest)
    throw schema_too_new("database schema is at version " + std::to_string(report.version_before)
                         + ", this binary knows up to " + std::to_string(latest)
                         + "; deploy a newer binary");
  for (const auto& m : all) {
    if (m.version <= report.version_before)
      continue;
    spdlog::info("applying migration {}", m.name);
    auto started = std::chrono::steady_clock::now();
    pqxx::work tx{conn};
    tx.exec0(m.sql);
    tx.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                    m.name);
    tx.commit();
    spdlog::info("migration {} applied in {} ms", m.name,
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count());
    report.applied.push_back(m.name);
  }
  report.version_after = read_version(conn);
  return report;
}

migration_report migrate_when_reachable(const store_settings& store,
                                        const std::function<bool()>& stop_requested,
                                        const std::vector<migration>& set) {
  for (uint32_t attempt = 0;; ++attempt) {
    try {
      auto conn = connect(store);
      auto report = migrate(*conn, set);
      spdlog::info("database schema at version {} ({} migration(s) applied now)",
                   report.version_after, report.applied.size());
      return report;
    } catch (const std::exception& e) {
      if (!is_connection_failure(e))
        throw;
      spdlog::warn("PostgreSQL not ready for migrations (attempt {}): {}", attempt + 1, e.what());
    }
    for (int i = 0; i < 10; ++i) {
      if (stop_requested())
        throw startup_cancelled("stopped while waiting for PostgreSQL");
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
  }
}

} // namespace lpa::db
