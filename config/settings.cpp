#include "config/settings.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace lpa {

namespace {

using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// The key table: every configuration key, declared once. File parsing, environment overrides
// and render_settings all walk it.

enum class kind { string, optional_string, integer, boolean, duration, log_level, optional_url };

using field_ptr = std::variant<std::string*, int*, bool*, milliseconds*>;

struct int_range {
  long long min = 0;
  long long max = 0;
};

constexpr int_range port{0, 65535}; // 0 picks a free port
constexpr int_range count{1, INT_MAX};
constexpr int_range partitions{1, 10000};
constexpr int_range slots{1, 65536};
constexpr int_range window{1, 10000000};
constexpr int_range days{0, 36500}; // 0: forever
constexpr int_range page{1, 100000};

struct key_spec {
  const char* section;
  const char* name;
  field_ptr (*field)(settings&);
  kind type;
  int_range range{}; // kind::integer only
  bool dsn = false;  // a libpq connection string: its password is masked when shown
};

// Section and key names are the member names, so they cannot drift apart.
#define LPA_KEY(section, member)                                                                   \
#section, #member, [](settings & s) -> field_ptr { return &s.section.member; }

const key_spec keys[] = {
    {LPA_KEY(service, name), kind::string},
    {LPA_KEY(service, environment), kind::string},

    {LPA_KEY(log, level), kind::log_level},
    {LPA_KEY(log, allow_debug_per_request), kind::boolean},

    {LPA_KEY(grpc, host), kind::string},
    {LPA_KEY(grpc, port), kind::integer, port},
    {LPA_KEY(grpc, default_deadline), kind::duration},
    {LPA_KEY(grpc, shutdown_grace), kind::duration},
    {LPA_KEY(grpc, tls_cert_file), kind::optional_string},
    {LPA_KEY(grpc, tls_key_file), kind::optional_string},
    {LPA_KEY(grpc, tls_client_ca_file), kind::optional_string},
    {LPA_KEY(grpc, max_receive_message_size), kind::integer, count},
    {LPA_KEY(grpc, max_concurrent_streams), kind::integer, count},
    {LPA_KEY(grpc, keepalive_time), kind::duration},
    {LPA_KEY(grpc, keepalive_timeout), kind::duration},
    {LPA_KEY(grpc, keepalive_permit_without_calls), kind::boolean},
    {LPA_KEY(grpc, keepalive_min_ping_interval), kind::duration},

    {LPA_KEY(status, host), kind::string},
    {LPA_KEY(status, port), kind::integer, port},

    {LPA_KEY(rest, host), kind::string},
    {LPA_KEY(rest, port), kind::integer, port},

    {LPA_KEY(metrics, host), kind::string},
    {LPA_KEY(metrics, port), kind::integer, port},

    {LPA_KEY(db, dsn), kind::string, {}, true},
    {LPA_KEY(db, writers), kind::integer, count},
    {LPA_KEY(db, readers), kind::integer, count},
    {LPA_KEY(db, statement_timeout), kind::duration},
    {LPA_KEY(db, connect_timeout), kind::duration},

    {LPA_KEY(repo, restart_backoff_min), kind::duration},
    {LPA_KEY(repo, restart_backoff_max), kind::duration},
    {LPA_KEY(repo, group_commit_max), kind::integer, count},
    {LPA_KEY(repo, write_queue), kind::integer, count},
    {LPA_KEY(repo, read_queue), kind::integer, count},
    {LPA_KEY(repo, retry_after), kind::duration},
    {LPA_KEY(repo, idempotency_retention), kind::duration},
    {LPA_KEY(repo, idempotency_expiry_interval), kind::duration},

    {LPA_KEY(kafka, brokers), kind::string},
    {LPA_KEY(kafka, topic), kind::string},
    {LPA_KEY(kafka, partitions), kind::integer, partitions},

    {LPA_KEY(retranslator, metrics_host), kind::string},
    {LPA_KEY(retranslator, metrics_port), kind::integer, port},
    {LPA_KEY(retranslator, slots), kind::integer, slots},
    {LPA_KEY(retranslator, consumers), kind::integer, count},
    {LPA_KEY(retranslator, batch_size), kind::integer, count},
    {LPA_KEY(retranslator, producers), kind::integer, count},
    {LPA_KEY(retranslator, window), kind::integer, window},
    {LPA_KEY(retranslator, lease), kind::duration},
    {LPA_KEY(retranslator, poll_interval), kind::duration},
    {LPA_KEY(retranslator, read_interval), kind::duration},
    {LPA_KEY(retranslator, send_backoff_min), kind::duration},
    {LPA_KEY(retranslator, send_backoff_max), kind::duration},
    {LPA_KEY(retranslator, cleaner_batch), kind::integer, count},
    {LPA_KEY(retranslator, cleaner_interval), kind::duration},
    {LPA_KEY(retranslator, restart_backoff_min), kind::duration},
    {LPA_KEY(retranslator, restart_backoff_max), kind::duration},
    {LPA_KEY(retranslator, restart_max), kind::integer, count},
    {LPA_KEY(retranslator, restart_window), kind::duration},
    {LPA_KEY(retranslator, shutdown_deadline), kind::duration},

    {LPA_KEY(history, dsn), kind::string, {}, true},
    {LPA_KEY(history, group), kind::string},
    {LPA_KEY(history, writers), kind::integer, count},
    {LPA_KEY(history, window), kind::integer, window},
    {LPA_KEY(history, batch_max), kind::integer, count},
    {LPA_KEY(history, gap_hold), kind::duration},
    {LPA_KEY(history, retention_days), kind::integer, days},
    {LPA_KEY(history, retry_backoff_min), kind::duration},
    {LPA_KEY(history, retry_backoff_max), kind::duration},
    {LPA_KEY(history, status_host), kind::string},
    {LPA_KEY(history, status_port), kind::integer, port},
    {LPA_KEY(history, metrics_host), kind::string},
    {LPA_KEY(history, metrics_port), kind::integer, port},
    {LPA_KEY(history, restart_backoff_min), kind::duration},
    {LPA_KEY(history, restart_backoff_max), kind::duration},
    {LPA_KEY(history, restart_max), kind::integer, count},
    {LPA_KEY(history, restart_window), kind::duration},

    {LPA_KEY(history_api, host), kind::string},
    {LPA_KEY(history_api, port), kind::integer, port},
    {LPA_KEY(history_api, readers), kind::integer, count},
    {LPA_KEY(history_api, list_default_limit), kind::integer, page},
    {LPA_KEY(history_api, list_max_limit), kind::integer, page},
    {LPA_KEY(history_api, restart_backoff_min), kind::duration},
    {LPA_KEY(history_api, restart_backoff_max), kind::duration},

    {LPA_KEY(tracing, otlp_endpoint), kind::optional_url},
    {LPA_KEY(tracing, service_name), kind::string},
    {LPA_KEY(tracing, queue_size), kind::integer, count},
    {LPA_KEY(tracing, batch_size), kind::integer, count},
    {LPA_KEY(tracing, flush_interval), kind::duration},
    {LPA_KEY(tracing, timeout), kind::duration},
};

#undef LPA_KEY

// Durations above this are surely mistakes (and would overflow time arithmetic downstream).
constexpr milliseconds max_duration = std::chrono::hours(24);

std::string dotted(const key_spec& k) {
  return std::string(k.section) + "." + k.name;
}

const key_spec* find_key(std::string_view section, std::string_view name) {
  for (const auto& k : keys)
    if (section == k.section && name == k.name)
      return &k;
  return nullptr;
}

std::vector<std::string> section_names() {
  std::vector<std::string> out;
  for (const auto& k : keys)
    if (out.empty() || out.back() != k.section)
      out.emplace_back(k.section);
  return out;
}

std::vector<std::string> key_names(std::string_view section) {
  std::vector<std::string> out;
  for (const auto& k : keys)
    if (section == k.section)
      out.emplace_back(k.name);
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Formatting.

std::string mask_uri_password(std::string uri, size_t scheme_end) {
  // postgresql://user:secret@host/db?password=secret
  size_t authority_end = uri.find_first_of("/?", scheme_end);
  if (authority_end == std::string::npos)
    authority_end = uri.size();
  size_t at = uri.rfind('@', authority_end);
  if (at != std::string::npos && at >= scheme_end) {
    size_t colon = uri.find(':', scheme_end);
    if (colon != std::string::npos && colon < at)
      uri.replace(colon + 1, at - colon - 1, "***");
  }
  size_t query = uri.find('?', scheme_end);
  while (query != std::string::npos) {
    size_t param = query + 1;
    size_t end = uri.find('&', param);
    if (end == std::string::npos)
      end = uri.size();
    for (std::string_view key : {"password=", "sslpassword="})
      if (uri.compare(param, key.size(), key) == 0)
        uri.replace(param + key.size(), end - param - key.size(), "***");
    query = uri.find('&', param);
  }
  return uri;
}

// The passwords (password, sslpassword) of a libpq connection string (keyword=value or URI
// form) replaced by ***.
std::string mask_dsn(const std::string& dsn) {
  for (std::string_view scheme : {"postgresql://", "postgres://"})
    if (dsn.compare(0, scheme.size(), scheme) == 0)
      return mask_uri_password(dsn, scheme.size());

  std::string out;
  size_t i = 0;
  while (i < dsn.size()) {
    // At the start of a keyword: "password" or "sslpassword", optional spaces, '=', optional
    // spaces, value.
    bool at_word = i == 0 || std::isspace(static_cast<unsigned char>(dsn[i - 1]));
    std::string_view key = dsn.compare(i, 11, "sslpassword") == 0 ? "sslpassword" : "password";
    if (!at_word || dsn.compare(i, key.size(), key) != 0) {
      out += dsn[i++];
      continue;
    }
    size_t j = i + key.size();
    while (j < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[j])))
      ++j;
    if (j >= dsn.size() || dsn[j] != '=') {
      out += dsn[i++];
      continue;
    }
    ++j;
    while (j < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[j])))
      ++j;
    if (j < dsn.size() && dsn[j] == '\'') { // quoted value, backslash escapes
      ++j;
      while (j < dsn.size() && dsn[j] != '\'')
        j += dsn[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, dsn.size());
    } else {
      while (j < dsn.size() && !std::isspace(static_cast<unsigned char>(dsn[j])))
        ++j;
    }
    out += std::string{key} + "=***";
    i = j;
  }
  return out;
}

