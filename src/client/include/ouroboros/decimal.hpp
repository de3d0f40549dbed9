// Decimal: an exact decimal number, able to hold any value of PostgreSQL's NUMERIC type.
#pragma once

#include <compare>
#include <concepts>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <type_traits>

namespace ouroboros {

// An exact decimal: a sign, a coefficient of any number of decimal digits and a scale (the number
// of digits after the point), or one of the special values NaN, +Infinity and -Infinity.
//
// - The text form round-trips exactly and keeps the scale: Decimal("1.50").to_string() == "1.50".
// - Comparison is by value: Decimal("1.50") == Decimal("1.5"). Like PostgreSQL, NaN equals NaN
//   and sorts above every other value, including +Infinity.
// - The only way to a double is the explicit (possibly inexact) conversion.
// - +, - and * are exact; there is no division (choose a rounding with your database instead).
//   A product whose scale would pass INT_MAX throws ConversionError.
class Decimal {
 public:
  enum class Kind : std::uint8_t { Finite, NaN, PositiveInfinity, NegativeInfinity };

  Decimal() = default;  // 0
  template <std::integral Integer>
  requires(!std::same_as<Integer, bool>)
      Decimal(Integer value) {  // NOLINT: implicit, integers are exact
    if constexpr (std::is_signed_v<Integer>) {
      if (value < 0) {
        from_integer(true, static_cast<unsigned long long>(-(value + 1)) + 1ULL);
        return;
      }
    }
    from_integer(false, static_cast<unsigned long long>(value));
  }
  // Parses PostgreSQL's NUMERIC text: [+-]digits[.digits][e[+-]digits], NaN, [+-]Infinity / inf.
  // Throws ConversionError on anything else.
  explicit Decimal(std::string_view text);

  static Decimal nan();
  static Decimal infinity();
  static Decimal negative_infinity();

  Kind kind() const noexcept { return kind_; }
  bool is_nan() const noexcept { return kind_ == Kind::NaN; }
  bool is_infinite() const noexcept {
    return kind_ == Kind::PositiveInfinity || kind_ == Kind::NegativeInfinity;
  }
  bool is_finite() const noexcept { return kind_ == Kind::Finite; }
  bool is_zero() const noexcept { return kind_ == Kind::Finite && digits_.empty(); }
  bool is_negative() const noexcept;

  // Digits after the decimal point, as written (0 for the special values).
  int scale() const noexcept { return scale_; }
  // Number of significant digits in the coefficient (leading zeros excluded).
  int precision() const noexcept { return static_cast<int>(digits_.size()); }
  // The coefficient's digits without leading zeros ("" for zero).
  const std::string& coefficient() const noexcept { return digits_; }

  std::string to_string() const;
  explicit operator double() const { return to_double(); }
  double to_double() const;

  Decimal operator-() const;
  friend Decimal operator+(const Decimal& a, const Decimal& b);
  friend Decimal operator-(const Decimal& a, const Decimal& b);
  friend Decimal operator*(const Decimal& a, const Decimal& b);
  Decimal& operator+=(const Decimal& other) { return *this = *this + other; }
  Decimal& operator-=(const Decimal& other) { return *this = *this - other; }
  Decimal& operator*=(const Decimal& other) { return *this = *this * other; }

  friend bool operator==(const Decimal& a, const Decimal& b) { return compare(a, b) == 0; }
  friend std::weak_ordering operator<=>(const Decimal& a, const Decimal& b) {
    int c = compare(a, b);
    return c < 0 ? std::weak_ordering::less
                 : (c > 0 ? std::weak_ordering::greater : std::weak_ordering::equivalent);
  }

 private:
  static int compare(const Decimal& a, const Decimal& b) noexcept;
  void from_integer(bool negative, unsigned long long magnitude);

  Kind kind_ = Kind::Finite;
  bool negative_ = false;  // never set for zero
  std::string digits_;     // coefficient, no leading zeros, "" means zero
  int scale_ = 0;          // >= 0

  friend struct DecimalArithmetic;
};

std::ostream& operator<<(std::ostream& out, const Decimal& value);

}  // namespace ouroboros
