#pragma once

#include <exception>

namespace lpa::db {

// True when the failure means the server is unreachable or the session is gone (connection
// refused, admin shutdown, broken socket): the caller should reconnect, and the client may retry.
// False for errors of the statement itself.
bool is_connection_failure(const std::exception& e);

// True when PostgreSQL cancelled a statement at its statement_timeout.
bool is_statement_timeout(const std::exception& e);

// True for a deadlock or serialization failure: the transaction lost a race and may run again.
bool is_transient_conflict(const std::exception& e);

} // namespace lpa::db
