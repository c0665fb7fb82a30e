import { AUDIT_ACTIONS } from '../../src/modules/audit/audit.catalogue';

/**
 * SQL that inserts `n` realistic, skewed audit events in one statement: a few busy actors and
 * resources, mostly successes, recent days busier than old ones, a sprinkle of API-key, system and
 * anonymous actors, IPv4 and IPv6 clients.
 */
export function volumeInsertSql(n: number): string {
  const entries = Object.entries(AUDIT_ACTIONS);
  const actions = `ARRAY[${entries.map(([a]) => `'${a}'`).join(', ')}]`;
  const categories = `ARRAY[${entries.map(([, spec]) => `'${spec.category}'`).join(', ')}]`;
  return `
    WITH g AS (
      SELECT s, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5
      FROM generate_series(1, ${n}) s
    ),
    rows AS (
      SELECT g.*,
        CASE WHEN r1 < 0.01 THEN 'api_key' WHEN r1 < 0.05 THEN 'system' WHEN r1 < 0.09 THEN 'anonymous' ELSE 'user' END AS at,
        1 + floor(power(r2, 2) * ${entries.length})::int AS ai,
        CASE WHEN r3 < 0.90 THEN 'success' WHEN r3 < 0.98 THEN 'failure' ELSE 'error' END AS oc
      FROM g
    ),
    rows2 AS (SELECT rows.*, (${actions})[ai] AS act, (${categories})[ai] AS cat FROM rows)
    INSERT INTO audit_logs (id, occurred_at, action, category, outcome, severity, actor_type, actor_id,
      actor_display, resource_type, resource_id, resource_display, request_id, http_method, http_path,
      status_code, duration_ms, ip_address, user_agent, metadata, description, error_type, error_message)
    SELECT gen_random_uuid(),
      now() - power(r4, 2) * interval '365 days',
      act, cat, oc,
      CASE oc WHEN 'success' THEN 'info' WHEN 'failure' THEN (CASE WHEN r5 < 0.9 THEN 'warning' ELSE 'error' END)
              ELSE (CASE WHEN r5 < 0.8 THEN 'error' ELSE 'critical' END) END,
      at,
      CASE at WHEN 'user' THEN 'user-' || floor(power(r5, 3) * 5000)::int
              WHEN 'api_key' THEN 'key-' || floor(r5 * 5)::int END,
      CASE at WHEN 'user' THEN 'User ' || floor(power(r5, 3) * 5000)::int WHEN 'system' THEN 'System'
              WHEN 'api_key' THEN 'Key ' || floor(r5 * 5)::int END,
      split_part(act, '.', 1),
      'r-' || floor(power(r2 * r5, 2) * 200000)::int,
      'Thing ' || floor(power(r2 * r5, 2) * 200000)::int,
      md5(s::text), 'POST', '/api/v1/' || split_part(act, '.', 1),
      CASE oc WHEN 'success' THEN 200 WHEN 'failure' THEN 403 ELSE 500 END,
      floor(r1 * 200)::int,
      CASE WHEN r4 < 0.05 THEN ('2001:db8::' || to_hex(floor(r5 * 65535)::int))::inet
           WHEN r4 < 0.1 THEN NULL
           ELSE ('10.' || floor(r5 * 256)::int || '.' || floor(r3 * 256)::int || '.' || floor(r2 * 256)::int)::inet END,
      'Mozilla/5.0', '{}'::jsonb,
      CASE at WHEN 'user' THEN 'User ' || floor(power(r5, 3) * 5000)::int ELSE 'Someone' END || ' did ' || act || ' on Thing ' || floor(power(r2 * r5, 2) * 200000)::int,
      CASE WHEN oc <> 'success' THEN (ARRAY['QueryFailedError', 'TypeError', 'ForbiddenError', 'ConflictError'])[1 + floor(r5 * 4)::int] END,
      CASE WHEN oc <> 'success' THEN 'it failed' END
    FROM rows2`;
}
