/** The ext_proc session-key server: finds the key where Envoy's hash policies cannot look. */
export {
  createExtProcService,
  startExtProcServer,
  SERVICE_METADATA_KEY,
  type ExtProcObserver,
  type ExtProcStreamOutcome,
  type ExtProcService,
  type ExtProcServiceOptions,
  type ExtProcServer,
  type ExtProcServerOptions,
  type PolicyLookup,
  type PolicyLookupInfo,
} from './service';
export { checkPolicy, compilePolicy, loadPolicyFiles, validatePolicy, PolicyError, DEFAULT_JSON_MAX_BYTES, type CompiledPolicy, type PolicyIssue } from './policy';
export { DEFAULT_BUCKET_HEADER, DEFAULT_TARGET_HEADER, type JsonBodySource, type JwtClaimSource, type JwtVerifyOptions, type MintCookieOptions, type SessionKeyPolicy, type SessionKeySource } from '../model/session-key-policy';
export { bucketOf, headerValueFor } from './session-key';
export { loadConfigKeyFiles, policiesFromConfig } from './config-policies';
export { SECRET_FILE_MAX_BYTES, checkSecretPath, readSecretFile, secretFileRules, setSecretFileRules, type SecretFileRules } from '../util/secret-files';
export type { ExtProcStats } from './processor';
export { EXT_PROC_METHOD_PATH, EXT_PROC_SERVICE_NAME, extProcServiceDefinition } from './codec';
