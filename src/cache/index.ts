export { buildSnapshot, resourcesVersion, type ResourceSet, type Snapshot, type SnapshotResource } from './snapshot';
export { SnapshotCache, type SnapshotSource, type SnapshotWatcher } from './snapshot-cache';
export { referencesOf } from './references';
