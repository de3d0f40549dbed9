// The Ouroboros client library: a C++20 PostgreSQL client on libpq.
//
//   #include <ouroboros/client.hpp>
//   ouroboros::Connection conn("postgresql://app:secret@localhost:6432/app");
//   auto total = conn.query_value<ouroboros::Decimal>("SELECT sum(amount) FROM payments");
//
// See docs/client-library.md for a tour.
#pragma once

#include "ouroboros/backoff.hpp"
#include "ouroboros/connection.hpp"
#include "ouroboros/convert.hpp"
#include "ouroboros/copy.hpp"
#include "ouroboros/decimal.hpp"
#include "ouroboros/errors.hpp"
#include "ouroboros/fields.hpp"
#include "ouroboros/notification.hpp"
#include "ouroboros/observer.hpp"
#include "ouroboros/params.hpp"
#include "ouroboros/pipeline.hpp"
#include "ouroboros/pool.hpp"
#include "ouroboros/query_logger.hpp"
#include "ouroboros/result.hpp"
#include "ouroboros/transaction.hpp"
#include "ouroboros/transaction_options.hpp"
#include "ouroboros/types.hpp"
