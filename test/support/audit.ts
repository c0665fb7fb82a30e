import type { TestApp } from './test-app';

export interface AuditRow {
  id: string;
  seq: string;
  action: string;
  category: string;
  outcome: string;
  severity: string;
  actor_type: string;
  actor_id: string | null;
  actor_display: string | null;
  resource_type: string | null;
  resource_id: string | null;
  resource_display: string | null;
  request_id: string | null;
  http_method: string | null;
  http_path: string | null;
  status_code: number | null;
  duration_ms: number | null;
  ip_address: string | null;
  user_agent: string | null;
  changes: Record<string, { from: unknown; to: unknown }> | null;
  metadata: Record<string, unknown>;
  description: string;
  error_type: string | null;
  error_message: string | null;
  error_stack: string | null;
}

/** Audit events matching the filter, oldest first. */
export function auditEvents(t: TestApp, where = 'TRUE', params: unknown[] = []): Promise<AuditRow[]> {
  return t.query<AuditRow>(
    `SELECT *, host(ip_address) AS ip_address FROM audit_logs WHERE ${where} ORDER BY seq`,
    params,
  );
}

/** The events written for one request (by its X-Request-Id). */
export function eventsOfRequest(t: TestApp, requestId: string): Promise<AuditRow[]> {
  return auditEvents(t, 'request_id = $1', [requestId]);
}

let n = 0;
export const rid = (label: string): string => `${label}-${Date.now().toString(36)}-${n++}`;
