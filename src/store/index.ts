/** The progress store: schema, state machine, and the memory and file implementations. */
export * from './schema.js';
export * from './state.js';
export type { NewTransfer, ProgressStore } from './types.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { FileStore, type FileStoreOptions } from './file-store.js';
export { readProgressFile, parseProgressText } from './parse.js';
export { acquireLock, lockPathFor, type HeldLock, type LockInfo } from './lock.js';
