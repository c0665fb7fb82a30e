import type { AuditEventRow } from '../src/modules/audit/audit.types';
import {
  AUDIT_SEARCH_EXPRESSION,
  buildSearchWalkQuery,
  HEAD_RATE_SQL,
} from '../src/modules/audit/query/audit-query.builder';
import {
  SEARCH_SLICE_HOURS,
  SEARCH_WALK_KEY,
  SEARCH_WALK_ROWS,
} from '../src/modules/audit/query/audit-query.service';
import { AuditListQueryDto } from '../src/modules/audit/query/dto/audit-query.dto';
import { insertRows, seedRow } from './support/audit-seed';
import { auditPages } from './support/audit-pages';
import { loginAdmin } from './support/factories';
import { listOnOneConnection } from './support/prepared';
import { createTestApp, TestApp } from './support/test-app';

/**
 * Free-text search (`q`, newest first) runs in two phases (AuditQueryService.searchNewest): a bounded
 * walk of the newest rows, then the trigram index one slice of time at a time. Whatever phase and
 * slices serve a page, the pages must be exactly what one ORDER BY … LIMIT statement would return.
 */
const HOUR = 3_600_000;

describe('admin audit API: free-text search', () => {
  let t: TestApp;
  let admin: string;
  const now = Date.now();

  const { page, walk } = auditPages(
    () => t,
    () => admin,
  );

  /** The reference: one plain statement over the whole table. */
  const expected = async (term: string, from?: string, to?: string): Promise<string[]> => {
    const rows = await t.query<{ id: string }>(
      `SELECT a.id FROM audit_logs a WHERE ${AUDIT_SEARCH_EXPRESSION} ILIKE $1
         AND ($2::timestamptz IS NULL OR a.occurred_at >= $2::timestamptz)
         AND ($3::timestamptz IS NULL OR a.occurred_at <= $3::timestamptz)
       ORDER BY a.occurred_at DESC, a.id DESC`,
      [`%${term}%`, from ?? null, to ?? null],
    );
    return rows.map((r) => r.id);
  };

  beforeAll(async () => {
    t = await createTestApp();
    admin = await loginAdmin(t.http);
    const rows: AuditEventRow[] = [];
    const at = (ms: number): Date => new Date(now - ms);
    // Matches spread over every slice of the second phase, and beyond the last one; two share a timestamp.
    const quokkaAges = [0.2 * HOUR, 3 * HOUR, 3 * HOUR, 20 * HOUR, 5 * 24 * HOUR, 40 * 24 * HOUR];
    quokkaAges.push((SEARCH_SLICE_HOURS[SEARCH_SLICE_HOURS.length - 1] + 500) * HOUR);
    for (const [i, age] of quokkaAges.entries())
      rows.push(
        seedRow({ action: 'task.updated', occurredAt: at(age), description: `Quokka sighting ${i}` }),
      );
    // Two platypus events, the older exactly one first slice below a `to` 20 days back (see its test).
    const platypusTo = now - 20 * 24 * HOUR;
    for (const at of [platypusTo - SEARCH_SLICE_HOURS[0] * HOUR, platypusTo - 0.5 * HOUR])
      rows.push(seedRow({ action: 'task.updated', occurredAt: new Date(at), description: 'Platypus seen' }));
    // Echidnas in the newest slice's hours and stamped ahead of the clock (a skewed client's clock, an
    // import): the first phase walks the future ones but not the one below the newer rows, so the
    // newest slice, read hour by hour plus everything from the hour after now's, must hold all of them.
    for (const age of [-3 * HOUR, -0.5 * HOUR, 0.5 * HOUR])
      rows.push(seedRow({ action: 'task.updated', occurredAt: at(age), description: 'Echidna spotted' }));
    // Newer than every quokka: more rows than the first phase walks, a few of them wombats.
    const newer = SEARCH_WALK_ROWS + 100;
    for (let i = 0; i < newer; i++)
      rows.push(
        seedRow({
          action: 'task.created',
          occurredAt: at(0.1 * HOUR - i * 100),
          description: i % 7 === 0 ? `Wombat burrow ${i}` : `Ordinary event ${i}`,
        }),
      );
    await insertRows(t, rows);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('a term absent from the newest rows: every page equals the single-statement order, across slices', async () => {
    const want = await expected('quokka');
    expect(want).toHaveLength(7);
    expect(await walk('q=quokka', 2)).toEqual(want);
    expect(await walk('q=QUOKKA', 200)).toEqual(want);
    const first = await page('q=quokka&limit=3');
    expect(first.items.map((i) => i.description).slice(0, 1)).toEqual(['Quokka sighting 0']);
    // The two events that share a timestamp come in id order (descending), like the plain statement.
    expect(first.items.map((i) => i.id)).toEqual(want.slice(0, 3));
  });

  it('honours from: no slice below it', async () => {
    const from = new Date(now - 10 * 24 * HOUR).toISOString();
    const want = await expected('quokka', from);
    expect(want).toHaveLength(5);
    expect(await walk(`q=quokka&from=${encodeURIComponent(from)}`, 2)).toEqual(want);
  });

  it('honours to: the slices count back from it', async () => {
    const to = new Date(now - 2 * 24 * HOUR).toISOString();
    const want = await expected('quokka', undefined, to);
    expect(want).toHaveLength(3);
    expect(await walk(`q=quokka&to=${encodeURIComponent(to)}`, 2)).toEqual(want);
  });

  it('from exactly where a slice ends: the event stamped at from (inclusive) is found', async () => {
    const to = new Date(now - 20 * 24 * HOUR).toISOString();
    const from = new Date(Date.parse(to) - SEARCH_SLICE_HOURS[0] * HOUR).toISOString();
    const want = await expected('platypus', from, to);
    expect(want).toHaveLength(2);
    const body = await page(
      `q=platypus&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&limit=5`,
    );
    expect(body.items.map((i) => i.id)).toEqual(want);
  });

  it('the newest slice hour by hour: events in its hours and events stamped ahead of the clock, in order, page after page', async () => {
    const want = await expected('echidna');
    expect(want).toHaveLength(3);
    expect(await walk('q=echidna', 1)).toEqual(want);
    expect((await page('q=echidna&limit=5')).items.map((i) => i.id)).toEqual(want);
    // `to` ahead of the clock: the page still starts now and ends at `to`.
    const to = new Date(now + 1.5 * HOUR).toISOString();
    const bounded = await expected('echidna', undefined, to);
    expect(bounded).toHaveLength(2);
    expect(await walk(`q=echidna&to=${encodeURIComponent(to)}`, 1)).toEqual(bounded);
  });

  it('a term frequent among the newest rows is served by the walk, in order, page after page', async () => {
    const want = await expected('wombat');
    expect(want.length).toBeGreaterThan(100);
    expect(await walk('q=wombat', 50)).toEqual(want);
  });

  it('a term that matches nothing: an empty page, no cursor', async () => {
    const body = await page('q=nothing-matches-this&limit=10');
    expect(body.items).toEqual([]);
    expect(body.nextCursor).toBeNull();
  });

  it('includeTotal counts every match (the planner settings of the second phase are restored before it)', async () => {
    const body = await page('q=quokka&limit=2&includeTotal=true');
    expect(body.total).toBe(7);
    expect(body.items).toHaveLength(2);
  });

  it('the first phase of a search by text alone is a named statement (LIMITs inline), reused on its connection', async () => {
    const dto = Object.assign(new AuditListQueryDto(), { q: 'wombat', limit: 4 });
    const { sql } = buildSearchWalkQuery(
      { q: 'wombat' },
      { limit: 5, walkRows: SEARCH_WALK_ROWS, inlineLimit: true },
    );
    const runs = 7;
    const { pages, statements } = await listOnOneConnection(t, dto, runs, sql);
    expect(sql).toMatch(new RegExp(`LIMIT ${SEARCH_WALK_ROWS}\\).* LIMIT 5$`));
    const want = (await expected('wombat')).slice(0, 4);
    for (const p of pages) expect(p).toEqual(want);
    expect(statements).toHaveLength(1);
    expect(statements[0].name.startsWith(`${SEARCH_WALK_KEY}_`)).toBe(true);
    expect(statements[0].generic + statements[0].custom).toBeGreaterThanOrEqual(runs);
  });

  it('with another filter the walk stays an unnamed statement, planned for its values', async () => {
    const body = await page('q=wombat&actorType=user&limit=3');
    const rows = await t.query<{ id: string }>(
      `SELECT a.id FROM audit_logs a WHERE ${AUDIT_SEARCH_EXPRESSION} ILIKE '%wombat%' AND a.actor_type = 'user'
        ORDER BY a.occurred_at DESC, a.id DESC LIMIT 3`,
    );
    expect(body.items.map((i) => i.id)).toEqual(rows.map((r) => r.id));
    // (On the embedded database, one session: no statement was prepared for it. On a server this looks
    // at one pooled connection only.)
    const named = await t.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE '%actor_type = $%'`,
    );
    expect(named[0].n).toBe(0);
  });

  it('the rate read of the second phase is a prepared statement, planned once per connection', async () => {
    const dto = Object.assign(new AuditListQueryDto(), { q: 'quokka', limit: 3 });
    const runs = 3;
    const { pages, statements } = await listOnOneConnection(t, dto, runs, HEAD_RATE_SQL);
    const want = (await expected('quokka')).slice(0, 3);
    for (const p of pages) expect(p).toEqual(want);
    // No parameters: one plan, made at the first run and reused.
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ custom: 0 });
    expect(statements[0].generic).toBeGreaterThanOrEqual(runs);
  });
});
