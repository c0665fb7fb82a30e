import { type ExecutionContext, SetMetadata, type Type } from '@nestjs/common';

/** Removes what a BeforeTransactionStep left behind when the request then does not commit. */
export type Discard = () => Promise<void>;

/**
 * Work a route needs done before its request transaction opens: reading a request body that arrives
 * at the client's pace (an upload). Inside the transaction it would hold a pooled connection, and an
 * open transaction, for as long as the client takes to send; on the embedded database, whose one
 * session serialises every connection, it would block every other request meanwhile.
 *
 * The step runs after the guards (the caller is authenticated) and inside the request's audit capture
 * (a refusal is recorded as the route's failure, as a refusal inside the transaction is). It returns
 * how to discard what it kept, run if the transaction then rolls back or never begins; a step that
 * fails discards its own leftovers before it throws.
 */
export interface BeforeTransactionStep {
  run(context: ExecutionContext): Promise<Discard | undefined>;
}

export const BEFORE_TRANSACTION_KEY = 'transaction:before';

/** Runs `step` (a provider of the route's module) before the route's request transaction opens. */
export const BeforeTransaction = (step: Type<BeforeTransactionStep>): MethodDecorator =>
  SetMetadata(BEFORE_TRANSACTION_KEY, step);
