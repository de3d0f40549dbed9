#include "pool/settings_interner.h"

#include <doctest/doctest.h>

#include "common/fifo.h"

#include <memory>
#include <vector>

using namespace ouroboros;
using namespace ouroboros::pool;

TEST_CASE("equal settings are one shared copy with one hash") {
  SettingsInterner interner;
  auto a = interner.intern_with_hash({{"datestyle", "ISO, MDY"}, {"timezone", "UTC"}});
  auto b = interner.intern_with_hash({{"timezone", "UTC"}, {"datestyle", "ISO, MDY"}});
  CHECK(a.value.get() == b.value.get());
  CHECK(a.hash == b.hash);
  CHECK(a.hash == settings_hash(*a.value));
  auto c = interner.intern_with_hash({{"datestyle", "ISO, MDY"}, {"timezone", "Europe/Paris"}});
  CHECK(c.value.get() != a.value.get());
  CHECK(c.hash != a.hash);
  CHECK(*c.value == Settings{{"datestyle", "ISO, MDY"}, {"timezone", "Europe/Paris"}});
}

TEST_CASE("start-up parameter lists are shared the same way, order included") {
  StartupParametersInterner interner;
  auto a = interner.intern({{"user", "app"}, {"database", "db"}});
  CHECK(interner.intern({{"user", "app"}, {"database", "db"}}).get() == a.get());
  CHECK(interner.intern({{"database", "db"}, {"user", "app"}}).get() != a.get());
}

TEST_CASE("settings nobody uses any more are dropped, so the interner stays bounded") {
  SettingsInterner interner;
  for (int i = 0; i < 10000; ++i) interner.intern_with_hash({{"application_name", "client " + std::to_string(i)}});
  CHECK(interner.size() <= 128);
  auto kept = interner.intern_with_hash({{"application_name", "kept"}});
  for (int i = 0; i < 1000; ++i) interner.intern_with_hash({{"application_name", "other " + std::to_string(i)}});
  CHECK(interner.intern_with_hash({{"application_name", "kept"}}).value.get() == kept.value.get());
}

TEST_CASE("Fifo: first in, first out, storage reused once empty") {
  Fifo<std::string> fifo;
  CHECK(fifo.empty());
  fifo.push_back("a");
  fifo.push_back("b");
  CHECK(fifo.size() == 2);
  CHECK(fifo.front() == "a");
  CHECK(fifo.back() == "b");
  CHECK(fifo.take_front() == "a");
  fifo.push_back("c");
  CHECK(fifo.take_front() == "b");
  CHECK(fifo.take_front() == "c");
  CHECK(fifo.empty());
  // A pipeline that never drains: order kept while taken slots are reclaimed.
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    fifo.push_back(std::to_string(next_in++));
    fifo.push_back(std::to_string(next_in++));
    CHECK(fifo.take_front() == std::to_string(next_out++));
  }
  CHECK(fifo.size() == 1000);
  while (!fifo.empty()) CHECK(fifo.take_front() == std::to_string(next_out++));
}

TEST_CASE("Fifo: pop_front releases the item at once; iteration sees the items left, in order") {
  Fifo<std::shared_ptr<int>> fifo;
  auto first = std::make_shared<int>(1);
  fifo.push_back(first);
  fifo.push_back(std::make_shared<int>(2));
  fifo.push_back(std::make_shared<int>(3));
  CHECK(first.use_count() == 2);
  fifo.pop_front();
  CHECK(first.use_count() == 1);  // not held until the queue drains
  std::vector<int> forward, backward;
  for (const auto& item : fifo) forward.push_back(*item);
  for (auto it = fifo.rbegin(); it != fifo.rend(); ++it) backward.push_back(**it);
  CHECK(forward == std::vector<int>{2, 3});
  CHECK(backward == std::vector<int>{3, 2});
  CHECK(*fifo.front() == 2);
  fifo.pop_front();
  fifo.pop_front();
  CHECK(fifo.empty());
  CHECK(fifo.begin() == fifo.end());
  fifo.push_back(std::make_shared<int>(4));
  CHECK(*fifo.front() == 4);
}