std::string format_duration(milliseconds d) {
  auto n = d.count();
  if (n != 0 && n % 3600000 == 0)
    return std::to_string(n / 3600000) + "h";
  if (n != 0 && n % 60000 == 0)
    return std::to_string(n / 60000) + "m";
  if (n != 0 && n % 1000 == 0)
    return std::to_string(n / 1000) + "s";
  return std::to_string(n) + "ms";
}

std::string format_value(const key_spec& k, const field_ptr& field) {
  return std::visit(
      [&](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>)
          return k.dsn ? mask_dsn(*p) : *p;
        else if constexpr (std::is_same_v<T, int>)
          return std::to_string(*p);
        else if constexpr (std::is_same_v<T, bool>)
          return *p ? "true" : "false";
        else
          return format_duration(*p);
      },
      field);
}

// ---------------------------------------------------------------------------------------------
// Parsing one value.

[[noreturn]] void fail(const std::string& key, const std::string& why, const std::string& where) {
  throw config_error("config: " + key + ": " + why + " (from " + where + ")");
}

std::string got(const key_spec& k, const std::string& text) {
  if (text.empty())
    return "got an empty value";
  return "got '" + (k.dsn ? mask_dsn(text) : text) + "'";
}

bool all_digits(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

// Parses `text` into the field of `k` in `s`; `where` says where it came from for errors.
void assign(settings& s, const key_spec& k, const std::string& text, const std::string& where) {
  const std::string key = dotted(k);
  field_ptr field = k.field(s);
  switch (k.type) {
  case kind::string:
    if (text.empty())
      fail(key, "expected a non-empty string, " + got(k, text), where);
    *std::get<std::string*>(field) = text;
    return;

  case kind::optional_url:
    if (!text.empty() && text.rfind("http://", 0) != 0 && text.rfind("https://", 0) != 0)
      fail(key, "expected an http:// or https:// URL, or nothing, " + got(k, text), where);
    *std::get<std::string*>(field) = text;
    return;

  case kind::optional_string: // empty: not set
    *std::get<std::string*>(field) = text;
    return;

  case kind::log_level:
    for (const char* level : {"trace", "debug", "info", "warn", "error"})
      if (text == level) {
        *std::get<std::string*>(field) = text;
        return;
      }
    fail(key, "expected one of trace, debug, info, warn, error, " + got(k, text), where);

  case kind::boolean:
    if (text == "true" || text == "false") {
      *std::get<bool*>(field) = text == "true";
      return;
    }
    fail(key, "expected true or false, " + got(k, text), where);

  case kind::integer: {
    long long value = 0;
    bool ok = false;
    if (!text.empty() && (text[0] == '-' || std::isdigit(static_cast<unsigned char>(text[0])))) {
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      ok = ec == std::errc() && end == text.data() + text.size();
    }
    if (!ok || value < k.range.min || value > k.range.max) {
      std::string expected = k.range.max == INT_MAX
                                 ? "an integer >= " + std::to_string(k.range.min)
                                 : "an integer from " + std::to_string(k.range.min) + " to "
                                       + std::to_string(k.range.max);
      fail(key, "expected " + expected + ", " + got(k, text), where);
    }
    *std::get<int*>(field) = static_cast<int>(value);
    return;
  }

  case kind::duration: {
    if (all_digits(text))
      fail(key,
           "expected a duration with a unit (ms, s, m or h), " + got(k, text)
               + "; add a unit, e.g. '" + text + "ms' or '" + text + "s'",
           where);
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
      ++digits;
    std::string_view unit = std::string_view(text).substr(digits);
    long long per_unit = unit == "ms"  ? 1
                         : unit == "s" ? 1000
                         : unit == "m" ? 60000
                         : unit == "h" ? 3600000
                                       : 0;
    if (digits == 0 || per_unit == 0)
      fail(key, "expected a duration like '500ms', '5s', '1m' or '24h', " + got(k, text), where);
    long long n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + digits, n);
    (void)end;
    const long long max_n = max_duration.count() / per_unit;
    if (ec != std::errc() || n <= 0 || n > max_n)
      fail(key,
           "expected a duration > 0 and at most " + format_duration(max_duration) + ", "
               + got(k, text),
           where);
    *std::get<milliseconds*>(field) = milliseconds(n * per_unit);
    return;
  }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the document.

std::string at(const std::string& source, const YAML::Mark& mark) {
  if (mark.is_null())
    return source;
  return source + " line " + std::to_string(mark.line + 1) + ", column "
         + std::to_string(mark.column + 1);
}

std::string scalar_key(const YAML::Node& node, const std::string& context,
                       const std::string& source) {
  if (!node.IsScalar())
    throw config_error("config: " + context + "expected a plain key name (at "
                       + at(source, node.Mark()) + ")");
  return node.Scalar();
}

// key (dotted) -> where its current value came from, for the cross-field messages.
using origins = std::map<std::string, std::string>;

void apply_section(settings& s, const std::string& section, const YAML::Node& body,
                   const std::string& source, origins& from) {
  if (body.IsNull()) // every key commented out
    return;
  if (!body.IsMap())
    throw config_error("config: " + section + ": expected a mapping of keys ("
                       + join(key_names(section)) + ") (at " + at(source, body.Mark()) + ")");
  std::set<std::string> seen;
  for (const auto& entry : body) {
    const std::string name = scalar_key(entry.first, section + ": ", source);
    const std::string key = section + "." + name;
    const key_spec* k = find_key(section, name);
    if (!k)
      throw config_error("config: " + key + ": unknown key (at " + at(source, entry.first.Mark())
                         + "); known keys in " + section + ": " + join(key_names(section)));
    if (!seen.insert(name).second)
      throw config_error("config: " + key + ": duplicate key (at " + at(source, entry.first.Mark())
                         + ")");
    const YAML::Node& value = entry.second;
    const std::string where = at(source, value.IsNull() ? entry.first.Mark() : value.Mark());
    if (value.IsMap() || value.IsSequence())
      fail(key,
           std::string("expected a single value, got a ") + (value.IsMap() ? "mapping" : "list"),
           where);
    assign(s, *k, value.IsNull() ? std::string() : value.Scalar(), where);
    from[key] = where;
  }
}

void apply_document(settings& s, const YAML::Node& root, const std::string& source, origins& from) {
  if (!root || root.IsNull()) // empty file
    return;
  if (!root.IsMap())
    throw config_error("config: " + source + ": expected a mapping of sections ("
                       + join(section_names()) + ") at the top level");
  const auto sections = section_names();
  std::set<std::string> seen;
  for (const auto& entry : root) {
    const std::string section = scalar_key(entry.first, "", source);
    if (std::find(sections.begin(), sections.end(), section) == sections.end())
      throw config_error("config: " + section + ": unknown section (at "
                         + at(source, entry.first.Mark()) + "); known sections: " + join(sections));
    if (!seen.insert(section).second)
      throw config_error("config: " + section + ": duplicate section (at "
                         + at(source, entry.first.Mark()) + ")");
    apply_section(s, section, entry.second, source, from);
  }
}

void apply_env(settings& s, const env_lookup& env, origins& from) {
  if (!env)
    return;
  for (const auto& k : keys) {
    const std::string key = dotted(k);
    const std::string name = env_name_for(key);
    if (const char* value = env(name.c_str())) {
      const std::string where = "env " + name;
      assign(s, k, value, where);
      from[key] = where;
    }
  }
}

// `lo` must not exceed `hi` (both keys of the table).
void check_order(settings& s, const origins& from, const char* section, const char* lo,
                 const char* hi) {
  const key_spec* klo = find_key(section, lo);
  const key_spec* khi = find_key(section, hi);
  auto lo_ptr = klo->field(s);
  auto hi_ptr = khi->field(s);
  bool bad = std::visit(
      [&](auto* a) {
        using T = std::remove_pointer_t<decltype(a)>;
        if constexpr (std::is_same_v<T, int> || std::is_same_v<T, milliseconds>)
          return *a > *std::get<T*>(hi_ptr);
        else
          return false;
      },
      lo_ptr);
  if (!bad)
    return;
  auto origin = [&](const key_spec& k) {
    auto it = from.find(dotted(k));
    return it == from.end() ? std::string("default") : "from " + it->second;
  };
  throw config_error("config: " + dotted(*klo) + ": must not exceed " + dotted(*khi) + ", got "
                     + format_value(*klo, lo_ptr) + " (" + origin(*klo) + ") > "
                     + format_value(*khi, hi_ptr) + " (" + origin(*khi) + ")");
}

// A duration key must be at least `min`.
void check_at_least(settings& s, const origins& from, const char* section, const char* name,
                    milliseconds min) {
  const key_spec* k = find_key(section, name);
  auto field = k->field(s);
  if (*std::get<milliseconds*>(field) >= min)
    return;
  auto it = from.find(dotted(*k));
  throw config_error("config: " + dotted(*k) + ": must be at least " + format_duration(min)
                     + ", got " + format_value(*k, field) + " ("
                     + (it == from.end() ? std::string("default") : "from " + it->second) + ")");
}

// TLS takes a certificate and its key together; a client CA (mTLS) takes both as well.
void check_tls(const settings& s, const origins& from) {
  const auto& g = s.grpc;
  auto require = [&](const std::string& needed, const char* given_key) {
    if (!needed.empty())
      return;
    const std::string needed_key
        = g.tls_cert_file.empty() ? "grpc.tls_cert_file" : "grpc.tls_key_file";
    throw config_error("config: " + needed_key + ": required when " + given_key + " is set (from "
                       + from.at(given_key) + ")");
  };
  if (!g.tls_cert_file.empty())
    require(g.tls_key_file, "grpc.tls_cert_file");
  if (!g.tls_key_file.empty())
    require(g.tls_cert_file, "grpc.tls_key_file");
  if (!g.tls_client_ca_file.empty())
    require(g.tls_cert_file, "grpc.tls_client_ca_file");
}

settings build(const std::string& text, const std::string& source, const env_lookup& env) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw config_error("config: " + source + ": invalid YAML at line "
                       + std::to_string(e.mark.line + 1) + ", column "
                       + std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const YAML::Exception& e) {
    throw config_error("config: " + source + ": cannot read YAML: " + e.what());
  }

  settings s;
  origins from;
  try {
    apply_document(s, root, source, from);
  } catch (const YAML::Exception& e) { // not expected: the document is already parsed
    throw config_error("config: " + source + ": " + e.what());
  }
  apply_env(s, env, from);

  check_order(s, from, "repo", "restart_backoff_min", "restart_backoff_max");
  check_at_least(s, from, "repo", "retry_after", milliseconds{1});
  check_at_least(s, from, "repo", "idempotency_retention", milliseconds{1000});
  check_at_least(s, from, "repo", "idempotency_expiry_interval", milliseconds{10});
  check_order(s, from, "retranslator", "send_backoff_min", "send_backoff_max");
  check_order(s, from, "retranslator", "batch_size", "window");
  check_order(s, from, "retranslator", "consumers", "window"); // each consumer gets credit
  check_at_least(s, from, "retranslator", "lease", milliseconds{1000});
  check_order(s, from, "retranslator", "restart_backoff_min", "restart_backoff_max");
  check_order(s, from, "history", "batch_max", "window");
  check_order(s, from, "history", "retry_backoff_min", "retry_backoff_max");
  check_order(s, from, "history", "restart_backoff_min", "restart_backoff_max");
  check_order(s, from, "history_api", "list_default_limit", "list_max_limit");
  check_order(s, from, "history_api", "restart_backoff_min", "restart_backoff_max");
  check_order(s, from, "tracing", "batch_size", "queue_size");
  check_tls(s, from);
  return s;
}

} // namespace

env_lookup default_env() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

settings load_settings(const std::string& yaml_path, const env_lookup& env) {
  std::error_code ec;
  if (std::filesystem::is_directory(yaml_path, ec))
    throw config_error("config: cannot read config file '" + yaml_path + "': it is a directory");
  errno = 0;
  std::ifstream in(yaml_path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw config_error("config: cannot open config file '" + yaml_path
                       + "': " + (err ? std::strerror(err) : "open failed"));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    throw config_error("config: cannot read config file '" + yaml_path + "'");
  return build(text, yaml_path, env);
}

settings parse_settings(const std::string& yaml_text, const env_lookup& env) {
  return build(yaml_text, "<yaml text>", env);
}

std::string env_name_for(const std::string& dotted_key) {
  std::string name = "LPA_";
  for (char c : dotted_key)
    name += (c == '.' || c == '-') ? '_'
                                   : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::string render_settings(const settings& s) {
  settings copy = s; // the table's accessors take a mutable settings
  std::string out;
  for (const auto& k : keys) {
    if (!out.empty())
      out += '\n';
    out += dotted(k) + " = " + format_value(k, k.field(copy));
  }
  return out;
}

} // namespace lpa
