import type { ChildApp } from '../lib/child-app';
import type { BenchContext } from '../lib/context';
import { httpJson, loginAdmin } from '../lib/http';
import { notMerged, type TargetResult } from '../lib/report';

export const VERIFY_TARGET = '5. Chain verification';
export const VERIFY_GOAL = '≥ 300,000 rows/s';

/** Chain verification rows/s. Needs the integrity feature (hash chain, AuditVerifier). */
export async function runVerifyTarget(ctx: BenchContext, app: ChildApp): Promise<TargetResult> {
  const token = await loginAdmin(app.baseUrl);
  const probe = await httpJson(app.baseUrl, 'GET', '/api/v1/audit-logs/verify?fromSeq=1&toSeq=1', token);
  if (probe.status === 404 || probe.status === 405 || probe.status === 400) {
    return notMerged(
      'verify',
      VERIFY_TARGET,
      VERIFY_GOAL,
      'GET /api/v1/audit-logs/verify and AuditVerifier (integrity)',
    );
  }
  ctx.progress('target 5: the integrity feature is present but the bench does not drive it yet');
  return notMerged('verify', VERIFY_TARGET, VERIFY_GOAL, 'sealing/verification hook in the bench');
}
