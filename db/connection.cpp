#include "db/connection.hpp"

#include <algorithm>

namespace lpa::db {

namespace {

bool is_uri(const std::string& dsn) {
  return dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0;
}

// Adds libpq connection parameters to a keyword=value or URI connection string; a parameter
// the DSN already sets keeps the DSN's value.
std::string with_parameters(const std::string& dsn, const store_settings& s) {
  auto seconds = [](std::chrono::milliseconds d) {
    return std::to_string(std::max<long long>(1, (d.count() + 999) / 1000));
  };
  // A dead peer is noticed after about keepalives_idle + interval * count seconds, and unsent
  // data gives up after tcp_user_timeout.
  const std::pair<const char*, std::string> params[] = {
      {"connect_timeout", seconds(s.connect_timeout)},
      {"keepalives", "1"},
      {"keepalives_idle", "5"},
      {"keepalives_interval", "2"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", std::to_string(std::max<long long>(10000, s.statement_timeout.count()))},
  };
  std::string out = dsn;
  for (const auto& [key, value] : params) {
    if (dsn.find(std::string{key} + "=") != std::string::npos)
      continue;
    if (is_uri(dsn))
      out += (out.find('?') == std::string::npos ? "?" : "&") + std::string{key} + "=" + value;
    else
      out += " " + std::string{key} + "=" + value;
  }
  return out;
}

} // namespace

std::unique_ptr<pqxx::connection> connect(const store_settings& settings) {
  auto conn = std::make_unique<pqxx::connection>(with_parameters(settings.dsn, settings));
  auto timeout = std::to_string(settings.statement_timeout.count());
  pqxx::nontransaction tx{*conn};
  // One round trip. A transaction left open by a client that stopped talking (frozen, partitioned)
  // is ended by the server after twice the statement timeout. No JIT: every statement here is
  // short, and the planner's row estimates for the outbox reads (arrays of slots and cursors)
  // are high enough to trigger JIT compilation, which cost ~300 ms per read against ~8 ms
  // without it.
  tx.exec0("SET statement_timeout = " + timeout + "; SET idle_in_transaction_session_timeout = "
           + std::to_string(2 * settings.statement_timeout.count())
           + "; SET TIME ZONE 'UTC'; SET jit = off");
  return conn;
}

} // namespace lpa::db
