import { bearer } from './factories';
import type { TestApp } from './test-app';

/** One page of GET /api/v1/audit-logs, as the tests read it. */
export interface AuditPage {
  items: { id: string; occurredAt: string; description: string }[];
  nextCursor: string | null;
  total?: number;
}

/**
 * Getters, because the app and the token exist only once beforeAll has run.
 * `page(query)` fetches one page of the admin list (expects 200); `walk(query, limit)` follows
 * nextCursor to the end and returns the ids in order; `tail(query, limit)` does the same oldest first
 * (`order=asc`), until an empty page, since a tail's nextCursor is always set.
 */
export function auditPages(
  app: () => TestApp,
  token: () => string,
): {
  page: (query: string) => Promise<AuditPage>;
  walk: (query: string, limit: number) => Promise<string[]>;
  tail: (query: string, limit: number) => Promise<string[]>;
} {
  const page = async (query: string): Promise<AuditPage> => {
    const res = await app()
      .http.get(`/api/v1/audit-logs?${query}`)
      .set(...bearer(token()));
    expect(res.status).toBe(200);
    return res.body as AuditPage;
  };
  const walk = async (query: string, limit: number): Promise<string[]> => {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 100; n++) {
      const body = await page(
        `${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      ids.push(...body.items.map((i) => i.id));
      cursor = body.nextCursor;
      if (!cursor) return ids;
    }
    throw new Error('the cursor walk did not end');
  };
  const tail = async (query: string, limit: number): Promise<string[]> => {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 100; n++) {
      const body = await page(
        `${query}&order=asc&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      if (body.items.length === 0) return ids;
      ids.push(...body.items.map((i) => i.id));
      cursor = body.nextCursor;
    }
    throw new Error('the tail did not end');
  };
  return { page, walk, tail };
}
