import { DatabaseError, Pool, PoolClient, Query, QueryResult } from 'pg';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { PgClient } from '../src/database/pg-client';
import { createTestApp, TestApp } from './support/test-app';

/**
 * PgClient (src/database/pg-client.ts): the app's pools open their connections with it, and its
 * promise-returning query() (settled through node-postgres's callback form) behaves as node-postgres's
 * own: rows, fields, errors, named statements, the callback form and submittable queries.
 */
describe('PgClient: the pool client of the app', () => {
  let t: TestApp;
  let client: PoolClient;

  beforeAll(async () => {
    t = await createTestApp();
    const pool = (t.dataSource.driver as PostgresDriver).master as Pool;
    client = await pool.connect();
  });

  afterAll(async () => {
    client.release();
    await t.close();
  });

  it('is what the pool connects with', () => {
    expect(client).toBeInstanceOf(PgClient);
  });

  it('answers text, parameters and config objects with rows and fields', async () => {
    const plain = await client.query<{ n: number }>('SELECT 1 AS n');
    expect(plain.rows).toEqual([{ n: 1 }]);
    expect(plain.fields.map((f) => f.name)).toEqual(['n']);
    expect(plain.rowCount).toBe(1);
    const withValues = await client.query<{ s: string }>('SELECT $1::text || $2::text AS s', ['a', 'b']);
    expect(withValues.rows).toEqual([{ s: 'ab' }]);
    const config = await client.query<{ n: string }>({
      text: 'SELECT count(*)::text AS n FROM generate_series(1, $1::int)',
      values: [50],
    });
    expect(config.rows).toEqual([{ n: '50' }]);
    const asArrays = await client.query({ text: 'SELECT 1, 2', rowMode: 'array' });
    expect(asArrays.rows).toEqual([[1, 2]]);
  });

  it('runs a named statement again from its prepared form', async () => {
    const name = `pg_client_spec_${process.pid}`;
    for (const v of [1, 2, 3]) {
      const r = await client.query<{ v: number }>({ name, text: 'SELECT $1::int AS v', values: [v] });
      expect(r.rows).toEqual([{ v }]);
    }
    const listed = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = $1',
      [name],
    );
    expect(listed.rows).toEqual([{ n: 1 }]);
  });

  it("rejects with PostgreSQL's error and stays usable", async () => {
    const failed = client.query('SELECT * FROM no_such_table_here');
    await expect(failed).rejects.toBeInstanceOf(DatabaseError);
    await expect(failed).rejects.toMatchObject({ code: '42P01' });
    await expect(client.query('SELECT $1::int AS n', ['x'])).rejects.toMatchObject({ code: '22P02' });
    expect((await client.query<{ ok: boolean }>('SELECT true AS ok')).rows).toEqual([{ ok: true }]);
  });

  it('keeps a transaction across calls', async () => {
    await client.query('BEGIN');
    await client.query('CREATE TEMP TABLE pg_client_spec (v int) ON COMMIT DROP');
    await client.query('INSERT INTO pg_client_spec VALUES (1), (2)');
    const r = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_client_spec');
    await client.query('COMMIT');
    expect(r.rows).toEqual([{ n: 2 }]);
  });

  it('still takes a callback, and a submittable query', async () => {
    const viaCallback = await new Promise<QueryResult>((resolve, reject) => {
      void client.query('SELECT 2 AS n', (err: Error | null, res: QueryResult) =>
        err ? reject(err) : resolve(res),
      );
    });
    expect(viaCallback.rows).toEqual([{ n: 2 }]);
    const submitted = await new Promise<QueryResult>((resolve, reject) => {
      client.query(
        new Query('SELECT 3 AS n', [], (err: Error | undefined, res: QueryResult) =>
          err ? reject(err) : resolve(res),
        ),
      );
    });
    expect(submitted.rows).toEqual([{ n: 3 }]);
  });
});
