import { createHash, randomUUID } from 'node:crypto';
import type { AuditEventRow } from '../src/modules/audit/audit.types';
import { AuditSealer } from '../src/modules/audit/integrity/audit-sealer.service';
import { auditEvents, eventsOfRequest, rid } from './support/audit';
import { insertApiKey, insertRows, seedRow } from './support/audit-seed';
import { parseCsv } from './support/csv';
import { expectErrorShape } from './support/error-shape';
import { bearer, createUser, loginAdmin, TestUser } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

interface Item {
  id: string;
  seq: number;
  occurredAt: string;
  action: string;
  category: string;
  outcome: string;
  severity: string;
  actor: { type: string; id: string | null; display: string | null };
  resource: { type: string | null; id: string | null; display: string | null };
  request: {
    id: string | null;
    method: string | null;
    path: string | null;
    statusCode: number | null;
    durationMs: number | null;
    ip: string | null;
    userAgent: string | null;
  };
  changes: unknown;
  metadata: Record<string, unknown>;
  description: string;
  error: { type: string | null; message: string | null; stack: string | null } | null;
  display: { label: string; color: string };
  sealed: boolean;
}
interface Page {
  items: Item[];
  limit: number;
  nextCursor: string | null;
  total?: number;
}

const API = '/api/v1/audit-logs';
const U1 = randomUUID();
const U2 = randomUUID();
const K1 = randomUUID();
const TASKS = [randomUUID(), randomUUID(), randomUUID()];
const SEED_FROM = '2025-03-01T00:00:00Z';
const SEED_TO = '2025-03-02T00:00:00Z';
const ACTORS = [
  { actorType: 'user', actorId: U1, actorDisplay: 'Ann Lee <ann@seed.example>' },
  { actorType: 'user', actorId: U2, actorDisplay: 'Bob Stone <bob@seed.example>' },
  { actorType: 'api_key', actorId: K1, actorDisplay: 'SIEM key' },
  { actorType: 'system', actorId: null, actorDisplay: 'System' },
  { actorType: 'anonymous', actorId: null, actorDisplay: null },
] as const;
const ACTIONS = [
  'task.created',
  'task.updated',
  'task.deleted',
  'user.created',
  'auth.login_failed',
  'error.unhandled',
  'access.denied',
] as const;
const IPS = ['10.1.2.3', '10.9.9.9', '192.168.0.5', '2001:db8::1', null, null];

/** 42 events on 2025-03-01, one a minute, varied on every filterable field. */
function seedEvents(): AuditEventRow[] {
  return Array.from({ length: 42 }, (_, i) => {
    const action = ACTIONS[i % ACTIONS.length];
    const actor = ACTORS[i % ACTORS.length];
    let outcome: AuditEventRow['outcome'] = 'success';
    let severity: AuditEventRow['severity'] = 'info';
    let errorType: string | null = null;
    if (action === 'error.unhandled') {
      outcome = 'error';
      severity = i % 2 ? 'critical' : 'error';
      errorType = i % 2 ? 'QueryFailedError' : 'TypeError';
    } else if (action === 'access.denied' || action === 'auth.login_failed') {
      outcome = 'failure';
      severity = 'warning';
      errorType = 'ForbiddenError';
    } else if (i % 9 === 0) {
      outcome = 'failure';
      severity = 'error';
      errorType = 'ConflictError';
    }
    const task = action.startsWith('task.');
    return seedRow({
      action,
      occurredAt: new Date(Date.parse(SEED_FROM) + i * 60_000),
      outcome,
      severity,
      ...actor,
      resourceType: task ? 'task' : action === 'user.created' ? 'user' : null,
      resourceId: task ? TASKS[i % 3] : action === 'user.created' ? U2 : null,
      resourceDisplay: task ? `Task zürich #${i % 3}` : action === 'user.created' ? 'Bob Stone' : null,
      requestId: `seed-req-${i % 10}`,
      httpMethod: 'POST',
      httpPath: '/api/v1/things',
      statusCode: outcome === 'success' ? 200 : outcome === 'error' ? 500 : 403,
      ipAddress: IPS[i % IPS.length],
      description:
        i === 7 ? 'Needle in the haystack' : `${actor.actorDisplay ?? 'Someone'} did ${action} #${i}`,
      errorType,
      errorMessage: errorType ? `${errorType} happened` : null,
      errorStack: outcome === 'error' ? `Error: boom\n    at seed (seed.ts:${i}:1)` : null,
    });
  });
}

const inCidr = (ip: string | null, cidr: string): boolean => {
  if (!ip) return false;
  if (cidr === '10.0.0.0/8') return ip.startsWith('10.');
  if (cidr === '2001:db8::/32') return ip.startsWith('2001:db8:');
  return ip === cidr;
};

