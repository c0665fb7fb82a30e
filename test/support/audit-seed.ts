import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AuditWriter } from '../../src/modules/audit/audit-writer';
import type { AuditEventRow } from '../../src/modules/audit/audit.types';
import { categoryOf, AuditAction } from '../../src/modules/audit/audit.catalogue';
import type { TestApp } from './test-app';

/** A complete row with defaults; occurredAt as a Date (ms precision). */
export function seedRow(overrides: Partial<AuditEventRow> & { action: AuditAction }): AuditEventRow {
  return {
    id: randomUUID(),
    occurredAt: new Date('2025-03-01T00:00:00Z'),
    category: categoryOf(overrides.action),
    outcome: 'success',
    severity: 'info',
    actorType: 'system',
    actorId: null,
    actorDisplay: 'System',
    resourceType: null,
    resourceId: null,
    resourceDisplay: null,
    requestId: null,
    httpMethod: null,
    httpPath: null,
    statusCode: null,
    durationMs: null,
    ipAddress: null,
    userAgent: null,
    changes: null,
    metadata: {},
    description: `System ${overrides.action}`,
    errorType: null,
    errorMessage: null,
    errorStack: null,
    ...overrides,
  };
}

/** Inserts rows through the app's own writer, in one transaction. */
export async function insertRows(t: TestApp, rows: AuditEventRow[]): Promise<void> {
  const writer = t.app.get(AuditWriter);
  await t.dataSource.transaction((m) => writer.insert(m, rows));
}

/** Creates an API key straight in the database (e.g. one without scopes); returns its secret and id. */
export async function insertApiKey(
  t: TestApp,
  opts: { name: string; scopes: string[]; expiresAt?: string | null; revoked?: boolean },
): Promise<{ id: string; secret: string }> {
  const secret = `atk_${randomBytes(32).toString('base64url')}`;
  const hash = createHash('sha256').update(secret).digest('hex');
  const [row] = await t.query<{ id: string }>(
    `INSERT INTO api_keys (name, prefix, key_hash, scopes, expires_at, revoked_at)
     VALUES ($1, $2, $3, $4::text[], $5::timestamptz, CASE WHEN $6 THEN now() END) RETURNING id`,
    [opts.name, secret.slice(0, 8), hash, opts.scopes, opts.expiresAt ?? null, opts.revoked === true],
  );
  return { id: row.id, secret };
}
