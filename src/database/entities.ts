import { AuditLogEntity } from '../modules/audit/audit-log.entity';
import { AuditArchiveEntity } from '../modules/audit/integrity/audit-archive.entity';
import { AuditCheckpointEntity } from '../modules/audit/integrity/audit-checkpoint.entity';
import { SessionEntity } from '../modules/users/session.entity';
import { UserEntity } from '../modules/users/user.entity';

/** Every entity, listed once for the app, the CLI and the drift test. */
export const entities = [
  UserEntity,
  SessionEntity,
  AuditLogEntity,
  AuditCheckpointEntity,
  AuditArchiveEntity,
];
