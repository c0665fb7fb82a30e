import 'reflect-metadata';
import { plainToInstance, Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsEmail,
  IsEnum,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidateIf,
  ValidationError,
} from 'class-validator';

export enum NodeEnv {
  Development = 'development',
  Production = 'production',
  Test = 'test',
}

export const EXPORT_STRATEGIES = ['auto', 'copy', 'cursor'] as const;
export type ExportStrategySetting = (typeof EXPORT_STRATEGIES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** Development-only fallbacks; production refuses to start without real values. */
export const DEV_JWT_SECRET = 'dev-only-insecure-jwt-secret-change-me-please';
export const DEV_AUDIT_SIGNING_KEY = 'dev-only-insecure-audit-signing-key-change-me';
export const DEV_ADMIN_EMAIL = 'admin@example.com';
export const DEV_ADMIN_PASSWORD = 'admin-password-123';

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};

const isProduction = (o: EnvironmentVariables): boolean => o.NODE_ENV === NodeEnv.Production;

/** Every environment variable the app reads, validated once at start-up. */
export class EnvironmentVariables {
  @IsEnum(NodeEnv)
  NODE_ENV: NodeEnv = NodeEnv.Development;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevelName = 'log';

  @IsIn(['pretty', 'json'])
  @IsOptional()
  LOG_FORMAT?: 'pretty' | 'json';

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsString()
  EMBEDDED_DB_DIR = './data/db';

  @Transform(toBoolean)
  @IsBoolean()
  DB_MIGRATIONS_RUN = true;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  DB_POOL_SIZE = 10;

  @ValidateIf((o: EnvironmentVariables) => isProduction(o) || o.JWT_SECRET !== undefined)
  @IsString({ message: 'JWT_SECRET is required in production' })
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  @Matches(/^\d+[smhd]?$/, { message: 'JWT_TTL must be a duration such as 3600, 15m, 1h or 1d' })
  JWT_TTL = '1h';

  @ValidateIf((o: EnvironmentVariables) => isProduction(o) || o.ADMIN_EMAIL !== undefined)
  @IsEmail({}, { message: 'ADMIN_EMAIL must be an email address (required in production)' })
  ADMIN_EMAIL?: string;

  @ValidateIf((o: EnvironmentVariables) => isProduction(o) || o.ADMIN_PASSWORD !== undefined)
  @IsString({ message: 'ADMIN_PASSWORD is required in production' })
  @MinLength(10, { message: 'ADMIN_PASSWORD must be at least 10 characters' })
  ADMIN_PASSWORD?: string;

  @Transform(toBoolean)
  @IsBoolean()
  TRUST_PROXY = false;

  @Matches(/^\d+(b|kb|mb)?$/i, { message: 'JSON_BODY_LIMIT must be a size such as 1048576, 512kb or 1mb' })
  JSON_BODY_LIMIT = '1mb';

  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024;

  @IsString()
  ATTACHMENT_ALLOWED_TYPES =
    'text/plain,text/csv,text/markdown,application/pdf,application/json,application/zip,image/png,image/jpeg,image/gif,image/webp';

  @IsString()
  ATTACHMENTS_DIR = './data/attachments';

  @Type(() => Number)
  @IsInt()
  @Min(100)
  REMINDER_POLL_MS = 10000;

  @Transform(toBoolean)
  @IsBoolean()
  REMINDER_SCHEDULER_ENABLED = true;

  @Transform(toBoolean)
  @IsBoolean()
  AUDIT_ENABLED = true;

  @Transform(toBoolean)
  @IsBoolean()
  AUDIT_FAIL_OPEN = false;

  @IsString()
  AUDIT_SPOOL_DIR = './data/audit-spool';

  @IsString()
  AUDIT_REDACT_KEYS = 'password,passwd,secret,token,authorization,cookie,api_key,apikey,api-key,credential';

