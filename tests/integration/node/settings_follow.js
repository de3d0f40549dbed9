// Settings follow each node-postgres client in transaction mode: two clients on a pool of one
// server take turns; each sees only what it SET itself (simple and extended protocol).
//
// usage: node settings_follow.js   (connection from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)
// Prints one JSON line {"ok": true} or exits 1 with the failure on stderr.
'use strict';
const { Client } = require('pg');

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function show(client, name) {
  const r = await client.query(`SHOW ${name}`);
  return r.rows[0][name];
}

async function main() {
  const a = new Client({ connectionTimeoutMillis: 30000 });
  const b = new Client({ connectionTimeoutMillis: 30000 });
  await a.connect();
  await b.connect();
  try {
    const workMem = await show(b, 'work_mem');
    const searchPath = await show(b, 'search_path');
    await a.query("SET work_mem = '7MB'");
    check((await show(b, 'work_mem')) === workMem, 'b sees a\'s work_mem');
    check((await show(a, 'work_mem')) === '7MB', 'a lost its work_mem');
    // Rolled back: does not stick.
    await a.query('BEGIN');
    await a.query('SET search_path = pg_catalog');
    await a.query('ROLLBACK');
    check((await show(a, 'search_path')) === searchPath, 'a kept a rolled-back search_path');
    // A value passed as a parameter (extended protocol): read back from the server.
    await a.query('SELECT set_config($1, $2, false)', ['statement_timeout', '1234']);
    check((await show(b, 'statement_timeout')) === '0', 'b sees a\'s statement_timeout');
    check((await show(a, 'statement_timeout')) === '1234ms', 'a lost its statement_timeout');
    await a.query('RESET ALL');
    check((await show(a, 'work_mem')) === workMem, 'RESET ALL kept work_mem');
    console.log(JSON.stringify({ ok: true }));
  } finally {
    await a.end();
    await b.end();
  }
}

main().catch((err) => {
  console.error(err.stack || String(err));
  process.exit(1);
});
