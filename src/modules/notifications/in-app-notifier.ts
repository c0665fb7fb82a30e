import { Injectable } from '@nestjs/common';
import { NotificationsService } from './notifications.service';
import type { NotificationMessage, Notifier } from './notifier';

/** Delivers by inserting a row into `notifications`, in the caller's transaction. */
@Injectable()
export class InAppNotifier implements Notifier {
  constructor(private readonly notifications: NotificationsService) {}

  async notify(message: NotificationMessage): Promise<void> {
    await this.notifications.create(message);
  }
}
