import { ConsoleLogger, ConsoleLoggerOptions } from '@nestjs/common';
import { ClsServiceManager } from 'nestjs-cls';
import { LOG_LEVELS, LogLevelName } from '../../config/env.validation';

/** Keys masked in any structured value that reaches a log line. */
export const LOG_REDACT_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'passwordHash',
  'token',
  'accessToken',
  'secret',
  'authorization',
  'cookie',
  'apiKey',
];

function currentRequestId(): string | undefined {
  try {
    const cls = ClsServiceManager.getClsService();
    return cls.isActive() ? cls.getId() : undefined;
  } catch {
    return undefined;
  }
}

/** Nest's console logger, plus the request id on every line (JSON in production). */
export class AppLogger extends ConsoleLogger {
  constructor(options: ConsoleLoggerOptions = {}) {
    super({ ...options, redact: LOG_REDACT_KEYS });
  }

  static create(level: LogLevelName, format: 'pretty' | 'json'): AppLogger {
    const idx = LOG_LEVELS.indexOf(level);
    const levels = LOG_LEVELS.slice(0, idx + 1);
    return new AppLogger({ logLevels: levels, json: format === 'json', colors: format !== 'json' });
  }

  protected override getJsonLogObject(
    ...args: Parameters<ConsoleLogger['getJsonLogObject']>
  ): ReturnType<ConsoleLogger['getJsonLogObject']> {
    const obj = super.getJsonLogObject(...args);
    const requestId = currentRequestId();
    return requestId ? { ...obj, requestId } : obj;
  }

  protected override formatContext(context: string): string {
    const requestId = currentRequestId();
    return super.formatContext(requestId ? `${context}] [${requestId}` : context);
  }
}
