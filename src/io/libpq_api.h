#pragma once
// libpq, loaded when first needed (auth_query) instead of linked: the daemon does not map libpq
// and the libraries it brings (GnuTLS, LDAP, Kerberos, SASL: about 3 MiB of resident memory)
// unless the configuration uses it. The functions are libpq's own, called through this table.
#include <libpq-fe.h>

#include <string>

namespace ouroboros::io {

#define OUROBOROS_LIBPQ_FUNCTIONS(X)                                                              \
  X(PQclear)                                                                                      \
  X(PQconnectPoll) X(PQconnectStartParams) X(PQconsumeInput) X(PQerrorMessage) X(PQfinish)        \
  X(PQflush) X(PQgetResult) X(PQgetisnull) X(PQgetlength) X(PQgetvalue) X(PQisBusy) X(PQnfields) \
  X(PQntuples) X(PQresStatus) X(PQresultErrorMessage) X(PQresultStatus) X(PQsendQueryParams)     \
  X(PQsetnonblocking) X(PQsocket) X(PQstatus)

struct LibpqApi {
#define OUROBOROS_LIBPQ_MEMBER(name) decltype(&::name) name = nullptr;
  OUROBOROS_LIBPQ_FUNCTIONS(OUROBOROS_LIBPQ_MEMBER)
#undef OUROBOROS_LIBPQ_MEMBER
};

// libpq's functions, loaded once per process (the table never changes afterwards, so every loop
// may use it); nullptr with `error` set when libpq.so.5 or one of its functions is missing.
const LibpqApi* libpq_api(std::string* error = nullptr);

}  // namespace ouroboros::io
