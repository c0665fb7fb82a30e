import { Client } from 'pg';
import { AUDIT_INSERT_COLUMNS, auditInsertValues } from '../src/modules/audit/audit-writer';
import { AuditSealer } from '../src/modules/audit/integrity/audit-sealer.service';
import { canonicalSelect, ChainRow, eventHash } from '../src/modules/audit/integrity/canonical';
import { buildFeedQuery } from '../src/modules/audit/query/audit-query.builder';
import { AuditQueryService } from '../src/modules/audit/query/audit-query.service';
import { AuditFeedQueryDto } from '../src/modules/audit/query/dto/audit-query.dto';
import { eventsOfRequest, rid } from './support/audit';
import { insertApiKey, insertRows, seedRow } from './support/audit-seed';
import { expectErrorShape } from './support/error-shape';
import { bearer, loginAdmin } from './support/factories';
import { onOneConnection } from './support/prepared';
import { createTestApp, onServer, TestApp } from './support/test-app';

interface FeedItem {
  id: string;
  seq: number;
  occurredAt: string;
  action: string;
  description: string;
  sealed: boolean;
  chain: { pos: number; prevHash: string; hash: string };
}
interface FeedPage {
  items: FeedItem[];
  limit: number;
  nextAfter: number;
}

const FEED = '/api/v1/audit-logs/feed';
const GENESIS = '0'.repeat(64);

/**
 * GET /audit-logs/feed: chained events in chain order, paged by chain position. What it must show:
 * every chained event exactly once, in order, each linked to the one before; nothing before it is
 * chained; no event skipped when its transaction commits after newer events were delivered.
 */
