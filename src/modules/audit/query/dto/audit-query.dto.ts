import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  registerDecorator,
  ValidationOptions,
} from 'class-validator';
import { isIP } from 'node:net';
import { ACTOR_TYPES, AUDIT_OUTCOMES, AUDIT_SEVERITIES } from '../../audit.types';
import { AUDIT_CATEGORIES } from '../../audit.catalogue';
import { STATS_GROUPS, StatsGroup } from '../audit-query.builder';

/** An IPv4/IPv6 address, or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`). */
export function isIpOrCidr(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > 64) return false;
  const [address, prefix, ...rest] = value.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (version === 4 ? 32 : 128);
}

function IsIpOrCidr(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isIpOrCidr',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `${String(propertyName)} must be an IP address or a CIDR block`, ...options },
      validator: { validate: isIpOrCidr },
    });
}

/** ISO 8601 date or date-time PostgreSQL parses (no week or ordinal dates). */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/;

const toBoolean = ({ value }: { value: unknown }): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;

function DateParam(description: string, example: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ description, example, type: String, format: 'date-time' }),
    IsOptional(),
    IsISO8601({ strict: true }, { message: '$property must be an ISO 8601 date or date-time' }),
    Matches(ISO_DATE_TIME, { message: '$property must be an ISO 8601 date or date-time' }),
  );
}

function TextParam(description: string, example: string, max = 200): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ description, example, minLength: 1, maxLength: max }),
    IsOptional(),
    IsString(),
    MinLength(1),
    MaxLength(max),
  );
}

/** `limit`, the page size of the paged views (list, errors). */
function PageLimit(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      description: 'Page size (1–200)',
      minimum: 1,
      maximum: 200,
      default: 50,
      example: 50,
    }),
    IsOptional(),
    Type(() => Number),
    IsInt(),
    Min(1),
    Max(200),
  );
}

/** `cursor`, the opaque nextCursor of a previous page. */
function PageCursor(description: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      description,
      example: 'eyJ0IjoiMjAyNi0xMS0yMVQxMDowMDowMC4xMjM0NTZaIiwiaSI6Ii4uLiJ9.c2lnbmF0dXJl',
      maxLength: 1000,
    }),
    IsOptional(),
    IsString(),
    MaxLength(1000),
  );
}

/** The filters every read route shares (list, export, stats). */
export class AuditFilterQueryDto {
  @DateParam(
    'Only events at or after this instant (ISO 8601; UTC unless an offset is given)',
    '2026-11-01T00:00:00Z',
  )
  from?: string;

  @DateParam(
    'Only events at or before this instant (ISO 8601); must not be before `from`',
    '2026-11-30T23:59:59Z',
  )
  to?: string;

  @TextParam('Actor id (a user id or an API key id)', '3f0e6a8e-1b7c-4c1e-9d38-0f5f1b2f8a11')
  actorId?: string;

  @ApiPropertyOptional({ description: 'Actor type', enum: ACTOR_TYPES, example: 'user' })
  @IsOptional()
  @IsIn(ACTOR_TYPES)
  actorType?: string;

