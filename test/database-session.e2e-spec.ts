import { createTestApp, onServer, TestApp } from './support/test-app';

/** Settings every connection of the app's pool starts with (typeorm-options.ts). */
(onServer() ? describe : describe.skip)('database session settings (server)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('JIT compilation is off on every pool connection', async () => {
    // Several at once, so that more than one pooled connection answers.
    const answers = await Promise.all(Array.from({ length: 4 }, () => t.query<{ jit: string }>('SHOW jit')));
    expect(answers.map(([row]) => row.jit)).toEqual(['off', 'off', 'off', 'off']);
    // A statement costed far above jit_above_cost: with JIT on, its plan has a "JIT:" section.
    const plan = await t.query<{ 'QUERY PLAN': string }>(
      'EXPLAIN SELECT count(*) FROM pg_class a, pg_class b, pg_class c',
    );
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).not.toContain('JIT:');
  });

  it('constraint exclusion is off on every pool connection; partition pruning still leaves out the other months', async () => {
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => t.query<{ constraint_exclusion: string }>('SHOW constraint_exclusion')),
    );
    expect(answers.map(([row]) => row.constraint_exclusion)).toEqual(['off', 'off', 'off', 'off']);
    const plan = await t.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT id FROM audit_logs WHERE occurred_at >= date_trunc('month', now()) AND occurred_at < date_trunc('month', now()) + interval '1 month'`,
    );
    const scanned = plan.map((r) => r['QUERY PLAN']).filter((line) => / on audit_logs_/.test(line));
    expect(scanned.length).toBeGreaterThan(0);
    const month = new Date().toISOString().slice(0, 7).replace('-', '');
    for (const line of scanned) expect(line).toContain(`audit_logs_p${month}`);
  });
});
