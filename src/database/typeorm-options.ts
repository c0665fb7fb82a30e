import { DataSource, DataSourceOptions } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions.js';
import { migrations } from '../../migrations';
import { entities } from './entities';
import { PgClient } from './pg-client';

export type DatabaseTarget =
  { kind: 'server'; url: string; poolSize: number } | { kind: 'embedded'; socketDir: string; port: number };

/**
 * The one place TypeORM options are built: the app (TypeOrmModule.forRootAsync), the TypeORM CLI
 * (ormconfig.ts), scripts and tests all call this. `synchronize` is never on: the schema comes from
 * the migrations only.
 */
export function buildDataSourceOptions(target: DatabaseTarget): PostgresDataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities,
    migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    migrationsRun: false,
    // Not 'error': TypeORM would print failed queries with their parameters (hashes, ids). Errors are
    // logged by the exception filter without parameters.
    logging: ['warn' as const, 'migration' as const],
    applicationName: 'audit-trail',
    // gen_random_uuid() is core PostgreSQL: no extension to install.
    installExtensions: false,
  };
  if (target.kind === 'embedded') {
    // PGlite is a single session: one connection, shared by turns.
    return {
      ...common,
      host: target.socketDir,
      port: target.port,
      username: 'postgres',
      database: 'postgres',
      poolSize: 1,
      extra: { max: 1, Client: PgClient },
    };
  }
  return {
    ...common,
    url: target.url,
    poolSize: target.poolSize,
    // jit off for every connection of the app (a libpq startup option, as PGOPTIONS would set it):
    // JIT compilation starts at an estimated cost (jit_above_cost) that statements here cross without
    // running long (a statistics query over a year, a generic plan with a parameter LIMIT), and then
    // costs 50–450 ms per call. Measured on the 2 M bench database: the stats queries took the same with
    // and without it, the 1,000,000-row export COPY (CSV, NDJSON) no longer without it. A connection
    // pooler in front must pass the options on (PgBouncer: or list them in ignore_startup_parameters,
    // which leaves PostgreSQL's defaults). Client: see PgClient.
    //
    // constraint_exclusion off: partition pruning (the partitions' bounds) already leaves out the
    // monthly partitions a statement cannot touch; what constraint exclusion adds on top is reading
    // and parsing every remaining partition's CHECK constraints (nine on audit_logs) on every plan,
    // to prove a WHERE clause impossible, which the app's statements never are. Measured on a 10 M
    // bench database (`perf` of a backend planning the newest slice: ~20 % of planning in
    // relation_excluded_by_constraints, most of it stringToNode): planning of a five-partition slice
    // 0.60–0.82 → 0.47–0.51 ms, of a one-partition slice 0.23–0.40 → 0.17–0.29 ms.
    extra: {
      max: target.poolSize,
      connectionTimeoutMillis: 5000,
      options: '-c jit=off -c constraint_exclusion=off',
      Client: PgClient,
    },
  };
}

/** A DataSource that runs a callback after it is destroyed (stops the embedded server). */
export class ManagedDataSource extends DataSource {
  constructor(
    options: DataSourceOptions,
    private readonly afterDestroy: () => Promise<void>,
  ) {
    super(options);
  }

  override async destroy(): Promise<void> {
    try {
      if (this.isInitialized) await super.destroy();
    } finally {
      await this.afterDestroy();
    }
  }
}

/** Human-readable description of the target, never with a password. */
export function describeTarget(url: string | undefined, embeddedLocation?: string): string {
  if (!url) return `embedded PostgreSQL (PGlite) at ${embeddedLocation ?? 'memory'}`;
  try {
    const u = new URL(url);
    return `PostgreSQL server ${u.hostname}:${u.port || '5432'}${u.pathname} as ${decodeURIComponent(u.username) || '(default user)'}`;
  } catch {
    return 'PostgreSQL server (unparseable URL)';
  }
}
