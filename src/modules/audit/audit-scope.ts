import type { Actor } from '../../common/context/request-context';
import type { AuditAction } from './audit.catalogue';
import type { AuditChanges, AuditResource } from './audit.types';

/** What one audited request has gathered so far (kept in the async-local request context). */
export interface AuditScope {
  action: AuditAction;
  failureAction?: AuditAction;
  resourceType?: string;
  resource?: AuditResource;
  changes?: AuditChanges | null;
  metadata: Record<string, unknown>;
  actor?: Actor;
  /** Nothing happened worth recording (e.g. an update that changed nothing). */
  skipped: boolean;
}

export const AUDIT_SCOPE_KEY = 'audit:scope';
/** Set once an event was written for the request, so the exception filter does not write a second. */
export const AUDIT_RECORDED_KEY = 'audit:recorded';