  @ApiPropertyOptional({
    description: 'An exact action (`task.created`) or every action of a family (`task.*`)',
    example: 'task.*',
    maxLength: 100,
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  @Matches(/^[a-z_]+\.([a-z_]+|\*)$/, {
    message: 'action must be an action such as task.created or a prefix such as task.*',
  })
  action?: string;

  @ApiPropertyOptional({ description: 'Category', enum: AUDIT_CATEGORIES, example: 'user' })
  @IsOptional()
  @IsIn(AUDIT_CATEGORIES)
  category?: string;

  @TextParam('Resource type', 'user', 100)
  resourceType?: string;

  @TextParam('Resource id', '3f0e6a8e-1b7c-4c1e-9d38-0f5f1b2f8a11')
  resourceId?: string;

  @ApiPropertyOptional({ description: 'Outcome', enum: AUDIT_OUTCOMES, example: 'failure' })
  @IsOptional()
  @IsIn(AUDIT_OUTCOMES)
  outcome?: string;

  @ApiPropertyOptional({ description: 'Severity', enum: AUDIT_SEVERITIES, example: 'warning' })
  @IsOptional()
  @IsIn(AUDIT_SEVERITIES)
  severity?: string;

  @TextParam(
    'Request id (the X-Request-Id of the request that caused the event)',
    '6f1c2b1e-9a34-4c47-b1d2-2f7f0d1f8a10',
  )
  requestId?: string;

  @ApiPropertyOptional({
    description: 'Client IP address or CIDR block',
    example: '10.0.0.0/8',
    maxLength: 64,
  })
  @IsOptional()
  @IsIpOrCidr()
  ip?: string;

  @ApiPropertyOptional({
    description:
      'Free text (3–200 characters, case-insensitive) searched in the description, the actor and the resource names',
    example: 'Ann Lee',
    minLength: 3,
    maxLength: 200,
  })
  @IsOptional()
  @IsString()
  @MinLength(3)
  @MaxLength(200)
  q?: string;
}

export const SORT_ORDERS = ['desc', 'asc'] as const;

export class AuditListQueryDto extends AuditFilterQueryDto {
  @ApiPropertyOptional({
    description: 'desc: newest first; asc: oldest first (a SIEM tails the trail with asc + cursor)',
    enum: SORT_ORDERS,
    default: 'desc',
    example: 'desc',
  })
  @IsOptional()
  @IsIn(SORT_ORDERS)
  order: 'desc' | 'asc' = 'desc';

  @PageLimit()
  limit = 50;

  @PageCursor('Opaque cursor from a previous page’s nextCursor (same filters and order); not with offset')
  cursor?: string;

  @ApiPropertyOptional({
    description: 'Rows to skip, for shallow pages only (0–10000); prefer the cursor',
    minimum: 0,
    maximum: 10000,
    example: 0,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10000)
  offset?: number;

  @ApiPropertyOptional({
    description: 'true adds `total`, the exact number of matching events',
    example: false,
    type: Boolean,
  })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  includeTotal?: boolean;
}

export class AuditErrorsQueryDto {
  @DateParam('Only events at or after this instant (ISO 8601)', '2026-11-01T00:00:00Z')
  from?: string;

  @DateParam('Only events at or before this instant (ISO 8601)', '2026-11-30T23:59:59Z')
  to?: string;

  @ApiPropertyOptional({ description: 'Severity', enum: AUDIT_SEVERITIES, example: 'critical' })
  @IsOptional()
  @IsIn(AUDIT_SEVERITIES)
  severity?: string;

  @TextParam('Error type (the exception class)', 'QueryFailedError')
  errorType?: string;

  @PageLimit()
  limit = 50;

  @PageCursor('Opaque cursor from a previous page’s nextCursor')
  cursor?: string;
}

export const EXPORT_FORMATS = ['csv', 'ndjson', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export class AuditExportQueryDto extends AuditFilterQueryDto {
  @ApiProperty({ description: 'File format', enum: EXPORT_FORMATS, example: 'csv' })
  @IsIn(EXPORT_FORMATS)
  format!: ExportFormat;

  @ApiPropertyOptional({
    description: 'desc: newest first; asc: oldest first',
    enum: SORT_ORDERS,
    default: 'desc',
    example: 'asc',
  })
  @IsOptional()
  @IsIn(SORT_ORDERS)
  order: 'desc' | 'asc' = 'desc';
}

export class AuditStatsQueryDto extends AuditFilterQueryDto {
  @ApiProperty({
    description: 'What to count by (day: UTC calendar day)',
    enum: STATS_GROUPS,
    example: 'action',
  })
  @IsIn(STATS_GROUPS)
  groupBy!: StatsGroup;
}

/** The highest chain position `after` accepts: every position is exact as a JSON number. */
export const MAX_FEED_POSITION = Number.MAX_SAFE_INTEGER;

export class AuditFeedQueryDto {
  @ApiPropertyOptional({
    description:
      'Return the events chained after this chain position: 0 (the default) for the start of the trail, then the previous page’s nextAfter',
    minimum: 0,
    maximum: MAX_FEED_POSITION,
    default: 0,
    example: 0,
    type: 'integer',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_FEED_POSITION)
  after = 0;

  @PageLimit()
  limit = 50;
}
