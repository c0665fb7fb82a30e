import fc from 'fast-check';
import { bearer, createUser, loginAdmin } from '../support/factories';
import { createTask } from '../support/tasks';
import { createTestApp, TestApp } from '../support/test-app';
import { OpenApiDoc, operations, resolve, routeKey, SchemaObject } from './support/openapi';

const TARGET_CASES = Number(process.env.FUZZ_CASES ?? 2400);
/** Routes that end the caller's session or need a file: covered by their own e2e specs. */
const SKIP = new Set(['POST /api/v1/auth/logout']);
const BUSINESS_TABLES = ['users', 'tasks', 'attachments', 'reminders', 'notifications'];

const nasty = fc.oneof(
  fc.constantFrom(
    "' OR 1=1 --",
    '"; DROP TABLE users; --',
    '=HYPERLINK("http://x")',
    '+1+1',
    '@SUM(A1)',
    '\u0000nul\u0000',
    '{"$where": "1"}',
    '../../etc/passwd',
    '\u202e\u0000\ud83d\ude00',
    'x'.repeat(100_000),
    '',
  ),
  fc.string({ maxLength: 50 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

function deep(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

const garbage: fc.Arbitrary<unknown> = fc.oneof(
  nasty,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.constant(deep(500)),
  fc.constant({ __proto__: { isAdmin: true } }),
  fc.array(fc.integer(), { maxLength: 5 }),
);

function valueFor(schema: SchemaObject | undefined, ids: string[]): fc.Arbitrary<unknown> {
  if (!schema) return garbage;
  if (schema.enum?.length) return fc.oneof(fc.constantFrom(...schema.enum), garbage);
  switch (schema.type) {
    case 'string':
      if (schema.format === 'uuid') return fc.oneof(fc.constantFrom(...ids), fc.uuid(), nasty);
      if (schema.format === 'date-time')
        return fc.oneof(
          fc
            .date({ min: new Date(2000, 0, 1), max: new Date(2100, 0, 1), noInvalidDate: true })
            .map((d) => d.toISOString()),
          nasty,
        );
      if (schema.format === 'email') return fc.oneof(fc.emailAddress(), nasty);
      return fc.oneof(
        fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) }),
        nasty,
      );
    case 'integer':
    case 'number':
      return fc.oneof(fc.integer({ min: -5, max: 300 }), garbage);
    case 'boolean':
      return fc.oneof(fc.boolean(), garbage);
    case 'array':
      return fc.oneof(fc.array(valueFor(schema.items, ids), { maxLength: 3 }), garbage);
    case undefined:
    default:
      return garbage;
  }
}

function bodyFor(doc: OpenApiDoc, schema: SchemaObject | undefined, ids: string[]): fc.Arbitrary<unknown> {
  const resolved = resolve(doc, schema);
  if (!resolved?.properties) return garbage;
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, prop] of Object.entries(resolved.properties))
    shape[key] = valueFor(resolve(doc, prop), ids);
  const wellFormed = fc.record(shape, { requiredKeys: [] });
  const withExtra = fc
    .tuple(wellFormed, fc.constantFrom('__proto__', 'constructor', 'isAdmin', 'role', 'ownerId'), garbage)
    .map(([b, k, v]) => {
      const copy = JSON.parse(JSON.stringify(b ?? {})) as Record<string, unknown>;
      Object.defineProperty(copy, k, { value: v, enumerable: true, configurable: true, writable: true });
      return copy;
    });
  return fc.oneof(
    { weight: 4, arbitrary: wellFormed },
    { weight: 1, arbitrary: withExtra },
    { weight: 1, arbitrary: garbage },
  );
}

describe('property-based: every route, body, path and query parameter', () => {
  let t: TestApp;
  let token: string;
  let ids: string[];

  beforeAll(async () => {
    // Each case comes from its own address, so the per-IP login throttle does not lock the admin out.
    t = await createTestApp({ TRUST_PROXY: 'true' });
    token = await loginAdmin(t.http);
    const user = await createUser(t.http, token);
    const task = await createTask(t.http, token, { title: 'fuzz target' });
    ids = [user.id, task.id];
  });
  afterAll(async () => {
    await t?.close();
  });

  async function counts(): Promise<string> {
    const rows = await t.query<{ n: string }>(
      `SELECT ${BUSINESS_TABLES.map((x) => `(SELECT count(*) FROM ${x})`).join(" || ',' || ")} AS n`,
    );
    return rows[0].n;
  }

  it(`never answers 5xx, always the standard error shape, writes nothing when it refuses (≥ ${TARGET_CASES} cases)`, async () => {
    const doc = (await t.http.get('/api/docs-json').expect(200)).body as OpenApiDoc;
    const ops = operations(doc).filter((op) => !SKIP.has(routeKey(op)) && !op.multipart);
    const perOp = Math.ceil(TARGET_CASES / ops.length);
    let cases = 0;
    const statuses = new Map<number, number>();
    for (const op of ops) {
      const pathParams = op.parameters.filter((p) => p.in === 'path');
      const queryParams = op.parameters.filter((p) => p.in === 'query');
      const arb = fc.record({
        path: fc.record(
          Object.fromEntries(
            pathParams.map((p) => [
              p.name,
              fc.oneof(fc.constantFrom(...ids), fc.uuid(), fc.string({ minLength: 1, maxLength: 20 })),
            ]),
          ),
        ),
        query: fc.record(
          Object.fromEntries(queryParams.map((p) => [p.name, valueFor(resolve(doc, p.schema), ids)])),
          { requiredKeys: [] },
        ),
        body: bodyFor(doc, op.bodySchema, ids),
      });
      await fc.assert(
        fc.asyncProperty(arb, async ({ path, query, body }) => {
          cases++;
          const url = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
            encodeURIComponent(String((path as Record<string, unknown>)[name])),
          );
          const qs = new URLSearchParams(
            Object.entries(query as Record<string, unknown>).map(([k, v]): [string, string] => [
              k,
              typeof v === 'string' ? v : JSON.stringify(v),
            ]),
          ).toString();
          const before = await counts();
          const req = t.http[op.method.toLowerCase() as 'get'](`${url}${qs ? `?${qs}` : ''}`)
            .set(...bearer(token))
            .set('X-Forwarded-For', `198.51.100.${cases % 250}`);
          const res =
            op.method === 'GET' || op.method === 'DELETE'
              ? await req
              : await req.set('Content-Type', 'application/json').send(JSON.stringify(body ?? null));
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status >= 500)
            throw new Error(
              `${routeKey(op)} answered ${res.status} for ${JSON.stringify({ path, query, body }).slice(0, 500)}`,
            );
          if (res.status >= 400) {
            const b = res.body as Record<string, unknown>;
            expect(Object.keys(b).sort()).toEqual(['error', 'message', 'requestId', 'statusCode']);
            expect(b.statusCode).toBe(res.status);
            expect(await counts()).toBe(before);
          }
          if (
            res.status === 401 &&
            (await t.http.get('/api/v1/auth/me').set(...bearer(token))).status === 401
          )
            token = await loginAdmin(t.http);
        }),
        { numRuns: perOp, seed: Number(process.env.FUZZ_SEED ?? 20261122), endOnFailure: true },
      );
    }

    console.log(
      `property-based: ${cases} cases over ${ops.length} operations; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    expect(cases).toBeGreaterThanOrEqual(TARGET_CASES);
  });
});