describe('admin audit API', () => {
  let t: TestApp;
  let admin: string;
  let user: TestUser;
  let seeds: AuditEventRow[];
  let scopedKey: string;
  let noScopeKey: string;
  let revokedKey: string;
  let expiredKey: string;

  const get = (path: string, token = admin) => t.http.get(path).set(...bearer(token));
  const page = async (query: string, token = admin): Promise<Page> => {
    const res = await get(`${API}?${query}`, token);
    expect(res.status).toBe(200);
    return res.body as Page;
  };

  beforeAll(async () => {
    t = await createTestApp();
    admin = await loginAdmin(t.http);
    user = await createUser(t.http, admin);
    seeds = seedEvents();
    await insertRows(t, seeds);
    const created = await t.http
      .post('/api/v1/api-keys')
      .set(...bearer(admin))
      .send({ name: 'SIEM pull', scopes: ['audit:read'] })
      .expect(201);
    scopedKey = (created.body as { secret: string }).secret;
    noScopeKey = (await insertApiKey(t, { name: 'no scope', scopes: [] })).secret;
    revokedKey = (await insertApiKey(t, { name: 'revoked', scopes: ['audit:read'], revoked: true })).secret;
    expiredKey = (
      await insertApiKey(t, { name: 'expired', scopes: ['audit:read'], expiresAt: '2020-01-01T00:00:00Z' })
    ).secret;
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('GET /audit-logs: filters', () => {
    const window = `from=${SEED_FROM}&to=${SEED_TO}`;

    it('returns items in the documented shape, newest first', async () => {
      const body = await page(`${window}&limit=3`);
      expect(Object.keys(body).sort()).toEqual(['items', 'limit', 'nextCursor']);
      expect(body.limit).toBe(3);
      expect(body.items.map((i) => i.occurredAt)).toEqual([
        '2025-03-01T00:41:00.000000Z',
        '2025-03-01T00:40:00.000000Z',
        '2025-03-01T00:39:00.000000Z',
      ]);
      const item = body.items[0];
      expect(Object.keys(item).sort()).toEqual(
        [
          'id',
          'seq',
          'occurredAt',
          'action',
          'category',
          'outcome',
          'severity',
          'actor',
          'resource',
          'request',
          'changes',
          'metadata',
          'description',
          'error',
          'display',
          'sealed',
        ].sort(),
      );
      expect(Object.keys(item.actor).sort()).toEqual(['display', 'id', 'type']);
      expect(Object.keys(item.resource).sort()).toEqual(['display', 'id', 'type']);
      expect(Object.keys(item.request).sort()).toEqual(
        ['durationMs', 'id', 'ip', 'method', 'path', 'statusCode', 'userAgent'].sort(),
      );
      expect(item.sealed).toBe(false);
      expect(typeof item.seq).toBe('number');
      const colours = new Map(
        (await page(`${window}&limit=200`)).items.map((i) => [
          i.outcome,
          `${i.display.label}/${i.display.color}`,
        ]),
      );
      expect(Object.fromEntries(colours)).toEqual({
        success: 'Success/green',
        failure: 'Failure/red',
        error: 'Error/orange',
      });
    });

    it('shows sealed: false until the sealer has chained the event, then true', async () => {
      const [row] = await t.query<{ id: string }>(
        `SELECT a.id FROM audit_logs a JOIN audit_pending p ON p.seq = a.seq ORDER BY a.seq LIMIT 1`,
      );
      expect(((await get(`/api/v1/audit-logs/${row.id}`).expect(200)).body as Item).sealed).toBe(false);
      await t.app.get(AuditSealer).sealOnce();
      expect(((await get(`/api/v1/audit-logs/${row.id}`).expect(200)).body as Item).sealed).toBe(true);
    });

    type Case = [string, (s: AuditEventRow) => boolean, (i: Item) => boolean];
    const cases: Case[] = [
      [`actorId=${U1}`, (s) => s.actorId === U1, (i) => i.actor.id === U1],
      ['actorType=api_key', (s) => s.actorType === 'api_key', (i) => i.actor.type === 'api_key'],
      ['action=task.updated', (s) => s.action === 'task.updated', (i) => i.action === 'task.updated'],
      ['action=task.*', (s) => s.action.startsWith('task.'), (i) => i.action.startsWith('task.')],
      ['category=security', (s) => s.category === 'security', (i) => i.category === 'security'],
      ['resourceType=task', (s) => s.resourceType === 'task', (i) => i.resource.type === 'task'],
      [`resourceId=${TASKS[1]}`, (s) => s.resourceId === TASKS[1], (i) => i.resource.id === TASKS[1]],
      ['outcome=error', (s) => s.outcome === 'error', (i) => i.outcome === 'error'],
      ['severity=critical', (s) => s.severity === 'critical', (i) => i.severity === 'critical'],
      ['requestId=seed-req-3', (s) => s.requestId === 'seed-req-3', (i) => i.request.id === 'seed-req-3'],
      ['ip=192.168.0.5', (s) => s.ipAddress === '192.168.0.5', (i) => i.request.ip === '192.168.0.5'],
      [
        `ip=${encodeURIComponent('10.0.0.0/8')}`,
        (s) => inCidr(s.ipAddress, '10.0.0.0/8'),
        (i) => inCidr(i.request.ip, '10.0.0.0/8'),
      ],
      [
        `ip=${encodeURIComponent('2001:db8::/32')}`,
        (s) => inCidr(s.ipAddress, '2001:db8::/32'),
        (i) => inCidr(i.request.ip, '2001:db8::/32'),
      ],
      ['q=NEEDLE', (s) => s.description.includes('Needle'), (i) => /needle/i.test(i.description)],
      [
        `q=${encodeURIComponent('zürich #2')}`,
        (s) => (s.resourceDisplay ?? '').includes('zürich #2'),
        (i) =>
          `${i.description} ${i.actor.display} ${i.resource.display}`.toLowerCase().includes('zürich #2'),
      ],
      [
        'q=bob stone',
        (s) => (s.actorDisplay ?? '').startsWith('Bob') || s.resourceDisplay === 'Bob Stone',
        (i) =>
          `${i.description} ${i.actor.display} ${i.resource.display}`.toLowerCase().includes('bob stone'),
      ],
      [
        'from=2025-03-01T00:30:00Z',
        (s) => s.occurredAt.getTime() >= Date.parse('2025-03-01T00:30:00Z'),
        (i) => i.occurredAt >= '2025-03-01T00:30:00',
      ],
      [
        'to=2025-03-01T00:05:00Z',
        (s) => s.occurredAt.getTime() <= Date.parse('2025-03-01T00:05:00Z'),
        (i) => i.occurredAt <= '2025-03-01T00:05:00.000000Z',
      ],
    ];

    it.each(cases)('%s alone: exactly the matching events', async (query, seedMatches, itemMatches) => {
      const body = await page(`${query}&limit=200`);
      expect(body.items.length).toBeGreaterThan(0);
      for (const item of body.items) expect(itemMatches(item)).toBe(true);
      const ids = new Set(body.items.map((i) => i.id));
      const expected = seeds.filter(seedMatches);
      expect(expected.length).toBeGreaterThan(0);
      for (const s of expected) expect(ids.has(s.id)).toBe(true);
    });

    it('combines every filter with AND', async () => {
      const combos: [string, (s: AuditEventRow) => boolean][] = [
        [
          `actorId=${U1}&action=task.*&outcome=success`,
          (s) => s.actorId === U1 && s.action.startsWith('task.') && s.outcome === 'success',
        ],
        [
          `${window}&category=security&severity=warning&ip=${encodeURIComponent('10.0.0.0/8')}`,
          (s) => s.category === 'security' && s.severity === 'warning' && inCidr(s.ipAddress, '10.0.0.0/8'),
        ],
        [
          `resourceType=task&resourceId=${TASKS[0]}&q=zürich&from=2025-03-01T00:10:00Z&to=2025-03-01T00:40:00Z`,
          (s) =>
            s.resourceId === TASKS[0] &&
            s.occurredAt >= new Date('2025-03-01T00:10:00Z') &&
            s.occurredAt <= new Date('2025-03-01T00:40:00Z'),
        ],
      ];
      for (const [query, matches] of combos) {
        const body = await page(`${query}&limit=200`);
        const expected = seeds.filter(matches).map((s) => s.id);
        expect(expected.length).toBeGreaterThan(0);
        expect(body.items.map((i) => i.id).sort()).toEqual(expected.sort());
      }
      // All of them at once: exactly one event.
      const one = seeds[7];
      const all = await page(
        [
          `from=${one.occurredAt.toISOString()}`,
          `to=${one.occurredAt.toISOString()}`,
          `actorId=${one.actorId}`,
          `actorType=${one.actorType}`,
          `action=${one.action}`,
          `category=${one.category}`,
          `resourceType=${one.resourceType}`,
          `resourceId=${one.resourceId}`,
          `outcome=${one.outcome}`,
          `severity=${one.severity}`,
          `requestId=${one.requestId}`,
          `ip=${one.ipAddress}`,
          'q=needle',
          'order=asc',
          'includeTotal=true',
        ].join('&'),
      );
      expect(all.items.map((i) => i.id)).toEqual([one.id]);
      expect(all.total).toBe(1);
    });

    it('order=asc, offset and includeTotal', async () => {
      const asc = await page(`${window}&order=asc&limit=5&includeTotal=true`);
      expect(asc.total).toBe(42);
      expect(asc.items.map((i) => i.id)).toEqual(seeds.slice(0, 5).map((s) => s.id));
      const offset = await page(`${window}&order=asc&limit=5&offset=5`);
      expect(offset.items.map((i) => i.id)).toEqual(seeds.slice(5, 10).map((s) => s.id));
    });

    it('limit bounds: 1 and 200 are fine, default 50', async () => {
      expect((await page('limit=1')).items).toHaveLength(1);
      expect((await page('limit=200')).limit).toBe(200);
      const d = await page('');
      expect(d.limit).toBe(50);
      expect(d.items).toHaveLength(50);
    });
  });

  describe('400 and 404', () => {
    const bad: [string, RegExp][] = [
      ['limit=0', /limit/],
      ['limit=201', /limit/],
      ['limit=abc', /limit/],
      ['limit=1.5', /limit/],
      ['offset=10001', /offset/],
      ['offset=-1', /offset/],
      ['from=yesterday', /from/],
      ['to=2025-13-01', /to/],
      ['from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z', /from must not be after to/],
      ['actorType=robot', /actorType/],
      ['action=Task.Created', /action/],
      ['action=task.*.*', /action/],
      ['category=nope', /category/],
      ['outcome=maybe', /outcome/],
      ['severity=loud', /severity/],
      ['ip=300.1.1.1', /ip/],
      [`ip=${encodeURIComponent('10.0.0.0/33')}`, /ip/],
      ['ip=example.com', /ip/],
      ['q=ab', /q must be/],
      ['order=sideways', /order/],
      ['includeTotal=maybe', /includeTotal/],
      ['cursor=garbage', /cursor/],
      ['resourceId=', /resourceId/],
      ['unknown=1', /unknown/],
    ];
    it.each(bad)('GET /audit-logs?%s → 400 naming the parameter', async (query, message) => {
      const res = await get(`${API}?${query}`);
      expectErrorShape(res, 400);
      expect(JSON.stringify(res.body.message)).toMatch(message);
    });

    it('refuses forged, edited, foreign and offset-combined cursors', async () => {
      const first = await page('limit=2&actorType=user');
      const cursor = first.nextCursor ?? '';
      expect(cursor).toMatch(/^[\w-]+\.[\w-]+$/);
      // A valid next page.
      expect((await page(`limit=2&actorType=user&cursor=${cursor}`)).items).toHaveLength(2);
      const [body, sig] = cursor.split('.');
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, string>;
      const edited = Buffer.from(JSON.stringify({ ...payload, t: '2099-01-01T00:00:00.000000Z' })).toString(
        'base64url',
      );
      const forgedSig = createHash('sha256').update(edited).digest('base64url');
      for (const c of [`${edited}.${sig}`, `${edited}.${forgedSig}`, `${body}.`, `${body}`, `${cursor}x`]) {
        const res = await get(`${API}?limit=2&actorType=user&cursor=${encodeURIComponent(c)}`);
        expectErrorShape(res, 400);
        expect(res.body.message).toMatch(/cursor is invalid/);
      }
      for (const q of ['limit=2&actorType=system', 'limit=2&actorType=user&order=asc']) {
        const res = await get(`${API}?${q}&cursor=${cursor}`);
        expectErrorShape(res, 400);
        expect(res.body.message).toMatch(/cursor was issued for other filters/);
      }
      expectErrorShape(await get(`${API}?limit=2&actorType=user&offset=2&cursor=${cursor}`), 400);
    });

    it('GET /audit-logs/:id: the item, 404 when unknown, 400 when not a uuid', async () => {
      const res = await get(`${API}/${seeds[5].id}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: seeds[5].id,
        action: 'error.unhandled',
        outcome: 'error',
        severity: 'critical',
        error: {
          type: 'QueryFailedError',
          message: 'QueryFailedError happened',
          stack: expect.stringContaining('seed.ts'),
        },
        display: { label: 'Error', color: 'orange' },
      });
      expectErrorShape(await get(`${API}/${randomUUID()}`), 404);
      const notUuid = await get(`${API}/not-a-uuid`);
      expectErrorShape(notUuid, 400);
      expect(notUuid.body.message).toEqual(['id must be a UUID']);
    });

    it('the trail cannot be changed over HTTP: no POST/PUT/PATCH/DELETE', async () => {
      for (const path of [API, `${API}/${seeds[0].id}`]) {
        for (const method of ['post', 'put', 'patch', 'delete'] as const) {
          const res = await t.http[method](path)
            .set(...bearer(admin))
            .send({});
          expect([404, 405]).toContain(res.status);
        }
      }
      expect(
        (await t.query(`SELECT count(*)::int AS n FROM audit_logs WHERE id = $1`, [seeds[0].id]))[0],
      ).toEqual({
        n: 1,
      });
    });
  });

  describe('errors view and stats', () => {
    it('GET /audit-logs/errors: outcome error and failures of severity ≥ error, with the stack', async () => {
      const res = await get(`${API}/errors?from=${SEED_FROM}&to=${SEED_TO}&limit=200`);
      expect(res.status).toBe(200);
      const body = res.body as Page;
      const expected = seeds
        .filter(
          (s) =>
            s.outcome === 'error' || (s.outcome === 'failure' && ['error', 'critical'].includes(s.severity)),
        )
        .map((s) => s.id);
      expect(body.items.map((i) => i.id).sort()).toEqual(expected.sort());
      expect(body.items.find((i) => i.outcome === 'error')?.error?.stack).toMatch(/at seed/);
      const critical = (await get(`${API}/errors?from=${SEED_FROM}&to=${SEED_TO}&severity=critical`))
        .body as Page;
      expect(critical.items.length).toBeGreaterThan(0);
      expect(critical.items.every((i) => i.severity === 'critical')).toBe(true);
      const typed = (
        await get(`${API}/errors?from=${SEED_FROM}&to=${SEED_TO}&errorType=ConflictError&limit=2`)
      ).body as Page;
      expect(typed.items.every((i) => i.error?.type === 'ConflictError')).toBe(true);
      const next = (
        await get(
          `${API}/errors?from=${SEED_FROM}&to=${SEED_TO}&errorType=ConflictError&limit=2&cursor=${typed.nextCursor}`,
        )
      ).body as Page;
      expect(next.items.length).toBeGreaterThan(0);
      expect(next.items.some((i) => typed.items.some((j) => j.id === i.id))).toBe(false);
      expectErrorShape(await get(`${API}/errors?limit=201`), 400);
      expectErrorShape(await get(`${API}/errors?outcome=error`), 400);
    });

    it('GET /audit-logs/stats by action, category, outcome, actor and day', async () => {
      const q = `from=${SEED_FROM}&to=${SEED_TO}`;
      const count = (f: (s: AuditEventRow) => string | null) => {
        const m = new Map<string, number>();
        for (const s of seeds) m.set(f(s) ?? '', (m.get(f(s) ?? '') ?? 0) + 1);
        return m;
      };
      const expectations: [string, Map<string, number>][] = [
        ['action', count((s) => s.action)],
        ['category', count((s) => s.category)],
        ['outcome', count((s) => s.outcome)],
        ['actor', count((s) => s.actorId ?? s.actorType)],
        ['day', new Map([['2025-03-01', 42]])],
      ];
      for (const [groupBy, expected] of expectations) {
        const res = await get(`${API}/stats?${q}&groupBy=${groupBy}`);
        expect(res.status).toBe(200);
        const body = res.body as {
          groupBy: string;
          buckets: { key: string; count: number; label?: string }[];
        };
        expect(body.groupBy).toBe(groupBy);
        expect(new Map(body.buckets.map((b) => [b.key, b.count]))).toEqual(expected);
        const counts = body.buckets.map((b) => b.count);
        if (groupBy !== 'day') expect(counts).toEqual([...counts].sort((a, b) => b - a));
      }
      const actors = (await get(`${API}/stats?${q}&groupBy=actor`)).body as {
        buckets: { key: string; label?: string }[];
      };
      expect(actors.buckets.find((b) => b.key === U1)?.label).toBe('Ann Lee <ann@seed.example>');
      expectErrorShape(await get(`${API}/stats?groupBy=weekday`), 400);
      expectErrorShape(await get(`${API}/stats`), 400);
    });
  });

  describe('cursor walks while events arrive', () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    beforeAll(async () => {
      // 1,100 events in groups of three with the very same timestamp, a microsecond apart between
      // groups: a cursor that kept a JS Date (milliseconds) would skip or repeat rows.
      await t.query(`
        INSERT INTO audit_logs (id, occurred_at, action, category, outcome, severity, actor_type, actor_id,
                                actor_display, description)
        SELECT gen_random_uuid(),
               '2025-06-01T00:00:00Z'::timestamptz + (g / 3) * interval '1 microsecond' + (g / 90) * interval '1 millisecond',
               'task.updated', 'task', 'success', 'info', 'user', 'walker', 'Walker', 'walk ' || g
        FROM generate_series(1, 1100) g`);
    });

    async function walk(
      query: string,
      pageSize: number,
    ): Promise<{ ids: string[]; pages: number; cursor: string | null }> {
      const ids: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      for (;;) {
        const body = await page(`${query}&limit=${pageSize}${cursor ? `&cursor=${cursor}` : ''}`);
        pages++;
        ids.push(...body.items.map((i) => i.id));
        // A short page: the end (desc), or the head of the trail for now (asc, nextCursor kept).
        if (body.items.length < pageSize || body.nextCursor === null)
          return { ids, pages, cursor: body.nextCursor ?? cursor };
        cursor = body.nextCursor;
        expect(pages).toBeLessThan(1000);
      }
    }

    function startInserting(make: (n: number) => AuditEventRow[]): { stop: () => Promise<string[]> } {
      let running = true;
      const inserted: string[] = [];
      const loop = (async () => {
        for (let n = 0; running; n++) {
          const rows = make(n);
          await insertRows(t, rows);
          inserted.push(...rows.map((r) => r.id));
          await sleep(2);
        }
      })();
      return {
        stop: async () => {
          running = false;
          await loop;
          return inserted;
        },
      };
    }

    it('desc over the whole trail in pages of 37: every pre-existing event exactly once', async () => {
      const before = (await t.query<{ id: string }>('SELECT id FROM audit_logs')).map((r) => r.id);
      expect(before.length).toBeGreaterThan(1100);
      const inserter = startInserting((n) => [
        // newer than everything (lands above the walk) …
        seedRow({ action: 'task.created', occurredAt: new Date(), description: `live ${n}` }),
        // … and inside the range still to be walked
        seedRow({
          action: 'task.updated',
          occurredAt: new Date(Date.parse('2025-06-01T00:00:00Z') + (n % 10)),
          description: `late ${n}`,
        }),
      ]);
      let walked: Awaited<ReturnType<typeof walk>>;
      try {
        walked = await walk('order=desc', 37);
      } finally {
        await inserter.stop();
      }
      const { ids, pages } = walked;
      const inserted = await inserter.stop();
      expect(inserted.length).toBeGreaterThan(10);
      expect(pages).toBeGreaterThan(30);
      expect(new Set(ids).size).toBe(ids.length);
      const seen = new Set(ids);
      expect(before.filter((id) => !seen.has(id))).toEqual([]);
    });

    it('asc tail of one actor: no duplicates, no gaps, and new events are picked up from the last cursor', async () => {
      const before = (
        await t.query<{ id: string }>(`SELECT id FROM audit_logs WHERE actor_id = 'walker'`)
      ).map((r) => r.id);
      const inserter = startInserting((n) => [
        seedRow({
          action: 'task.updated',
          actorType: 'user',
          actorId: 'walker',
          actorDisplay: 'Walker',
          occurredAt: new Date(Date.parse('2025-06-02T00:00:00Z') + n),
          description: `new ${n}`,
        }),
      ]);
      let first: Awaited<ReturnType<typeof walk>>;
      try {
        first = await walk('order=asc&actorId=walker', 37);
      } finally {
        await inserter.stop();
      }
      const inserted = await inserter.stop();
      expect(first.cursor).not.toBeNull();
      // The SIEM polls again from its last cursor and gets exactly what it has not seen yet.
      const rest = await walk(`order=asc&actorId=walker&cursor=${first.cursor}`, 37);
      const ids = [...first.ids, ...rest.ids];
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual([...before, ...inserted].sort());
      // An empty poll keeps its place.
      const idle = await page(`order=asc&actorId=walker&limit=37&cursor=${rest.cursor}`);
      expect(idle.items).toEqual([]);
      expect(idle.nextCursor).toBe(rest.cursor);
    });
  });

  describe('export', () => {
    const EX_FROM = '2025-04-01T00:00:00Z';
    const EX_TO = '2025-04-01T01:00:00Z';
    let tricky: AuditEventRow[];

    beforeAll(async () => {
      tricky = [
        seedRow({
          action: 'task.created',
          occurredAt: new Date('2025-04-01T00:00:01Z'),
          actorType: 'user',
          actorId: U1,
          actorDisplay: '=HYPERLINK("http://evil.example","click")',
          resourceType: 'task',
          resourceId: TASKS[0],
          resourceDisplay: '+SUM(A1:A9)',
          description: 'comma, "quotes" and\nnewline\r\nand CRLF — 日本語 ünïcödé 🎉',
          userAgent: '-2+3',
          httpPath: '@import',
          requestId: '\tTabbed',
          httpMethod: 'POST',
          statusCode: 201,
          durationMs: 3,
          ipAddress: '10.0.0.1',
          changes: { title: { from: null, to: 'a,"b"\nc' } },
          metadata: { note: '=1+1', nested: { q: 'x,"y"' } },
        }),
        seedRow({
          action: 'error.unhandled',
          occurredAt: new Date('2025-04-01T00:00:02Z'),
          outcome: 'error',
          severity: 'critical',
          description: '\rCarriage first',
          errorType: 'TypeError',
          errorMessage: '=cmd|" /C calc"!A0',
          errorStack: 'Error\n    at x',
        }),
        seedRow({
          action: 'system.started',
          occurredAt: new Date('2025-04-01T00:00:03Z'),
          description: 'plain',
        }),
      ];
      await insertRows(t, tricky);
    });

    const exportUrl = (format: string, extra = '') =>
      `${API}/export?format=${format}&from=${EX_FROM}&to=${EX_TO}&order=asc${extra}`;

    it('CSV: RFC 4180, header, formula prefixes, everything round-trips', async () => {
      const id = rid('export-csv');
      const res = await get(exportUrl('csv')).set('X-Request-Id', id).buffer(true);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe(
        'attachment; filename="audit-logs-20250401T000000Z-20250401T010000Z.csv"',
      );
      const records = parseCsv(res.text);
      const [header, ...rows] = records;
      expect(header).toEqual(
        'id,seq,occurredAt,action,category,outcome,severity,actorType,actorId,actorDisplay,resourceType,resourceId,resourceDisplay,requestId,method,path,statusCode,durationMs,ip,userAgent,description,changes,metadata,errorType,errorMessage'.split(
          ',',
        ),
      );
      expect(rows).toHaveLength(3);
      const objs = rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
      const [a, b, c] = objs;
      expect(a).toMatchObject({
        id: tricky[0].id,
        occurredAt: '2025-04-01T00:00:01.000000Z',
        action: 'task.created',
        actorType: 'user',
        actorId: U1,
        actorDisplay: `'=HYPERLINK("http://evil.example","click")`,
        resourceDisplay: `'+SUM(A1:A9)`,
        description: 'comma, "quotes" and\nnewline\r\nand CRLF — 日本語 ünïcödé 🎉',
        userAgent: `'-2+3`,
        path: `'@import`,
        requestId: `'\tTabbed`,
        method: 'POST',
        statusCode: '201',
        durationMs: '3',
        ip: '10.0.0.1',
        errorType: '',
        errorMessage: '',
      });
      expect(JSON.parse(a.changes)).toEqual(tricky[0].changes);
      expect(JSON.parse(a.metadata)).toEqual(tricky[0].metadata);
      expect(b).toMatchObject({
        description: `'\rCarriage first`,
        errorMessage: `'=cmd|" /C calc"!A0`,
        changes: '',
      });
      expect(c).toMatchObject({ description: 'plain', actorId: '', ip: '' });
      expect(Number(a.seq)).toBeLessThan(Number(b.seq));

      const [event] = await eventsOfRequest(t, id);
      expect(event).toMatchObject({
        action: 'audit.exported',
        outcome: 'success',
        metadata: { format: 'csv', rowCount: 3, filters: { from: EX_FROM, to: EX_TO } },
      });
    });

    it('NDJSON and JSON: the same items as the search, parsed', async () => {
      const listed = (await page(`from=${EX_FROM}&to=${EX_TO}&order=asc&limit=10`)).items;
      expect(listed).toHaveLength(3);
      const nd = await get(exportUrl('ndjson')).buffer(true);
      expect(nd.status).toBe(200);
      expect(nd.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
      expect(nd.headers['content-disposition']).toContain('.ndjson"');
      const lines = nd.text.split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.map((l) => JSON.parse(l) as Item)).toEqual(listed);
      const js = await get(exportUrl('json')).buffer(true);
      expect(js.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(js.body).toEqual(listed);
      const empty = await get(`${API}/export?format=json&from=2000-01-01&to=2000-01-02`).buffer(true);
      expect(JSON.parse(empty.text)).toEqual([]);
    });

    it('export takes the list filters; bad format → 400', async () => {
      const res = await get(exportUrl('ndjson', '&outcome=error')).buffer(true);
      const items = res.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Item);
      expect(items.map((i) => i.id)).toEqual([tricky[1].id]);
      for (const q of ['format=xml', '', 'format=csv&limit=5', 'format=csv&from=2025-02-01&to=2025-01-01']) {
        expectErrorShape(await get(`${API}/export?${q}`), 400);
      }
    });

    it('streams large exports in batches (more rows than one FETCH)', async () => {
      const res = await get(`${API}/export?format=csv&actorId=walker&order=asc`).buffer(true);
      expect(res.status).toBe(200);
      const rows = parseCsv(res.text);
      const expected = await t.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM audit_logs WHERE actor_id = 'walker'`,
      );
      expect(rows.length - 1).toBe(expected[0].n);
      expect(rows.length - 1).toBeGreaterThan(1000);
      expect(new Set(rows.slice(1).map((r) => r[0])).size).toBe(rows.length - 1);
    });
  });

  describe('authorization matrix', () => {
    const routes = () => [
      `${API}?limit=1`,
      `${API}/errors?limit=1`,
      `${API}/export?format=ndjson&from=2025-03-01T00:00:00Z&to=2025-03-01T00:02:00Z`,
      `${API}/stats?groupBy=outcome&from=${SEED_FROM}&to=${SEED_TO}`,
      `${API}/${seeds[0].id}`,
    ];

    it('anonymous 401, user 403, admin 200, key with scope 200, key without scope 403, revoked/expired/unknown key 401', async () => {
      const cases: [string, [string, string][], number][] = [
        ['anonymous', [], 401],
        ['user', [bearer(user.token)], 403],
        ['admin', [bearer(admin)], 200],
        ['key with audit:read', [['X-Api-Key', scopedKey]], 200],
        ['key without scopes', [['X-Api-Key', noScopeKey]], 403],
        ['revoked key', [['X-Api-Key', revokedKey]], 401],
        ['expired key', [['X-Api-Key', expiredKey]], 401],
        ['unknown key', [['X-Api-Key', 'atk_unknown-key-value']], 401],
        ['key and bearer', [['X-Api-Key', scopedKey], bearer(admin)], 401],
      ];
      for (const route of routes()) {
        for (const [label, headers, status] of cases) {
          let req = t.http.get(route);
          for (const [h, v] of headers) req = req.set(h, v);
          const res = await req.buffer(true);
          if (res.status !== status)
            throw new Error(`${label} GET ${route}: ${res.status}, expected ${status}`);
          if (status !== 200) expectErrorShape(res, status);
        }
      }
    });

    it('an API key acts as actor api_key; a refused key is recorded as access.denied', async () => {
      const ok = rid('key-ok');
      await t.http.get(`${API}?limit=1`).set('X-Api-Key', scopedKey).set('X-Request-Id', ok).expect(200);
      const [viewed] = await eventsOfRequest(t, ok);
      const [key] = await t.query<{ id: string; last_used_at: Date | null }>(
        `SELECT id, last_used_at FROM api_keys WHERE name = 'SIEM pull'`,
      );
      expect(viewed).toMatchObject({
        action: 'audit.viewed',
        actor_type: 'api_key',
        actor_id: key.id,
        actor_display: 'SIEM pull',
      });
      expect(key.last_used_at).not.toBeNull();
      const denied = rid('key-denied');
      await t.http.get(`${API}?limit=1`).set('X-Api-Key', noScopeKey).set('X-Request-Id', denied).expect(403);
      expect(await eventsOfRequest(t, denied)).toEqual([
        expect.objectContaining({
          action: 'access.denied',
          actor_type: 'api_key',
          metadata: { attemptedAction: 'audit.viewed' },
        }),
      ]);
      const revoked = rid('key-revoked');
      await t.http
        .get(`${API}?limit=1`)
        .set('X-Api-Key', revokedKey)
        .set('X-Request-Id', revoked)
        .expect(401);
      expect(await eventsOfRequest(t, revoked)).toEqual([
        expect.objectContaining({ action: 'access.denied', outcome: 'failure', status_code: 401 }),
      ]);
    });
  });

  describe('the reads are audited', () => {
    it('audit.viewed with filters and row count; a refusal is a failure event', async () => {
      const id = rid('viewed');
      await get(`${API}?actorType=user&action=task.*&limit=3&includeTotal=true`)
        .set('X-Request-Id', id)
        .expect(200);
      const [e] = await eventsOfRequest(t, id);
      expect(e).toMatchObject({
        action: 'audit.viewed',
        category: 'audit',
        outcome: 'success',
        metadata: {
          view: 'list',
          filters: { actorType: 'user', action: 'task.*' },
          limit: 3,
          rowCount: 3,
          total: expect.any(Number),
        },
      });
      const item = rid('viewed-item');
      await get(`${API}/${seeds[1].id}`).set('X-Request-Id', item).expect(200);
      expect((await eventsOfRequest(t, item))[0]).toMatchObject({
        action: 'audit.viewed',
        resource_type: 'audit_log',
        resource_id: seeds[1].id,
      });
      const bad = rid('viewed-bad');
      await get(`${API}?limit=500`).set('X-Request-Id', bad).expect(400);
      expect(await eventsOfRequest(t, bad)).toEqual([
        expect.objectContaining({ action: 'audit.viewed', outcome: 'failure', status_code: 400 }),
      ]);
    });
  });

  describe('API keys', () => {
    it('create shows the secret once, stores only its hash, and records api_key.created without it', async () => {
      const id = rid('key-create');
      const res = await t.http
        .post('/api/v1/api-keys')
        .set(...bearer(admin))
        .set('X-Request-Id', id)
        .send({ name: 'Splunk', scopes: ['audit:read'], expiresAt: '2099-01-01T00:00:00Z' })
        .expect(201);
      const body = res.body as {
        id: string;
        secret: string;
        prefix: string;
        scopes: string[];
        expiresAt: string;
      };
      expect(body.secret).toMatch(/^atk_[A-Za-z0-9_-]{43}$/);
      expect(body.prefix).toBe(body.secret.slice(0, 8));
      expect(body).toMatchObject({
        name: 'Splunk',
        scopes: ['audit:read'],
        expiresAt: '2099-01-01T00:00:00.000Z',
      });
      const [row] = await t.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [
        body.id,
      ]);
      expect(row.key_hash).toBe(createHash('sha256').update(body.secret).digest('hex'));
      const leaks = await t.query(
        `SELECT 1 FROM audit_logs a WHERE row_to_json(a)::text LIKE $1
         UNION ALL SELECT 1 FROM api_keys k WHERE row_to_json(k)::text LIKE $1`,
        [`%${body.secret.slice(8)}%`],
      );
      expect(leaks).toEqual([]);
      const [event] = await eventsOfRequest(t, id);
      expect(event).toMatchObject({
        action: 'api_key.created',
        category: 'security',
        resource_type: 'api_key',
        resource_id: body.id,
        resource_display: 'Splunk',
        changes: {
          name: { from: null, to: 'Splunk' },
          prefix: { from: null, to: body.prefix },
          scopes: { from: null, to: ['audit:read'] },
        },
      });

      const list = await t.http
        .get('/api/v1/api-keys')
        .set(...bearer(admin))
        .expect(200);
      const listed = (list.body as Record<string, unknown>[]).find((k) => k.id === body.id);
      expect(listed).toBeDefined();
      expect(Object.keys(listed ?? {}).sort()).toEqual(
        [
          'createdAt',
          'createdBy',
          'expiresAt',
          'id',
          'lastUsedAt',
          'name',
          'prefix',
          'revokedAt',
          'scopes',
        ].sort(),
      );

      await t.http.get(`${API}?limit=1`).set('X-Api-Key', body.secret).expect(200);
      const revoke = rid('key-revoke');
      await t.http
        .delete(`/api/v1/api-keys/${body.id}`)
        .set(...bearer(admin))
        .set('X-Request-Id', revoke)
        .expect(204);
      expect(await eventsOfRequest(t, revoke)).toEqual([
        expect.objectContaining({
          action: 'api_key.revoked',
          resource_id: body.id,
          resource_display: 'Splunk',
        }),
      ]);
      await t.http.get(`${API}?limit=1`).set('X-Api-Key', body.secret).expect(401);
      const again = rid('key-revoke-again');
      await t.http
        .delete(`/api/v1/api-keys/${body.id}`)
        .set(...bearer(admin))
        .set('X-Request-Id', again)
        .expect(204);
      expect(await eventsOfRequest(t, again)).toEqual([]);
    });

    it('validation, 404, and only admins manage keys', async () => {
      for (const bad of [
        { name: 'x', scopes: ['tasks:write'] },
        { name: 'x', scopes: [] },
        { name: '', scopes: ['audit:read'] },
        { name: 'x', scopes: ['audit:read'], expiresAt: '2001-01-01T00:00:00Z' },
        { name: 'x', scopes: ['audit:read'], secret: 'mine' },
      ]) {
        expectErrorShape(
          await t.http
            .post('/api/v1/api-keys')
            .set(...bearer(admin))
            .send(bad),
          400,
        );
      }
      expectErrorShape(await t.http.delete(`/api/v1/api-keys/${randomUUID()}`).set(...bearer(admin)), 404);
      expectErrorShape(await t.http.delete('/api/v1/api-keys/nope').set(...bearer(admin)), 400);
      expectErrorShape(await t.http.get('/api/v1/api-keys').set(...bearer(user.token)), 403);
      expectErrorShape(await t.http.get('/api/v1/api-keys').set('X-Api-Key', scopedKey), 403);
      expectErrorShape(
        await t.http
          .post('/api/v1/api-keys')
          .set('X-Api-Key', scopedKey)
          .send({ name: 'x', scopes: ['audit:read'] }),
        403,
      );
      expectErrorShape(await t.http.get('/api/v1/api-keys'), 401);
      // A key cannot be used for routes without scopes (e.g. the caller's profile).
      expectErrorShape(await t.http.get('/api/v1/auth/me').set('X-Api-Key', scopedKey), 403);
    });
  });

  it('records every read in the trail (sanity: no audit.viewed without an actor)', async () => {
    const rows = await auditEvents(t, `category = 'audit' AND actor_id IS NULL`);
    expect(rows).toEqual([]);
  });
});
