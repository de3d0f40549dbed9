// Mapping rows to your own structs by column name: an opt-in, one line per struct.
//
//   struct Account { std::int64_t id; std::string owner; ouroboros::Decimal balance; };
//   OUROBOROS_FIELDS(Account, id, owner, balance)   // at namespace scope, in Account's namespace
//
//   for (const Account& a : conn.query("SELECT id, owner, balance FROM accounts").as<Account>())
//   ...
//
// Each listed member is read from the column with the same name (extra columns are ignored; a
// missing column is a UsageError). The struct must be default-constructible. Up to 40 members.
#pragma once

#include <string_view>
#include <tuple>

namespace ouroboros {

template <class T>
struct type_tag {};

// One described member: the column name and the pointer to member.
template <class Struct, class Member>
struct MemberField {
  std::string_view name;
  Member Struct::*member;
};

template <class Struct, class Member>
constexpr MemberField<Struct, Member> member_field(std::string_view name, Member Struct::*member) {
  return {name, member};
}

// A type described with OUROBOROS_FIELDS (found by argument-dependent lookup).
template <class T>
concept Described = requires {
  ouroboros_fields(type_tag<T>{});
};

}  // namespace ouroboros

#define OUROBOROS_DETAIL_MEMBER(Struct, name) ::ouroboros::member_field(#name, &Struct::name)

#define OUROBOROS_DETAIL_EACH_1(m, s, x) m(s, x)
#define OUROBOROS_DETAIL_EACH_2(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_1(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_3(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_2(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_4(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_3(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_5(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_4(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_6(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_5(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_7(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_6(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_8(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_7(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_9(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_8(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_10(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_9(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_11(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_10(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_12(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_11(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_13(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_12(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_14(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_13(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_15(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_14(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_16(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_15(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_17(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_16(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_18(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_17(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_19(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_18(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_20(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_19(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_21(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_20(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_22(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_21(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_23(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_22(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_24(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_23(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_25(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_24(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_26(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_25(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_27(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_26(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_28(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_27(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_29(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_28(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_30(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_29(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_31(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_30(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_32(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_31(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_33(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_32(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_34(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_33(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_35(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_34(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_36(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_35(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_37(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_36(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_38(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_37(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_39(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_38(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_EACH_40(m, s, x, ...) m(s, x), OUROBOROS_DETAIL_EACH_39(m, s, __VA_ARGS__)
#define OUROBOROS_DETAIL_PICK(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, \
                              _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28,  \
                              _29, _30, _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, NAME, \
                              ...)                                                              \
  NAME
#define OUROBOROS_DETAIL_FOR_EACH(m, s, ...)                                                     \
  OUROBOROS_DETAIL_PICK(                                                                         \
      __VA_ARGS__, OUROBOROS_DETAIL_EACH_40, OUROBOROS_DETAIL_EACH_39, OUROBOROS_DETAIL_EACH_38, \
      OUROBOROS_DETAIL_EACH_37, OUROBOROS_DETAIL_EACH_36, OUROBOROS_DETAIL_EACH_35,              \
      OUROBOROS_DETAIL_EACH_34, OUROBOROS_DETAIL_EACH_33, OUROBOROS_DETAIL_EACH_32,              \
      OUROBOROS_DETAIL_EACH_31, OUROBOROS_DETAIL_EACH_30, OUROBOROS_DETAIL_EACH_29,              \
      OUROBOROS_DETAIL_EACH_28, OUROBOROS_DETAIL_EACH_27, OUROBOROS_DETAIL_EACH_26,              \
      OUROBOROS_DETAIL_EACH_25, OUROBOROS_DETAIL_EACH_24, OUROBOROS_DETAIL_EACH_23,              \
      OUROBOROS_DETAIL_EACH_22, OUROBOROS_DETAIL_EACH_21, OUROBOROS_DETAIL_EACH_20,              \
      OUROBOROS_DETAIL_EACH_19, OUROBOROS_DETAIL_EACH_18, OUROBOROS_DETAIL_EACH_17,              \
      OUROBOROS_DETAIL_EACH_16, OUROBOROS_DETAIL_EACH_15, OUROBOROS_DETAIL_EACH_14,              \
      OUROBOROS_DETAIL_EACH_13, OUROBOROS_DETAIL_EACH_12, OUROBOROS_DETAIL_EACH_11,              \
      OUROBOROS_DETAIL_EACH_10, OUROBOROS_DETAIL_EACH_9, OUROBOROS_DETAIL_EACH_8,                \
      OUROBOROS_DETAIL_EACH_7, OUROBOROS_DETAIL_EACH_6, OUROBOROS_DETAIL_EACH_5,                 \
      OUROBOROS_DETAIL_EACH_4, OUROBOROS_DETAIL_EACH_3, OUROBOROS_DETAIL_EACH_2,                 \
      OUROBOROS_DETAIL_EACH_1)                                                                   \
  (m, s, __VA_ARGS__)

#define OUROBOROS_FIELDS(Struct, ...)                                             \
  [[maybe_unused]] inline auto ouroboros_fields(::ouroboros::type_tag<Struct>) {  \
    return ::std::make_tuple(                                                     \
        OUROBOROS_DETAIL_FOR_EACH(OUROBOROS_DETAIL_MEMBER, Struct, __VA_ARGS__)); \
  }
