#pragma once

#include <string>

namespace lpa::test {

// A throwaway PostgreSQL 15 cluster for one test process, run by tools/pg_local.sh (the same
// script the README's run command uses) on a free loopback port in a fresh temp directory.
class test_postgres {
public:
  test_postgres();
  ~test_postgres();
  test_postgres(const test_postgres&) = delete;
  test_postgres& operator=(const test_postgres&) = delete;

  void stop();
  void start();

  // libpq connection string of the service database (logistic_package_api).
  std::string dsn() const;
  // Of another database in the same cluster, created on demand.
  std::string dsn_of_new_database(const std::string& name) const;
  int port() const { return port_; }

private:
  std::string dir_;
  int port_;
};

// The process-wide cluster, started on first use and stopped at exit.
test_postgres& shared_postgres();

// Waits (up to 10 s) until some session in pg_stat_activity matches `where` (present = true)
// or none does (present = false); returns whether that happened.
bool await_sessions(const std::string& dsn, const std::string& where, bool present = true);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

} // namespace lpa::test
