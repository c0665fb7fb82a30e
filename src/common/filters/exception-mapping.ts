import { HttpException } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { DOMAIN_ERROR_STATUS, DomainError } from '../errors/domain-error';
import { errorCode } from '../errors/error-code';

export interface MappedException {
  statusCode: number;
  error: string;
  message: string | string[];
  /** The error's class/type name, for the log and the audit trail. */
  errorType: string;
  /** Infrastructure failure (database unreachable, out of memory): 'critical' severity. */
  infrastructure: boolean;
}

const INFRA_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08003',
  '08006',
  '53100', // disk_full
  '53200', // out_of_memory
]);

/** True when the error means the database (or the process) is unwell rather than the request. */
export function isInfrastructureError(e: unknown): boolean {
  if (e instanceof RangeError && /memory/i.test(e.message)) return true;
  const code = errorCode(e);
  if (code && INFRA_ERROR_CODES.has(code)) return true;
  const message = e instanceof Error ? e.message : '';
  return /Connection terminated|connection (is )?closed|terminating connection|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}

interface BodyParserError {
  type: string;
  status: number;
  expose?: boolean;
  message: string;
}

function isBodyParserError(e: unknown): e is BodyParserError {
  return (
    e instanceof Error &&
    typeof (e as Partial<BodyParserError>).type === 'string' &&
    typeof (e as Partial<BodyParserError>).status === 'number'
  );
}

const reason = (status: number): string => STATUS_CODES[status] ?? 'Error';

function fromHttpException(e: HttpException): MappedException {
  const statusCode = e.getStatus();
  const body = e.getResponse();
  let message: string | string[] = e.message;
  if (typeof body === 'string') message = body;
  else if (typeof body === 'object' && body !== null) {
    const m = (body as { message?: unknown }).message;
    if (typeof m === 'string' || (Array.isArray(m) && m.every((x) => typeof x === 'string'))) message = m;
  }
  return {
    statusCode,
    error: reason(statusCode),
    message,
    errorType: e.constructor.name,
    infrastructure: false,
  };
}

/** Maps anything thrown to the status and body the client sees. 5xx bodies carry no detail. */
export function mapException(e: unknown): MappedException {
  if (e instanceof DomainError) {
    const statusCode = DOMAIN_ERROR_STATUS[e.code];
    return {
      statusCode,
      error: reason(statusCode),
      message: e.message,
      errorType: e.name,
      infrastructure: false,
    };
  }
  if (e instanceof HttpException) {
    const mapped = fromHttpException(e);
    return mapped.statusCode === 500 ? { ...mapped, message: 'Internal server error' } : mapped;
  }
  if (isBodyParserError(e) && e.status >= 400 && e.status < 500) {
    const message =
      e.type === 'entity.parse.failed'
        ? 'Malformed JSON body'
        : e.type === 'entity.too.large'
          ? 'Request body is too large'
          : e.expose
            ? e.message
            : reason(e.status);
    return {
      statusCode: e.status,
      error: reason(e.status),
      message,
      errorType: `BodyParser:${e.type}`,
      infrastructure: false,
    };
  }
  const infrastructure = isInfrastructureError(e);
  const statusCode = infrastructure ? 503 : 500;
  return {
    statusCode,
    error: reason(statusCode),
    message: infrastructure ? 'Service temporarily unavailable' : 'Internal server error',
    errorType: e instanceof Error ? e.constructor.name : typeof e,
    infrastructure,
  };
}
