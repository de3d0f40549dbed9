// InputBuffer with a BufferPool: an idle connection holds no storage, and a busy one reuses the
// same block instead of allocating per read.
#include "io/input_buffer.h"

#include <doctest/doctest.h>

#include <cstring>

#include "io/buffer_pool.h"

using namespace ouroboros::io;

namespace {
void put(InputBuffer& in, const char* text) {
  std::size_t n = std::strlen(text);
  auto tail = in.tail(n);
  REQUIRE(tail.size() >= n);
  std::memcpy(tail.data(), text, n);
  in.commit(n);
}
}  // namespace

TEST_CASE("a pooled buffer borrows a block for bytes in flight and gives it back when consumed") {
  BufferPool pool;
  InputBuffer in(1 << 20, &pool);
  CHECK_FALSE(in.holds_storage());
  put(in, "hello");
  CHECK(in.holds_storage());
  in.release_if_empty();  // not consumed yet: kept
  CHECK(in.holds_storage());
  in.consume(2);
  CHECK(std::memcmp(in.view().data(), "llo", 3) == 0);
  in.consume(3);
  in.release_if_empty();
  CHECK_FALSE(in.holds_storage());
  CHECK(pool.kept() == 1);
  put(in, "again");  // the same block comes back
  CHECK(pool.kept() == 0);
  in.consume(5);
  in.release_if_empty();
  CHECK(pool.kept() == 1);
}

TEST_CASE("a block grown for a large message is freed, not kept") {
  BufferPool pool;
  InputBuffer in(1 << 20, &pool);
  auto tail = in.tail(BufferPool::kBlockSize * 2);
  REQUIRE(tail.size() >= BufferPool::kBlockSize * 2);
  in.commit(BufferPool::kBlockSize * 2);
  CHECK(in.size() == BufferPool::kBlockSize * 2);
  in.consume(in.size());
  in.release_if_empty();
  CHECK_FALSE(in.holds_storage());
  CHECK(pool.kept() == 0);
}

TEST_CASE("the pool keeps a bounded number of blocks; buffers return theirs when destroyed") {
  BufferPool pool;
  {
    InputBuffer a(1 << 20, &pool), b(1 << 20, &pool);
    put(a, "x");
    put(b, "y");
  }
  CHECK(pool.kept() == 2);
  for (int i = 0; i < 100; ++i) pool.give(std::vector<std::uint8_t>(BufferPool::kBlockSize));
  CHECK(pool.kept() <= 32);
}

TEST_CASE("without a pool the buffer keeps its storage") {
  InputBuffer in(1 << 20);
  put(in, "abc");
  in.consume(3);
  in.release_if_empty();
  CHECK(in.holds_storage());
}

TEST_CASE("compact keeps waiting bytes in storage of their own and gives the block back") {
  BufferPool pool;
  InputBuffer in(1 << 20, &pool);
  put(in, "xxQ-request");
  in.consume(2);
  in.compact();
  CHECK(pool.kept() == 1);
  CHECK(in.size() == 9);
  CHECK(std::memcmp(in.view().data(), "Q-request", 9) == 0);
  put(in, "+more");  // grows beyond its own size when more arrives
  CHECK(std::memcmp(in.view().data(), "Q-request+more", 14) == 0);
  in.consume(in.size());
  in.release_if_empty();
  CHECK_FALSE(in.holds_storage());
  CHECK(pool.kept() == 1);  // the grown storage was not a block: freed, not kept
}

TEST_CASE("a buffer told to keep its storage holds its block across reads, and gives it back when it dies") {
  BufferPool pool;
  {
    InputBuffer in(1 << 20, &pool);
    in.keep_storage();
    put(in, "hello");
    in.consume(5);
    in.release_if_empty();
    CHECK(in.holds_storage());  // kept for the next read
    CHECK(pool.kept() == 0);
    put(in, "again");
    CHECK(in.view().size() == 5);
  }
  CHECK(pool.kept() == 1);  // back to the loop with the connection
}
