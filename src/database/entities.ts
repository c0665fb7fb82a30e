import { ApiKeyEntity } from '../modules/api-keys/api-key.entity';
import { AuditLogEntity } from '../modules/audit/audit-log.entity';
import { SessionEntity } from '../modules/users/session.entity';
import { UserEntity } from '../modules/users/user.entity';

/** Every entity, listed once for the app, the CLI and the drift test. */
export const entities = [UserEntity, SessionEntity, AuditLogEntity, ApiKeyEntity];
