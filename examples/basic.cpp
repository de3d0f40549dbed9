// A tour of the Ouroboros client library in one program.
//
//   ouroboros_example_basic "postgresql://user:password@localhost:6432/dbname"
//
// (or set OUROBOROS_DSN). Creates a scratch table, works with it and drops it again.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <ouroboros/client.hpp>
#include <string>

namespace bank {
struct Account {
  std::int64_t id = 0;
  std::string owner;
  ouroboros::Decimal balance;
};
OUROBOROS_FIELDS(Account, id, owner, balance)
}  // namespace bank

int main(int argc, char** argv) {
  const char* dsn = argc > 1 ? argv[1] : std::getenv("OUROBOROS_DSN");
  if (dsn == nullptr) {
    std::cerr << "usage: " << argv[0] << " DSN   (or set OUROBOROS_DSN)\n";
    return 2;
  }
  try {
    // Connecting retries with exponential backoff and jitter.
    ouroboros::ConnectOptions options;
    options.backoff =
        ouroboros::Backoff{5, std::chrono::milliseconds(100), std::chrono::seconds(2), 0.5};
    ouroboros::Connection conn(dsn, options);

    const std::string table = "example_accounts_" + std::to_string(::getpid());
    conn.execute(
        "CREATE TABLE " + table +
        " (id bigserial PRIMARY KEY, owner text UNIQUE NOT NULL, balance numeric(20,2) NOT NULL)");

    // execute(): INSERT ... RETURNING hands back the rows.
    auto inserted =
        conn.execute("INSERT INTO " + table +
                         " (owner, balance) VALUES ($1, $2), ($3, $4) "
                         "RETURNING id, owner, balance",
                     "alice", ouroboros::Decimal("100.10"), "bob", ouroboros::Decimal("0.20"));
    for (const bank::Account& account : inserted.rows().as<bank::Account>())
      std::cout << "inserted " << account.id << " " << account.owner << " " << account.balance
                << "\n";

    // A transaction that is retried on deadlock / serialization failure.
    conn.transaction(
        {ouroboros::Isolation::Serializable}, ouroboros::RetryPolicy{},
        [&](ouroboros::Transaction& tx) {
          tx.execute("UPDATE " + table + " SET balance = balance - $1 WHERE owner = $2",
                     ouroboros::Decimal("0.10"), "alice");
          tx.execute("UPDATE " + table + " SET balance = balance + $1 WHERE owner = $2",
                     ouroboros::Decimal("0.10"), "bob");
        });

    // Exact aggregates: sum() of NUMERIC is a Decimal, not a rounded double.
    const auto total = conn.query_value<ouroboros::Decimal>("SELECT sum(balance) FROM " + table);
    std::cout << "total " << total << "\n";

    // Tuples with structured bindings.
    for (auto [owner, balance] :
         conn.query("SELECT owner, balance FROM " + table + " ORDER BY owner")
             .as<std::string, ouroboros::Decimal>())
      std::cout << owner << " has " << balance << "\n";

    // Classified errors.
    try {
      conn.execute("INSERT INTO " + table + " (owner, balance) VALUES ($1, 0)", "alice");
    } catch (const ouroboros::ConflictError& e) {
      std::cout << "conflict on " << e.constraint() << "\n";
    }

    conn.execute("DROP TABLE " + table);
    return total == ouroboros::Decimal("100.30") ? 0 : 1;
  } catch (const ouroboros::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
