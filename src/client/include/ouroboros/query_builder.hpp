// The query builder: declared tables, typed expressions, SELECT / INSERT / UPDATE / DELETE that
// render parameterised SQL ($1..$n, identifiers quoted, values never in the text) and run
// through Connection's typed results. See docs/client-library.md, "Query builder".
//
//   #include <ouroboros/query_builder.hpp>
//   namespace query = ouroboros::query;
#pragma once

#include "ouroboros/client.hpp"
#include "ouroboros/query/deferrable.hpp"
#include "ouroboros/query/expression.hpp"
#include "ouroboros/query/identifier.hpp"
#include "ouroboros/query/modify.hpp"
#include "ouroboros/query/node.hpp"
#include "ouroboros/query/select.hpp"
#include "ouroboros/query/statement.hpp"
#include "ouroboros/query/table.hpp"
