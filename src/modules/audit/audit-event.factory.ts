import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { Actor, RequestContextStore, SYSTEM_ACTOR } from '../../common/context/request-context';
import { timeOrderedId } from '../../common/utils/time-ordered-id';
import { AppConfig } from '../../config/app-config';
import { categoryOf, isAuditAction } from './audit.catalogue';
import type { AuditEventInput, AuditEventRow, AuditOutcome, AuditSeverity } from './audit.types';
import { describeEvent } from './description';
import { Redactor, truncate } from './redaction';

const MAX_STACK_BYTES = 16 * 1024;

function truncateBytes(value: string, maxBytes: number): string {
  if (Buffer.byteLength(value) <= maxBytes) return value;
  const marker = '\n…[truncated]';
  let cut = value.slice(0, maxBytes - marker.length);
  while (Buffer.byteLength(cut) > maxBytes - marker.length) cut = cut.slice(0, -64);
  return cut + marker;
}

const DEFAULT_SEVERITY: Record<AuditOutcome, AuditSeverity> = {
  success: 'info',
  failure: 'warning',
  error: 'error',
};

/** Builds complete, redacted rows: the caller's input plus who/where/when from the request context. */
@Injectable()
export class AuditEventFactory {
  private readonly redactor: Redactor;

  constructor(
    private readonly cls: ClsService<RequestContextStore>,
    config: AppConfig,
  ) {
    this.redactor = new Redactor(config.auditRedactKeys);
  }

  currentActor(): Actor {
    return this.cls.isActive() ? (this.cls.get('actor') ?? SYSTEM_ACTOR) : SYSTEM_ACTOR;
  }

  build(input: AuditEventInput, actorOverride?: Actor): AuditEventRow {
    const inRequest = this.cls.isActive() && this.cls.get('method') !== undefined;
    const actor = input.actor ?? actorOverride ?? this.currentActor();
    const outcome = input.outcome ?? 'success';
    const changes = input.changes ? (this.redactor.redact(input.changes) as AuditEventRow['changes']) : null;
    const metadata = this.redactor.redactRecord(input.metadata ?? {});
    const resource = input.resource;
    const resourceDisplay = resource?.display ? truncate(resource.display, 200) : null;
    const errorMessage = input.error ? truncate(input.error.message, 2000) : null;
    const startedAt = inRequest ? this.cls.get('startedAt') : undefined;
    const actorDisplay =
      actor.name && actor.email ? `${actor.name} <${actor.email}>` : (actor.name ?? actor.email ?? null);
    const httpMethod = inRequest ? this.cls.get('method') : null;
    const httpPath = inRequest ? this.cls.get('path') : null;
    const attempted = typeof metadata.attemptedAction === 'string' ? metadata.attemptedAction : undefined;
    return {
      id: timeOrderedId(),
      occurredAt: input.occurredAt ?? new Date(),
      action: input.action,
      category: categoryOf(input.action),
      outcome,
      severity: input.severity ?? DEFAULT_SEVERITY[outcome],
      actorType: actor.type,
      actorId: actor.id,
      actorDisplay: actorDisplay ? truncate(actorDisplay, 300) : null,
      resourceType: resource?.type ?? null,
      resourceId: resource?.id ?? null,
      resourceDisplay,
      requestId: inRequest ? this.cls.getId() : null,
      httpMethod,
      httpPath: httpPath ? truncate(httpPath, 2000) : null,
      statusCode: input.statusCode ?? null,
      durationMs: startedAt !== undefined ? Math.max(0, Date.now() - startedAt) : null,
      ipAddress: inRequest ? this.cls.get('ip') : null,
      userAgent: inRequest ? (this.cls.get('userAgent')?.slice(0, 512) ?? null) : null,
      changes,
      metadata,
      description: truncate(
        input.description ??
          describeEvent({
            action: input.action,
            outcome,
            actorName: actor.name,
            actorType: actor.type,
            resourceDisplay,
            resourceId: resource?.id ?? null,
            httpMethod,
            httpPath,
            changes,
            statusCode: input.statusCode,
            errorMessage,
            attemptedAction: attempted && isAuditAction(attempted) ? attempted : undefined,
          }),
        2000,
      ),
      errorType: input.error ? truncate(input.error.type, 200) : null,
      errorMessage,
      errorStack: input.error?.stack ? truncateBytes(input.error.stack, MAX_STACK_BYTES) : null,
    };
  }
}
