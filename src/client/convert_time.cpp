// Conversions of date/time values from and to PostgreSQL's ISO text output (DateStyle ISO,
// IntervalStyle postgres). Years beyond std::chrono::year's range are handled with our own
// calendar arithmetic; 'infinity' maps to time_point::max(), '-infinity' to time_point::min().
#include <cstdint>
#include <limits>

#include "ouroboros/convert.hpp"

namespace ouroboros {
namespace {

using std::int64_t;
constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// Days since 1970-01-01 of a proleptic Gregorian date (astronomical year numbering).
int64_t days_from_civil(int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

struct Civil {
  int64_t year;
  int month, day;
};

Civil civil_from_days(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t mp = (5 * day_of_year + 2) / 153;
  const int day = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

int days_in_month(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

class Cursor {
 public:
  Cursor(std::string_view text, std::string_view what) : text_(text), what_(what) {}
  bool done() const { return i_ == text_.size(); }
  char peek() const { return done() ? '\0' : text_[i_]; }
  bool accept(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail();
  }
  int64_t number(std::size_t min_digits, std::size_t max_digits) {
    int64_t value = 0;
    std::size_t count = 0;
    while (!done() && text_[i_] >= '0' && text_[i_] <= '9') {
      if (++count > max_digits) fail();
      value = value * 10 + (text_[i_++] - '0');
    }
    if (count < min_digits) fail();
    return value;
  }
  // ".ffffff" -> microseconds (digits beyond the sixth are not expected from the server).
  int64_t fraction() {
    if (!accept('.')) return 0;
    int64_t value = 0;
    int digits = 0;
    while (!done() && text_[i_] >= '0' && text_[i_] <= '9') {
      if (++digits > 6) fail();
      value = value * 10 + (text_[i_++] - '0');
    }
    if (digits == 0) fail();
    for (; digits < 6; ++digits) value *= 10;
    return value;
  }
  [[noreturn]] void fail() const { detail::throw_conversion(what_, text_); }

 private:
  std::string_view text_;
  std::string_view what_;
  std::size_t i_ = 0;
};

bool strip_bc(std::string_view& text) {
  if (text.size() > 3 && text.substr(text.size() - 3) == " BC") {
    text.remove_suffix(3);
    return true;
  }
  return false;
}

int64_t read_date(Cursor& c, bool bc) {
  int64_t year = c.number(4, 9);
  c.expect('-');
  int month = static_cast<int>(c.number(2, 2));
  c.expect('-');
  int day = static_cast<int>(c.number(2, 2));
  if (bc) year = 1 - year;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) c.fail();
  return days_from_civil(year, month, day);
}

int64_t read_time(Cursor& c, int64_t max_hours) {
  int64_t hours = c.number(2, 2);
  c.expect(':');
  int64_t minutes = c.number(2, 2);
  c.expect(':');
  int64_t seconds = c.number(2, 2);
  int64_t micros = c.fraction();
  int64_t total = ((hours * 60 + minutes) * 60 + seconds) * kMicrosPerSecond + micros;
  if (hours > max_hours || minutes > 59 || seconds > 59 || total > kMicrosPerDay) c.fail();
  return total;
}

void append_padded(std::string& out, int64_t value, int width) {
  std::string digits = std::to_string(value);
  if (static_cast<int>(digits.size()) < width) out.append(width - digits.size(), '0');
  out += digits;
}

void append_date(std::string& out, int64_t days, bool& bc) {
  Civil civil = civil_from_days(days);
  bc = civil.year <= 0;
  append_padded(out, bc ? 1 - civil.year : civil.year, 4);
  out += '-';
  append_padded(out, civil.month, 2);
  out += '-';
  append_padded(out, civil.day, 2);
}

void append_time(std::string& out, int64_t micros) {
  int64_t seconds = micros / kMicrosPerSecond, fraction = micros % kMicrosPerSecond;
  append_padded(out, seconds / 3600, 2);
  out += ':';
  append_padded(out, seconds / 60 % 60, 2);
  out += ':';
  append_padded(out, seconds % 60, 2);
  if (fraction != 0) {
    out += '.';
    append_padded(out, fraction, 6);
  }
}

// Text of a timestamp given as microseconds since the epoch ('infinity' handled by the caller),
// without the era; returns true when the date is BC.
bool append_timestamp(std::string& out, int64_t micros) {
  int64_t days = micros / kMicrosPerDay, rest = micros % kMicrosPerDay;
  if (rest < 0) {
    rest += kMicrosPerDay;
    --days;
  }
  bool bc = false;
  append_date(out, days, bc);
  out += ' ';
  append_time(out, rest);
  return bc;
}

// Microseconds since the epoch of a timestamp text; with_zone reads and applies a UTC offset.
int64_t parse_timestamp(std::string_view text, bool with_zone) {
  std::string_view what = with_zone ? "invalid timestamptz" : "invalid timestamp";
  std::string_view body = text;
  bool bc = strip_bc(body);
  Cursor c(body, what);
  int64_t days = read_date(c, bc);
  if (!c.accept(' ')) c.expect('T');
  int64_t time = read_time(c, 23);
  int64_t offset_seconds = 0;
  if (with_zone) {
    int sign = c.accept('+') ? 1 : (c.accept('-') ? -1 : 0);
    if (sign == 0) c.fail();
    int64_t hours = c.number(2, 2), minutes = 0, seconds = 0;
    if (c.accept(':')) {
      minutes = c.number(2, 2);
      if (c.accept(':')) seconds = c.number(2, 2);
    }
    offset_seconds = sign * (hours * 3600 + minutes * 60 + seconds);
  }
  if (!c.done()) c.fail();
  int64_t micros = 0;
  if (__builtin_mul_overflow(days, kMicrosPerDay, &micros) ||
      __builtin_add_overflow(micros, time - offset_seconds * kMicrosPerSecond, &micros))
    detail::throw_conversion("timestamp out of range for std::chrono microseconds", text);
  return micros;
}

}  // namespace

Date Conversion<Date>::from_text(std::string_view text) {
  if (text == "infinity") return Date::max();
  if (text == "-infinity") return Date::min();
  std::string_view body = text;
  bool bc = strip_bc(body);
  Cursor c(body, "invalid date");
  int64_t days = read_date(c, bc);
  if (!c.done()) c.fail();
  return Date(std::chrono::days(days));
}

void Conversion<Date>::to_text(Date value, std::string& out) {
  if (value == Date::max()) {
    out += "infinity";
  } else if (value == Date::min()) {
    out += "-infinity";
  } else {
    bool bc = false;
    append_date(out, value.time_since_epoch().count(), bc);
    if (bc) out += " BC";
  }
}

Timestamp Conversion<Timestamp>::from_text(std::string_view text) {
  if (text == "infinity") return Timestamp::max();
  if (text == "-infinity") return Timestamp::min();
  return Timestamp(std::chrono::microseconds(parse_timestamp(text, false)));
}

void Conversion<Timestamp>::to_text(Timestamp value, std::string& out) {
  if (value == Timestamp::max()) return void(out += "infinity");
  if (value == Timestamp::min()) return void(out += "-infinity");
  if (append_timestamp(out, value.time_since_epoch().count())) out += " BC";
}

TimestampTz Conversion<TimestampTz>::from_text(std::string_view text) {
  if (text == "infinity") return TimestampTz::max();
  if (text == "-infinity") return TimestampTz::min();
  return TimestampTz(std::chrono::microseconds(parse_timestamp(text, true)));
}

void Conversion<TimestampTz>::to_text(TimestampTz value, std::string& out) {
  if (value == TimestampTz::max()) return void(out += "infinity");
  if (value == TimestampTz::min()) return void(out += "-infinity");
  bool bc = append_timestamp(out, value.time_since_epoch().count());
  out += "+00";
  if (bc) out += " BC";
}

TimeOfDay Conversion<TimeOfDay>::from_text(std::string_view text) {
  Cursor c(text, "invalid time");
  int64_t micros = read_time(c, 24);
  if (!c.done()) c.fail();
  return TimeOfDay{std::chrono::microseconds(micros)};
}

void Conversion<TimeOfDay>::to_text(TimeOfDay value, std::string& out) {
  int64_t micros = value.since_midnight.count();
  if (micros < 0 || micros > kMicrosPerDay)
    throw ConversionError("time of day out of range 00:00:00 ..= 24:00:00");
  append_time(out, micros);
}

// IntervalStyle postgres: "1 year 2 mons -3 days +04:05:06.789", "00:00:00", "-1 days".
Interval Conversion<Interval>::from_text(std::string_view text) {
  int64_t months = 0, days = 0, micros = 0;
  std::size_t i = 0;
  auto next_token = [&]() {
    while (i < text.size() && text[i] == ' ') ++i;
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    return text.substr(start, i - start);
  };
  for (std::string_view token = next_token(); !token.empty(); token = next_token()) {
    if (token.find(':') != std::string_view::npos) {
      int sign = 1;
      if (token.front() == '-' || token.front() == '+') {
        sign = token.front() == '-' ? -1 : 1;
        token.remove_prefix(1);
      }
      Cursor c(token, "invalid interval");
      int64_t hours = c.number(1, 12);
      c.expect(':');
      int64_t minutes = c.number(2, 2);
      c.expect(':');
      int64_t seconds = c.number(2, 2);
      int64_t fraction = c.fraction();
      if (!c.done() || minutes > 59 || seconds > 59) c.fail();
      __int128 value = static_cast<__int128>(hours) * 3600 * kMicrosPerSecond +
                       (minutes * 60 + seconds) * kMicrosPerSecond + fraction;
      value *= sign;
      if (value < std::numeric_limits<int64_t>::min() ||
          value > std::numeric_limits<int64_t>::max())
        detail::throw_conversion("interval out of range", text);
      micros = static_cast<int64_t>(value);
      continue;
    }
    std::string_view number = token;
    if (!number.empty() && number.front() == '+') number.remove_prefix(1);
    int64_t amount = detail::parse_integer<int64_t>(number);
    std::string_view unit = next_token();
    // Any amount parses as int64: the sums are checked, then the range of the fields below.
    bool overflow = false;
    if (unit == "year" || unit == "years")
      overflow = __builtin_mul_overflow(amount, 12, &amount) ||
                 __builtin_add_overflow(months, amount, &months);
    else if (unit == "mon" || unit == "mons")
      overflow = __builtin_add_overflow(months, amount, &months);
    else if (unit == "day" || unit == "days")
      overflow = __builtin_add_overflow(days, amount, &days);
    else
      detail::throw_conversion("invalid interval (IntervalStyle must be postgres)", text);
    if (overflow) detail::throw_conversion("interval out of range", text);
  }
  constexpr int64_t lo = std::numeric_limits<std::int32_t>::min();
  constexpr int64_t hi = std::numeric_limits<std::int32_t>::max();
  if (months < lo || months > hi || days < lo || days > hi)
    detail::throw_conversion("interval out of range", text);
  return Interval{static_cast<std::int32_t>(months), static_cast<std::int32_t>(days),
                  std::chrono::microseconds(micros)};
}

void Conversion<Interval>::to_text(const Interval& value, std::string& out) {
  out += std::to_string(value.months) + " mons " + std::to_string(value.days) + " days ";
  int64_t micros = value.time.count();
  // The magnitude of INT64_MIN does not fit: print it through unsigned arithmetic.
  std::uint64_t magnitude =
      micros < 0 ? 0 - static_cast<std::uint64_t>(micros) : static_cast<std::uint64_t>(micros);
  if (micros < 0) out += '-';
  std::uint64_t seconds = magnitude / kMicrosPerSecond, fraction = magnitude % kMicrosPerSecond;
  out += std::to_string(seconds / 3600) + ':';
  append_padded(out, static_cast<int64_t>(seconds / 60 % 60), 2);
  out += ':';
  append_padded(out, static_cast<int64_t>(seconds % 60), 2);
  if (fraction != 0) {
    out += '.';
    append_padded(out, static_cast<int64_t>(fraction), 6);
  }
}

}  // namespace ouroboros
