import { InitUsers1763769600000 } from './1763769600000-InitUsers';
import { TasksAttachmentsReminders1763769650000 } from './1763769650000-TasksAttachmentsReminders';
import { AuditLogs1763769700000 } from './1763769700000-AuditLogs';
import { AuditApi1763769800000 } from './1763769800000-AuditApi';
import { AuditIntegrity1763769900000 } from './1763769900000-AuditIntegrity';
import { AuditPartitions1763770000000 } from './1763770000000-AuditPartitions';
import { AuditLeanSealing1763770100000 } from './1763770100000-AuditLeanSealing';
import { AuditInsertOnlyChain1763770200000 } from './1763770200000-AuditInsertOnlyChain';
import { AuditSearchByHour1763770300000 } from './1763770300000-AuditSearchByHour';
import { AuditSearchPendingLimit1763770400000 } from './1763770400000-AuditSearchPendingLimit';
import { AuditRareValueIndexes1763770500000 } from './1763770500000-AuditRareValueIndexes';

/**
 * Every migration, in order. A new migration (`npm run migration:generate -- migrations/Name`, then
 * reviewed by a person) must be added here.
 */
export const migrations = [
  InitUsers1763769600000,
  TasksAttachmentsReminders1763769650000,
  AuditLogs1763769700000,
  AuditApi1763769800000,
  AuditIntegrity1763769900000,
  AuditPartitions1763770000000,
  AuditLeanSealing1763770100000,
  AuditInsertOnlyChain1763770200000,
  AuditSearchByHour1763770300000,
  AuditSearchPendingLimit1763770400000,
  AuditRareValueIndexes1763770500000,
];
