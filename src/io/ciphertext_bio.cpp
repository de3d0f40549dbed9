#include "io/ciphertext_bio.h"

#include <algorithm>
#include <cstring>

#include "io/buffer_pool.h"

namespace ouroboros::io {

namespace {
constexpr std::size_t kUnpooledBlock = 64 * 1024;
}  // namespace

CiphertextBio::~CiphertextBio() {
  if (pool_ && !block_.empty()) pool_->give(std::move(block_));
}

BIO* CiphertextBio::make_bio() {
  // The method table is made once and never changes afterwards (a function-local static is
  // initialised once, also with several loops on several threads).
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ouroboros ciphertext");
    if (!m) return m;
    BIO_meth_set_read_ex(m, &CiphertextBio::read);
    BIO_meth_set_write_ex(m, &CiphertextBio::write);
    BIO_meth_set_ctrl(m, &CiphertextBio::control);
    BIO_meth_set_create(m, [](BIO* bio) {
      BIO_set_init(bio, 1);
      return 1;
    });
    return m;
  }();
  if (!method) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio) BIO_set_data(bio, this);
  return bio;
}

void CiphertextBio::release_output() {
  written_ = 0;
  if (pool_ && !block_.empty()) {
    pool_->give(std::move(block_));
    block_.clear();
  }
}

int CiphertextBio::read(BIO* bio, char* data, std::size_t size, std::size_t* done) {
  auto* self = static_cast<CiphertextBio*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (self->input_.empty()) {
    BIO_set_retry_read(bio);  // "want read": more arrives with the next socket read
    *done = 0;
    return 0;
  }
  std::size_t n = std::min(size, self->input_.size());
  std::memcpy(data, self->input_.data(), n);
  self->input_ = self->input_.subspan(n);
  *done = n;
  return 1;
}

int CiphertextBio::write(BIO* bio, const char* data, std::size_t size, std::size_t* done) {
  auto* self = static_cast<CiphertextBio*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  self->append(data, size);
  *done = size;
  return 1;
}

long CiphertextBio::control(BIO* bio, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // the transport sends output() after every operation
    case BIO_CTRL_PENDING:
      return static_cast<long>(static_cast<CiphertextBio*>(BIO_get_data(bio))->input_.size());
    case BIO_CTRL_WPENDING:
      return static_cast<long>(static_cast<CiphertextBio*>(BIO_get_data(bio))->written_);
    default:
      return 0;  // no kTLS, no datagrams, no end of file: the socket's end is the transport's
  }
}

void CiphertextBio::append(const char* data, std::size_t size) {
  if (block_.empty()) block_ = pool_ ? pool_->take() : std::vector<std::uint8_t>(kUnpooledBlock);
  if (block_.size() - written_ < size) block_.resize(std::max(block_.size() * 2, written_ + size));
  std::memcpy(block_.data() + written_, data, size);
  written_ += size;
}

}  // namespace ouroboros::io
