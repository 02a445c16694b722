/** Explain and WhatIf: read the served rendition through explain-source.ts. */
import type { Rendition } from '../control/rendition';
import type { ConfigManagerApi } from '../control/types';
import type { AdminHandlers } from '../generated/tether/tether/admin/v1/Admin';
import type { ExplainRequest__Output } from '../generated/tether/tether/admin/v1/ExplainRequest';
import type { WhatIfRequest__Output } from '../generated/tether/tether/admin/v1/WhatIfRequest';
import type { Logger } from '../log';
import type { LookupFn } from '../resolve/resolver';
import type { NodeRegistry } from '../xds/node-status';
import { explain } from './explain';
import { createExplainSource } from './explain-source';
import type { HandlerWrappers } from './handler-wrappers';
import { whatIf } from './what-if';

export interface ExplainHandlerOptions {
  manager: ConfigManagerApi;
  registry: NodeRegistry;
  logger: Logger;
  /** DNS lookup for Explain/WhatIf: the publisher's, so they see the endpoints that are served. */
  lookup?: LookupFn;
  /** The served rendition, for Explain (explain-source.ts). */
  served?: () => Rendition | undefined;
}

export type ExplainHandlers = Pick<AdminHandlers, 'Explain' | 'WhatIf'>;

export function explainHandlers(wrappers: HandlerWrappers, options: ExplainHandlerOptions): ExplainHandlers {
  const { unary } = wrappers;
  const { manager, registry } = options;
  const log = options.logger;
  const explainSource = createExplainSource({
    manager,
    logger: log,
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.served ? { served: options.served } : {}),
  });
  const connectedKinds = () => registry.list().map((n) => n.kind);
  return {
    Explain: unary('Explain', (req: ExplainRequest__Output) => explain(explainSource, req, connectedKinds)),

    WhatIf: unary('WhatIf', (req: WhatIfRequest__Output) => whatIf(explainSource, req, connectedKinds)),
  };
}
