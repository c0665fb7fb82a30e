/**
 * The code of an error: Node's (`ECONNREFUSED`) or PostgreSQL's SQLSTATE (`23505`), set on the error
 * itself (pg) or on the driver error TypeORM wraps (QueryFailedError.driverError).
 */
export function errorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const direct = (e as { code?: unknown }).code;
  if (typeof direct === 'string') return direct;
  const driver = (e as { driverError?: { code?: unknown } }).driverError?.code;
  return typeof driver === 'string' ? driver : undefined;
}
