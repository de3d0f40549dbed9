#include "sql/session_parse_tree.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "sql/ascii.h"

namespace ouroboros::sql {

namespace {

using Kind = SessionEffectKind;
constexpr std::int32_t kCursorOptHold = 0x0020;  // CURSOR_OPT_HOLD in PostgreSQL's parsenodes.h

std::string lower(std::string_view text) {
  std::string out;
  append_lower(out, text);
  return out;
}

// protobuf-c gives an absent string as "" (never NULL), which is how PostgreSQL's NULL reads.
std::string_view text_of(const char* s) {
  return s == nullptr ? std::string_view() : s;
}

// PostgreSQL's quote_identifier() without its keyword check: lower-case letters, digits and
// underscores (not first a digit) stay bare, anything else is double-quoted.
std::string quote_identifier(std::string_view name) {
  bool safe = !name.empty() && ((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_');
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) safe = false;
  }
  if (safe) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

// Settings whose list elements PostgreSQL quotes as identifiers when flattening SET's arguments
// (GUC_LIST_QUOTE), so `SET search_path = "A", b` reads `"A", b` as SHOW prints it.
bool is_list_quote_setting(std::string_view name) {
  return name == "search_path" || name == "temp_tablespaces" ||
         name == "session_preload_libraries" || name == "local_preload_libraries" ||
         name == "shared_preload_libraries";
}

const PgQuery__Node* strip_casts(const PgQuery__Node* node) {
  while (node != nullptr && node->node_case == PG_QUERY__NODE__NODE_TYPE_CAST &&
         node->type_cast != nullptr)
    node = node->type_cast->arg;
  return node;
}

struct Constant {
  std::string text;
  bool is_string = false;
  bool is_null = false;
};

// A literal (optionally cast) as text, or nullopt for anything computed.
std::optional<Constant> constant(const PgQuery__Node* node) {
  node = strip_casts(node);
  if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_A_CONST) return std::nullopt;
  const PgQuery__AConst* c = node->a_const;
  if (c == nullptr) return std::nullopt;
  if (c->isnull) return Constant{"", false, true};
  switch (c->val_case) {
    case PG_QUERY__A__CONST__VAL_IVAL:
      return Constant{std::to_string(c->ival ? c->ival->ival : 0)};
    case PG_QUERY__A__CONST__VAL_FVAL:
      return Constant{std::string(text_of(c->fval ? c->fval->fval : nullptr))};
    case PG_QUERY__A__CONST__VAL_BOOLVAL:
      return Constant{(c->boolval && c->boolval->boolval) ? "true" : "false"};
    case PG_QUERY__A__CONST__VAL_SVAL:
      return Constant{std::string(text_of(c->sval ? c->sval->sval : nullptr)), true};
    default:
      return std::nullopt;
  }
}

// SET's arguments as the one string PostgreSQL hands the setting (flatten_set_variable_args).
std::optional<std::string> set_value(std::string_view name, PgQuery__Node* const* args,
                                     std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    // SET TIME ZONE INTERVAL '...' is a cast PostgreSQL evaluates; not followed here.
    if (args[i] == nullptr || args[i]->node_case != PG_QUERY__NODE__NODE_A_CONST)
      return std::nullopt;
    std::optional<Constant> value = constant(args[i]);
    if (!value || value->is_null) return std::nullopt;
    if (i > 0) out += ", ";
    out += value->is_string && is_list_quote_setting(name) ? quote_identifier(value->text)
                                                           : value->text;
  }
  return out;
}

std::optional<bool> boolean(const PgQuery__Node* node) {
  std::optional<Constant> value = constant(node);
  if (!value || value->is_null) return std::nullopt;
  const std::string text = lower(value->text);
  if (text == "true" || text == "t" || text == "on" || text == "yes" || text == "y" || text == "1")
    return true;
  if (text == "false" || text == "f" || text == "off" || text == "no" || text == "n" || text == "0")
    return false;
  return std::nullopt;
}

class StatementReader {
 public:
  explicit StatementReader(ClassifiedStatement& out) : out_(out) {}

