/**
 * Tether's layers as data (README.md, "Architecture"): which folder of src/ may import which.
 * Checked by `npm run lint:layers` and by test/architecture/layers.test.ts (so `npm test`, and
 * with it CI's .ci/run, fails on a new inversion or a new import cycle).
 *
 * Every folder lists the folders it may import, nothing else; the table must be acyclic (checked
 * below), so no two folders can import each other. Listed from the bottom floor up.
 */
const LAYERS = {
  // Floor 0: no Tether dependencies.
  generated: [],
  util: [],
  log: [],
  ports: [],
  regex: ['util'],
  // Envoy's API: protos, encoding, the resource-type table, wire splicing.
  envoy: ['generated', 'util'],
  // The data every stage shares: the validated config, node kinds and targets, resolved endpoints.
  model: ['util'],
  // Pure libraries over the model.
  affinity: ['model', 'util'],
  extproc: ['envoy', 'generated', 'log', 'model', 'util'],
  // The pipeline: config → model → resolve → translate → cache → xds.
  config: ['model', 'regex', 'util'],
  resolve: ['log', 'model', 'util'],
  translate: ['affinity', 'envoy', 'generated', 'model', 'regex', 'util'],
  cache: ['envoy', 'generated', 'log', 'model', 'util'],
  xds: ['cache', 'envoy', 'generated', 'log', 'model', 'util'],
  store: ['log', 'util'],
  // Reading what is served: explain and what-if over resources, diffs of two renditions.
  explain: ['affinity', 'config', 'envoy', 'generated', 'model', 'regex', 'util'],
  diff: ['cache', 'envoy', 'model', 'translate', 'util'],
  compute: ['affinity', 'cache', 'diff', 'envoy', 'explain', 'log', 'model', 'util'],
  // Orchestration: the one way the served config changes.
  control: ['affinity', 'cache', 'compute', 'config', 'diff', 'envoy', 'explain', 'log', 'model', 'resolve', 'store', 'translate', 'util'],
  cluster: ['config', 'control', 'log', 'model', 'resolve', 'store', 'util', 'xds'],
  // Reads what is served through renditions (control/), never explain's internals.
  metrics: ['affinity', 'cache', 'compute', 'config', 'control', 'envoy', 'extproc', 'generated', 'log', 'model', 'util', 'xds'],
  // Surfaces.
  admin: ['affinity', 'cache', 'cluster', 'compute', 'config', 'control', 'diff', 'envoy', 'explain', 'generated', 'log', 'model', 'ports', 'resolve', 'store', 'translate', 'util', 'xds'],
  console: ['admin', 'affinity', 'cache', 'compute', 'config', 'control', 'diff', 'explain', 'generated', 'log', 'model', 'resolve', 'store', 'translate', 'util', 'xds'],
  server: ['admin', 'cache', 'cluster', 'compute', 'config', 'console', 'control', 'extproc', 'log', 'metrics', 'model', 'ports', 'resolve', 'store', 'util', 'xds'],
  demo: ['log', 'server', 'util'],
  sample: ['envoy', 'generated', 'util'],
  cli: ['admin', 'cache', 'config', 'control', 'demo', 'diff', 'envoy', 'extproc', 'generated', 'log', 'model', 'ports', 'resolve', 'server', 'store', 'translate', 'util', 'xds'],
  // Program entry points and the library's index sit above everything: `tether` (whose
  // `sample` subcommand is the sample replica's own command line) and the replica alone.
  // The compute worker thread's entry: compute/'s jobs plus the admin API's wire work it runs.
  'compute-worker': ['admin', 'compute'],
  'sample-main': ['cli', 'sample'],
  'cli-main': ['cli', 'config', 'control', 'log', 'sample-main', 'translate', 'util'],
  index: ['envoy', 'model', 'translate'],
};

/**
 * The one import across floors kept on purpose: the config validates a session-key policy with
 * the ext_proc server's own checker (pure, no I/O: key files are read by extproc/ only), so the
 * two can never disagree on what a valid policy is.
 */
const EXCEPTIONS = [{ from: '^src/config/ext-proc-schema\\.ts$', to: '^src/extproc/policy\\.ts$', toLayer: 'extproc' }];

