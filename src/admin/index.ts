/** The admin gRPC API: server, auth, TLS and a client, for the server wiring and the CLI. */
export { startAdminServer, addAdminService, DEFAULT_ADMIN_PORT, DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, type AdminServer, type AdminServerOptions, type AddedAdminService, type AddAdminServiceOptions } from './server';
export { createAuthCheck, loadAdminToken, ADMIN_TOKEN_FILE, type AdminAuth, type AdminToken, type LoadAdminTokenOptions } from './auth';
export { serverCredentials, channelCredentials, type TlsFiles, type ClientTlsFiles } from './tls';
export { createAdminClient, adminProto, adminPackageDefinition, ADMIN_SERVICE_NAME, type AdminClient } from './admin-proto';
export { objectToStruct, structToObject } from './convert';
export { DEFAULT_ROLLOUT_TIMEOUT_MS } from './rollout-call';
export { ADMIN_MAX_MESSAGE_BYTES, adminMessageLimits } from './message-limits';
