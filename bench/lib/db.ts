import { Client, type ClientConfig } from 'pg';
import { PgClient } from '../../src/database/pg-client';

/** The URL of `database` on the server of `url`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A connection of the bench's own: the app's `PgClient` (node-postgres settled through its callback
 * form), so that the bench process, which times every HTTP call, does not itself stop for the 5–15 ms
 * minor and major GCs that node-postgres's promise form causes (measured 2026-12-07: with `Client`,
 * 16–19 GCs per 400 timed calls of the query target, median 5–6 ms, max 16 ms, some of them inside
 * timed HTTP calls; with `PgClient`, 30 scavenges of 0.6 ms median).
 */
export function benchClient(config: ClientConfig): Client {
  return new PgClient(config);
}

export async function withClient<T>(
  url: string,
  fn: (c: Client) => Promise<T>,
  extra: ClientConfig = {},
): Promise<T> {
  const client = benchClient({ connectionString: url, ...extra });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Works through `queue` on `c` and, with `url`, on a second connection at the same time (two cores):
 * each connection runs `setup` once, then takes the next item as soon as it is done with its last, until
 * the queue is empty. Items added to `queue` before it empties are taken too.
 */
export async function shareQueue<T>(
  c: Client,
  url: string | undefined,
  queue: T[],
  run: (client: Client, item: T) => Promise<void>,
  setup?: (client: Client) => Promise<unknown>,
): Promise<void> {
  const lane = async (client: Client): Promise<void> => {
    if (setup) await setup(client);
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await run(client, item);
  };
  await Promise.all([lane(c), url === undefined ? undefined : withClient(url, lane)]);
}

/** A throw-away database for one bench run: created now, dropped by `drop()` (idempotent). */
export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:T.Z]/g, '')
    .slice(0, 14);
  const name = `bench_${stamp}_${process.pid}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  let dropped = false;
  return {
    name,
    url: withDatabase(serverUrl, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
