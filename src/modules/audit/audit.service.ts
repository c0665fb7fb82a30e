import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { ClsService } from 'nestjs-cls';
import type { Actor } from '../../common/context/request-context';
import type { Tx } from '../../database/transaction';
import type { AuditAction } from './audit.catalogue';
import { AuditEventFactory } from './audit-event.factory';
import { AUDIT_SCOPE_KEY, AuditScope } from './audit-scope';
import type { AuditChanges, AuditEventInput, AuditEventRow } from './audit.types';
import { AuditWriter } from './audit-writer';

/**
 * The public face of the AuditModule.
 *
 * In an audited HTTP request (`@Audited`), services describe what they did (resource, changes, a
 * more precise action, metadata) and the interceptor writes the event in the request's transaction.
 * Outside HTTP (schedulers, imports), `record()` / `recordMany()` insert immediately, in the caller's
 * transaction.
 */
@Injectable()
export class AuditService {
  constructor(
    private readonly cls: ClsService,
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly factory: AuditEventFactory,
    private readonly writer: AuditWriter,
  ) {}

  private scope(): AuditScope | undefined {
    return this.cls.isActive() ? this.cls.get<AuditScope | undefined>(AUDIT_SCOPE_KEY) : undefined;
  }

  /** The resource the request acted on (display: a name a person recognises, e.g. the task title). */
  setResource(type: string, id: string | null, display?: string | null): void {
    const scope = this.scope();
    if (scope) scope.resource = { type, id, display: display ?? null };
  }

  /** The changes made (see diffChanges / createdChanges / deletedChanges). */
  setChanges(changes: AuditChanges | null): void {
    const scope = this.scope();
    if (scope) scope.changes = changes;
  }

  /** A more precise action than the route's (e.g. user.role_changed instead of user.updated). */
  setAction(action: AuditAction): void {
    const scope = this.scope();
    if (scope) scope.action = action;
  }

  addMetadata(metadata: Record<string, unknown>): void {
    const scope = this.scope();
    if (scope) Object.assign(scope.metadata, metadata);
  }

  /** The actor when it is not the caller (e.g. the user who just logged in). */
  setActor(actor: Actor): void {
    const scope = this.scope();
    if (scope) scope.actor = actor;
  }

  /** Nothing happened worth recording (an update that changed nothing): no success event. */
  skip(): void {
    const scope = this.scope();
    if (scope) scope.skipped = true;
  }

  /** Inserts one event now, in the current transaction. */
  async record(input: AuditEventInput): Promise<AuditEventRow> {
    const row = this.factory.build(input);
    await this.writer.insertNew(this.txHost.tx, row);
    return row;
  }

  /** Inserts many events now, in the current transaction, in multi-row statements. */
  async recordMany(inputs: AuditEventInput[]): Promise<number> {
    const rows = inputs.map((i) => this.factory.build(i));
    await this.writer.insert(this.txHost.tx, rows);
    return rows.length;
  }
}
