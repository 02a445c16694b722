/**
 * The TypeScript side of newer-api.ts: the generated interfaces (src/generated/, from the
 * bundled protos) extended by module augmentation with the fields Tether adds to the Root, so a
 * resource that uses them is type-checked like every other field (a misspelling does not
 * compile). Keep in step with NEWER_FIELDS / NEWER_MESSAGES.
 */
import type { BoolValue, BoolValue__Output } from '../generated/google/protobuf/BoolValue';

/** envoy.type.http.v3.CookieAttribute (Envoy 1.35). */
export interface CookieAttribute {
  name?: string;
  value?: string;
}

export interface CookieAttribute__Output {
  name: string;
  value: string;
}

declare module '../generated/envoy/config/route/v3/WeightedCluster' {
  interface WeightedCluster {
    /** Envoy 1.36: pick the cluster by the route's hash policy (oneof random_value_specifier). */
    use_hash_policy?: BoolValue | null;
  }
  interface WeightedCluster__Output {
    use_hash_policy?: BoolValue__Output | null;
  }
}

declare module '../generated/envoy/type/http/v3/Cookie' {
  interface Cookie {
    /** Envoy 1.35: attributes of a generated cookie (SameSite, Secure…). */
    attributes?: CookieAttribute[];
  }
  interface Cookie__Output {
    attributes?: CookieAttribute__Output[];
  }
}