  void read(const PgQuery__Node* node) {
    if (node == nullptr) return;
    switch (node->node_case) {
      case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
        return variable_set(*node->variable_set_stmt);
      case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
        return transaction(*node->transaction_stmt);
      case PG_QUERY__NODE__NODE_DISCARD_STMT:
        return discard(*node->discard_stmt);
      case PG_QUERY__NODE__NODE_PREPARE_STMT:
        // The prepared query runs at EXECUTE, so its function calls are not walked here.
        return add("PREPARE", Kind::Prepare, node->prepare_stmt->name);
      case PG_QUERY__NODE__NODE_EXECUTE_STMT:
        add("EXECUTE", Kind::Execute, node->execute_stmt->name);
        return walk_calls(&node->execute_stmt->base);
      case PG_QUERY__NODE__NODE_DEALLOCATE_STMT: {
        const std::string_view name = text_of(node->deallocate_stmt->name);
        if (name.empty()) return add("DEALLOCATE ALL", Kind::DeallocateAll, "");
        return add("DEALLOCATE", Kind::Deallocate, name);
      }
      case PG_QUERY__NODE__NODE_LISTEN_STMT:
        return add("LISTEN", Kind::Listen, node->listen_stmt->conditionname);
      case PG_QUERY__NODE__NODE_UNLISTEN_STMT: {
        const std::string_view channel = text_of(node->unlisten_stmt->conditionname);
        if (channel.empty()) return add("UNLISTEN", Kind::UnlistenAll, "");
        return add("UNLISTEN", Kind::Unlisten, channel);
      }
      case PG_QUERY__NODE__NODE_NOTIFY_STMT:
        return add("NOTIFY", Kind::Notify, node->notify_stmt->conditionname,
                   text_of(node->notify_stmt->payload));
      case PG_QUERY__NODE__NODE_CREATE_STMT: {
        const PgQuery__CreateStmt& create = *node->create_stmt;
        out_.command = "CREATE TABLE";
        return temp_relation(create.relation, create.oncommit, "table");
      }
      case PG_QUERY__NODE__NODE_VIEW_STMT:
        out_.command = "CREATE VIEW";
        return temp_relation(node->view_stmt->view, PG_QUERY__ON_COMMIT_ACTION__ONCOMMIT_NOOP,
                             "view");
      case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
        out_.command = "CREATE SEQUENCE";
        return temp_relation(node->create_seq_stmt->sequence,
                             PG_QUERY__ON_COMMIT_ACTION__ONCOMMIT_NOOP, "sequence");
      case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT: {
        const PgQuery__CreateTableAsStmt& create = *node->create_table_as_stmt;
        out_.command = create.objtype == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW
                           ? "CREATE MATERIALIZED VIEW"
                           : "CREATE TABLE AS";
        if (create.into != nullptr)
          temp_relation(create.into->rel, create.into->on_commit, "table");
        return walk_calls(&create.base);
      }
      case PG_QUERY__NODE__NODE_SELECT_STMT: {
        const PgQuery__SelectStmt& select = *node->select_stmt;
        out_.command = "SELECT";
        if (select.into_clause != nullptr)
          temp_relation(select.into_clause->rel, select.into_clause->on_commit, "table");
        return walk_calls(&select.base);
      }
      case PG_QUERY__NODE__NODE_DROP_STMT:
        return drop(*node->drop_stmt);
      case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT: {
        const PgQuery__DeclareCursorStmt& declare = *node->declare_cursor_stmt;
        out_.command = "DECLARE CURSOR";
        if ((declare.options & kCursorOptHold) != 0)
          add("DECLARE CURSOR", Kind::DeclareHoldCursor, declare.portalname);
        return walk_calls(&declare.base);
      }
      case PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT: {
        const std::string_view name = text_of(node->close_portal_stmt->portalname);
        if (name.empty()) return add("CLOSE CURSOR ALL", Kind::CloseAll, "");
        return add("CLOSE CURSOR", Kind::Close, name);
      }
      case PG_QUERY__NODE__NODE_LOAD_STMT:
        return add("LOAD", Kind::Load, node->load_stmt->filename);
      case PG_QUERY__NODE__NODE_INSERT_STMT:
        return command_with_calls("INSERT", &node->insert_stmt->base);
      case PG_QUERY__NODE__NODE_UPDATE_STMT:
        return command_with_calls("UPDATE", &node->update_stmt->base);
      case PG_QUERY__NODE__NODE_DELETE_STMT:
        return command_with_calls("DELETE", &node->delete_stmt->base);
      case PG_QUERY__NODE__NODE_MERGE_STMT:
        return command_with_calls("MERGE", &node->merge_stmt->base);
      case PG_QUERY__NODE__NODE_COPY_STMT:
        return command_with_calls("COPY", &node->copy_stmt->base);
      case PG_QUERY__NODE__NODE_CALL_STMT:
        return command_with_calls("CALL", &node->call_stmt->base);
      case PG_QUERY__NODE__NODE_EXPLAIN_STMT:
        out_.command = "EXPLAIN";
        // Only EXPLAIN ANALYZE runs the statement.
        if (explain_analyzes(*node->explain_stmt)) read(node->explain_stmt->query);
        out_.command = "EXPLAIN";
        return;
      default:
        return;
    }
  }

