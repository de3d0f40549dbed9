#!/usr/bin/python3
"""Opens many PostgreSQL client connections that log in (trust authentication) and then sit idle.

Used by tests/bench/instructions.py to measure a proxy's memory per idle client. Speaks the wire
protocol (v3) directly, so one process holds thousands of connections cheaply.

    idle_clients.py --host H --port P --user U --dbname D --count N

Protocol with the parent, one line each on stdout / stdin:
    prints "ready N"      when all N connections finished logging in (ReadyForQuery received);
    reads  "query"        then sends one "SELECT 1" on every connection and waits for all results;
    prints "queried N"    when every connection has its ReadyForQuery back;
    reads  "close" / EOF  then closes every connection and exits 0.
Any failure prints "error: ..." and exits 1.
"""
import argparse
import asyncio
import struct
import sys

PROTOCOL_V3 = 196608


def startup_message(user, dbname):
    body = struct.pack("!i", PROTOCOL_V3)
    for k, v in (("user", user), ("database", dbname), ("application_name", "idle_clients")):
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def query_message(sql):
    body = sql.encode() + b"\0"
    return b"Q" + struct.pack("!i", len(body) + 4) + body


async def read_until_ready(reader):
    """Reads messages until ReadyForQuery; raises on ErrorResponse or a password request."""
    while True:
        header = await reader.readexactly(5)
        kind, length = header[:1], struct.unpack("!i", header[1:])[0]
        body = await reader.readexactly(length - 4)
        if kind == b"E":
            fields = [f[1:].decode(errors="replace") for f in body.split(b"\0") if f[:1] == b"M"]
            raise RuntimeError(f"server error: {' '.join(fields)}")
        if kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
            raise RuntimeError("the proxy asks for a password: configure trust authentication")
        if kind == b"Z":
            return


async def login(args, gate):
    async with gate:
        reader, writer = await asyncio.open_connection(args.host, args.port)
        writer.write(startup_message(args.user, args.dbname))
        await writer.drain()
        await read_until_ready(reader)
        return reader, writer


async def query_once(conn):
    reader, writer = conn
    writer.write(query_message("SELECT 1"))
    await writer.drain()
    await read_until_ready(reader)


async def main(args):
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(args.concurrency)  # bounded login burst: no listen-backlog overflow
    conns = await asyncio.wait_for(
        asyncio.gather(*(login(args, gate) for _ in range(args.count))), args.timeout)
    print(f"ready {len(conns)}", flush=True)
    command = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
    if command == "query":
        await asyncio.wait_for(asyncio.gather(*(query_once(c) for c in conns)), args.timeout)
        print(f"queried {len(conns)}", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
    for _, writer in conns:
        writer.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--dbname", required=True)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=64, help="logins in flight at once")
    p.add_argument("--timeout", type=float, default=300, help="seconds for all logins / queries")
    a = p.parse_args()
    try:
        asyncio.run(main(a))
    except (Exception, asyncio.TimeoutError) as e:  # report any failure as one line
        print(f"error: {type(e).__name__}: {e}", flush=True)
        sys.exit(1)
