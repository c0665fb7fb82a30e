import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { RateLimitedError } from '../../common/errors/domain-error';
import type { Tx } from '../../database/transaction';

export const LOGIN_WINDOW_SECONDS = 15 * 60;
export const MAX_FAILURES_PER_ACCOUNT = 10;
export const MAX_FAILURES_PER_IP = 30;

/**
 * Login throttling that holds across app instances: it counts the `auth.login_failed` events the
 * audit trail already holds (served by the (action, occurred_at) index), per account and per IP,
 * over a sliding 15-minute window.
 */
@Injectable()
export class LoginThrottle {
  constructor(@InjectTransactionHost() private readonly txHost: Tx) {}

  async check(email: string, ip: string | null): Promise<void> {
    const rows = await this.txHost.tx.query<{ scope: string; n: number; oldest: Date | null }[]>(
      `SELECT 'account' AS scope, count(*)::int AS n, min(occurred_at) AS oldest
         FROM (SELECT occurred_at FROM audit_logs
                WHERE action = 'auth.login_failed' AND occurred_at > now() - make_interval(secs => $3)
                  AND metadata->>'email' = $1
                ORDER BY occurred_at DESC LIMIT $4) a
       UNION ALL
       SELECT 'ip', count(*)::int, min(occurred_at)
         FROM (SELECT occurred_at FROM audit_logs
                WHERE action = 'auth.login_failed' AND occurred_at > now() - make_interval(secs => $3)
                  AND $2::inet IS NOT NULL AND ip_address = $2::inet
                ORDER BY occurred_at DESC LIMIT $5) b`,
      [email, ip, LOGIN_WINDOW_SECONDS, MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_IP],
    );
    for (const row of rows) {
      const limit = row.scope === 'account' ? MAX_FAILURES_PER_ACCOUNT : MAX_FAILURES_PER_IP;
      if (row.n >= limit && row.oldest) {
        const retryAfter = Math.max(
          1,
          Math.ceil((new Date(row.oldest).getTime() + LOGIN_WINDOW_SECONDS * 1000 - Date.now()) / 1000),
        );
        throw new RateLimitedError(`Too many failed logins; try again in ${retryAfter} s`, retryAfter);
      }
    }
  }
}
