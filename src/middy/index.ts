export { PersistentHandler } from '../index';
