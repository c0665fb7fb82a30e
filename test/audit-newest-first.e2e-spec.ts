import { randomUUID } from 'node:crypto';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { Tx } from '../src/database/transaction';
import type { AuditEventRow } from '../src/modules/audit/audit.types';
import { actionsForPrefix, buildPageQuery } from '../src/modules/audit/query/audit-query.builder';
import {
  AuditQueryService,
  FILTERED_PAGE_KEY,
  GENERIC_PAGE_KEY,
  PINNED_PAGE_KEY,
  RECENT_SLICE_HOURS,
} from '../src/modules/audit/query/audit-query.service';
import { AuditListQueryDto } from '../src/modules/audit/query/dto/audit-query.dto';
import { insertRows, seedRow } from './support/audit-seed';
import { auditPages } from './support/audit-pages';
import { loginAdmin } from './support/factories';
import { listOnOneConnection, onOneConnection } from './support/prepared';
import { createTestApp, TestApp } from './support/test-app';

/**
 * Newest-first pages without `q` are read in at most two statements (AuditQueryService.newestFirst):
 * the RECENT_SLICE_HOURS before the page's start, then, if the page is not full, everything older.
 * Whichever statements serve a page, the pages must be exactly what one ORDER BY … LIMIT would return.
 */
const HOUR = 3_600_000;
/** The hour at or before `ms`: where a first page's named newest slice starts (AuditQueryService.sliced). */
const onTheHour = (ms: number): number => Math.floor(ms / HOUR) * HOUR;
/** That slice's start for a first page read now, as its statement's text holds it. */
const firstPageSlice = (): { above: string; literal: true } => ({
  above: new Date(onTheHour(Date.now() - RECENT_SLICE_HOURS * HOUR)).toISOString(),
  literal: true,
});

