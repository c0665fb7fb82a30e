import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { TasksModule } from '../tasks/tasks.module';
import { ReminderDispatcher } from './reminder-dispatcher';
import { ReminderScheduler } from './reminder-scheduler';
import { RemindersController } from './reminders.controller';
import { RemindersService } from './reminders.service';

@Module({
  imports: [AuditModule, TasksModule, NotificationsModule],
  controllers: [RemindersController],
  providers: [RemindersService, ReminderDispatcher, ReminderScheduler],
  exports: [RemindersService, ReminderDispatcher],
})
export class RemindersModule {}
