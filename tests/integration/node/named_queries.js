// node-postgres named queries ({name, text, values}) from several concurrent clients through the
// proxy. node-postgres Parses a named query once per connection and afterwards only Binds it,
// so in transaction mode every later execution may run on a server that never saw the Parse.
//
// usage: node named_queries.js   (connection from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE;
//                                 CLIENTS and ROUNDS optional)
// Prints one JSON line {"ok": true, "executions": N} or exits 1 with the failure on stderr.
'use strict';
const { Client } = require('pg');

const CLIENTS = parseInt(process.env.CLIENTS || '6', 10);
const ROUNDS = parseInt(process.env.ROUNDS || '40', 10);

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function worker(id) {
  const client = new Client({ connectionTimeoutMillis: 30000 });
  await client.connect();
  let executions = 0;
  try {
    for (let i = 0; i < ROUNDS; i++) {
      // Same names in every client, same texts: the proxy shares one server statement.
      let r = await client.query({ name: 'double', text: 'SELECT $1::int * 2 AS v', values: [i] });
      check(r.rows.length === 1 && r.rows[0].v === 2 * i, `client ${id} double(${i}) = ${JSON.stringify(r.rows)}`);
      // Same name in every client but a text of its own: no client may see another's statement.
      r = await client.query({ name: 'mine', text: `SELECT $1::text || '-${id}' AS s, ${id} AS who`, values: [`r${i}`] });
      check(r.rows[0].s === `r${i}-${id}` && r.rows[0].who === id, `client ${id} mine(${i}) = ${JSON.stringify(r.rows)}`);
      // Several parameters and rows.
      r = await client.query({
        name: 'series',
        text: 'SELECT g, g * $2::int AS m FROM generate_series(1, $1::int) AS g ORDER BY g',
        values: [(i % 5) + 1, id + 1],
      });
      check(r.rows.length === (i % 5) + 1, `client ${id} series(${i}) rows ${r.rows.length}`);
      r.rows.forEach((row, k) => check(row.g === k + 1 && row.m === (k + 1) * (id + 1), `client ${id} series row ${JSON.stringify(row)}`));
      // A named query inside a transaction.
      if (i % 10 === 0) {
        await client.query('BEGIN');
        r = await client.query({ name: 'txid', text: 'SELECT $1::int + 1 AS n, pg_backend_pid() AS pid', values: [i] });
        const again = await client.query({ name: 'txid', text: 'SELECT $1::int + 1 AS n, pg_backend_pid() AS pid', values: [i + 1] });
        check(r.rows[0].n === i + 1 && again.rows[0].n === i + 2, `client ${id} txid`);
        check(r.rows[0].pid === again.rows[0].pid, `client ${id}: one transaction ran on two servers`);
        await client.query('COMMIT');
        executions += 2;
      }
      executions += 3;
    }
  } finally {
    await client.end();
  }
  return executions;
}

(async () => {
  const results = await Promise.all(Array.from({ length: CLIENTS }, (_, id) => worker(id)));
  console.log(JSON.stringify({ ok: true, executions: results.reduce((a, b) => a + b, 0) }));
})().catch((err) => {
  console.error(`FAILED: ${err && err.stack ? err.stack : err}`);
  if (err && err.code) console.error(`SQLSTATE ${err.code}`);
  process.exit(1);
});
