// The entry of the bundle the warm scenarios load: the handler classes, bound by bench/worker.mjs.
export { SmallState, PlainSmallState, updateValues, largeState, LargeState, PlainLargeState } from './state';
