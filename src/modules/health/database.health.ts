import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { Tx } from '../../database/transaction';

const TIMEOUT_MS = 3000;

/** Pings the database through the request's transaction (never a second connection). */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @InjectTransactionHost() private readonly txHost: Tx,
  ) {}

  async ping(key = 'database'): Promise<HealthIndicatorResult> {
    const check = this.indicators.check(key);
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.txHost.tx.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
        }),
      ]);
      return check.up({ responseTimeMs: Date.now() - started });
    } catch (e) {
      return check.down({ message: e instanceof Error ? e.message.slice(0, 200) : 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
  }
}
