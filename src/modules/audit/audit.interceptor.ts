import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  RequestMethod,
  type Type,
} from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { from, lastValueFrom, Observable } from 'rxjs';
import { BEFORE_TRANSACTION_KEY, type BeforeTransactionStep } from '../../database/before-transaction';
import { TransactionRunner } from '../../database/transaction-runner';
import { AuditCapture } from './audit-capture.service';
import { AUDITED_KEY, AuditedOptions, NO_AUDIT_KEY } from './audited.decorator';

const HTTP_CODE_METADATA = '__httpCode__';

/**
 * Global: one request = one transaction. For an `@Audited` route the success event is inserted in
 * that transaction before commit (a change is committed if and only if its event is); when the
 * handler throws, the transaction rolls back and exactly one failure/error event is written. A route's
 * `@BeforeTransaction` step (an upload's body) runs first, outside the transaction, its refusal
 * recorded the same way.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly transactions: TransactionRunner,
    private readonly capture: AuditCapture,
    private readonly moduleRef: ModuleRef,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const targets = [context.getHandler(), context.getClass()];
    const noAudit = this.reflector.getAllAndOverride<boolean | undefined>(NO_AUDIT_KEY, targets) === true;
    const audited = noAudit
      ? undefined
      : this.reflector.get<AuditedOptions | undefined>(AUDITED_KEY, context.getHandler());
    if (audited) this.capture.begin(audited);
    const successStatus = this.successStatus(context);
    return from(this.run(context, next, audited, successStatus));
  }

  private async run(
    context: ExecutionContext,
    next: CallHandler,
    audited: AuditedOptions | undefined,
    successStatus: number,
  ): Promise<unknown> {
    try {
      const step = this.reflector.get<Type<BeforeTransactionStep> | undefined>(
        BEFORE_TRANSACTION_KEY,
        context.getHandler(),
      );
      const discard = step ? await this.moduleRef.get(step, { strict: false }).run(context) : undefined;
      // The step's leftovers go if the transaction rolls back, or never begins.
      return await this.transactions.run(async () => {
        const result: unknown = await lastValueFrom(next.handle() as Observable<unknown>, {
          defaultValue: undefined,
        });
        if (audited) await this.capture.writeSuccess(successStatus);
        return result;
      }, discard);
    } catch (e) {
      if (audited) await this.capture.writeFailure(e);
      throw e;
    }
  }

  private successStatus(context: ExecutionContext): number {
    const explicit = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler());
    if (explicit) return explicit;
    return context.switchToHttp().getRequest<Request>().method === RequestMethod[RequestMethod.POST]
      ? 201
      : 200;
  }
}
