// Migrations against a real PostgreSQL: idempotent, safe when servers start at once, and a
// refusal to run against a newer schema.
#include "db/migrator.hpp"
#include "tests/support/test_postgres.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <vector>

using namespace lpa;

namespace {

int count_rows(const std::string& dsn, const std::string& query) {
  pqxx::connection conn{dsn};
  pqxx::read_transaction tx{conn};
  return tx.exec1(query)[0].as<int>();
}

} // namespace

TEST_CASE("migrating twice applies each migration once", "[migrations]") {
  auto dsn = test::shared_postgres().dsn_of_new_database("twice");
  pqxx::connection conn{dsn};
  auto first = db::migrate(conn);
  CHECK(first.version_before == 0);
  CHECK(first.version_after == db::known_migrations().back().version);
  CHECK(first.applied.size() == db::known_migrations().size());
  auto second = db::migrate(conn);
  CHECK(second.applied.empty());
  CHECK(second.version_after == first.version_after);
  CHECK(count_rows(dsn, "SELECT count(*) FROM schema_migrations")
        == static_cast<int>(db::known_migrations().size()));
}

TEST_CASE("servers that migrate at the same time apply each migration exactly once",
          "[migrations]") {
  auto dsn = test::shared_postgres().dsn_of_new_database("concurrent");
  std::vector<std::future<db::migration_report>> servers;
  for (int i = 0; i < 6; ++i)
    servers.push_back(std::async(std::launch::async, [dsn] {
      pqxx::connection conn{dsn};
      return db::migrate(conn);
    }));
  size_t applied = 0;
  for (auto& s : servers) {
    auto report = s.get(); // none throws
    applied += report.applied.size();
    CHECK(report.version_after == db::known_migrations().back().version);
  }
  CHECK(applied == db::known_migrations().size());
  CHECK(count_rows(dsn, "SELECT count(*) FROM schema_migrations")
        == static_cast<int>(db::known_migrations().size()));
  CHECK(count_rows(dsn, "SELECT count(*) FROM pg_tables WHERE tablename = 'package_event'") == 1);
}

TEST_CASE("a database with a newer schema than the binary knows is refused", "[migrations]") {
  auto dsn = test::shared_postgres().dsn_of_new_database("newer");
  pqxx::connection conn{dsn};
  db::migrate(conn);
  {
    pqxx::work tx{conn};
    tx.exec0("INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future')");
    tx.commit();
  }
  CHECK_THROWS_AS(db::migrate(conn), db::schema_too_new);
  CHECK_THROWS_WITH(db::migrate(conn), Catch::Contains("9999"));
}

TEST_CASE("migrations wait for another process's migration lock longer than the session's "
          "statement timeout",
          "[migrations]") {
  auto dsn = test::shared_postgres().dsn_of_new_database("lock_wait");
  pqxx::connection holder{dsn};
  const std::string key = std::to_string(0x6c70615f6d6967); // db/migrator.cpp's lock key
  pqxx::nontransaction{holder}.exec("SELECT pg_advisory_lock(" + key + ")");
  auto migrating = std::async(std::launch::async, [dsn] {
    pqxx::connection conn{dsn + " options='-c statement_timeout=300'"};
    return db::migrate(conn);
  });
  // The lock is held for well over the 300 ms statement timeout of the migrating session.
  CHECK(migrating.wait_for(std::chrono::milliseconds{1500}) == std::future_status::timeout);
  pqxx::nontransaction{holder}.exec("SELECT pg_advisory_unlock(" + key + ")");
  auto report = migrating.get(); // does not throw
  CHECK(report.applied.size() == db::known_migrations().size());
}
