import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ClsService } from 'nestjs-cls';
import { resolveRequestId } from '../context/request-id';
import type { RequestContextStore } from '../context/request-context';
import { ErrorResponseDto } from '../dto/error-response.dto';
import { RateLimitedError } from '../errors/domain-error';
import { MappedException, mapException } from './exception-mapping';

/**
 * The one place errors become responses: `{statusCode, error, message, requestId}`.
 * A 5xx never carries detail to the client; the detail goes to the log.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  protected readonly logger = new Logger('Exceptions');

  constructor(protected readonly cls: ClsService<RequestContextStore>) {}

  async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    if (host.getType() !== 'http') throw exception;
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    const mapped = mapException(exception);
    this.log(mapped, exception, req);
    await this.record(exception, mapped, req);
    this.respond(res, req, mapped, exception);
  }

  /** Hook run before the answer is sent (the audit filter records the exception here). */
  protected record(_exception: unknown, _mapped: MappedException, _req: Request): Promise<void> {
    return Promise.resolve();
  }

  protected requestId(req: Request): string {
    return this.cls.isActive() && this.cls.getId()
      ? this.cls.getId()
      : resolveRequestId(req.headers['x-request-id']);
  }

  protected log(mapped: MappedException, exception: unknown, req: Request): void {
    if (mapped.statusCode >= 500) {
      const stack = exception instanceof Error ? exception.stack : String(exception);
      this.logger.error(`${req.method} ${req.path} failed: ${mapped.errorType}`, stack);
    }
  }

  protected respond(res: Response, req: Request, mapped: MappedException, exception?: unknown): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const requestId = this.requestId(req);
    const body: ErrorResponseDto = {
      statusCode: mapped.statusCode,
      error: mapped.error,
      message: mapped.message,
      requestId,
    };
    if (!res.getHeader('X-Request-Id')) res.setHeader('X-Request-Id', requestId);
    if (exception instanceof RateLimitedError)
      res.setHeader('Retry-After', String(exception.retryAfterSeconds));
    res.status(mapped.statusCode).json(body);
  }
}
