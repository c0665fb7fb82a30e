import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ACTOR_TYPES, AUDIT_OUTCOMES, AUDIT_SEVERITIES } from '../../audit.types';
import { AUDIT_CATEGORIES } from '../../audit.catalogue';
import { STATS_GROUPS } from '../audit-query.builder';

export class AuditActorDto {
  @ApiProperty({ description: 'Actor type', enum: ACTOR_TYPES, example: 'user' })
  type!: string;

  @ApiProperty({
    description: 'User id or API key id; null for system and anonymous',
    type: String,
    nullable: true,
    example: '3f0e6a8e-1b7c-4c1e-9d38-0f5f1b2f8a11',
  })
  id!: string | null;

  @ApiProperty({
    description: 'Name (and email) at the time of the event',
    type: String,
    nullable: true,
    example: 'Ann Lee <ann.lee@example.com>',
  })
  display!: string | null;
}

export class AuditResourceDto {
  @ApiProperty({ description: 'Resource type', type: String, nullable: true, example: 'user' })
  type!: string | null;

  @ApiProperty({
    description: 'Resource id',
    type: String,
    nullable: true,
    example: '7d2f1c3a-5b6e-4f70-8a91-b2c3d4e5f607',
  })
  id!: string | null;

  @ApiProperty({
    description: 'A name a person recognises (e.g. the task title)',
    type: String,
    nullable: true,
    example: 'Carl Jung',
  })
  display!: string | null;
}

export class AuditRequestDto {
  @ApiProperty({
    description: 'Request id (X-Request-Id)',
    type: String,
    nullable: true,
    example: '6f1c2b1e-9a34-4c47-b1d2-2f7f0d1f8a10',
  })
  id!: string | null;

  @ApiProperty({ description: 'HTTP method', type: String, nullable: true, example: 'PATCH' })
  method!: string | null;

  @ApiProperty({
    description: 'Path without the query string',
    type: String,
    nullable: true,
    example: '/api/v1/users/7d2f1c3a-5b6e-4f70-8a91-b2c3d4e5f607',
  })
  path!: string | null;

  @ApiProperty({ description: 'HTTP status answered', type: Number, nullable: true, example: 200 })
  statusCode!: number | null;

  @ApiProperty({
    description: 'Time spent until the event was written, in ms',
    type: Number,
    nullable: true,
    example: 12,
  })
  durationMs!: number | null;

  @ApiProperty({ description: 'Client IP address', type: String, nullable: true, example: '203.0.113.7' })
  ip!: string | null;

  @ApiProperty({
    description: 'Client User-Agent (first 512 characters)',
    type: String,
    nullable: true,
    example: 'Mozilla/5.0',
  })
  userAgent!: string | null;
}

export class AuditErrorDto {
  @ApiProperty({
    description: 'Error type (exception class)',
    type: String,
    nullable: true,
    example: 'ConflictError',
  })
  type!: string | null;

  @ApiProperty({
    description: 'Error message',
    type: String,
    nullable: true,
    example: 'A user with email ann.lee@example.com already exists',
  })
  message!: string | null;

  @ApiProperty({
    description: 'Stack trace (server errors only)',
    type: String,
    nullable: true,
    example: null,
  })
  stack!: string | null;
}

export const OUTCOME_DISPLAY = {
  success: { label: 'Success', color: 'green' },
  failure: { label: 'Failure', color: 'red' },
  error: { label: 'Error', color: 'orange' },
} as const;

export class AuditDisplayDto {
  @ApiProperty({
    description: 'Outcome label for a UI',
    enum: ['Success', 'Failure', 'Error'],
    example: 'Success',
  })
  label!: string;

  @ApiProperty({
    description: 'Colour for a UI: success green, failure red, error orange',
    enum: ['green', 'red', 'orange'],
    example: 'green',
  })
  color!: string;
}

export class AuditLogItemDto {
  @ApiProperty({ description: 'Event id', format: 'uuid', example: '0b7e9f1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b' })
  id!: string;

  @ApiProperty({ description: 'Insert order (gapless only within a transaction)', example: 4711 })
  seq!: number;

  @ApiProperty({
    description: 'When it happened (UTC, microseconds)',
    format: 'date-time',
    example: '2026-11-21T10:00:00.123456Z',
  })
  occurredAt!: string;

  @ApiProperty({ description: 'Action (see the catalogue)', example: 'user.role_changed' })
  action!: string;

  @ApiProperty({ description: 'Category', enum: AUDIT_CATEGORIES, example: 'user' })
  category!: string;

  @ApiProperty({ description: 'Outcome', enum: AUDIT_OUTCOMES, example: 'success' })
  outcome!: string;

  @ApiProperty({ description: 'Severity', enum: AUDIT_SEVERITIES, example: 'info' })
  severity!: string;

