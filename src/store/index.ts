export { createFileStore, DEFAULT_RETAIN, StoreHistoryLostError, type FileStore, type FileStoreOptions } from './file-store';
export { StoreConflictError, type ConfigStore, type VersionMeta, type VersionRecord } from './types';
