/** Monthly partitions of audit_logs: `audit_logs_pYYYYMM` covering [first of month, first of next month) UTC. */
export const PARTITION_PATTERN = /^audit_logs_p(\d{4})(\d{2})$/;

export interface MonthPartition {
  name: string;
  from: Date;
  to: Date;
}

export function monthPartition(d: Date, offsetMonths = 0): MonthPartition {
  const from = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offsetMonths, 1));
  const to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1));
  const name = `audit_logs_p${from.getUTCFullYear()}${String(from.getUTCMonth() + 1).padStart(2, '0')}`;
  return { name, from, to };
}

export function parsePartitionName(name: string): MonthPartition | undefined {
  const m = PARTITION_PATTERN.exec(name);
  if (!m) return undefined;
  return monthPartition(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1)));
}

/** A partition is expired when its whole month lies more than `retentionMonths` before `now`. */
export function isExpired(p: MonthPartition, now: Date, retentionMonths: number): boolean {
  const cutoff = new Date(now.getTime());
  cutoff.setUTCMonth(cutoff.getUTCMonth() - retentionMonths);
  return p.to.getTime() <= cutoff.getTime();
}

/** audit_chain's partition of the same month as an audit_logs partition. */
export const chainPartitionName = (p: MonthPartition): string =>
  p.name.replace(/^audit_logs_/, 'audit_chain_');

/**
 * DDL of one month: the audit_logs partition and the audit_chain partition with the same bounds, each
 * with its TRUNCATE trigger (TRUNCATE of a partition bypasses the parent's).
 */
export function partitionDdl(p: MonthPartition): string[] {
  const bounds = `FOR VALUES FROM ('${p.from.toISOString()}') TO ('${p.to.toISOString()}')`;
  const chain = chainPartitionName(p);
  return [
    `CREATE TABLE "${p.name}" PARTITION OF "audit_logs" ${bounds}`,
    `CREATE TRIGGER "audit_logs_no_truncate" BEFORE TRUNCATE ON "${p.name}" FOR EACH STATEMENT EXECUTE FUNCTION "audit_logs_immutable"()`,
    `CREATE TABLE "${chain}" PARTITION OF "audit_chain" ${bounds}`,
    `CREATE TRIGGER "audit_chain_no_truncate" BEFORE TRUNCATE ON "${chain}" FOR EACH STATEMENT EXECUTE FUNCTION "audit_append_only"()`,
  ];
}
