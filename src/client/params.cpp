// Params: storage of converted parameter values.
#include "ouroboros/params.hpp"

namespace ouroboros {

void Params::append(std::string text, Oid type) {
  texts_.push_back(std::move(text));
  nulls_.push_back(false);
  types_.push_back(type);
}

void Params::append_null(Oid type) {
  texts_.emplace_back();
  nulls_.push_back(true);
  types_.push_back(type);
}

const char* const* Params::values() const {
  pointers_.clear();
  for (std::size_t i = 0; i < texts_.size(); ++i)
    pointers_.push_back(nulls_[i] ? nullptr : texts_[i].c_str());
  return pointers_.data();
}

std::string Params::type_signature() const {
  std::string signature;
  for (Oid type : types_) {
    signature += std::to_string(type);
    signature += ',';
  }
  return signature;
}

}  // namespace ouroboros