describe('admin audit API: the chain-ordered feed', () => {
  let t: TestApp;
  let admin: string;
  let sealer: AuditSealer;

  const get = (path: string) => t.http.get(path).set(...bearer(admin));
  const feed = async (query: string): Promise<FeedPage> =>
    (await get(`${FEED}?${query}`).expect(200)).body as FeedPage;

  /** Every page from `after` on, `limit` at a time, until an empty page; the pages' items in order. */
  async function drain(after: number, limit: number): Promise<{ items: FeedItem[]; next: number }> {
    const items: FeedItem[] = [];
    let next = after;
    for (;;) {
      const page = await feed(`after=${next}&limit=${limit}`);
      expect(page.limit).toBe(limit);
      items.push(...page.items);
      if (page.items.length === 0) {
        expect(page.nextAfter).toBe(next); // an empty page keeps the position
        return { items, next };
      }
      expect(page.nextAfter).toBe(page.items[page.items.length - 1].chain.pos);
      next = page.nextAfter;
    }
  }

  /** Each item links to the one before it (the first to `prev`), positions consecutive. */
  function expectLinked(items: FeedItem[], prev: { pos: number; hash: string }): void {
    for (const item of items) {
      expect(item.chain.pos).toBe(prev.pos + 1);
      expect(item.chain.prevHash).toBe(prev.hash);
      expect(item.chain.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(item.sealed).toBe(true);
      prev = item.chain;
    }
  }

  beforeAll(async () => {
    t = await createTestApp();
    admin = await loginAdmin(t.http);
    sealer = t.app.get(AuditSealer);
    const rows = Array.from({ length: 120 }, (_, i) =>
      seedRow({
        action: 'task.updated',
        occurredAt: new Date(Date.UTC(2025, 2, 1, 0, 0, i)),
        description: `Feed seed ${i}`,
      }),
    );
    await insertRows(t, rows);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('pages through every chained event once, in chain order, each linked to the one before', async () => {
    await sealer.sealOnce();
    const { items } = await drain(0, 37);
    const [{ n }] = await t.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_chain`);
    expect(items).toHaveLength(Number(n));
    expect(items.length).toBeGreaterThanOrEqual(120);
    expectLinked(items, { pos: 0, hash: GENESIS });
    expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
    const seeds = items.filter((i) => i.description.startsWith('Feed seed '));
    expect(seeds.map((i) => i.description)).toEqual(Array.from({ length: 120 }, (_, i) => `Feed seed ${i}`));
    // One page of 200 is the same as the pages of 37.
    expect((await feed('limit=200')).items.map((i) => i.id)).toEqual(items.slice(0, 200).map((i) => i.id));
  });

  it('carries the chain’s own hashes: each recomputes from the stored event (the verifier’s view)', async () => {
    const page = await feed('after=5&limit=10');
    expect(page.items.map((i) => i.chain.pos)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const rows = await t.query<ChainRow>(
      `SELECT ${canonicalSelect('a', 'c')} FROM audit_chain c
         JOIN audit_logs a ON a.seq = c.seq AND a.occurred_at = c.occurred_at
        WHERE c.chain_pos BETWEEN 6 AND 15 ORDER BY c.chain_pos`,
    );
    expect(rows).toHaveLength(10);
    rows.forEach((row, i) => {
      const item = page.items[i];
      expect(item.seq).toBe(Number(row.seq));
      expect(item.chain.prevHash).toBe((row.prev_hash as Buffer).toString('hex'));
      expect(item.chain.hash).toBe(eventHash(row.prev_hash as Buffer, row).toString('hex'));
    });
  });

  it('shows an event only once it is chained, then from the position it was given', async () => {
    await sealer.sealOnce();
    const { items: before, next } = await drain(0, 200);
    const last = before[before.length - 1];
    await insertRows(t, [seedRow({ action: 'task.created', description: 'Feed newcomer' })]);
    const pending = await feed(`after=${next}&limit=50`);
    // Only what the feed calls itself has chained meanwhile: the newcomer is still queued.
    expect(pending.items.map((i) => i.description)).not.toContain('Feed newcomer');
    await sealer.sealOnce();
    const { items: after } = await drain(next, 50);
    expect(after.map((i) => i.description)).toContain('Feed newcomer');
    expectLinked(after, last.chain);
  });

  // Two connections with an open transaction: a PostgreSQL server only (PGlite is one session).
  (onServer() ? it : it.skip)(
    'never skips an event whose transaction commits after newer events were delivered',
    async () => {
      await sealer.sealOnce();
      const { next } = await drain(0, 200);
      // A long request: its event is stamped now, but its transaction stays open.
      const late = new Client({ connectionString: t.databaseUrl });
      await late.connect();
      try {
        const lateAt = new Date(Date.now() - 60_000);
        const lateRow = seedRow({
          action: 'task.deleted',
          occurredAt: lateAt,
          description: 'Feed late commit',
        });
        await late.query('BEGIN');
        const values = AUDIT_INSERT_COLUMNS.map((_c, i) => `$${i + 1}`).join(', ');
        await late.query(
          `INSERT INTO audit_logs (${AUDIT_INSERT_COLUMNS.join(', ')}) VALUES (${values})`,
          auditInsertValues(lateRow),
        );
        // Meanwhile a newer event commits, is chained and delivered.
        await insertRows(t, [
          seedRow({ action: 'task.created', occurredAt: new Date(), description: 'Feed on time' }),
        ]);
        await sealer.sealOnce();
        const first = await drain(next, 50);
        const onTime = first.items.find((i) => i.description === 'Feed on time');
        expect(onTime).toBeDefined();
        expect(first.items.map((i) => i.description)).not.toContain('Feed late commit');
        // The late event is older than what was delivered: a reader paging by time has passed it.
        expect(Date.parse(onTime?.occurredAt ?? '')).toBeGreaterThan(lateAt.getTime());
        await late.query('COMMIT');
        await sealer.sealOnce();
        const second = await drain(first.next, 50);
        expect(second.items.map((i) => i.description)).toContain('Feed late commit');
        expectLinked(second.items, first.items[first.items.length - 1].chain);
      } finally {
        await late.end();
      }
    },
  );

  it('records audit.viewed with the position and the row count', async () => {
    const id = rid('feed-viewed');
    const res = await get(`${FEED}?after=3&limit=4`).set('X-Request-Id', id).expect(200);
    expect((res.body as FeedPage).items).toHaveLength(4);
    const [viewed] = await eventsOfRequest(t, id);
    expect(viewed).toMatchObject({
      action: 'audit.viewed',
      outcome: 'success',
      metadata: expect.objectContaining({ view: 'feed', after: 3, limit: 4, rowCount: 4 }),
    });
  });

  it('runs as a prepared statement per page size whose generic plan serves every position', async () => {
    // With `LIMIT $2` PostgreSQL's plan cache never chose the generic plan and planned every page over
    // every partition; the LIMIT is inlined, so from the sixth page on one plan serves every position.
    const service = t.app.get(AuditQueryService);
    const { statements } = await onOneConnection(t, async () => {
      for (let after = 0; after < 8; after++)
        await service.feed(Object.assign(new AuditFeedQueryDto(), { after, limit: 3 }));
      await service.feed(Object.assign(new AuditFeedQueryDto(), { after: 0, limit: 4 }));
    }, [buildFeedQuery(3), buildFeedQuery(4)]);
    const bySize = new Map(statements.map((s) => [s.statement, s.generic]));
    expect(bySize.size).toBe(2);
    expect(bySize.get(buildFeedQuery(3))).toBeGreaterThan(0);
  });

  it('serves an API key with the audit:read scope and refuses one without it', async () => {
    const reader = await insertApiKey(t, { name: 'Feed SIEM', scopes: ['audit:read'] });
    const other = await insertApiKey(t, { name: 'Feed other', scopes: [] });
    const ok = await t.http.get(`${FEED}?limit=3`).set('X-Api-Key', reader.secret).expect(200);
    expect((ok.body as FeedPage).items).toHaveLength(3);
    await t.http.get(`${FEED}?limit=3`).set('X-Api-Key', other.secret).expect(403);
    await t.http.get(`${FEED}?limit=3`).expect(401);
  });

  // Last: it removes events (committed), as an attacker with the superuser's rights could.
  it('moves past chain rows whose events are gone: a gap in positions, never a stalled feed', async () => {
    const before = await feed('after=2&limit=5');
    expect(before.items.map((i) => i.chain.pos)).toEqual([3, 4, 5, 6, 7]);
    await t.dataSource.transaction(async (m) => {
      await m.query('SET LOCAL session_replication_role = replica');
      await m.query(
        `DELETE FROM audit_logs a USING audit_chain c
          WHERE a.seq = c.seq AND a.occurred_at = c.occurred_at AND c.chain_pos BETWEEN 3 AND 7`,
      );
    });
    const gone = await feed('after=2&limit=5');
    expect(gone.items).toEqual([]);
    expect(gone.nextAfter).toBe(7); // past the five chain rows read, not stuck at 2
    const next = await feed(`after=${gone.nextAfter}&limit=2`);
    expect(next.items.map((i) => i.chain.pos)).toEqual([8, 9]);
    // A page across the gap: the positions jump, and prevHash still names the missing event's hash.
    const across = await feed('after=1&limit=8');
    expect(across.items.map((i) => i.chain.pos)).toEqual([2, 8, 9]);
    expect(across.items[1].chain.prevHash).toBe(before.items[4].chain.hash);
  });

  const bad: [string, RegExp][] = [
    ['after=-1', /after/],
    ['after=abc', /after/],
    ['after=1.5', /after/],
    ['after=9007199254740992', /after/],
    ['limit=0', /limit/],
    ['limit=201', /limit/],
    ['order=asc', /order/],
  ];
  it.each(bad)('GET /audit-logs/feed?%s → 400 naming the parameter', async (query, message) => {
    const res = await get(`${FEED}?${query}`);
    expectErrorShape(res, 400);
    expect(JSON.stringify(res.body.message)).toMatch(message);
  });
});
