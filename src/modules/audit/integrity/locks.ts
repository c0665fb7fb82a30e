/**
 * PostgreSQL advisory lock keys (transaction-scoped): one sealer at a time across app instances;
 * retention takes the sealer's lock too, so archiving never races sealing. One statistics refresh at a
 * time (a second instance skips it).
 */
export const SEALER_LOCK_KEY = 0x4155_0001;
export const PARTITION_LOCK_KEY = 0x4155_0002;
export const STATISTICS_LOCK_KEY = 0x4155_0003;
