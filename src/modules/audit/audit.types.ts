import type { ActorType } from '../../common/context/request-context';
import type { AuditAction, AuditCategory } from './audit.catalogue';

export const AUDIT_OUTCOMES = ['success', 'failure', 'error'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const AUDIT_SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type AuditSeverity = (typeof AUDIT_SEVERITIES)[number];

export const ACTOR_TYPES: readonly ActorType[] = ['user', 'system', 'api_key', 'anonymous'];

/** `{field: {from, to}}`: creates have from null, deletes to null. */
export type AuditChanges = Record<string, { from: unknown; to: unknown }>;

export interface AuditResource {
  type: string;
  id: string | null;
  display?: string | null;
}

/** A fully built event, ready to insert (one row of audit_logs). */
export interface AuditEventRow {
  id: string;
  occurredAt: Date;
  action: AuditAction;
  category: AuditCategory;
  outcome: AuditOutcome;
  severity: AuditSeverity;
  actorType: ActorType;
  actorId: string | null;
  actorDisplay: string | null;
  resourceType: string | null;
  resourceId: string | null;
  resourceDisplay: string | null;
  requestId: string | null;
  httpMethod: string | null;
  httpPath: string | null;
  statusCode: number | null;
  durationMs: number | null;
  ipAddress: string | null;
  userAgent: string | null;
  changes: AuditChanges | null;
  metadata: Record<string, unknown>;
  description: string;
  errorType: string | null;
  errorMessage: string | null;
  errorStack: string | null;
}

/** What callers give to AuditService.record(): the rest comes from the request context. */
export interface AuditEventInput {
  action: AuditAction;
  outcome?: AuditOutcome;
  severity?: AuditSeverity;
  resource?: AuditResource;
  changes?: AuditChanges | null;
  metadata?: Record<string, unknown>;
  description?: string;
  /** Overrides the actor of the request context (e.g. `system` for the scheduler). */
  actor?: { type: ActorType; id: string | null; name: string | null; email?: string | null };
  statusCode?: number | null;
  error?: { type: string; message: string; stack?: string | null } | null;
  occurredAt?: Date;
}
