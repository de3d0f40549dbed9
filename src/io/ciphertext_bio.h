#pragma once
// The ciphertext side of a TlsTransport: an OpenSSL BIO over two plain buffers instead of two
// memory BIOs. OpenSSL reads records straight from the bytes the socket received (no copy into a
// BIO buffer first) and writes the records of one operation into a block lent by the loop's
// BufferPool, which the transport sends with one write and gives back, so no buffer is allocated
// per write and an idle connection holds none.
#include <openssl/bio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.h"

namespace ouroboros::io {

class BufferPool;

class CiphertextBio {
 public:
  // Without a pool the output block is allocated once and kept.
  explicit CiphertextBio(BufferPool* pool) : pool_(pool) {}
  ~CiphertextBio();
  CiphertextBio(const CiphertextBio&) = delete;
  CiphertextBio& operator=(const CiphertextBio&) = delete;

  // A BIO reading from input() and writing to output(), for SSL_set_bio (which takes it over).
  // This object must outlive it. Null when OpenSSL is out of memory.
  BIO* make_bio();

  // Ciphertext OpenSSL may read until the next set_input(); what it read is dropped from the front.
  void set_input(ByteView bytes) { input_ = bytes; }
  ByteView input() const { return input_; }

  // Ciphertext OpenSSL wrote since the last release_output().
  ByteView output() const { return {block_.data(), written_}; }
  void release_output();

 private:
  static int read(BIO* bio, char* data, std::size_t size, std::size_t* done);
  static int write(BIO* bio, const char* data, std::size_t size, std::size_t* done);
  static long control(BIO* bio, int command, long number, void* pointer);
  void append(const char* data, std::size_t size);

  BufferPool* pool_;
  ByteView input_;
  std::vector<std::uint8_t> block_;  // size() is the room; the first written_ bytes are output
  std::size_t written_ = 0;
};

}  // namespace ouroboros::io
