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
});
