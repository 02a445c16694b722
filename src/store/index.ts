export { createFileStore, DEFAULT_RETAIN, StoreHistoryLostError, type FileStore, type FileStoreOptions } from './file-store';
export { StoreConflictError, StoreUnavailableError, type ConfigStore, type SharedHistory, type StoreHealth, type VersionMeta, type VersionRecord } from './types';
export { createEtcdStore, type EtcdStore, type EtcdStoreOptions } from './etcd-store';
export { connectEtcd, describeTarget, isEtcdUrl, parseEtcdUrl, type EtcdConnectionOptions, type EtcdTarget } from './etcd-connection';