  @ValidateIf((o: EnvironmentVariables) => isProduction(o) || o.AUDIT_SIGNING_KEY !== undefined)
  @IsString({ message: 'AUDIT_SIGNING_KEY is required in production' })
  @MinLength(32, { message: 'AUDIT_SIGNING_KEY must be at least 32 characters' })
  AUDIT_SIGNING_KEY?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  AUDIT_EXPORT_MAX_ROWS = 1_000_000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  AUDIT_CHECKPOINT_EVERY = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  AUDIT_CHECKPOINT_MINUTES = 5;

  @Type(() => Number)
  @IsInt()
  @Min(50)
  AUDIT_SEAL_INTERVAL_MS = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  AUDIT_RETENTION_MONTHS = 13;

  @IsString()
  AUDIT_ARCHIVE_DIR = './data/audit-archive';

  @Transform(toBoolean)
  @IsBoolean()
  AUDIT_INTEGRITY_JOBS_ENABLED = true;

  /**
   * Partition maintenance and retention (CREATE … PARTITION OF, DETACH, DROP) wait at most this long
   * for their lock on audit_logs per attempt: while they wait, every statement on the table queues
   * behind them (see integrity/ddl-lock.ts).
   */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  AUDIT_DDL_LOCK_TIMEOUT_MS = 1000;

  /** Attempts of that DDL (0.5 s, 1 s, 2 s … at most 15 s apart) before the job gives up until its next run. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  AUDIT_DDL_LOCK_ATTEMPTS = 8;

  /**
   * How exports are produced: `copy` (formatted in SQL, streamed by COPY … TO STDOUT), `cursor`
   * (FETCH in batches, formatted in JS), or `auto`: copy on a PostgreSQL server, cursor on the
   * embedded database (PGlite runs a COPY to completion without backpressure and ignores cancels).
   */
  @IsIn(EXPORT_STRATEGIES)
  AUDIT_EXPORT_STRATEGY: ExportStrategySetting = 'auto';

  /**
   * An export whose client reads nothing for this long is cut off (recorded as aborted): the export
   * runs in the request's transaction, which a client that stops reading would otherwise hold open
   * (on the embedded database, blocking every other request) for as long as it keeps the socket.
   */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  AUDIT_EXPORT_STALL_TIMEOUT_MS = 30_000;
}

function flattenErrors(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => [
    ...Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? m : `${e.property}: ${m}`)),
    ...flattenErrors(e.children ?? []),
  ]);
}

/**
 * Validates raw environment variables. Empty strings count as unset.
 * Throws one line naming every bad variable, so the app refuses to start with a clear message.
 */
export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  const known = Object.keys(new EnvironmentVariables()).concat(
    'DATABASE_URL',
    'JWT_SECRET',
    'ADMIN_EMAIL',
    'ADMIN_PASSWORD',
    'AUDIT_SIGNING_KEY',
    'LOG_FORMAT',
    'CORS_ORIGINS',
  );
  const picked: Record<string, unknown> = {};
  for (const key of known) {
    const value = raw[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const config = plainToInstance(EnvironmentVariables, picked, { exposeDefaultValues: true });
  const errors = validateSync(config, { skipMissingProperties: false });
  if (errors.length > 0) {
    throw new Error(`Invalid configuration: ${flattenErrors(errors).join('; ')}`);
  }
  return config;
}

/** Parses JWT_TTL-style durations into seconds. */
export function durationToSeconds(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value);
  if (!match) throw new Error(`Invalid duration: ${value}`);
  const n = Number(match[1]);
  const unit = match[2] || 's';
  const factor = { s: 1, m: 60, h: 3600, d: 86400 }[unit] ?? 1;
  return n * factor;
}

/**
 * Reads the process environment (plus a `.env` file in the working directory, which never overrides
 * variables already set) and validates it. The only reader of process.env in the app.
 */
export function loadEnvironment(): EnvironmentVariables {
  try {
    process.loadEnvFile('.env');
  } catch {
    // no .env file: the environment alone is used
  }
  return validateEnv(process.env);
}
