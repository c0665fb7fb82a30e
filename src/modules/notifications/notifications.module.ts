import { Module } from '@nestjs/common';
import { InAppNotifier } from './in-app-notifier';
import { NotificationsController } from './notifications.controller';
import { NotificationsService } from './notifications.service';
import { NOTIFIER } from './notifier';

@Module({
  controllers: [NotificationsController],
  providers: [NotificationsService, InAppNotifier, { provide: NOTIFIER, useExisting: InAppNotifier }],
  exports: [NOTIFIER],
})
export class NotificationsModule {}