 private:
  void add(std::string_view command, Kind kind, std::string_view name,
           std::string_view value = {}) {
    if (out_.command.empty()) out_.command = std::string(command);
    out_.effects.push_back({kind, std::string(name), std::string(value)});
  }
  void add(std::string_view command, Kind kind, const char* name, std::string_view value = {}) {
    add(command, kind, text_of(name), value);
  }

  void command_with_calls(std::string_view command, const ProtobufCMessage* root) {
    out_.command = std::string(command);
    walk_calls(root);
  }

  void variable_set(const PgQuery__VariableSetStmt& set) {
    out_.command = set.kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ||
                           set.kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL
                       ? "RESET"
                       : "SET";
    const std::string name = lower(text_of(set.name));
    switch (set.kind) {
      case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE:
        if (std::optional<std::string> value = set_value(name, set.args, set.n_args)) {
          add("SET", set.is_local ? Kind::SetLocal : Kind::Set, name, *value);
        } else {
          add("SET", Kind::SetUnknown, name, set.is_local ? "local" : "");
        }
        return;
      case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT:
        if (set.is_local) return add("SET", Kind::SetUnknown, name, "local");
        return add("SET", Kind::Reset, name);
      case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET:
        return add("RESET", Kind::Reset, name);
      case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL:
        return add("RESET", Kind::ResetAll, "");
      case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI:
        // SET TRANSACTION ... and SET TRANSACTION SNAPSHOT last one transaction; SET SESSION
        // CHARACTERISTICS AS TRANSACTION sets the session's defaults.
        if (name == "session characteristics") session_characteristics(set);
        return;
      default:
        return;  // SET ... FROM CURRENT (only meaningful in function definitions)
    }
  }

  void session_characteristics(const PgQuery__VariableSetStmt& set) {
    for (std::size_t i = 0; i < set.n_args; ++i) {
      const PgQuery__Node* item = set.args[i];
      if (item == nullptr || item->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) continue;
      const std::string option = lower(text_of(item->def_elem->defname));
      std::optional<Constant> value = constant(item->def_elem->arg);
      if (!value) continue;
      add("SET", Kind::Set, "default_" + option, value->text);
    }
  }

  void transaction(const PgQuery__TransactionStmt& stmt) {
    const std::string_view savepoint = text_of(stmt.savepoint_name);
    switch (stmt.kind) {
      case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
        return add("BEGIN", Kind::Begin, "");
      case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
        return add("START TRANSACTION", Kind::Begin, "");
      case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
        add("COMMIT", Kind::Commit, "");
        if (stmt.chain) add("COMMIT", Kind::Begin, "");
        return;
      case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
        add("ROLLBACK", Kind::Rollback, "");
        if (stmt.chain) add("ROLLBACK", Kind::Begin, "");
        return;
      case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT:
        return add("SAVEPOINT", Kind::Savepoint, savepoint);
      case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE:
        return add("RELEASE", Kind::Release, savepoint);
      case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO:
        return add("ROLLBACK", Kind::RollbackTo, savepoint);
      case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_PREPARE:
        return add("PREPARE TRANSACTION", Kind::PrepareTransaction, "");
      case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT_PREPARED:
        return add("COMMIT PREPARED", Kind::CommitPrepared, "");
      case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_PREPARED:
        return add("ROLLBACK PREPARED", Kind::CommitPrepared, "");
      default:
        return;
    }
  }

  void discard(const PgQuery__DiscardStmt& stmt) {
    switch (stmt.target) {
      case PG_QUERY__DISCARD_MODE__DISCARD_ALL:
        return add("DISCARD ALL", Kind::DiscardAll, "");
      case PG_QUERY__DISCARD_MODE__DISCARD_PLANS:
        return add("DISCARD PLANS", Kind::DiscardPlans, "");
      case PG_QUERY__DISCARD_MODE__DISCARD_SEQUENCES:
        return add("DISCARD SEQUENCES", Kind::DiscardSequences, "");
      case PG_QUERY__DISCARD_MODE__DISCARD_TEMP:
        return add("DISCARD TEMP", Kind::DiscardTemp, "");
      default:
        return;
    }
  }

