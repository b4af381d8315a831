#include "grpc_gateway/validation.hpp"

#include <algorithm>

#include <charconv>
#include <cmath>

namespace lpa {

namespace {

std::string to_text(uint64_t value) {
  return std::to_string(value);
}

// Shortest round-trip form; "nan", "inf", "-inf" for the non-finite values.
std::string to_text(float value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc{}) {
    return "?";
  }
  return std::string(buf, end);
}

// Checks UTF-8 validity, NUL characters and the code point count. An invalid sequence makes the
// length unknowable, so the length rule is only checked on valid UTF-8.
void check_text(violations& out, const char* field, std::string_view value, bool allow_empty) {
  if (value.find('\0') != std::string_view::npos) {
    out.push_back({field, "must not contain NUL characters"});
  }
  auto length = utf8_length(value);
  if (!length) {
    out.push_back({field, "must be valid UTF-8"});
    return;
  }
  if (allow_empty) {
    if (*length > max_text_chars) {
      out.push_back({field, "must be at most " + std::to_string(max_text_chars)
                                + " characters, got " + std::to_string(*length)});
    }
  } else if (*length < 1 || *length > max_text_chars) {
    out.push_back({field, "must be 1 to " + std::to_string(max_text_chars) + " characters, got "
                              + std::to_string(*length)});
  }
}

bool positive_finite(float value) {
  return std::isfinite(value) && value > 0.0f;
}

void check_id(violations& out, uint64_t id) {
  if (id == 0) {
    out.push_back({"PackageID", "must be greater than 0, got " + to_text(id)});
  }
}

} // namespace

violations validate(const v1::CreatePackageV1Request& req) {
  violations out;
  check_text(out, "Title", req.title(), false);
  check_text(out, "Material", req.material(), false);
  if (!positive_finite(req.maximumvolume())) {
    out.push_back({"MaximumVolume",
                   "must be a finite number greater than 0, got " + to_text(req.maximumvolume())});
  }
  return out;
}

violations validate(const v1::DescribePackageV1Request& req) {
  violations out;
  check_id(out, req.packageid());
  return out;
}

violations validate(const v1::ListPackagesV1Request& req) {
  violations out;
  if (req.limit() > max_page_size) {
    out.push_back(
        {"Limit", "must be at most " + to_text(max_page_size) + ", got " + to_text(req.limit())});
  }
  if (req.offset() != 0 && req.cursor() != 0) {
    out.push_back({"Cursor", "cannot be combined with Offset"});
  }
  return out;
}

violations validate(const v1::RemovePackageV1Request& req) {
  violations out;
  check_id(out, req.packageid());
  return out;
}

violations validate(const v1::UpdatePackageV1Request& req) {
  violations out;
  check_id(out, req.packageid());
  if (!req.title().empty()) {
    check_text(out, "Title", req.title(), true);
  }
  if (!req.material().empty()) {
    check_text(out, "Material", req.material(), true);
  }
  // -0 compares equal to 0 and means "unchanged" too.
  float volume = req.maximumvolume();
  if (volume != 0.0f && !positive_finite(volume)) {
    out.push_back({"MaximumVolume", "must be 0 (unchanged) or a finite number greater than 0, got "
                                        + to_text(volume)});
  }
  bool changes_something
      = !req.title().empty() || !req.material().empty() || volume != 0.0f || req.has_reusable();
  if (out.empty() && !changes_something) {
    out.push_back(
        {"(request)",
         "changes nothing: set at least one of Title, Material, MaximumVolume, Reusable"});
  }
  return out;
}

std::string summarize(const violations& list) {
  std::string text = "invalid request";
  const char* separator = ": ";
  for (const auto& v : list) {
    text += separator;
    separator = "; ";
    if (!v.field.empty()) {
      text += v.field;
      text += ": ";
    }
    text += v.description;
  }
  return text;
}

std::optional<size_t> utf8_length(std::string_view bytes) {
  // Well-formed byte sequences per the Unicode Standard, Table 3-7.
  size_t count = 0;
  size_t i = 0;
  const size_t n = bytes.size();
  auto byte_at = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  auto in = [](unsigned char b, unsigned char lo, unsigned char hi) { return b >= lo && b <= hi; };
  while (i < n) {
    unsigned char b0 = byte_at(i);
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
    if (b0 <= 0x7F) {
      len = 1;
    } else if (in(b0, 0xC2, 0xDF)) {
      len = 2;
    } else if (b0 == 0xE0) {
      len = 3, lo = 0xA0; // no overlong 3-byte forms
    } else if (in(b0, 0xE1, 0xEC) || in(b0, 0xEE, 0xEF)) {
      len = 3;
    } else if (b0 == 0xED) {
      len = 3, hi = 0x9F; // no surrogates
    } else if (b0 == 0xF0) {
      len = 4, lo = 0x90; // no overlong 4-byte forms
    } else if (in(b0, 0xF1, 0xF3)) {
      len = 4;
    } else if (b0 == 0xF4) {
      len = 4, hi = 0x8F; // nothing above U+10FFFF
    } else {
      return std::nullopt; // continuation byte, C0/C1 (overlong 2-byte), F5..FF
    }
    if (len > n - i) {
      return std::nullopt;
    }
    if (len > 1) {
      if (!in(byte_at(i + 1), lo, hi)) {
        return std::nullopt;
      }
      for (size_t k = 2; k < len; ++k) {
        if (!in(byte_at(i + k), 0x80, 0xBF)) {
          return std::nullopt;
        }
      }
    }
    i += len;
    ++count;
  }
  return count;
}

violations validate_idempotency_key(std::string_view key) {
  bool printable
      = std::all_of(key.begin(), key.end(), [](char ch) { return ch > ' ' && ch < 127; });
  if (!key.empty() && key.size() <= max_idempotency_key_length && printable)
    return {};
  return {{"idempotency-key", "must be 1 to " + std::to_string(max_idempotency_key_length)
                                  + " printable ASCII characters without spaces, got "
                                  + std::to_string(key.size()) + " bytes"}};
}

} // namespace lpa
