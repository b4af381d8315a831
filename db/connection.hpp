#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <memory>
#include <string>

namespace lpa::db {

struct store_settings {
  std::string dsn;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds statement_timeout{5000};
};

// Opens a connection with the service's session settings: UTC, the statement timeout, an idle-in-
// transaction timeout, and TCP keepalives plus a TCP user timeout, so neither a stuck statement,
// a frozen client holding a transaction open, nor a silent network partition holds locks or
// leaves the caller waiting for longer than a bounded time.
std::unique_ptr<pqxx::connection> connect(const store_settings& settings);

// Bounds the transaction's statements by a request's remaining time (and by statement_timeout).
void limit_statements(pqxx::transaction_base& tx, std::chrono::milliseconds budget,
                      std::chrono::milliseconds statement_timeout);

} // namespace lpa::db
