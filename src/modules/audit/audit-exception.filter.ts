import { ArgumentsHost, Catch, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ClsService } from 'nestjs-cls';
import type { RequestContextStore } from '../../common/context/request-context';
import { AllExceptionsFilter } from '../../common/filters/all-exceptions.filter';
import { mapException } from '../../common/filters/exception-mapping';
import { AuditCapture } from './audit-capture.service';
import { AUDITED_KEY, AuditedOptions } from './audited.decorator';

/**
 * Global: records what the interceptor cannot see (guard denials → access.denied, unhandled errors
 * → error.unhandled), then answers with the standard error shape.
 */
@Catch()
export class AuditExceptionFilter extends AllExceptionsFilter {
  constructor(
    cls: ClsService<RequestContextStore>,
    private readonly capture: AuditCapture,
    private readonly reflector: Reflector,
  ) {
    super(cls);
  }

  override async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    if (host.getType() !== 'http') throw exception;
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<import('express').Response>();
    const mapped = mapException(exception);
    this.log(mapped, exception, req);
    const handler = (host as Partial<ExecutionContext>).getHandler?.();
    const attempted = handler ? this.reflector.get<AuditedOptions | undefined>(AUDITED_KEY, handler) : undefined;
    await this.capture.writeUnrecorded(exception, attempted, req.params as Record<string, string> | undefined);
    this.respond(res, req, mapped);
  }
}
