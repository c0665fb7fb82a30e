/** Runs one SQL statement in the current transaction (TransactionHost.tx.query, or a plain pg client). */
export type SqlQuery = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

export type Settings = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * Sets run-time settings for the current transaction only (`set_config(name, value, true)`: a no-op
 * outside one) and returns their previous values, in one statement. Passing the result back to
 * setLocal puts them back. After a failed statement there is nothing to put back: the transaction is
 * aborted and its rollback discards these settings.
 */
export async function setLocal(query: SqlQuery, settings: Settings): Promise<Settings> {
  const read = settings.map((_, i) => `current_setting($${2 * i + 1}) AS s${i}`).join(', ');
  const set = settings.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ');
  // The saved values are read (MATERIALIZED) before the outer select list sets the new ones.
  const [saved] = await query<Record<string, string>>(
    `WITH saved AS MATERIALIZED (SELECT ${read}) SELECT saved.*, ${set} FROM saved`,
    settings.flat(),
  );
  return settings.map(([name], i) => [name, saved[`s${i}`]] as const);
}
