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
 * Lists `dto` `runs` times in one transaction (so on one connection: prepared statements belong to a
 * session), then reads that connection's prepared statements whose text is `statement`. Returns each
 * run's item ids and those statements with their plan counts.
 */
export async function listOnOneConnection(
  t: TestApp,
  dto: AuditListQueryDto,
  runs: number,
  statement: string,
): Promise<{ pages: string[][]; statements: PreparedStatementRow[] }> {
  return t.app.get(TransactionRunner).run(async () => {
    const service = t.app.get(AuditQueryService);
    const pages: string[][] = [];
    for (let i = 0; i < runs; i++) pages.push((await service.list(dto)).items.map((item) => item.id));
    const statements = await t.app.get<Tx>(TransactionHost).tx.query<PreparedStatementRow[]>(
      `SELECT name, generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements
        WHERE statement = $1`,
      [statement],
    );
    return { pages, statements };
  });
}
