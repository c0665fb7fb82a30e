import { TransactionHost } from '@nestjs-cls/transactional';
import {
  MAX_TEXT_STATEMENTS_PER_CONNECTION,
  preparedGenericTextQuery,
  preparedQuery,
  preparedTextQuery,
  STALE_STATEMENT_MS,
  textKey,
} from '../src/database/prepared-statement';
import type { Tx } from '../src/database/transaction';
import { TransactionRunner } from '../src/database/transaction-runner';
import { SessionsService } from '../src/modules/users/sessions.service';
import { loginAdmin } from './support/factories';
import { createTestApp, onServer, TestApp } from './support/test-app';

/**
 * preparedQuery: the hot statements (the session lookup of every authenticated request, the audit
 * INSERT) run as named prepared statements, prepared once per connection, inside the request's
 * transaction when there is one and on a pooled connection, given back, when there is none.
 */
describe('Prepared statements (preparedQuery)', () => {
  let t: TestApp;
  let tx: Tx;
  let runner: TransactionRunner;

  beforeAll(async () => {
    t = await createTestApp();
    tx = t.app.get<Tx>(TransactionHost);
    runner = t.app.get(TransactionRunner);
  });

  afterAll(async () => {
    await t.close();
  });

  const prepared = (name: string): Promise<{ name: string; statement: string }[]> =>
    runner.run(() =>
      tx.tx.query<{ name: string; statement: string }[]>(
        `SELECT name, statement FROM pg_prepared_statements WHERE name LIKE $1`,
        [`${name}%`],
      ),
    );

  /** How many statements named like `like` the transaction's connection holds (call inside runner.run). */
  const countOnConnection = async (like: string): Promise<number> => {
    const [{ n }] = await tx.tx.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE $1`,
      [like],
    );
    return n;
  };

  it('prepares a statement once per connection and reuses it in the transaction', async () => {
    const rows = await runner.run(async () => {
      const out: number[] = [];
      for (let i = 1; i <= 3; i++) {
        const [r] = await preparedQuery<{ n: number }>(tx.tx, 'probe_in_tx', 'SELECT $1::int * 2 AS n', [i]);
        out.push(r.n);
      }
      return out;
    });
    expect(rows).toEqual([2, 4, 6]);
    const names = await prepared('probe_in_tx');
    // One name on the one connection used (the pool may hold several connections on a server).
    expect(names.length).toBeGreaterThanOrEqual(1);
    expect(names.every((n) => n.statement === 'SELECT $1::int * 2 AS n')).toBe(true);
  });

  it('sees the transaction it runs in (its own uncommitted writes, rolled back with it)', async () => {
    const marker = `prepared-${Date.now()}`;
    await expect(
      runner.run(async () => {
        await tx.tx.query(`CREATE TEMP TABLE IF NOT EXISTS prepared_probe (v text) ON COMMIT DROP`);
        await tx.tx.query(`INSERT INTO prepared_probe (v) VALUES ($1)`, [marker]);
        const [r] = await preparedQuery<{ n: string }>(
          tx.tx,
          'probe_visibility',
          'SELECT count(*)::text AS n FROM prepared_probe WHERE v = $1',
          [marker],
        );
        expect(r.n).toBe('1');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
  });

  it('outside a transaction takes a pooled connection and gives it back (no leak over many calls)', async () => {
    // More calls than any pool holds connections: a connection not given back would hang this test
    // (on the embedded database, the pool has exactly one).
    for (let i = 0; i < 60; i++) {
      const [r] = await preparedQuery<{ n: number }>(tx.tx, 'probe_outside', 'SELECT $1::int AS n', [i]);
      expect(r.n).toBe(i);
    }
    // The pool still serves ordinary queries and transactions.
    await expect(runner.run(() => tx.tx.query(`SELECT 1 AS one`))).resolves.toEqual([{ one: 1 }]);
  });

  it('reports a failing statement as an error, and the pool recovers', async () => {
    await expect(preparedQuery(tx.tx, 'probe_fail', 'SELECT 1 / $1::int AS n', [0])).rejects.toThrow(
      /division by zero/,
    );
    const [r] = await preparedQuery<{ n: number }>(tx.tx, 'probe_fail', 'SELECT 1 / $1::int AS n', [1]);
    expect(r.n).toBe(1);
  });

  // Before the default budget's cap is reached on this connection (the next test fills it).
  it("a budget of its own: its texts are capped apart and never take the default budget's names", async () => {
    const budget = { name: 'probe_budget', max: 3 };
    const { results, own, others } = await runner.run(async () => {
      const out: number[] = [];
      for (let i = 0; i < budget.max + 4; i++) {
        const text = `SELECT $1::int + ${100 + i} AS n`;
        const [r] = await preparedTextQuery<{ n: number }>(tx.tx, 'probe_own', text, [1], budget);
        out.push(r.n);
      }
      // The default budget is untouched by them: new default texts are still named.
      for (let i = 0; i < 3; i++)
        await preparedTextQuery(tx.tx, 'probe_others', `SELECT $1::int + ${200 + i} AS n`, [1]);
      return {
        results: out,
        own: await countOnConnection('probe_own%'),
        others: await countOnConnection('probe_others%'),
      };
    });
    expect(results).toEqual(Array.from({ length: budget.max + 4 }, (_, i) => 101 + i));
    expect(own).toBe(budget.max);
    expect(others).toBe(3);
  });

  it("a full budget's least recently used text, once stale, gives its place to a new text (deallocated from the session); a recent one never does", async () => {
    const budget = { name: 'probe_stale', max: 2 };
    const text = (i: number): string => `SELECT $1::int + ${300 + i} AS n`;
    const run = async (i: number): Promise<number> =>
      (await preparedTextQuery<{ n: number }>(tx.tx, 'probe_stale', text(i), [1], budget))[0].n;
    /** The texts the connection holds under this prefix. */
    const held = async (): Promise<string[]> =>
      (
        await tx.tx.query<{ statement: string }[]>(
          `SELECT statement FROM pg_prepared_statements WHERE name LIKE 'probe_stale%' ORDER BY statement`,
        )
      ).map((r) => r.statement);
    const t0 = Date.now();
    const clock = jest.spyOn(Date, 'now');
    try {
      const seen = await runner.run(async () => {
        const out: { answers: number[]; held: string[] }[] = [];
        const step = async (at: number, runs: number[]): Promise<void> => {
          clock.mockReturnValue(at);
          const answers: number[] = [];
          for (const i of runs) answers.push(await run(i));
          out.push({ answers, held: await held() });
        };
        await step(t0, [0, 1]); // the budget is full: texts 0 and 1
        await step(t0 + 60_000, [0]); // text 0 used again: text 1 is now the least recently used
        await step(t0 + 61_000, [2]); // text 1 is not stale yet: text 2 runs unnamed
        await step(t0 + STALE_STATEMENT_MS + 1, [2]); // text 1 is stale: deallocated, text 2 named
        await step(t0 + STALE_STATEMENT_MS + 2, [1, 2, 0]); // text 0 not stale: text 1 runs unnamed
        return out;
      });
      expect(seen).toEqual([
        { answers: [301, 302], held: [text(0), text(1)] },
        { answers: [301], held: [text(0), text(1)] },
        { answers: [303], held: [text(0), text(1)] },
        { answers: [303], held: [text(0), text(2)] },
        { answers: [302, 303, 301], held: [text(0), text(2)] },
      ]);
    } finally {
      clock.mockRestore();
    }
  });

  it('preparedGenericTextQuery: from its second run in a transaction, the generic plan for that statement only; otherwise as preparedTextQuery', async () => {
    const text = `SELECT $1::int * 3 AS n, current_setting('plan_cache_mode') AS mode`;
    type Row = { n: number; mode: string };
    const run = async (values: unknown[], q = text): Promise<Row> =>
      (await preparedGenericTextQuery<Row>(tx.tx, 'probe_generic', q, values))[0];
    const inTx = await runner.run(async () => {
      const rows: Row[] = [];
      for (let i = 1; i <= 4; i++) rows.push(await run([i]));
      // The transaction's later statements plan as before.
      const [{ plan_cache_mode: after }] =
        await tx.tx.query<{ plan_cache_mode: string }[]>('SHOW plan_cache_mode');
      const [plans] = await tx.tx.query<{ generic: number; custom: number }[]>(
        `SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE statement = $1`,
        [text],
      );
      // A value that cannot be a literal (an object, sent by pg as JSON): bound, as preparedTextQuery.
      const jsonText = `SELECT ($1::jsonb ->> 'a')::int AS n, current_setting('plan_cache_mode') AS mode`;
      const json = [await run([{ a: 5 }], jsonText), await run([{ a: 6 }], jsonText)];
      return { rows, after, plans, json };
    });
    expect(inTx.rows).toEqual([
      { n: 3, mode: 'auto' },
      { n: 6, mode: 'force_generic_plan' },
      { n: 9, mode: 'force_generic_plan' },
      { n: 12, mode: 'force_generic_plan' },
    ]);
    expect(inTx.after).toBe('auto');
    expect(inTx.plans).toEqual({ generic: 3, custom: 1 });
    expect(inTx.json).toEqual([
      { n: 5, mode: 'auto' },
      { n: 6, mode: 'auto' },
    ]);
    // Outside a transaction (SET LOCAL would not hold): bound every time.
    expect([await run([7]), await run([8])]).toEqual([
      { n: 21, mode: 'auto' },
      { n: 24, mode: 'auto' },
    ]);
    // A failing run rolls back with its transaction, the mode included; the next transaction is as before.
    await expect(
      runner.run(async () => {
        await run([1]);
        await run([2]);
        await tx.tx.query('SELECT 1 / 0');
      }),
    ).rejects.toThrow(/division by zero/);
    await expect(
      runner.run(() => tx.tx.query<{ plan_cache_mode: string }[]>('SHOW plan_cache_mode')),
    ).resolves.toEqual([{ plan_cache_mode: 'auto' }]);
  });

  it('names statements built at run time by their text, at most a cap of them per connection', async () => {
    const a = 'SELECT $1::int + 1 AS n';
    expect(textKey('probe_key', a)).toBe(textKey('probe_key', a));
    expect(textKey('probe_key', a)).not.toBe(textKey('probe_key', 'SELECT $1::int + 2 AS n'));
    const shapes = MAX_TEXT_STATEMENTS_PER_CONNECTION + 10;
    const { results, held, fixed } = await runner.run(async () => {
      const out: number[] = [];
      for (let i = 0; i < shapes; i++) {
        const text = `SELECT $1::int + ${i} AS n`;
        const [r] = await preparedTextQuery<{ n: number }>(tx.tx, 'probe_cap', text, [1]);
        out.push(r.n);
      }
      // A fixed statement still gets its name on a connection at the cap.
      await preparedQuery(tx.tx, 'probe_fixed_at_cap', 'SELECT 1 AS one', []);
      return {
        results: out,
        held: await countOnConnection('probe_cap%'),
        fixed: await countOnConnection('probe_fixed_at_cap%'),
      };
    });
    // Every statement answered, named or not; the connection holds at most the cap of them.
    expect(results).toEqual(Array.from({ length: shapes }, (_, i) => 1 + i));
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(MAX_TEXT_STATEMENTS_PER_CONNECTION);
    expect(fixed).toBe(1);
  });

  it('the session lookup of an authenticated request is one of them, and revocation takes effect at once', async () => {
    const token = await loginAdmin(t.http);
    await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`).expect(200);
    const names = await prepared('session_active');
    expect(names.length).toBeGreaterThanOrEqual(1);
    expect(names[0].statement).toContain('FROM sessions s JOIN users u');

    // A prepared statement caches the plan, never the answer: a revoked session is refused on the
    // very next request.
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as {
      jti: string;
    };
    await runner.run(() => t.app.get(SessionsService).revoke(payload.jti));
    await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`).expect(401);
  });

  (onServer() ? it.skip : it)(
    'embedded: a reconnected client prepares under a new name in the one shared session',
    async () => {
      // Every client of the embedded database shares PGlite's one session: two clients must never
      // use the same statement name (the second Parse would fail with "already exists").
      const first = t.dataSource.createQueryRunner();
      await first.connect();
      const a = await preparedQuery<{ n: number }>(first.manager, 'probe_reconnect', 'SELECT 7 AS n', []);
      // Drop this connection (pg-pool destroys a client released with an error); the next one is new.
      await (
        first as unknown as { releasePostgresConnection(err: Error): Promise<void> }
      ).releasePostgresConnection(new Error('drop this connection'));
      const second = t.dataSource.createQueryRunner();
      await second.connect();
      const b = await preparedQuery<{ n: number }>(second.manager, 'probe_reconnect', 'SELECT 7 AS n', []);
      await second.release();
      expect([a[0].n, b[0].n]).toEqual([7, 7]);
    },
  );
});
