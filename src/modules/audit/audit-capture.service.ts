import { Injectable, Logger } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { ClsService } from 'nestjs-cls';
import { mapException, MappedException } from '../../common/filters/exception-mapping';
import type { RequestContextStore } from '../../common/context/request-context';
import { AppConfig } from '../../config/app-config';
import type { Tx } from '../../database/transaction';
import { TransactionRunner } from '../../database/transaction-runner';
import type { AuditAction } from './audit.catalogue';
import { AuditEventFactory } from './audit-event.factory';
import { AUDIT_RECORDED_KEY, AUDIT_SCOPE_KEY, AuditScope } from './audit-scope';
import { AuditSpool } from './audit-spool';
import type { AuditEventInput, AuditEventRow } from './audit.types';
import { AuditWriter } from './audit-writer';
import type { AuditedOptions } from './audited.decorator';

type Store = RequestContextStore & { [AUDIT_SCOPE_KEY]?: AuditScope; [AUDIT_RECORDED_KEY]?: boolean };

/**
 * The machinery behind the interceptor and the exception filter (not for feature modules): opens the
 * request's audit scope, writes the success event inside the request's transaction, and writes
 * failure and error events on their own, falling back to the spool when the database is unreachable.
 */
@Injectable()
export class AuditCapture {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly cls: ClsService<Store>,
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly transactions: TransactionRunner,
    private readonly factory: AuditEventFactory,
    private readonly writer: AuditWriter,
    private readonly spool: AuditSpool,
    private readonly config: AppConfig,
  ) {}

  get enabled(): boolean {
    return this.config.auditEnabled;
  }

  begin(options: AuditedOptions): void {
    this.cls.set(AUDIT_SCOPE_KEY, {
      action: options.action,
      failureAction: options.failureAction,
      resourceType: options.resourceType,
      metadata: {},
      skipped: false,
    });
  }

  alreadyRecorded(): boolean {
    return this.cls.isActive() && this.cls.get(AUDIT_RECORDED_KEY) === true;
  }

  private markRecorded(): void {
    if (this.cls.isActive()) this.cls.set(AUDIT_RECORDED_KEY, true);
  }

  private scope(): AuditScope | undefined {
    return this.cls.get(AUDIT_SCOPE_KEY);
  }

  /**
   * Inside the request's transaction, as its last statement. Fails closed: if the insert fails, the
   * request fails and the change rolls back; with AUDIT_FAIL_OPEN the change commits and the event is
   * spooled.
   */
  async writeSuccess(statusCode: number): Promise<void> {
    const scope = this.scope();
    if (!scope || scope.skipped || !this.enabled) return;
    const row = this.factory.build(
      {
        action: scope.action,
        outcome: 'success',
        resource: scope.resource ?? (scope.resourceType ? { type: scope.resourceType, id: null } : undefined),
        changes: scope.changes ?? null,
        metadata: scope.metadata,
        statusCode,
      },
      scope.actor,
    );
    if (!this.config.auditFailOpen) {
      // The last statement of the request's transaction: sent with its COMMIT in one message once the
      // INSERT is prepared on this connection (one round trip fewer), else run now. Either way the
      // change commits if and only if its event does.
      const tx = this.txHost.tx;
      const withCommit = await this.writer.insertSqlForCommit(tx, row);
      if (withCommit === null || !this.transactions.atCommit(withCommit)) await this.writer.insertNew(tx, row);
      this.markRecorded();
      return;
    }
    const tx = this.txHost.tx;
    await tx.query('SAVEPOINT audit_event');
    try {
      await this.writer.insertNew(tx, row);
      await tx.query('RELEASE SAVEPOINT audit_event');
    } catch (e) {
      await tx.query('ROLLBACK TO SAVEPOINT audit_event');
      this.logger.error(
        `Audit insert failed (fail-open): spooling ${row.action} ${row.id}`,
        e instanceof Error ? e.stack : String(e),
      );
      this.spool.append([row]);
    }
    this.markRecorded();
  }

  /** After the request's transaction rolled back: one event for the failure. Never throws. */
  async writeFailure(exception: unknown): Promise<void> {
    const scope = this.scope();
    if (!scope || !this.enabled) return;
    const mapped = mapException(exception);
    const denied = this.isDenial(mapped);
    const limited = mapped.statusCode === 429;
    const action: AuditAction = denied
      ? 'access.denied'
      : limited
        ? 'security.rate_limited'
        : (scope.failureAction ?? scope.action);
    const metadata =
      denied || limited ? { ...scope.metadata, attemptedAction: scope.action } : scope.metadata;
    await this.writeDetached([this.failureRow(action, mapped, exception, scope, metadata)]);
  }

  /** For the exception filter: what the interceptor did not record (guard denials, unhandled errors). */
  async writeUnrecorded(
    exception: unknown,
    mapped: MappedException,
    attempted?: AuditedOptions,
    params?: Record<string, string>,
  ): Promise<void> {
    if (!this.enabled || this.alreadyRecorded() || !this.cls.isActive()) return;
    let action: AuditAction | undefined;
    if (this.isDenial(mapped)) action = 'access.denied';
    else if (mapped.statusCode === 429) action = 'security.rate_limited';
    else if (mapped.statusCode >= 500) action = 'error.unhandled';
    if (!action) return;
    const resourceId = params?.id ?? params?.taskId ?? null;
    const scope: AuditScope = this.scope() ?? {
      action,
      metadata: {},
      skipped: false,
      resourceType: attempted?.resourceType,
      resource: attempted?.resourceType ? { type: attempted.resourceType, id: resourceId } : undefined,
    };
    const metadata =
      attempted && action === 'access.denied'
        ? { ...scope.metadata, attemptedAction: attempted.action }
        : scope.metadata;
    await this.writeDetached([this.failureRow(action, mapped, exception, scope, metadata)]);
  }

  private isDenial(mapped: MappedException): boolean {
    return (
      mapped.statusCode === 403 || (mapped.statusCode === 401 && this.cls.get('credentialPresented') === true)
    );
  }

  private failureRow(
    action: AuditAction,
    mapped: MappedException,
    exception: unknown,
    scope: AuditScope,
    metadata: Record<string, unknown>,
  ): AuditEventRow {
    const serverError = mapped.statusCode >= 500;
    const clientMessage = Array.isArray(mapped.message) ? mapped.message.join('; ') : mapped.message;
    const input: AuditEventInput = {
      action,
      outcome: serverError ? 'error' : 'failure',
      severity: serverError ? (mapped.infrastructure ? 'critical' : 'error') : 'warning',
      resource: scope.resource ?? (scope.resourceType ? { type: scope.resourceType, id: null } : undefined),
      metadata,
      statusCode: mapped.statusCode,
      error: {
        type: mapped.errorType,
        // A 5xx keeps the real message and stack for the trail (the client sees neither).
        message: serverError && exception instanceof Error ? exception.message : clientMessage,
        stack: serverError && exception instanceof Error ? (exception.stack ?? null) : null,
      },
    };
    return this.factory.build(input, action === 'auth.login_failed' ? undefined : scope.actor);
  }

  /** Writes rows in their own transaction; if that fails, to the spool. Never throws. */
  async writeDetached(rows: AuditEventRow[]): Promise<void> {
    this.markRecorded();
    try {
      await this.transactions.run(() => this.writer.insert(this.txHost.tx, rows));
    } catch (e) {
      this.logger.error(
        `Audit insert failed: spooling ${rows.length} event(s)`,
        e instanceof Error ? e.stack : String(e),
      );
      try {
        this.spool.append(rows);
      } catch (spoolError) {
        this.logger.fatal(
          `Audit spool write failed: ${rows.map((r) => `${r.action} ${r.id}`).join(', ')}`,
          spoolError instanceof Error ? spoolError.stack : String(spoolError),
        );
      }
    }
  }

  /** Replays spooled events into the table (idempotent). */
  async replaySpool(): Promise<number> {
    if (!this.spool.hasPending()) return 0;
    const count = await this.spool.replay((rows) =>
      this.transactions.run(() => this.writer.insert(this.txHost.tx, rows)),
    );
    if (count > 0) this.logger.log(`Replayed ${count} spooled audit event(s)`);
    return count;
  }
}
