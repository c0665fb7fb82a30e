import { AUDIT_ACTIONS, AuditAction } from './audit.catalogue';
import type { AuditChanges, AuditOutcome } from './audit.types';

const MAX_LISTED_CHANGES = 3;

function show(value: unknown): string {
  if (value === null || value === undefined || value === '') return 'nothing';
  if (typeof value === 'string') return value.length > 60 ? `“${value.slice(0, 57)}…”` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value).slice(0, 60);
}

function humanField(field: string): string {
  return field
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .toLowerCase();
}

/** Actions whose verb says it all: a creation or deletion does not list its fields. */
const LISTS_CHANGES = /\.(updated|role_changed|deactivated|activated)$/;

function describeChanges(action: AuditAction, changes: AuditChanges | null | undefined): string {
  const fields = Object.keys(changes ?? {});
  if (!changes || fields.length === 0 || !LISTS_CHANGES.test(action)) return '';
  if (fields.length > MAX_LISTED_CHANGES) return ` (${fields.map(humanField).join(', ')})`;
  const parts = fields.map((f) => `${humanField(f)} from ${show(changes[f].from)} to ${show(changes[f].to)}`);
  return ` ${parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`}`;
}

export interface DescriptionInput {
  action: AuditAction;
  outcome: AuditOutcome;
  actorName: string | null;
  actorType: string;
  resourceDisplay: string | null;
  resourceId: string | null;
  httpMethod?: string | null;
  httpPath?: string | null;
  changes?: AuditChanges | null;
  statusCode?: number | null;
  errorMessage?: string | null;
  /** For access.denied: what was attempted. */
  attemptedAction?: AuditAction;
}

/** A sentence a person reads: “Ann Lee changed task “Pay rent” status from todo to done”. */
export function describeEvent(e: DescriptionInput): string {
  const who =
    e.actorName ??
    (e.actorType === 'anonymous' ? 'An anonymous caller' : e.actorType === 'system' ? 'System' : 'Someone');
  const spec = AUDIT_ACTIONS[e.action];
  const target = e.resourceDisplay ? ` “${e.resourceDisplay}”` : e.resourceId ? ` ${e.resourceId}` : '';
  const route = e.httpMethod && e.httpPath ? ` ${e.httpMethod} ${e.httpPath}` : '';

  if (
    e.action === 'access.denied' ||
    e.action === 'security.rate_limited' ||
    e.action === 'error.unhandled'
  ) {
    const attempted = e.attemptedAction ? ` (${AUDIT_ACTIONS[e.attemptedAction].attempt}${target})` : '';
    const status = e.statusCode ? ` [${e.statusCode}]` : '';
    return `${who} ${spec.done}${route || target}${attempted}${status}`;
  }
  if (e.outcome === 'success') return `${who} ${spec.done}${target}${describeChanges(e.action, e.changes)}`;
  const why = e.errorMessage ? `: ${e.errorMessage}` : '';
  const status = e.statusCode ? ` [${e.statusCode}]` : '';
  return `${who} tried to ${spec.attempt}${target} but failed${why}${status}`;
}
