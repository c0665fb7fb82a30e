import { ApiKeyEntity } from '../modules/api-keys/api-key.entity';
import { AuditLogEntity } from '../modules/audit/audit-log.entity';
import { AttachmentEntity } from '../modules/attachments/attachment.entity';
import { NotificationEntity } from '../modules/notifications/notification.entity';
import { ReminderEntity } from '../modules/reminders/reminder.entity';
import { TaskEntity } from '../modules/tasks/task.entity';
import { AuditArchiveEntity } from '../modules/audit/integrity/audit-archive.entity';
import { AuditCheckpointEntity } from '../modules/audit/integrity/audit-checkpoint.entity';
import { SessionEntity } from '../modules/users/session.entity';
import { UserEntity } from '../modules/users/user.entity';

/** Every entity, listed once for the app, the CLI and the drift test. */
export const entities = [
  UserEntity,
  SessionEntity,
  TaskEntity,
  AttachmentEntity,
  ReminderEntity,
  NotificationEntity,
  AuditLogEntity,
  ApiKeyEntity,
  AuditCheckpointEntity,
  AuditArchiveEntity,
];