/** Layers that are single modules rather than folders (a folder's layer leaves them out). */
const MODULES = {
  log: '^src/log\\.ts$',
  ports: '^src/ports\\.ts$',
  index: '^src/index\\.ts$',
  'compute-worker': '^src/compute/worker-entry\\.ts$',
  'sample-main': '^src/sample/main\\.ts$',
  'cli-main': '^src/cli/main\\.ts$',
};
/** A folder's modules that are layers of their own ('main' of sample/main.ts). */
const entriesOf = (name) => Object.values(MODULES).flatMap((m) => (m.startsWith(`^src/${name}/`) ? [m.slice(`^src/${name}/`.length)] : []));
const pathOf = (name) => {
  if (MODULES[name]) return MODULES[name];
  const entries = entriesOf(name);
  return entries.length ? `^src/${name}/(?!${entries.map((e) => e.replace(/\$$/, '$')).join('|')})` : `^src/${name}/`;
};

function assertAcyclic(layers) {
  const state = new Map();
  const visit = (name, trail) => {
    if (!(name in layers)) throw new Error(`.dependency-cruiser.cjs: '${trail.at(-1)}' lists unknown layer '${name}'`);
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`.dependency-cruiser.cjs: layers form a cycle: ${[...trail, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const next of layers[name]) visit(next, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of Object.keys(layers)) visit(name, []);
}
assertAcyclic(LAYERS);

const layerRules = Object.entries(LAYERS).map(([name, allowed]) => {
  const others = Object.keys(LAYERS).filter((n) => n !== name && !allowed.includes(n));
  return {
    name: `layer-${name}`,
    comment: `src/${name} may import only: ${allowed.join(', ') || '(no other folder)'} (README.md, Architecture; .dependency-cruiser.cjs LAYERS)`,
    severity: 'error',
    from: { path: pathOf(name) },
    to: { path: others.map(pathOf), pathNot: EXCEPTIONS.map((e) => e.to) },
  };
});

// An exception is a precise pair: the excepted target stays forbidden for every other file.
const exceptionRules = EXCEPTIONS.map((e) => ({
  name: 'layer-exception-scope',
  comment: `only ${e.from} may import ${e.to} across floors`,
  severity: 'error',
  from: { path: '^src/', pathNot: [e.from, ...Object.keys(LAYERS).filter((n) => n === e.toLayer || LAYERS[n].includes(e.toLayer)).map(pathOf)] },
  to: { path: e.to },
}));

/**
 * No cycles at all, inside a folder too (the layer table already rules them out across
 * folders). Type-only imports count: a type two modules both need belongs below both (e.g.
 * translate/types.ts's HttpFilterContext, model/session-key-policy.ts's PolicyIssue), so the
 * module graph stays a tree one can read bottom-up. The one exception is src/generated/: types
 * generated from Envoy's protos, whose messages are recursive (AccessLogFilter holds an
 * AndFilter holding AccessLogFilters), never edited by hand.
 */
const noCircular = {
  name: 'no-circular',
  comment: 'modules must not import each other, even through others or only for types (.dependency-cruiser.cjs)',
  severity: 'error',
  from: { path: '^src/', pathNot: '^src/generated/' },
  to: { circular: true },
};

/**
 * Explain is read through its index (src/explain/index.ts) only: metrics and the compute worker
 * use what it exports (or a rendition view over it, control/served-balancers.ts), never its
 * modules' internals.
 */
const explainSurface = {
  name: 'explain-through-index',
  comment: 'outside src/explain, import explain only from src/explain/index.ts',
  severity: 'error',
  from: { path: '^src/', pathNot: '^src/explain/' },
  to: { path: '^src/explain/', pathNot: '^src/explain/index\\.ts$' },
};

module.exports = {
  // Unresolvable imports need no rule: tsc (npm run build) fails on them first.
  forbidden: [...layerRules, ...exceptionRules, noCircular, explainSurface],
  options: {
    includeOnly: '^src/',
    exclude: { path: '^src/console/web/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    moduleSystems: ['cjs', 'es6'],
  },
};
