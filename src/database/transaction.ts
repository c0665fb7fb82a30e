import { TransactionHost } from '@nestjs-cls/transactional';
import { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';

/**
 * How services reach the database: `tx.tx` is the EntityManager of the request's transaction
 * (opened by the global request interceptor), or of the caller's own `withTransaction` outside HTTP.
 * Never inject a repository or the DataSource into a service: on the embedded database a query
 * outside the open transaction waits forever.
 */
export type Tx = TransactionHost<TransactionalAdapterTypeOrm>;
export { TransactionHost };