  @ApiProperty({ description: 'Who did it', type: AuditActorDto })
  actor!: AuditActorDto;

  @ApiProperty({ description: 'What it was done to', type: AuditResourceDto })
  resource!: AuditResourceDto;

  @ApiProperty({ description: 'The HTTP request that caused it', type: AuditRequestDto })
  request!: AuditRequestDto;

  @ApiProperty({
    description: 'Changed fields: {field: {from, to}}; null when nothing changed',
    type: 'object',
    additionalProperties: true,
    nullable: true,
    example: { role: { from: 'user', to: 'admin' } },
  })
  changes!: Record<string, { from: unknown; to: unknown }> | null;

  @ApiProperty({
    description: 'Extra context (redacted)',
    type: 'object',
    additionalProperties: true,
    example: { revokedSessions: 1 },
  })
  metadata!: Record<string, unknown>;

  @ApiProperty({
    description: 'A sentence a person reads, naming people and things',
    example: 'Administrator changed the role of user “Carl Jung” role from user to admin',
  })
  description!: string;

  @ApiProperty({
    description: 'The error, for failures and errors; otherwise null',
    type: AuditErrorDto,
    nullable: true,
  })
  error!: AuditErrorDto | null;

  @ApiProperty({ description: 'How a UI shows the outcome', type: AuditDisplayDto })
  display!: AuditDisplayDto;

  @ApiProperty({
    description:
      'Whether the event is covered by the hash chain yet (the sealer chains new events within about a second)',
    example: false,
  })
  sealed!: boolean;
}

export class AuditLogPageDto {
  @ApiProperty({ description: 'The events of this page', type: [AuditLogItemDto] })
  items!: AuditLogItemDto[];

  @ApiProperty({ description: 'Page size used', example: 50 })
  limit!: number;

  @ApiProperty({
    description:
      'Cursor for the next page (same filters and order). desc: null when there is no more. asc: always set, so a tail can poll for newer events',
    type: String,
    nullable: true,
    example: 'eyJ0IjoiMjAyNi0xMS0yMVQxMDowMDowMC4xMjM0NTZaIiwiaSI6Ii4uLiJ9.c2lnbmF0dXJl',
  })
  nextCursor!: string | null;

  @ApiPropertyOptional({ description: 'Matching events (only with includeTotal=true)', example: 1234 })
  total?: number;
}

export class AuditChainLinkDto {
  @ApiProperty({
    description: 'Position in the hash chain (1, 2, 3, … in the order events were chained)',
    example: 4711,
  })
  pos!: number;

  @ApiProperty({
    description: 'Hash of the event at pos - 1 (hex SHA-256; 64 zeros at position 1)',
    example: '9f2c4e0a71d35b8c6e2f1a0d9b7c5e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d',
  })
  prevHash!: string;

  @ApiProperty({
    description: 'This event’s hash: SHA-256(prevHash ‖ canonical event), hex',
    example: '4b1e7f2a9c0d3e6b5a8f1c4d7e0b3a6f9c2d5e8b1a4f7c0d3e6b9a2f5c8d1e4b',
  })
  hash!: string;
}

export class AuditFeedItemDto extends AuditLogItemDto {
  @ApiProperty({ description: 'The event’s link in the hash chain', type: AuditChainLinkDto })
  chain!: AuditChainLinkDto;
}

export class AuditFeedPageDto {
  @ApiProperty({ description: 'Chained events after `after`, in chain order', type: [AuditFeedItemDto] })
  items!: AuditFeedItemDto[];

  @ApiProperty({ description: 'Page size used', example: 50 })
  limit!: number;

  @ApiProperty({
    description:
      'Pass as `after` for the next page: the last chain position this page read (its last item’s, or past a removed event’s), or the `after` given when nothing new is chained yet (poll again later)',
    example: 4711,
  })
  nextAfter!: number;
}

export class AuditStatsBucketDto {
  @ApiProperty({
    description:
      'The group value (for actor: the actor id, or the type for system/anonymous; for day: YYYY-MM-DD UTC)',
    example: 'user.created',
  })
  key!: string;

  @ApiPropertyOptional({
    description: 'For actor: the actor’s display name',
    type: String,
    example: 'Ann Lee <ann.lee@example.com>',
  })
  label?: string;

  @ApiProperty({ description: 'Events in the group', example: 42 })
  count!: number;
}

export class AuditStatsDto {
  @ApiProperty({ description: 'The grouping used', enum: STATS_GROUPS, example: 'action' })
  groupBy!: string;

  @ApiProperty({
    description: 'Counts, most frequent first (days in date order); at most 1000',
    type: [AuditStatsBucketDto],
  })
  buckets!: AuditStatsBucketDto[];
}
