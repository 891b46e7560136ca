/**
 * aws-lambda-persistence: keep state between AWS Lambda invocations in one DynamoDB item per
 * function, through decorated class fields.
 *
 * @example
 * ```ts
 * import { Persistent, PersistentHandler } from 'aws-lambda-persistence';
 *
 * class Handler extends PersistentHandler<unknown, { count: number }> {
 *   @Persistent() count = 0;
 *   async handler() { this.count += 1; return { count: this.count }; }
 * }
 * export const handler = Handler.bind();
 * ```
 *
 * @packageDocumentation
 */
export { Persistent } from './decorators/Persistent';
export type { PersistentDecorator, PersistentOptions, SchemaDecorator } from './decorators/Persistent';
export type { ClassType } from './persistence/codec';
export type {
  ChangeContext,
  DecodedValue,
  FieldBehaviour,
  FieldContext,
  MergeContext,
  MergeFunction,
  MergeStrategy,
  ReadContext,
  ReadOutcome,
} from './persistence/fields/FieldBehaviour';
export type { FieldChange, FieldCondition } from './persistence/fields/FieldChange';
export { sum } from './persistence/fields/sum';
export { keys } from './persistence/fields/keys';
export type { InferSchemaOutput, OnInvalid, StandardSchema, StandardSchemaResult } from './persistence/fields/schema';
export { PersistentHandler } from './persistence/PersistentHandler';
export type { BoundHandler, LambdaContext } from './persistence/Session';
export { PersistentMap } from './persistence/PersistentMap';
export type { MapOptions } from './persistence/PersistentMap';
export { persistentState, withPersistence } from './persistence/persistentState';
export type { PersistentStateLifecycle, StateMerge, StateOptions } from './persistence/persistentState';
export { Expiring } from './persistence/Expiring';
export type { Duration } from './persistence/Expiring';
export type { BillingOptions, DynamoDBSender, PersistenceOptions, RefreshPolicy } from './persistence/options';
export type { DeadlineEvent, DeadlineSignal } from './persistence/Deadline';
export type { PersistenceStats } from './persistence/Stats';
export type { DynamoDBOperation } from './persistence/storage/commands';
export { policyFor } from './persistence/iamPolicy';
export type { PolicyTarget } from './persistence/iamPolicy';
export { FORMAT_VERSION } from './persistence/storage/itemFormat';
export {
  AccessDeniedError,
  ConfigurationError,
  CorruptRowError,
  DeadlineExceededError,
  DecoratorUsageError,
  InvalidStoredValueError,
  PersistenceError,
  PersistenceReadError,
  PersistenceWriteError,
  SerializationError,
  StateTooLargeError,
  TableNotFoundError,
  WriteConflictError,
} from './errors';
export type { ErrorLocation } from './errors';
