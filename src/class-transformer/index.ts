/**
 * Restores instances of your own classes in fields that declare their class
 * (`@Persistent({ type: () => Session })`, or `design:type` metadata), through class-transformer's
 * `instanceToPlain` and `plainToInstance`. Import it once, for its effect, in the module that
 * defines the handler; class-transformer is an optional peer dependency, installed by you.
 *
 * @example
 * ```ts
 * import 'aws-lambda-persistence/class-transformer';
 * import { Persistent, PersistentHandler } from 'aws-lambda-persistence';
 * ```
 *
 * @packageDocumentation
 */
import { instanceToPlain, plainToInstance } from 'class-transformer';
import { registerClassCodec } from '../persistence/classCodec';

registerClassCodec({ instanceToPlain, plainToInstance });
