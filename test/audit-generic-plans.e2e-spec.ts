import { TransactionHost } from '@nestjs-cls/transactional';
import { plainToInstance } from 'class-transformer';
import type { Tx } from '../src/database/transaction';
import { TransactionRunner } from '../src/database/transaction-runner';
import type { AuditEventRow } from '../src/modules/audit/audit.types';
import { AuditQueryService } from '../src/modules/audit/query/audit-query.service';
import { AuditListQueryDto } from '../src/modules/audit/query/dto/audit-query.dto';
import { insertRows, seedRow } from './support/audit-seed';
import { auditPages } from './support/audit-pages';
import { loginAdmin } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

/**
 * Newest-first pages filtered by nothing but a time range run their statements as named prepared
 * statements with generic plans (planning was most of their time); every other filter keeps custom
 * plans, since there the best plan depends on the value. The setting is forced for those statements
 * only, and the pages are exactly what one plain statement returns.
 */
const HOUR = 3_600_000;

interface Prepared {
  name: string;
  generic_plans: string;
  custom_plans: string;
}

describe('admin audit API: generic plans for time-only pages', () => {
  let t: TestApp;
  let admin: string;
  let tx: Tx;
  let runner: TransactionRunner;
  let queries: AuditQueryService;
  const now = Date.now();

  const { walk } = auditPages(
    () => t,
    () => admin,
  );

  beforeAll(async () => {
    t = await createTestApp();
    admin = await loginAdmin(t.http);
    tx = t.app.get<Tx>(TransactionHost);
    runner = t.app.get(TransactionRunner);
    queries = t.app.get(AuditQueryService);
    // One event stamped ahead of the clock, recent ones, two sharing a timestamp, old ones in other
    // partitions (beyond the recent slice).
    const ages = [
      -HOUR,
      0,
      0.5 * HOUR,
      3 * HOUR,
      3 * HOUR,
      30 * HOUR,
      8 * 24 * HOUR,
      45 * 24 * HOUR,
      100 * 24 * HOUR,
    ];
    const rows: AuditEventRow[] = ages.map((age, i) =>
      seedRow({ action: 'task.updated', occurredAt: new Date(now - age), description: `Generic ${i}` }),
    );
    await insertRows(t, rows);
  });

  afterAll(async () => {
    await t.close();
  });

  /** A page through the service in a transaction; then, on that transaction's connection, its statements. */
  async function pageAndStatements(
    query: Record<string, unknown>,
  ): Promise<{ ids: string[]; prepared: Prepared[]; planCacheMode: string }> {
    return runner.run(async () => {
      const dto = plainToInstance(AuditListQueryDto, { limit: 3, order: 'desc', ...query });
      const page = await queries.list(dto);
      const prepared = await tx.tx.query<Prepared[]>(
        `SELECT name, generic_plans::text, custom_plans::text FROM pg_prepared_statements WHERE name LIKE 'audit_page_%'`,
      );
      const [{ plan_cache_mode: planCacheMode }] =
        await tx.tx.query<{ plan_cache_mode: string }[]>(`SHOW plan_cache_mode`);
      return { ids: page.items.map((i) => i.id), prepared, planCacheMode };
    });
  }

  it('a page with no filter, or only from/to, uses generic plans and puts the setting back', async () => {
    for (const query of [{}, { from: new Date(now - 60 * 24 * HOUR).toISOString() }]) {
      await pageAndStatements(query);
      const { prepared, planCacheMode } = await pageAndStatements(query);
      expect(prepared.length).toBeGreaterThanOrEqual(1);
      expect(prepared.some((p) => Number(p.generic_plans) > 0)).toBe(true);
      expect(prepared.every((p) => p.custom_plans === '0')).toBe(true);
      // The rest of the request's transaction plans as usual.
      expect(planCacheMode).toBe('auto');
    }
  });

  it('a filtered page keeps custom plans (no prepared page statement of its own)', async () => {
    const before = (await pageAndStatements({})).prepared.map((p) => p.name).sort();
    const { prepared, planCacheMode } = await pageAndStatements({ action: 'task.*' });
    expect(prepared.map((p) => p.name).sort()).toEqual(before);
    expect(planCacheMode).toBe('auto');
  });

  it('pages are exactly what one plain statement returns (the event ahead of the clock first)', async () => {
    const reference = (
      await t.query<{ id: string }>(`SELECT a.id FROM audit_logs a ORDER BY a.occurred_at DESC, a.id DESC`)
    ).map((r) => r.id);
    const walked = await walk('order=desc', 2);
    expect(walked).toEqual(reference);
    const futureId = (
      await t.query<{ id: string }>(`SELECT id FROM audit_logs WHERE description = 'Generic 0'`)
    )[0].id;
    expect(walked[0]).toBe(futureId);
  });
});
