// Decimal: parsing, formatting, comparison and conversion to double.
#include "ouroboros/decimal.hpp"

#include <strings.h>

#include <charconv>
#include <cstdlib>
#include <limits>
#include <ostream>

#include "ouroboros/errors.hpp"

namespace ouroboros {
namespace {

constexpr long kMaxExponent = 1'000'000;  // far beyond NUMERIC's range, small enough to allocate

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

[[noreturn]] void bad_decimal(std::string_view text) {
  throw ConversionError("invalid decimal value: \"" + std::string(text.substr(0, 200)) + "\"");
}

}  // namespace

Decimal Decimal::nan() {
  Decimal d;
  d.kind_ = Kind::NaN;
  return d;
}

Decimal Decimal::infinity() {
  Decimal d;
  d.kind_ = Kind::PositiveInfinity;
  return d;
}

Decimal Decimal::negative_infinity() {
  Decimal d;
  d.kind_ = Kind::NegativeInfinity;
  return d;
}

void Decimal::from_integer(bool negative, unsigned long long magnitude) {
  if (magnitude != 0) digits_ = std::to_string(magnitude);
  negative_ = negative && magnitude != 0;
}

Decimal::Decimal(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  bool negative = false;
  std::string_view body = s;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (iequals(s, "nan")) {
    kind_ = Kind::NaN;
    return;
  }
  if (iequals(body, "infinity") || iequals(body, "inf")) {
    kind_ = negative ? Kind::NegativeInfinity : Kind::PositiveInfinity;
    return;
  }
  std::string digits;
  digits.reserve(body.size());
  std::size_t i = 0;
  bool any_digit = false;
  long scale = 0;
  for (; i < body.size() && body[i] >= '0' && body[i] <= '9'; ++i, any_digit = true)
    digits += body[i];
  if (i < body.size() && body[i] == '.') {
    ++i;
    for (; i < body.size() && body[i] >= '0' && body[i] <= '9'; ++i, any_digit = true, ++scale)
      digits += body[i];
  }
  if (!any_digit) bad_decimal(text);
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    long exponent = 0;
    std::string_view rest = body.substr(i);
    if (!rest.empty() && rest.front() == '+') rest.remove_prefix(1);
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), exponent);
    if (ec != std::errc() || end != rest.data() + rest.size() || exponent > kMaxExponent ||
        exponent < -kMaxExponent)
      bad_decimal(text);
    i = body.size();
    scale -= exponent;
    if (scale < 0) {
      digits.append(static_cast<std::size_t>(-scale), '0');
      scale = 0;
    }
  }
  if (i != body.size() || scale > std::numeric_limits<int>::max()) bad_decimal(text);
  std::size_t first = digits.find_first_not_of('0');
  digits_ = first == std::string::npos ? std::string() : digits.substr(first);
  scale_ = static_cast<int>(scale);
  negative_ = negative && !digits_.empty();
}

bool Decimal::is_negative() const noexcept {
  return kind_ == Kind::NegativeInfinity || (kind_ == Kind::Finite && negative_);
}

std::string Decimal::to_string() const {
  switch (kind_) {
    case Kind::NaN:
      return "NaN";
    case Kind::PositiveInfinity:
      return "Infinity";
    case Kind::NegativeInfinity:
      return "-Infinity";
    case Kind::Finite:
      break;
  }
  std::string padded = digits_;
  const auto scale = static_cast<std::size_t>(scale_);
  if (padded.size() < scale + 1) padded.insert(0, scale + 1 - padded.size(), '0');
  if (scale > 0) padded.insert(padded.size() - scale, 1, '.');
  if (negative_) padded.insert(0, 1, '-');
  return padded;
}

double Decimal::to_double() const {
  switch (kind_) {
    case Kind::NaN:
      return std::numeric_limits<double>::quiet_NaN();
    case Kind::PositiveInfinity:
      return std::numeric_limits<double>::infinity();
    case Kind::NegativeInfinity:
      return -std::numeric_limits<double>::infinity();
    case Kind::Finite:
      break;
  }
  if (digits_.empty()) return 0.0;
  // Scientific form keeps the string short even for values with many leading zeros.
  std::string text = digits_.substr(0, 1) + "." + digits_.substr(1) + "e" +
                     std::to_string(static_cast<long>(digits_.size()) - 1 - scale_);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  (void)end;
  if (ec == std::errc::result_out_of_range) {
    bool huge = static_cast<long>(digits_.size()) - scale_ > 0;
    value = huge ? std::numeric_limits<double>::infinity() : 0.0;
  }
  return negative_ ? -value : value;
}

int Decimal::compare(const Decimal& a, const Decimal& b) noexcept {
  auto rank = [](const Decimal& d) {
    switch (d.kind_) {
      case Kind::NegativeInfinity:
        return 0;
      case Kind::Finite:
        return 1;
      case Kind::PositiveInfinity:
        return 2;
      case Kind::NaN:
        return 3;
    }
    return 3;
  };
  if (rank(a) != rank(b)) return rank(a) < rank(b) ? -1 : 1;
  if (!a.is_finite()) return 0;
  if (a.negative_ != b.negative_) return a.negative_ ? -1 : 1;
  if (a.digits_.empty() || b.digits_.empty()) {
    if (a.digits_.empty() && b.digits_.empty()) return 0;
    return a.digits_.empty() ? (b.negative_ ? 1 : -1) : (a.negative_ ? -1 : 1);
  }
  // Both non-zero with the same sign: compare magnitudes by the position of the leading digit,
  // then digit by digit (trailing zeros do not change the value).
  long a_lead = static_cast<long>(a.digits_.size()) - a.scale_;
  long b_lead = static_cast<long>(b.digits_.size()) - b.scale_;
  int magnitude = 0;
  if (a_lead != b_lead) {
    magnitude = a_lead < b_lead ? -1 : 1;
  } else {
    std::string_view x = a.digits_, y = b.digits_;
    while (!x.empty() && x.back() == '0') x.remove_suffix(1);
    while (!y.empty() && y.back() == '0') y.remove_suffix(1);
    int c = x.compare(y);
    magnitude = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return a.negative_ ? -magnitude : magnitude;
}

std::ostream& operator<<(std::ostream& out, const Decimal& value) {
  return out << value.to_string();
}

}  // namespace ouroboros