  // A relation that lives in the session's temporary schema past the transaction.
  void temp_relation(const PgQuery__RangeVar* rel, PgQuery__OnCommitAction on_commit,
                     std::string_view what) {
    if (rel == nullptr) return;
    const bool temp = text_of(rel->relpersistence) == "t" || text_of(rel->schemaname) == "pg_temp";
    if (!temp || on_commit == PG_QUERY__ON_COMMIT_ACTION__ONCOMMIT_DROP) return;
    out_.effects.push_back(
        {Kind::CreateTemp, std::string(text_of(rel->relname)), std::string(what)});
  }

  void drop(const PgQuery__DropStmt& stmt) {
    out_.command = "DROP";
    switch (stmt.remove_type) {
      case PG_QUERY__OBJECT_TYPE__OBJECT_TABLE:
      case PG_QUERY__OBJECT_TYPE__OBJECT_VIEW:
      case PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE:
      case PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW:
        break;
      default:
        return;
    }
    for (std::size_t i = 0; i < stmt.n_objects; ++i) {
      const PgQuery__Node* object = stmt.objects[i];
      if (object == nullptr || object->node_case != PG_QUERY__NODE__NODE_LIST) continue;
      const PgQuery__List& parts = *object->list;
      if (parts.n_items == 0 || parts.n_items > 2) continue;
      std::vector<std::string_view> names;
      for (std::size_t p = 0; p < parts.n_items; ++p) {
        const PgQuery__Node* part = parts.items[p];
        if (part == nullptr || part->node_case != PG_QUERY__NODE__NODE_STRING) break;
        names.push_back(text_of(part->string->sval));
      }
      if (names.size() != parts.n_items) continue;
      // A name qualified with a schema other than pg_temp is not a temporary object.
      if (names.size() == 2 && names[0] != "pg_temp") continue;
      out_.effects.push_back({Kind::DropObject, std::string(names.back()), ""});
    }
  }

  static bool explain_analyzes(const PgQuery__ExplainStmt& explain) {
    for (std::size_t i = 0; i < explain.n_options; ++i) {
      const PgQuery__Node* option = explain.options[i];
      if (option == nullptr || option->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) continue;
      if (text_of(option->def_elem->defname) != "analyze") continue;
      // EXPLAIN (ANALYZE) or ANALYZE true/on; ANALYZE false turns it off.
      return option->def_elem->arg == nullptr || boolean(option->def_elem->arg).value_or(true);
    }
    return false;
  }

  // Every function call in the tree below `root`: set_config, pg_notify and the advisory locks.
  void walk_calls(const ProtobufCMessage* root) {
    std::vector<const ProtobufCMessage*> stack{root};
    while (!stack.empty()) {
      const ProtobufCMessage* message = stack.back();
      stack.pop_back();
      if (message == nullptr) continue;
      const ProtobufCMessageDescriptor* descriptor = message->descriptor;
      if (descriptor == &pg_query__func_call__descriptor)
        call(*reinterpret_cast<const PgQuery__FuncCall*>(message));
      const auto* base = reinterpret_cast<const std::uint8_t*>(message);
      for (unsigned i = 0; i < descriptor->n_fields; ++i) {
        const ProtobufCFieldDescriptor& field = descriptor->fields[i];
        if (field.type != PROTOBUF_C_TYPE_MESSAGE) continue;
        if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) {
          std::uint32_t active = 0;
          std::memcpy(&active, base + field.quantifier_offset, sizeof active);
          if (active != field.id) continue;
        }
        if (field.label == PROTOBUF_C_LABEL_REPEATED) {
          std::size_t count = 0;
          const ProtobufCMessage* const* items = nullptr;
          std::memcpy(&count, base + field.quantifier_offset, sizeof count);
          std::memcpy(&items, base + field.offset, sizeof items);
          for (std::size_t k = count; k > 0; --k) stack.push_back(items[k - 1]);
        } else {
          const ProtobufCMessage* child = nullptr;
          std::memcpy(&child, base + field.offset, sizeof child);
          stack.push_back(child);
        }
      }
    }
  }

  void call(const PgQuery__FuncCall& call) {
    if (call.n_funcname == 0 || call.n_funcname > 2) return;
    std::string_view names[2];
    for (std::size_t i = 0; i < call.n_funcname; ++i) {
      const PgQuery__Node* part = call.funcname[i];
      if (part == nullptr || part->node_case != PG_QUERY__NODE__NODE_STRING) return;
      names[i] = text_of(part->string->sval);
    }
    if (call.n_funcname == 2 && names[0] != "pg_catalog") return;
    const std::string_view function = names[call.n_funcname - 1];
    if (function == "set_config") return set_config(call);
    if (function == "pg_notify") return notify(call);
    advisory(function, call);
  }