describe('admin audit API: newest-first pages across the recent slice', () => {
  let t: TestApp;
  let admin: string;
  const now = Date.now();
  const actorId = randomUUID();
  const resourceId = randomUUID();
  const filter = `actorId=${actorId}`;
  // On the hour, as is its slice's start (to − RECENT_SLICE_HOURS): a first page's named newest slice
  // starts on the hour (AuditQueryService.sliced), so the edge events below sit on that start too.
  const edgeTo = onTheHour(now - 10 * HOUR);

  const { page, walk, tail } = auditPages(
    () => t,
    () => admin,
  );

  /** The reference: one plain statement over the whole table. */
  const expected = async (from?: string, to?: string): Promise<string[]> => {
    const rows = await t.query<{ id: string }>(
      `SELECT a.id FROM audit_logs a WHERE a.actor_id = $1
         AND ($2::timestamptz IS NULL OR a.occurred_at >= $2::timestamptz)
         AND ($3::timestamptz IS NULL OR a.occurred_at <= $3::timestamptz)
       ORDER BY a.occurred_at DESC, a.id DESC`,
      [actorId, from ?? null, to ?? null],
    );
    return rows.map((r) => r.id);
  };

  beforeAll(async () => {
    t = await createTestApp();
    admin = await loginAdmin(t.http);
    const slice = RECENT_SLICE_HOURS * HOUR;
    // Events of one actor: one stamped ahead of the clock, several inside the recent slice, two sharing
    // a timestamp, some on either side of the slice's edge, and old ones in other partitions.
    const ages = [-HOUR, 0.5 * HOUR, 3 * HOUR, 3 * HOUR, 30 * HOUR, slice - 60_000, slice + 60_000];
    ages.push(slice + 2 * 24 * HOUR, 45 * 24 * HOUR, 100 * 24 * HOUR);
    const rows: AuditEventRow[] = ages.map((age, i) =>
      seedRow({
        action: 'task.updated',
        occurredAt: new Date(now - age),
        actorType: 'user',
        actorId,
        resourceType: 'task',
        resourceId,
        description: `Change ${i}`,
      }),
    );
    // With `to` in the past the slice's edge is fixed (to − RECENT_SLICE_HOURS): events 1 ms after it,
    // on it (it belongs to the older statement) and 1 ms before it.
    for (const delta of [1, 0, -1])
      rows.push(
        seedRow({
          action: 'task.updated',
          occurredAt: new Date(edgeTo - slice + delta),
          actorType: 'user',
          actorId,
          resourceType: 'task',
          resourceId,
          description: `Edge ${delta}`,
        }),
      );
    // Other events, newer than all but the first, that the filter leaves out.
    for (let i = 0; i < 50; i++)
      rows.push(seedRow({ action: 'task.created', occurredAt: new Date(now - i * 1000) }));
    await insertRows(t, rows);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  // First: each connection names at most FILTERED_PAGE_BUDGET.max filtered texts, and the later tests'
  // walks (many page sizes and bounds) fill that budget.
  it("the newest slice of a filtered page is named after its text, the filter's values written into it as literals", async () => {
    // An actor id with a quote and a backslash: as a literal it must still mean itself.
    const odd = `o'brien\\${randomUUID()}`;
    const ids: string[] = [];
    const rows = [0, 1, 2].map((i) =>
      seedRow({
        action: 'attachment.downloaded',
        occurredAt: new Date(Date.now() - (i + 1) * HOUR),
        actorType: 'user',
        actorId: odd,
      }),
    );
    rows.forEach((r) => ids.push(r.id));
    await insertRows(t, rows);
    const dto = Object.assign(new AuditListQueryDto(), { limit: 2, actorId: odd });
    const { sql, params } = buildPageQuery(
      { actorId: odd },
      { order: 'desc', limit: 3, slice: firstPageSlice(), inlineLimit: true, inlineFilters: true },
    );
    // No parameter left: PostgreSQL plans it once and keeps the plan (every run a generic one).
    expect(params).toEqual([]);
    expect(sql).toContain(`a.actor_id = E'o''brien\\\\`);
    const runs = 7;
    const { pages, statements } = await listOnOneConnection(t, dto, runs, sql);
    for (const p of pages) expect(p).toEqual(ids.slice(0, 2));
    expect(statements).toHaveLength(1);
    expect(statements[0].name.startsWith(`${FILTERED_PAGE_KEY}_`)).toBe(true);
    expect(statements[0].generic).toBeGreaterThanOrEqual(runs);
    expect(statements[0].custom).toBe(0);
    // Over HTTP, the same page.
    expect((await page(`actorId=${encodeURIComponent(odd)}&limit=2`)).items.map((i) => i.id)).toEqual(
      ids.slice(0, 2),
    );
  });

  it('every page equals the single-statement order, whatever the page size', async () => {
    const want = await expected();
    expect(want).toHaveLength(13);
    for (const limit of [1, 2, 3, 4, 50]) expect(await walk(filter, limit)).toEqual(want);
  });

  it('a page that the recent slice fills, and one that it does not, with and without from/to', async () => {
    const want = await expected();
    // 5 recent events (the one ahead of the clock included): a page of 4 is full from the recent slice.
    expect((await page(`${filter}&limit=4`)).items.map((i) => i.id)).toEqual(want.slice(0, 4));
    expect((await page(`${filter}&limit=8`)).items.map((i) => i.id)).toEqual(want.slice(0, 8));
    const from = new Date(now - 60 * 24 * HOUR).toISOString();
    expect(await walk(`${filter}&from=${encodeURIComponent(from)}`, 3)).toEqual(await expected(from));
    const recentFrom = new Date(now - 2 * 24 * HOUR).toISOString();
    expect(await walk(`${filter}&from=${encodeURIComponent(recentFrom)}`, 2)).toEqual(
      await expected(recentFrom),
    );
    const edge = new Date(edgeTo).toISOString();
    const aroundEdge = await expected(undefined, edge);
    expect(aroundEdge).toHaveLength(9);
    for (const limit of [1, 2, 5])
      expect(await walk(`${filter}&to=${encodeURIComponent(edge)}`, limit)).toEqual(aroundEdge);
    // `from` exactly on the slice's edge: the event stamped at `from` (inclusive) is still found.
    const edgeFrom = new Date(edgeTo - RECENT_SLICE_HOURS * HOUR).toISOString();
    const fromEdge = await expected(edgeFrom, edge);
    expect(fromEdge).toHaveLength(5);
    for (const limit of [1, 50])
      expect(
        await walk(`${filter}&from=${encodeURIComponent(edgeFrom)}&to=${encodeURIComponent(edge)}`, limit),
      ).toEqual(fromEdge);
    const to = new Date(now - 2 * HOUR).toISOString();
    expect(await walk(`${filter}&to=${encodeURIComponent(to)}`, 2)).toEqual(await expected(undefined, to));
  });

  it('a filter pinning one resource is one statement, in the same order', async () => {
    const want = await expected();
    for (const limit of [2, 50])
      expect(await walk(`resourceType=task&resourceId=${resourceId}`, limit)).toEqual(want);
  });

  it('a page pinned to one resource is a named statement, reused on its connection', async () => {
    // Planned over every partition, it is worth PostgreSQL's plan cache: one prepared statement per
    // connection and page shape, run again for each page (custom or generic plan, its choice).
    const dto = Object.assign(new AuditListQueryDto(), { resourceType: 'task', resourceId, limit: 4 });
    const { sql } = buildPageQuery({ resourceType: 'task', resourceId }, { order: 'desc', limit: 5 });
    const runs = 7;
    const { pages, statements } = await listOnOneConnection(t, dto, runs, sql);
    const want = (await expected()).slice(0, 4);
    for (const p of pages) expect(p).toEqual(want);
    expect(statements).toHaveLength(1);
    expect(statements[0].name.startsWith(`${PINNED_PAGE_KEY}_`)).toBe(true);
    expect(statements[0].generic + statements[0].custom).toBeGreaterThanOrEqual(runs);
  });

  it('pages filtered by time only, or not at all (the named newest slice), equal the single-statement order', async () => {
    const all = async (from?: string, to?: string): Promise<string[]> =>
      (
        await t.query<{ id: string }>(
          `SELECT a.id FROM audit_logs a
            WHERE ($1::timestamptz IS NULL OR a.occurred_at >= $1::timestamptz)
              AND ($2::timestamptz IS NULL OR a.occurred_at <= $2::timestamptz)
            ORDER BY a.occurred_at DESC, a.id DESC`,
          [from ?? null, to ?? null],
        )
      ).map((r) => r.id);
    // `to` in the past: no event of the test's own requests gets in between.
    const edge = new Date(edgeTo).toISOString();
    const from = new Date(now - 60 * 24 * HOUR).toISOString();
    expect(await all(undefined, edge)).toHaveLength(9);
    for (const limit of [1, 3, 50])
      expect(await walk(`to=${encodeURIComponent(edge)}`, limit)).toEqual(await all(undefined, edge));
    expect(await walk(`from=${encodeURIComponent(from)}&to=${encodeURIComponent(edge)}`, 2)).toEqual(
      await all(from, edge),
    );
    // The newest page, again and again (a page's own audit event is written after its query).
    for (let i = 0; i < 8; i++) {
      const want = (await all()).slice(0, 5);
      expect((await page('limit=5')).items.map((item) => item.id)).toEqual(want);
    }
  });

  it('the newest slice of an unfiltered page is a named statement, reused on its connection', async () => {
    const dto = Object.assign(new AuditListQueryDto(), { limit: 4 });
    // The text holds the slice's start, on the hour, as the service computes it.
    const { sql, params } = buildPageQuery(
      {},
      { order: 'desc', limit: 5, slice: firstPageSlice(), inlineLimit: true },
    );
    expect(params).toEqual([]);
    const runs = 7;
    const { pages, statements } = await listOnOneConnection(t, dto, runs, sql);
    for (const p of pages) expect(p).toHaveLength(4);
    expect(sql).toMatch(/LIMIT 5$/);
    expect(statements).toHaveLength(1);
    expect(statements[0].name.startsWith(`${GENERIC_PAGE_KEY}_`)).toBe(true);
    expect(statements[0].generic + statements[0].custom).toBeGreaterThanOrEqual(runs);
  });

  it('a page below a cursor: its named newest slice runs with the generic plan from its second run, the same page each time', async () => {
    const first = await page(`${filter}&limit=2`);
    expect(first.nextCursor).toBeTruthy();
    const dto = Object.assign(new AuditListQueryDto(), {
      limit: 2,
      actorId,
      cursor: first.nextCursor as string,
    });
    const want = (await expected()).slice(2, 4);
    const runs = 4;
    const { result } = await onOneConnection(t, async () => {
      // The filtered newest slice below a cursor (the cursor a parameter), on this connection.
      const plans = async (): Promise<{ generic: number; custom: number }> => {
        const rows = await t.app.get<Tx>(TransactionHost).tx.query<{ generic: number; custom: number }[]>(
          `SELECT coalesce(sum(generic_plans), 0)::int AS generic, coalesce(sum(custom_plans), 0)::int AS custom
               FROM pg_prepared_statements WHERE name LIKE $1 AND statement LIKE $2`,
          [`${FILTERED_PAGE_KEY}_%`, '%(a.occurred_at, a.id) < %'],
        );
        return rows[0];
      };
      const before = await plans();
      const pages: string[][] = [];
      for (let i = 0; i < runs; i++)
        pages.push((await t.app.get(AuditQueryService).list(dto)).items.map((item) => item.id));
      const after = await plans();
      return { pages, generic: after.generic - before.generic, custom: after.custom - before.custom };
    }, []);
    for (const p of result.pages) expect(p).toEqual(want);
    // At most the first run (if the statement was new on this connection) planned afresh.
    expect(result.custom).toBeLessThanOrEqual(1);
    expect(result.generic).toBeGreaterThanOrEqual(runs - 1);
    expect(result.generic + result.custom).toBe(runs);
  });

  it('pages filtered by action (one, or a prefix) equal the single-statement order, past newer events of other actions', async () => {
    // Read one action at a time (buildPageQuery): the 50 task.created events are newer than the 16
    // task.updated ones, and the test's own requests keep writing audit.viewed events newer than both.
    const byAction = async (actions: string[], order: 'desc' | 'asc', to?: string): Promise<string[]> =>
      (
        await t.query<{ id: string }>(
          `SELECT a.id FROM audit_logs a
            WHERE a.action = ANY($1::text[]) AND ($2::timestamptz IS NULL OR a.occurred_at <= $2::timestamptz)
            ORDER BY a.occurred_at ${order}, a.id ${order}`,
          [actions, to ?? null],
        )
      ).map((r) => r.id);
    const task = actionsForPrefix('task');
    expect(task).toEqual(expect.arrayContaining(['task.created', 'task.updated']));
    expect(await byAction(['task.updated'], 'desc')).toHaveLength(13);
    for (const limit of [1, 3, 50]) {
      expect(await walk('action=task.updated', limit)).toEqual(await byAction(['task.updated'], 'desc'));
      expect(await walk('action=task.*', limit)).toEqual(await byAction(task, 'desc'));
    }
    const edge = new Date(edgeTo).toISOString();
    expect(await walk(`action=task.*&to=${encodeURIComponent(edge)}`, 2)).toEqual(
      await byAction(task, 'desc', edge),
    );
    // Oldest first (a tail: nextCursor is always set), page after page until an empty one.
    expect(await tail('action=task.*', 7)).toEqual(await byAction(task, 'asc'));
  });

  it('oldest-first tails, with and without from/to, by actor and by action, equal the single-statement order', async () => {
    // A lower time bound without an upper one (`from`, an oldest-first cursor) is compared with a value
    // the planner cannot see, plus the first of its month (buildPageQuery, lowerTimeBound); with `to`
    // it is plain. Either way the pages must be those of one plain statement.
    const ordered = async (where: string, params: unknown[], order: 'asc' | 'desc'): Promise<string[]> =>
      (
        await t.query<{ id: string }>(
          `SELECT a.id FROM audit_logs a WHERE ${where} ORDER BY a.occurred_at ${order}, a.id ${order}`,
          params,
        )
      ).map((r) => r.id);
    const enc = (d: number): string => encodeURIComponent(new Date(d).toISOString());
    const recent = now - 2 * 24 * HOUR;
    const old = now - 60 * 24 * HOUR;
    const mine = 'a.actor_id = $1';
    const all = await ordered(mine, [actorId], 'asc');
    expect(all).toHaveLength(13);
    for (const limit of [1, 2, 50]) {
      expect(await tail(filter, limit)).toEqual(all);
      expect(await tail(`${filter}&from=${enc(recent)}`, limit)).toEqual(
        await ordered(`${mine} AND a.occurred_at >= $2`, [actorId, new Date(recent)], 'asc'),
      );
      expect(await tail(`${filter}&from=${enc(old)}&to=${enc(edgeTo)}`, limit)).toEqual(
        await ordered(
          `${mine} AND a.occurred_at BETWEEN $2 AND $3`,
          [actorId, new Date(old), new Date(edgeTo)],
          'asc',
        ),
      );
      const task = 'a.action = ANY($1::text[]) AND a.occurred_at >= $2';
      expect(await tail(`action=task.*&from=${enc(recent)}`, limit)).toEqual(
        await ordered(task, [actionsForPrefix('task'), new Date(recent)], 'asc'),
      );
    }
    // Newest first from a recent `from`, by action (the per-action read, its lower bound unestimated).
    const since = `a.action = 'task.updated' AND a.occurred_at >= $1`;
    for (const limit of [1, 50])
      expect(await walk(`action=task.updated&from=${enc(recent)}`, limit)).toEqual(
        await ordered(since, [new Date(recent)], 'desc'),
      );
  });

  it('the errors view and unfiltered lists are served the same way', async () => {
    const body = await page('limit=5');
    const [newest] = await t.query<{ id: string }>(
      `SELECT a.id FROM audit_logs a ORDER BY a.occurred_at DESC, a.id DESC LIMIT 1`,
    );
    expect(body.items[0].id).toBe(newest.id);
    expect(body.items).toHaveLength(5);
  });
});
