import { Persistent, PersistentHandler, type PersistenceOptions } from '../../src';
import { lambdaContext, recordingClient } from './dynalite';
import { randomBytes } from 'node:crypto';

/** A handler with fields that make a large state: text (compressible), random bytes (not), markers. */
export type BigEvent = { op: 'read' } | { op: 'text'; kb: number } | { op: 'random'; bytes: number; marker: number } | { op: 'small' };

export class Big extends PersistentHandler<BigEvent, unknown> {
  @Persistent() text = '';
  @Persistent() blob = new Uint8Array();
  @Persistent() markers: number[] = [];
  @Persistent() small = 0;
  async handler(event: BigEvent) {
    switch (event.op) {
      case 'text':
        this.text = 'state 1 '.repeat(event.kb * 128);
        break;
      case 'random':
        this.blob = randomBytes(event.bytes);
        this.markers = Array.from({ length: 100 }, () => event.marker);
        break;
      case 'small':
        this.small += 1;
        break;
      case 'read':
        break;
    }
    return { textLength: this.text.length, blobLength: this.blob.length, markers: [...new Set(this.markers)], small: this.small };
  }
}

/** Binds `Big` as a new execution environment on `tableKey`. */
export function bigEnvironment(endpoint: string, tableName: string, tableKey: string, options: PersistenceOptions = {}) {
  const client = recordingClient(endpoint);
  const handler = Big.bind({ client, tableKey, tableName, ...options });
  return { client, handler: (event: BigEvent) => handler(event, lambdaContext()) };
}
