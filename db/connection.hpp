#pragma once

#include <pqxx/pqxx>

#include <algorithm>
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

// A transaction whose statements are bounded by the request's remaining time (at most the
// session's statement timeout). Its BEGIN carries the SET LOCAL, so starting it is one round trip
// instead of two: libpqxx sends BEGIN by itself as a transaction starts (and its own read-only
// transactions send "BEGIN; SET TRANSACTION READ ONLY" in the same way).
class bounded_transaction final : public pqxx::internal::basic_transaction {
public:
  bounded_transaction(pqxx::connection_base& conn, pqxx::readwrite_policy policy,
                      std::chrono::milliseconds budget, std::chrono::milliseconds statement_timeout)
      : namedclass{"bounded_transaction"},
        basic_transaction{conn, pqxx::isolation_traits<pqxx::read_committed>::name(), policy},
        begin_{
            std::string{policy == pqxx::read_only ? "BEGIN READ ONLY" : "BEGIN"}
            + "; SET LOCAL statement_timeout = "
            + std::to_string(std::max<long long>(1, std::min(budget, statement_timeout).count()))} {
    Begin();
  }
  ~bounded_transaction() noexcept override { End(); }

private:
  // As libpqxx's own BEGIN: up to 2 retries while nothing of the transaction was sent.
  void do_begin() override { direct_exec(begin_.c_str(), 2); }

  std::string begin_;
};

} // namespace lpa::db
