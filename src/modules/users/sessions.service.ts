import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { IsNull, Not } from 'typeorm';
import type { Tx } from '../../database/transaction';
import { SessionEntity } from './session.entity';
import { UserEntity } from './user.entity';

export interface ActiveSession {
  session: SessionEntity;
  user: UserEntity;
}

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

  /** The session and its user, if the session is live and the user active; otherwise null. */
  async findActive(id: string): Promise<ActiveSession | null> {
    const session = await this.repo
      .createQueryBuilder('s')
      .innerJoinAndSelect('s.user', 'u')
      .where('s.id = :id', { id })
      .getOne();
    if (
      !session?.user ||
      session.revokedAt !== null ||
      session.expiresAt.getTime() <= Date.now() ||
      !session.user.isActive
    ) {
      return null;
    }
    return { session, user: session.user };
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
