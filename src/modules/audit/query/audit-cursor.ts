import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AuditFilters, KeysetPosition, SortOrder } from './audit-query.builder';

const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface CursorPayload {
  /** occurred_at as UTC text with microseconds. */
  t: string;
  i: string;
  o: SortOrder;
  /** Hash of the filters the cursor was issued for. */
  f: string;
}

export type CursorCheck =
  { ok: true; position: KeysetPosition } | { ok: false; reason: 'invalid' | 'mismatch' };

/** A stable hash of the filters (keys sorted, undefined dropped). */
export function filterHash(filters: AuditFilters): string {
  const entries = Object.entries(filters)
    .filter(([, v]) => v !== undefined && v !== false)
    .sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify(entries)).digest('base64url').slice(0, 22);
}

/**
 * Opaque, tamper-proof keyset cursors: base64url(JSON payload) + "." + HMAC-SHA256 of it. The key is
 * derived from the audit signing key, so a cursor cannot be forged or edited, and one issued for
 * other filters or another order is refused.
 */
export class AuditCursorCodec {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('audit-logs-cursor-v1').digest();
  }

  private sign(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest();
  }

  encode(position: KeysetPosition, order: SortOrder, filters: AuditFilters): string {
    const payload: CursorPayload = {
      t: position.occurredAt,
      i: position.id,
      o: order,
      f: filterHash(filters),
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.sign(body).toString('base64url')}`;
  }

  decode(cursor: string, order: SortOrder, filters: AuditFilters): CursorCheck {
    const [body, sig, ...rest] = cursor.split('.');
    if (!body || !sig || rest.length > 0) return { ok: false, reason: 'invalid' };
    const given = Buffer.from(sig, 'base64url');
    const expected = this.sign(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, reason: 'invalid' };
    let payload: Partial<CursorPayload>;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<CursorPayload>;
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    if (
      typeof payload.t !== 'string' ||
      !TIMESTAMP_TEXT.test(payload.t) ||
      typeof payload.i !== 'string' ||
      !UUID.test(payload.i)
    )
      return { ok: false, reason: 'invalid' };
    if (payload.o !== order || payload.f !== filterHash(filters)) return { ok: false, reason: 'mismatch' };
    return { ok: true, position: { occurredAt: payload.t, id: payload.i } };
  }
}
