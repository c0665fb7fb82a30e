import { TransactionHost } from '@nestjs-cls/transactional';
import type { Tx } from '../../src/database/transaction';
import { TransactionRunner } from '../../src/database/transaction-runner';
import { AuditQueryService } from '../../src/modules/audit/query/audit-query.service';
import type { AuditListQueryDto } from '../../src/modules/audit/query/dto/audit-query.dto';
import type { TestApp } from './test-app';

export interface PreparedStatementRow {
  name: string;
  generic: number;
  custom: number;
}

/**
 * Runs `work` in one transaction (so on one connection: prepared statements belong to a session), then
 * reads that connection's prepared statements whose text is one of `statements`, with their plan counts.
 */
export async function onOneConnection<T>(
  t: TestApp,
  work: () => Promise<T>,
  statements: string[],
): Promise<{ result: T; statements: (PreparedStatementRow & { statement: string })[] }> {
  return t.app.get(TransactionRunner).run(async () => {
    const result = await work();
    const rows = await t.app
      .get<Tx>(TransactionHost)
      .tx.query<(PreparedStatementRow & { statement: string })[]>(
        `SELECT name, statement, generic_plans::int AS generic, custom_plans::int AS custom
         FROM pg_prepared_statements WHERE statement = ANY($1::text[]) ORDER BY statement`,
        [statements],
      );
    return { result, statements: rows };
  });
}

/**
 * Lists `dto` `runs` times on one connection (onOneConnection), then reads that connection's prepared
 * statements whose text is `statement`. Returns each run's item ids and those statements with their
 * plan counts.
 */
export async function listOnOneConnection(
  t: TestApp,
  dto: AuditListQueryDto,
  runs: number,
  statement: string,
): Promise<{ pages: string[][]; statements: PreparedStatementRow[] }> {
  const service = t.app.get(AuditQueryService);
  const { result: pages, statements } = await onOneConnection(t, async () => {
    const pages: string[][] = [];
    for (let i = 0; i < runs; i++) pages.push((await service.list(dto)).items.map((item) => item.id));
    return pages;
  }, [statement]);
  return { pages, statements };
}
