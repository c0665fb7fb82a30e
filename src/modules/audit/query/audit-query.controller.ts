import { Controller, Get, Logger, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrors } from '../../../common/decorators/api-errors.decorator';
import { Authenticated } from '../../../common/decorators/authenticated.decorator';
import { UuidParam } from '../../../common/decorators/uuid-param.decorator';
import { TransactionRunner } from '../../../database/transaction-runner';
import { Audited } from '../audited.decorator';
import { EXPORT_CONTENT_TYPES, AuditQueryService } from './audit-query.service';
import { AuditFeedPageDto, AuditLogItemDto, AuditLogPageDto, AuditStatsDto } from './dto/audit-log.dto';
import {
  AuditErrorsQueryDto,
  AuditExportQueryDto,
  AuditFeedQueryDto,
  AuditListQueryDto,
  AuditStatsQueryDto,
} from './dto/audit-query.dto';

/** Admins, and API keys with the audit:read scope. */
const AUDIT_READERS = { roles: ['admin' as const], scopes: ['audit:read'] };

/**
 * The read-only admin API of the trail. There is deliberately no POST/PUT/PATCH/DELETE.
 * Static paths are declared before `:id`; `:id` only accepts UUIDs (anything else is a 400).
 */
@ApiTags('audit-logs')
@Controller('audit-logs')
export class AuditQueryController {
  private readonly logger = new Logger('AuditExport');

  constructor(
    private readonly query: AuditQueryService,
    private readonly transactions: TransactionRunner,
  ) {}

  @Get()
  @Audited({ action: 'audit.viewed' })
  @Authenticated(AUDIT_READERS)
  @ApiOperation({
    summary: 'Search the audit trail',
    description:
      'Filters combine with AND. Keyset pagination: pass nextCursor as cursor (same filters and order) for the next page; stable while new events arrive. With order=asc a SIEM can tail the trail: nextCursor is always set.',
  })
  @ApiOkResponse({ type: AuditLogPageDto })
  @ApiErrors(400)
  list(@Query() dto: AuditListQueryDto): Promise<AuditLogPageDto> {
    return this.query.list(dto);
  }

  @Get('errors')
  @Audited({ action: 'audit.viewed' })
  @Authenticated(AUDIT_READERS)
  @ApiOperation({
    summary: 'Errors view: outcome error, and failures of severity error or critical, newest first',
    description: 'Same item and page shape as the search; the items carry the error type, message and stack.',
  })
  @ApiOkResponse({ type: AuditLogPageDto })
  @ApiErrors(400)
  errors(@Query() dto: AuditErrorsQueryDto): Promise<AuditLogPageDto> {
    return this.query.errors(dto);
  }

  @Get('feed')
  @Audited({ action: 'audit.viewed' })
  @Authenticated(AUDIT_READERS)
  @ApiOperation({
    summary: 'Gap-free feed of chained events, in chain order (for SIEM pulls)',
    description:
      'Events in the order the hash chain took them (within about a second of their commit), each with its chain link. Keep nextAfter and pass it as after: no event is ever skipped, however late its transaction committed, because chain positions become visible only as a consecutive prefix. Events not chained yet appear on a later poll. Consecutive items link: prevHash = the previous item’s hash; a gap in chain.pos means events were archived by retention or removed (GET /audit-logs/verify tells which).',
  })
  @ApiOkResponse({ type: AuditFeedPageDto })
  @ApiErrors(400)
  feed(@Query() dto: AuditFeedQueryDto): Promise<AuditFeedPageDto> {
    return this.query.feed(dto);
  }

  @Get('export')
  @Audited({ action: 'audit.exported' })
  @Authenticated(AUDIT_READERS)
  @ApiOperation({
    summary: 'Export the matching events as CSV, NDJSON or JSON (streamed)',
    description:
      'Takes every search filter. Formatted by PostgreSQL and streamed with COPY … TO STDOUT (a database cursor on the embedded database), with backpressure. More than AUDIT_EXPORT_MAX_ROWS matching events → 422 before any byte is sent. CSV: RFC 4180, header row, formula-looking cells prefixed with an apostrophe.',
  })
  @ApiProduces('text/csv', 'application/x-ndjson', 'application/json')
  @ApiOkResponse({
    description: 'The file (Content-Disposition: attachment; filename="audit-logs-<from>-<to>.<ext>")',
    content: {
      'text/csv': {
        schema: { type: 'string' },
        example:
          'id,seq,occurredAt,action,…\r\n0b7e9f1e-…,4711,2026-11-21T10:00:00.123456Z,user.created,…\r\n',
      },
      'application/x-ndjson': {
        schema: { type: 'string' },
        example: '{"id":"0b7e9f1e-…","seq":4711,…}\n',
      },
      'application/json': {
        schema: { type: 'array', items: { $ref: '#/components/schemas/AuditLogItemDto' } },
      },
    },
  })
  @ApiErrors(400, 422)
  async export(@Query() dto: AuditExportQueryDto, @Res() res: Response): Promise<void> {
    const prepared = await this.query.prepareExport(dto);
    res.status(200);
    res.setHeader('Content-Type', EXPORT_CONTENT_TYPES[prepared.format]);
    res.setHeader('Content-Disposition', `attachment; filename="${prepared.filename}"`);
    res.setHeader('Cache-Control', 'no-store');
    // A client that goes away mid-stream must never take the process down.
    res.on('error', (e) => this.logger.warn(`Export stream error: ${e.message}`));
    try {
      const { aborted } = await this.query.streamExport(prepared, res);
      if (aborted) return;
      // The last bytes go out only once the transaction, and with it the audit.exported event, has
      // committed: an export is complete only if it is recorded.
      await this.transactions.afterCommit(() => {
        res.end();
      });
      this.transactions.afterRollback(() => {
        res.destroy();
      });
    } catch (e) {
      // Headers are out: cut the connection so that a truncated file cannot look complete.
      res.destroy();
      throw e;
    }
  }

  @Get('stats')
  @Audited({ action: 'audit.viewed' })
  @Authenticated(AUDIT_READERS)
  @ApiOperation({ summary: 'Counts of the matching events by action, category, outcome, actor or day' })
  @ApiOkResponse({ type: AuditStatsDto })
  @ApiErrors(400)
  stats(@Query() dto: AuditStatsQueryDto): Promise<AuditStatsDto> {
    return this.query.stats(dto);
  }

  // Keep last: `:id` would shadow any static path declared after it.
  @Get(':id')
  @Audited({ action: 'audit.viewed' })
  @Authenticated(AUDIT_READERS)
  @ApiOperation({ summary: 'One audit event' })
  @ApiOkResponse({ type: AuditLogItemDto })
  @ApiErrors(400, 404)
  get(@UuidParam('id') id: string): Promise<AuditLogItemDto> {
    return this.query.get(id);
  }
}
