// node-postgres LISTEN/NOTIFY through a transaction-mode pool smaller than the number of clients
// (tests/integration/test_session_listen.py). Clients 0..CLIENTS-2 listen to SHARED, client 0
// also to SOLO; they run queries on the shared servers in between; the last client sends one
// notification on each channel and reports the pid of the backend that sent it.
//
// usage: node listen_notify.js   (connection from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE;
//                                 SHARED, SOLO channel names; CLIENTS optional)
// Prints one JSON line {"received": {client: [[channel, payload, pid], ...]}, "pids": {...}}
// or exits 1 with the failure on stderr.
'use strict';
const { Client } = require('pg');

const CLIENTS = parseInt(process.env.CLIENTS || '5', 10);
const SHARED = process.env.SHARED;
const SOLO = process.env.SOLO;
const DEADLINE_MS = 20000;

async function main() {
  const clients = [];
  const received = {};
  for (let i = 0; i < CLIENTS; i++) {
    const client = new Client({ connectionTimeoutMillis: 30000 });
    await client.connect();
    clients.push(client);
    received[i] = [];
    client.on('notification', (n) => received[i].push([n.channel, n.payload, n.processId]));
  }
  const listeners = clients.slice(0, CLIENTS - 1);
  for (const [i, client] of listeners.entries()) {
    await client.query(`LISTEN ${SHARED}`);
    if (i === 0) await client.query(`LISTEN ${SOLO}`);
  }
  for (const client of clients) {
    const r = await client.query('SELECT 41 + 1 AS v');
    if (r.rows[0].v !== 42) throw new Error(`unexpected ${JSON.stringify(r.rows)}`);
  }
  const sender = clients[CLIENTS - 1];
  const send = async (channel, payload) =>
    (await sender.query('SELECT pg_backend_pid() AS pid FROM (SELECT pg_notify($1, $2)) n', [channel, payload]))
      .rows[0].pid;
  const pids = { solo: await send(SOLO, 'x'), shared: await send(SHARED, 'y') };
  // Poll with a deadline: client 0 expects two notifications, the other listeners one each.
  const start = Date.now();
  const expected = (i) => (i === 0 ? 2 : 1);
  while (listeners.some((_, i) => received[i].length < expected(i))) {
    if (Date.now() - start > DEADLINE_MS) throw new Error(`timed out: ${JSON.stringify(received)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const client of clients) await client.end();
  console.log(JSON.stringify({ received, pids }));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
