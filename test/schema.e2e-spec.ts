import { createTestApp, TestApp } from './support/test-app';

describe('schema (real migrations)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('entities and the migrated schema agree: the schema builder has nothing to change', async () => {
    const sql = await t.dataSource.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('has applied every migration and has nothing pending', async () => {
    expect(await t.dataSource.showMigrations()).toBe(false);
    const rows = await t.query<{ name: string }>('SELECT name FROM migrations ORDER BY id');
    expect(rows.map((r) => r.name)).toEqual(t.dataSource.migrations.map((m) => m.name));
  });

  it('migrations revert cleanly and re-apply', async () => {
    for (let i = 0; i < t.dataSource.migrations.length; i++)
      await t.dataSource.undoLastMigration({ transaction: 'each' });
    const tables = await t.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'`,
    );
    expect(tables).toEqual([]);
    await t.dataSource.runMigrations({ transaction: 'each' });
    const sql = await t.dataSource.driver.createSchemaBuilder().log();
    expect(sql.upQueries).toEqual([]);
  });
});
