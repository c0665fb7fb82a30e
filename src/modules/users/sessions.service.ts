import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { IsNull, Not } from 'typeorm';
import { preparedQuery } from '../../database/prepared-statement';
import type { Tx } from '../../database/transaction';
import { SessionEntity } from './session.entity';
import { UserEntity } from './user.entity';

/** What a live session tells about its caller (never the password hash). */
export interface ActiveSession {
  sessionId: string;
  user: Pick<UserEntity, 'id' | 'email' | 'displayName' | 'role'>;
}

interface ActiveSessionRow {
  id: string;
  email: string;
  display_name: string;
  role: UserEntity['role'];
}

const ACTIVE_SESSION_SQL = `SELECT u.id, u.email, u.display_name, u.role
  FROM sessions s JOIN users u ON u.id = s.user_id
 WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > clock_timestamp() AND u.is_active`;

/** Issued tokens (one row per `jti`): the source of truth for logout and revocation. */
@Injectable()
export class SessionsService {
  constructor(@InjectTransactionHost() private readonly txHost: Tx) {}

  private get repo() {
    return this.txHost.tx.getRepository(SessionEntity);
  }

  async create(id: string, userId: string, expiresAt: Date): Promise<void> {
    await this.repo.insert({ id, userId, expiresAt, revokedAt: null });
  }

  /**
   * The session's user, if the session is live (not revoked, not expired) and the user active;
   * otherwise null. Every authenticated request runs this: one statement, decided in SQL, prepared
   * once per connection (parsing and planning it took ~0.15 ms of its ~0.4 ms in PostgreSQL).
   */
  async findActive(id: string): Promise<ActiveSession | null> {
    const [row] = await preparedQuery<ActiveSessionRow>(
      this.txHost.tx,
      'session_active',
      ACTIVE_SESSION_SQL,
      [id],
    );
    if (!row) return null;
    return {
      sessionId: id,
      user: { id: row.id, email: row.email, displayName: row.display_name, role: row.role },
    };
  }

  async revoke(id: string): Promise<void> {
    await this.repo.update({ id, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
  }

  /** Revokes every live session of a user, except `keepId` when given. Returns how many. */
  async revokeAllForUser(userId: string, keepId?: string): Promise<number> {
    const where = keepId ? { userId, revokedAt: IsNull(), id: Not(keepId) } : { userId, revokedAt: IsNull() };
    const result = await this.repo.update(where, { revokedAt: () => 'now()' });
    return result.affected ?? 0;
  }
}
