import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { AuditAction } from './audit.catalogue';

export const AUDITED_KEY = 'audit:audited';
export const NO_AUDIT_KEY = 'audit:none';

export interface AuditedOptions {
  /** The action recorded on success (and on failure, unless failureAction is set). */
  action: AuditAction;
  /** The type of resource the route acts on (`task`, `user`, …). */
  resourceType?: string;
  /** The action recorded when the route fails (e.g. auth.login → auth.login_failed). */
  failureAction?: AuditAction;
}

/**
 * Records the route in the audit trail: the handler runs in one transaction, the service adds the
 * resource and the changes to the request's audit scope, and the event is inserted in that same
 * transaction before commit. A failure records one event with outcome failure/error instead.
 */
export const Audited = (options: AuditedOptions): MethodDecorator =>
  applyDecorators(SetMetadata(AUDITED_KEY, options), ApiExtension('x-audit-action', options.action));

/** A mutating route that deliberately records nothing (silences the start-up warning). */
export const NoAudit = (): MethodDecorator & ClassDecorator => SetMetadata(NO_AUDIT_KEY, true);
