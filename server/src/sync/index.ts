export { SyncServer, type SyncServerOptions } from './sync-server';
export { DocumentRegistry, DocumentLoadError, type DocumentRegistryOptions } from './document-registry';
export { RoomDocument, ORIGIN_LOAD, ORIGIN_RESTORE, ORIGIN_AUTHORS, type Peer } from './room-document';
export { Connection } from './connection';
export { MessageHandler } from './message-handler';
export { UpdateLog } from './update-log';
export * from './protocol';
