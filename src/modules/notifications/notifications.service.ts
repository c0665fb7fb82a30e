import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { IsNull } from 'typeorm';
import type { Actor } from '../../common/context/request-context';
import { NotFoundError } from '../../common/errors/domain-error';
import type { Tx } from '../../database/transaction';
import { actorUserId } from '../tasks/task-access';
import { NotificationEntity } from './notification.entity';
import type { NotificationMessage } from './notifier';

@Injectable()
export class NotificationsService {
  constructor(@InjectTransactionHost() private readonly txHost: Tx) {}

  private get repo() {
    return this.txHost.tx.getRepository(NotificationEntity);
  }

  async create(message: NotificationMessage): Promise<NotificationEntity> {
    return this.repo.save(this.repo.create({ ...message, readAt: null }));
  }

  /** The caller's notifications, newest first. */
  async listForCaller(
    actor: Actor,
    options: { unreadOnly: boolean; limit: number },
  ): Promise<NotificationEntity[]> {
    const userId = actorUserId(actor);
    return this.repo.find({
      where: options.unreadOnly ? { userId, readAt: IsNull() } : { userId },
      order: { createdAt: 'DESC', id: 'DESC' },
      take: options.limit,
    });
  }

  /** Marks one of the caller's notifications read (idempotent). Another user's is a 404. */
  async markRead(
    id: string,
    actor: Actor,
  ): Promise<{ before: NotificationEntity; after: NotificationEntity }> {
    const notification = await this.repo.findOneBy({ id, userId: actorUserId(actor) });
    if (!notification) throw new NotFoundError('Notification', id);
    const before = { ...notification };
    if (notification.readAt !== null) return { before, after: { ...notification } };
    notification.readAt = new Date();
    const after = await this.repo.save(notification);
    return { before, after: { ...after } };
  }
}
