/** Several NodeStatusListeners on one stream source (e.g. the node registry and the metrics). */
import type { NodeStatusListener } from '../xds/node-status';

/**
 * A listener that tells each of `listeners`, in order. One that throws does not stop the
 * others; the first error is rethrown after all were told, so the stream still logs it.
 */
export function combineListeners(...listeners: NodeStatusListener[]): NodeStatusListener {
  const all = [...listeners];
  const each = (fn: (l: NodeStatusListener) => void): void => {
    let failure: { err: unknown } | undefined;
    for (const l of all) {
      try {
        fn(l);
      } catch (err) {
        failure ??= { err };
      }
    }
    if (failure) throw failure.err;
  };
  return {
    streamOpened: (identity) => each((l) => l.streamOpened(identity)),
    responseSent: (streamId, typeUrl, version, nonce) => each((l) => l.responseSent(streamId, typeUrl, version, nonce)),
    acked: (streamId, typeUrl, version) => each((l) => l.acked(streamId, typeUrl, version)),
    nacked: (streamId, typeUrl, version, nonce, message) => each((l) => l.nacked(streamId, typeUrl, version, nonce, message)),
    configApplied: (streamId, configVersion) => each((l) => l.configApplied(streamId, configVersion)),
    configBlocked: (streamId, blocked) => each((l) => l.configBlocked(streamId, blocked)),
    streamClosed: (streamId) => each((l) => l.streamClosed(streamId)),
  };
}
