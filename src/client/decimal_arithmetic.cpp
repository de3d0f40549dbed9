// Decimal: exact addition, subtraction and multiplication on decimal digit strings.
#include <algorithm>
#include <vector>

#include "ouroboros/decimal.hpp"
#include "ouroboros/errors.hpp"

namespace ouroboros {

struct DecimalArithmetic {
  static Decimal make(bool negative, std::string digits, int scale) {
    Decimal d;
    std::size_t first = digits.find_first_not_of('0');
    d.digits_ = first == std::string::npos ? std::string() : digits.substr(first);
    d.scale_ = scale;
    d.negative_ = negative && !d.digits_.empty();
    return d;
  }

  // Coefficient of d written with `scale` fractional digits (scale >= d.scale_).
  static std::string aligned(const Decimal& d, int scale) {
    return d.digits_ + std::string(static_cast<std::size_t>(scale - d.scale_), '0');
  }

  static int compare_magnitude(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return a.compare(b);
  }

  static std::string add_magnitudes(const std::string& a, const std::string& b) {
    std::string out;
    out.reserve(std::max(a.size(), b.size()) + 1);
    int carry = 0;
    for (std::size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
      int sum = carry;
      if (i < a.size()) sum += a[a.size() - 1 - i] - '0';
      if (i < b.size()) sum += b[b.size() - 1 - i] - '0';
      out += static_cast<char>('0' + sum % 10);
      carry = sum / 10;
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  // a - b for magnitudes with a >= b.
  static std::string subtract_magnitudes(const std::string& a, const std::string& b) {
    std::string out;
    out.reserve(a.size());
    int borrow = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      int diff = (a[a.size() - 1 - i] - '0') - borrow;
      if (i < b.size()) diff -= b[b.size() - 1 - i] - '0';
      borrow = diff < 0 ? 1 : 0;
      out += static_cast<char>('0' + diff + 10 * borrow);
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  static Decimal add(const Decimal& a, const Decimal& b) {
    if (a.is_nan() || b.is_nan()) return Decimal::nan();
    if (a.is_infinite() || b.is_infinite()) {
      if (a.is_infinite() && b.is_infinite() && a.kind_ != b.kind_) return Decimal::nan();
      return a.is_infinite() ? a : b;
    }
    int scale = std::max(a.scale_, b.scale_);
    std::string x = aligned(a, scale), y = aligned(b, scale);
    if (a.negative_ == b.negative_) return make(a.negative_, add_magnitudes(x, y), scale);
    std::string xs = x.empty() ? "0" : x, ys = y.empty() ? "0" : y;
    xs.erase(0, std::min(xs.find_first_not_of('0'), xs.size() - 1));
    ys.erase(0, std::min(ys.find_first_not_of('0'), ys.size() - 1));
    if (compare_magnitude(xs, ys) >= 0)
      return make(a.negative_, subtract_magnitudes(xs, ys), scale);
    return make(b.negative_, subtract_magnitudes(ys, xs), scale);
  }

  static Decimal multiply(const Decimal& a, const Decimal& b) {
    if (a.is_nan() || b.is_nan()) return Decimal::nan();
    bool negative = a.is_negative() != b.is_negative();
    if (a.is_infinite() || b.is_infinite()) {
      if (a.is_zero() || b.is_zero()) return Decimal::nan();
      return negative ? Decimal::negative_infinity() : Decimal::infinity();
    }
    // Scales add up: repeated products of tiny values (even of zeros) could pass INT_MAX.
    int scale = 0;
    if (__builtin_add_overflow(a.scale_, b.scale_, &scale))
      throw ConversionError("decimal product out of range: scale " + std::to_string(a.scale_) +
                            " + " + std::to_string(b.scale_) + " does not fit in an int");
    if (a.digits_.empty() || b.digits_.empty()) return make(false, "", scale);
    std::vector<int> acc(a.digits_.size() + b.digits_.size(), 0);
    for (std::size_t i = a.digits_.size(); i-- > 0;) {
      for (std::size_t j = b.digits_.size(); j-- > 0;) {
        acc[i + j + 1] += (a.digits_[i] - '0') * (b.digits_[j] - '0');
      }
      // Normalise the digits this row touched, carrying into acc[i], so the accumulator never
      // overflows however long the operands are (the digits beyond are final already).
      for (std::size_t k = i + b.digits_.size(); k > i; --k) {
        acc[k - 1] += acc[k] / 10;
        acc[k] %= 10;
      }
    }
    std::string digits;
    digits.reserve(acc.size());
    for (int v : acc) digits += static_cast<char>('0' + v);
    return make(negative, digits, scale);
  }
};

Decimal Decimal::operator-() const {
  Decimal d = *this;
  if (kind_ == Kind::PositiveInfinity)
    d.kind_ = Kind::NegativeInfinity;
  else if (kind_ == Kind::NegativeInfinity)
    d.kind_ = Kind::PositiveInfinity;
  else if (kind_ == Kind::Finite)
    d.negative_ = !negative_ && !digits_.empty();
  return d;
}

Decimal operator+(const Decimal& a, const Decimal& b) {
  return DecimalArithmetic::add(a, b);
}
Decimal operator-(const Decimal& a, const Decimal& b) {
  return DecimalArithmetic::add(a, -b);
}
Decimal operator*(const Decimal& a, const Decimal& b) {
  return DecimalArithmetic::multiply(a, b);
}

}  // namespace ouroboros
