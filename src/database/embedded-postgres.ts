import { PGlite } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Port number encoded in the socket file name; any fixed value works for a private directory. */
const SOCKET_PORT = 5432;

export interface EmbeddedPostgresHandle {
  /** Directory holding the unix socket: use it as `host` for `pg`. */
  readonly socketDir: string;
  readonly port: number;
  /** Where the data lives: a directory, or `memory`. */
  readonly location: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (PostgreSQL compiled to WebAssembly) in-process and serves it on a private unix socket,
 * so that the ordinary `pg` driver connects to it exactly as to a server.
 *
 * PGlite is a single session: an open transaction blocks every other connection. Use a pool of 1
 * and keep every query of a request inside the request's transaction.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgresHandle> {
  const inMemory = dataDir === 'memory';
  const location = inMemory ? 'memory' : resolve(dataDir);
  if (!inMemory) mkdirSync(location, { recursive: true });
  const db = await PGlite.create({
    dataDir: inMemory ? 'memory://' : location,
    extensions: { pg_trgm, btree_gin },
  });
  // A fresh private directory per instance: no stale socket file, no clash between test workers.
  const socketDir = mkdtempSync(join(tmpdir(), 'pglite-'));
  const server = new PGLiteSocketServer({
    db,
    path: join(socketDir, `.s.PGSQL.${SOCKET_PORT}`),
    maxConnections: 4,
  });
  await server.start();
  let stopped = false;
  return {
    socketDir,
    port: SOCKET_PORT,
    location,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
}
