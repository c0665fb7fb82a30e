import type { TestApp } from './test-app';

export interface FailingTrigger {
  /** Name of the trigger and of its function. */
  name: string;
  /** When it fires: `BEFORE INSERT`, `AFTER UPDATE`, … */
  timing: string;
  table: string;
  /** A condition on NEW (SQL): the row is refused when it holds. */
  when: string;
  /** The error raised. */
  message: string;
}

/**
 * Runs `fn` while a trigger makes the database refuse the rows matching `when` (an injected failure),
 * and removes the trigger and its function afterwards, whatever `fn` did.
 */
export async function withFailingTrigger(
  t: TestApp,
  trigger: FailingTrigger,
  fn: () => Promise<void>,
): Promise<void> {
  const { name, timing, table, when, message } = trigger;
  await t.query(
    `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF ${when} THEN RAISE EXCEPTION '${message}'; END IF; RETURN NEW; END $$`,
  );
  await t.query(`CREATE TRIGGER ${name} ${timing} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  try {
    await fn();
  } finally {
    await t.query(`DROP TRIGGER ${name} ON ${table}`);
    await t.query(`DROP FUNCTION ${name}()`);
  }
}
