// node-postgres sending SQL-level PREPARE / EXECUTE / DEALLOCATE as plain SQL (simple queries)
// from several clients that use the same statement name with texts of their own.
//
// usage: node sql_prepare.js   (connection from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE;
//                               CLIENTS and ROUNDS optional)
// Prints one JSON line {"ok": true, "executions": N} or exits 1 with the failure on stderr.
'use strict';
const { Client } = require('pg');

const CLIENTS = parseInt(process.env.CLIENTS || '4', 10);
const ROUNDS = parseInt(process.env.ROUNDS || '30', 10);

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function sqlstate(promise) {
  try {
    await promise;
  } catch (err) {
    return err.code;
  }
  return 'no error';
}

async function worker(id) {
  const client = new Client({ connectionTimeoutMillis: 30000 });
  await client.connect();
  let executions = 0;
  try {
    await client.query(`PREPARE same (int) AS SELECT $1 * ${id + 1} AS v, ${id} AS who`);
    for (let i = 0; i < ROUNDS; i++) {
      const r = await client.query(`EXECUTE same(${i})`);
      check(r.rows[0].v === i * (id + 1) && r.rows[0].who === id, `client ${id} same(${i}) = ${JSON.stringify(r.rows)}`);
      executions += 1;
      if (i % 10 === 5) {
        // Replace the statement: DEALLOCATE, then a name that no longer exists, then PREPARE again.
        await client.query('DEALLOCATE same');
        const code = await sqlstate(client.query(`EXECUTE same(${i})`));
        check(code === '26000', `client ${id}: EXECUTE after DEALLOCATE gave ${code}`);
        await client.query(`PREPARE same (int) AS SELECT $1 * ${id + 1} AS v, ${id} AS who`);
      }
      const own = await client.query('SELECT name FROM pg_prepared_statements ORDER BY name');
      check(JSON.stringify(own.rows) === JSON.stringify([{ name: 'same' }]),
        `client ${id} sees ${JSON.stringify(own.rows)} in pg_prepared_statements`);
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
  process.exit(1);
});