  void set_config(const PgQuery__FuncCall& call) {
    if (call.n_args != 3) return;
    std::optional<Constant> name = constant(call.args[0]);
    std::optional<Constant> value = constant(call.args[1]);
    std::optional<bool> local = boolean(call.args[2]);
    if (!name || name->is_null) return add("SELECT", Kind::SetUnknown, "", "");
    const std::string setting = lower(name->text);
    if (!value || !local)
      return add("SELECT", Kind::SetUnknown, setting, local.value_or(false) ? "local" : "");
    if (value->is_null) {
      // A NULL value resets the setting.
      if (*local) return add("SELECT", Kind::SetUnknown, setting, "local");
      return add("SELECT", Kind::Reset, setting);
    }
    add("SELECT", *local ? Kind::SetLocal : Kind::Set, setting, value->text);
  }

  void notify(const PgQuery__FuncCall& call) {
    if (call.n_args < 1 || call.n_args > 2) return;
    std::optional<Constant> channel = constant(call.args[0]);
    std::optional<Constant> payload =
        call.n_args == 2 ? constant(call.args[1]) : std::optional<Constant>(Constant{});
    if (!channel || !payload) return;
    add("SELECT", Kind::Notify, channel->text, payload->text);
  }

  void advisory(std::string_view function, const PgQuery__FuncCall& call) {
    Kind kind;
    // A try-lock may return false and hold nothing: the trackers ask the server then.
    const std::string_view attempt = function.find("_try_") != std::string_view::npos ? "try" : "";
    if (function == "pg_advisory_lock" || function == "pg_try_advisory_lock") {
      kind = Kind::AdvisoryLock;
    } else if (function == "pg_advisory_lock_shared" || function == "pg_try_advisory_lock_shared") {
      kind = Kind::AdvisoryLockShared;
    } else if (function == "pg_advisory_unlock") {
      kind = Kind::AdvisoryUnlock;
    } else if (function == "pg_advisory_unlock_shared") {
      kind = Kind::AdvisoryUnlockShared;
    } else if (function == "pg_advisory_unlock_all") {
      return add("SELECT", Kind::AdvisoryUnlockAll, "");
    } else {
      return;  // the xact_ variants end with the transaction
    }
    if (call.n_args < 1 || call.n_args > 2) return;
    std::string key;
    for (std::size_t i = 0; i < call.n_args; ++i) {
      std::optional<Constant> part = constant(call.args[i]);
      if (!part || part->is_null) {
        key = "?";
        break;
      }
      key += (i == 0 ? "" : ",") + part->text;
    }
    add("SELECT", kind, key, attempt);
  }

  ClassifiedStatement& out_;
};

// The statement's own text within the query string (PostgreSQL's location and length; a length
// of 0 means up to the end), without the whitespace around it.
std::string statement_text(std::string_view input, const PgQuery__RawStmt& stmt) {
  const std::size_t start = stmt.stmt_location < 0 ? 0 : static_cast<std::size_t>(stmt.stmt_location);
  if (start >= input.size()) return "";
  std::string_view text = input.substr(start);
  if (stmt.stmt_len > 0) text = text.substr(0, static_cast<std::size_t>(stmt.stmt_len));
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

Classification parse_session_effects(std::string_view text) {
  Classification result;
  const std::string input(text.substr(0, text.find('\0')));
  PgQueryProtobufParseResult parsed = pg_query_parse_protobuf(input.c_str());
  if (parsed.error != nullptr) {
    pg_query_free_protobuf_parse_result(parsed);
    result.syntax_error = true;
    return result;
  }
  PgQuery__ParseResult* tree =
      pg_query__parse_result__unpack(nullptr, parsed.parse_tree.len,
                                     reinterpret_cast<const std::uint8_t*>(parsed.parse_tree.data));
  pg_query_free_protobuf_parse_result(parsed);
  if (tree == nullptr) {
    result.syntax_error = true;
    return result;
  }
  for (std::size_t i = 0; i < tree->n_stmts; ++i) {
    ClassifiedStatement statement;
    if (tree->stmts[i] != nullptr) {
      StatementReader(statement).read(tree->stmts[i]->stmt);
      for (SessionEffect& effect : statement.effects)
        if (effect.kind == Kind::Prepare) effect.value = statement_text(input, *tree->stmts[i]);
    }
    result.statements.push_back(std::move(statement));
  }
  pg_query__parse_result__free_unpacked(tree, nullptr);
  return result;
}

}  // namespace ouroboros::sql
