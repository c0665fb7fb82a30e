import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { from, lastValueFrom, Observable } from 'rxjs';
import type { Tx } from '../../database/transaction';

/** One request = one transaction: every query of the handler joins it. */
@Injectable()
export class RequestTransactionInterceptor implements NestInterceptor {
  constructor(@InjectTransactionHost() private readonly txHost: Tx) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    return from(this.txHost.withTransaction(() => lastValueFrom(next.handle(), { defaultValue: undefined })));
  }
}
