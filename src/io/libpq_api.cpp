#include "io/libpq_api.h"

#include "io/libpq_query.h"

#include <dlfcn.h>

namespace ouroboros::io {

namespace {

struct Loaded {
  LibpqApi api;
  std::string error;  // empty when every function was found
};

Loaded load() {
  Loaded loaded;
  void* handle = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    loaded.error = std::string("cannot load libpq (libpq.so.5, Debian package libpq5): ") + (why ? why : "unknown");
    return loaded;
  }
  // Never closed: the functions stay valid for the life of the process.
#define OUROBOROS_LIBPQ_LOAD(name)                                                        \
  loaded.api.name = reinterpret_cast<decltype(&::name)>(dlsym(handle, #name));            \
  if (!loaded.api.name && loaded.error.empty()) loaded.error = "libpq has no function " #name;
  OUROBOROS_LIBPQ_FUNCTIONS(OUROBOROS_LIBPQ_LOAD)
#undef OUROBOROS_LIBPQ_LOAD
  return loaded;
}

}  // namespace

const LibpqApi* libpq_api(std::string* error) {
  static const Loaded loaded = load();  // thread-safe initialisation, immutable afterwards
  if (!loaded.error.empty()) {
    if (error) *error = loaded.error;
    return nullptr;
  }
  return &loaded.api;
}

std::string libpq_load_error() {
  std::string error;
  libpq_api(&error);
  return error;
}

}  // namespace ouroboros::io
