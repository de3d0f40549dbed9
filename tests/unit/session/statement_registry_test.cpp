#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "session/statement_registry.h"

using namespace ouroboros::session;

TEST_CASE("registry: the same text and types share one entry") {
  StatementRegistry registry;
  auto a = registry.intern("SELECT $1::int", {23});
  auto b = registry.intern("SELECT $1::int", {23});
  REQUIRE(a);
  CHECK(a.get() == b.get());
  CHECK(a->id == b->id);
  CHECK(a->query == "SELECT $1::int");
  CHECK(a->parameter_types == std::vector<std::uint32_t>{23});
  CHECK(a->server_name == "_ouroboros_" + std::to_string(a->id));
  CHECK(registry.live() == 1);
}

TEST_CASE("registry: different parameter types or text give distinct entries") {
  StatementRegistry registry;
  auto untyped = registry.intern("SELECT $1", {});
  auto as_int = registry.intern("SELECT $1", {23});
  auto as_text = registry.intern("SELECT $1", {25});
  auto unspecified = registry.intern("SELECT $1", {0});
  auto other_text = registry.intern("SELECT $1 ", {23});
  std::set<std::uint64_t> ids{untyped->id, as_int->id, as_text->id, unspecified->id, other_text->id};
  CHECK(ids.size() == 5);
  std::set<std::string> names{untyped->server_name, as_int->server_name, as_text->server_name,
                              unspecified->server_name, other_text->server_name};
  CHECK(names.size() == 5);
  CHECK(registry.live() == 5);
  // Type lists that differ only in order or length are distinct too.
  CHECK(registry.intern("SELECT $1, $2", {23, 25})->id != registry.intern("SELECT $1, $2", {25, 23})->id);
}

TEST_CASE("registry: an entry lives while some holder keeps it") {
  StatementRegistry registry;
  auto first = registry.intern("SELECT 1", {});
  auto second = registry.intern("SELECT 1", {});
  std::weak_ptr<const PreparedStatement> watch = first;
  first.reset();
  CHECK_FALSE(watch.expired());
  CHECK(registry.live() == 1);
  second.reset();
  CHECK(watch.expired());
  CHECK(registry.live() == 0);
}

TEST_CASE("registry: ids are never reused, even for the same text after its entry died") {
  StatementRegistry registry;
  std::uint64_t old_id;
  std::string old_name;
  {
    auto e = registry.intern("SELECT 1", {});
    old_id = e->id;
    old_name = e->server_name;
  }
  auto again = registry.intern("SELECT 1", {});
  CHECK(again->id > old_id);
  CHECK(again->server_name != old_name);

  // Many short-lived entries (the registry purges dead ones every so often): ids keep growing.
  std::uint64_t last = again->id;
  std::set<std::uint64_t> seen{old_id, again->id};
  for (int i = 0; i < 3000; ++i) {
    auto e = registry.intern("SELECT -" + std::to_string(i % 700), {});  // dead at once; texts repeat
    CHECK(e->id > last);
    last = e->id;
    CHECK(seen.insert(e->id).second);
  }
  CHECK(registry.live() == 1);  // only `again`
  CHECK(registry.intern("SELECT 1", {}).get() == again.get());
}

TEST_CASE("statement registry: an owner's entry is its own") {
  StatementRegistry registry;
  auto shared = registry.intern("EXECUTE p", {});
  auto a = registry.intern("EXECUTE p", {}, 1);
  auto a_again = registry.intern("EXECUTE p", {}, 1);
  auto b = registry.intern("EXECUTE p", {}, 2);
  CHECK(a == a_again);
  CHECK(a != b);
  CHECK(a != shared);
  CHECK(a->server_name != b->server_name);
  CHECK(a->query == "EXECUTE p");
}
