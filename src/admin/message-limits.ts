import { MAX_CONFIG_BYTES } from '../config';

/**
 * One message limit for the admin API, both ways, on the server and in the CLI's client:
 * GetConfig carries the config twice (as a Struct and as YAML), and both can outgrow its JSON
 * (YAML indents every nesting level; a Struct tags every field and makes every number 8 bytes):
 * measured 2.5× for 2,000 ordinary services and up to 3.4× for thousands of tiny header entries. Six times the largest config Tether accepts, plus room for
 * the rest of the response, so an accepted config can always be read back (and applied).
 * grpcurl users need `-max-msg-sz` for configs over 4 MiB, grpc-go's default.
 */
export const ADMIN_MAX_MESSAGE_BYTES = 6 * MAX_CONFIG_BYTES + 1024 * 1024;

/** Channel or server options that apply the limit both ways. */
export function adminMessageLimits(bytes = ADMIN_MAX_MESSAGE_BYTES): { 'grpc.max_receive_message_length': number; 'grpc.max_send_message_length': number } {
  return { 'grpc.max_receive_message_length': bytes, 'grpc.max_send_message_length': bytes };
}
