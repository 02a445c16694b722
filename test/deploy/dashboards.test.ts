/**
 * The Grafana dashboard (deploy/grafana/tether.json) and the Prometheus alert rules
 * (deploy/prometheus/alerts.yaml): valid JSON and YAML of the expected shape, every query parsed
 * by Prometheus's own PromQL grammar, and every metric a query names declared by a Tether
 * started here (its live /metrics, not a list kept by hand). A metric renamed in the code
 * without the dashboards fails this test. With promtool on PATH, it checks the rules too.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportedMetricNames, interpolateGrafana, promqlMetrics } from '../support/promql-metrics';
import { Harness } from '../support/harness';

const ROOT = path.resolve(__dirname, '../..');
const DASHBOARD = path.join(ROOT, 'deploy/grafana/tether.json');
const ALERTS = path.join(ROOT, 'deploy/prometheus/alerts.yaml');

interface Query {
  where: string;
  expr: string;
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Every PromQL query in the dashboard: panel targets, annotations, and `label_values(metric, label)` variables. */
function dashboardQueries(dashboard: any): Query[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const out: Query[] = [];
  const panels = (dashboard.panels ?? []).flatMap((p: any) => [p, ...(p.panels ?? [])]); // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const p of panels) for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: interpolateGrafana(t.expr) });
  for (const a of dashboard.annotations?.list ?? []) if (a.expr) out.push({ where: `annotation "${a.name}"`, expr: interpolateGrafana(a.expr) });
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q);
    expect(m, `variable ${v.name}: ${q}`).not.toBeNull();
    out.push({ where: `variable "${v.name}"`, expr: interpolateGrafana(m![1]!) });
  }
  return out;
}

const h = new Harness();
let exported: Set<string>;
const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
const rules: Rule[] = (parseYaml(fs.readFileSync(ALERTS, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

beforeAll(async () => {
  // Series of a kind appear only once something produced them; the metric names (`# TYPE`) are
  // declared from the start, which is what a query depends on.
  await h.start(
    {
      listeners: [{ name: 'http', port: 10000 }],
      services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ backends: [{ name: 'shop' }] }] }],
      backends: [{ name: 'shop', endpoints: ['127.0.0.1:8081', '127.0.0.1:8082'], balancer: { type: 'ring_hash' } }],
    },
    { admin: false, metrics: { host: '127.0.0.1', port: 0 }, extProc: { host: '127.0.0.1', port: 0 } },
  );
  const res = await fetch(`http://127.0.0.1:${h.tether.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  exported = exportedMetricNames(await res.text());
});
afterAll(() => h.close());

function checkQueries(queries: Query[]): string[] {
  const problems: string[] = [];
  for (const q of queries) {
    const { metrics, errors } = promqlMetrics(q.expr);
    for (const e of errors) problems.push(`${q.where}: ${e}`);
    if (metrics.length === 0) problems.push(`${q.where}: names no metric: ${q.expr}`);
    for (const m of metrics) if (!exported.has(m)) problems.push(`${q.where}: ${m} is not exported by Tether`);
  }
  return problems;
}

describe('dashboards and alerts', () => {
  it('the checker catches a misspelled metric and a syntax error', () => {
    expect(exported.has('tether_xds_nacks_total')).toBe(true);
    expect(checkQueries([{ where: 'q', expr: 'sum(rate(tether_xds_nackz_total[5m]))' }])).toEqual(['q: tether_xds_nackz_total is not exported by Tether']);
    expect(checkQueries([{ where: 'q', expr: 'sum(rate(tether_xds_nacks_total[5m])' }]).join('\n')).toMatch(/syntax error/);
    expect(promqlMetrics('histogram_quantile(0.99, sum by (le) (rate(a_bucket{kind="x"}[5m]))) / on(kind) group_left b').metrics.sort()).toEqual(['a_bucket', 'b']);
  });

  it('the Grafana dashboard: every query parses and names only metrics Tether exports', () => {
    expect(dashboard).toMatchObject({ uid: 'tether-overview', title: 'Tether' });
    expect(typeof dashboard.schemaVersion).toBe('number');
    const ids = (dashboard.panels as { id: number }[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThan(20);
    expect(checkQueries(queries)).toEqual([]);
    // What the issue asks the dashboard to show.
    const named = new Set(queries.flatMap((q) => promqlMetrics(q.expr).metrics));
    for (const m of [
      'tether_xds_nacks_total',
      'tether_xds_nodes_behind',
      'tether_xds_convergence_seconds_bucket',
      'tether_config_rejected_total',
      'tether_extproc_streams_total',
      'tether_extproc_message_seconds_bucket',
      'tether_extproc_decisions_total',
      'tether_replica_session_share_ratio',
      'tether_config_version',
      'tether_config_applied_timestamp_seconds',
      'tether_dns_lookup_failures_total',
      'tether_build_info',
    ]) {
      expect(named, m).toContain(m);
    }
    // The deprecated name is not used by what the repository ships.
    expect(named).not.toContain('tether_replica_session_share');
  });

  it('the alert rules: valid shape, every expression parses and names only metrics Tether exports', () => {
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(r.alert, JSON.stringify(r)).toMatch(/^Tether[A-Za-z]+$/);
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      if (r.for !== undefined) expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
    }
    expect(checkQueries(rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })))).toEqual([]);
    // NACKs, stale nodes, convergence p99, refused edits, ext_proc failures, session-share skew.
    const alerting = (metric: string) => rules.filter((r) => promqlMetrics(r.expr).metrics.includes(metric)).map((r) => r.alert);
    expect(alerting('tether_xds_nacks_total')).toContain('TetherXdsNacks');
    expect(alerting('tether_xds_nodes_behind')).toContain('TetherNodesBehind');
    expect(alerting('tether_xds_convergence_seconds_bucket')).toContain('TetherSlowConvergence');
    expect(alerting('tether_config_rejected_total')).toContain('TetherConfigEditsRejected');
    expect(alerting('tether_extproc_streams_total')).toContain('TetherExtProcFailures');
    expect(alerting('tether_replica_session_share_ratio')).toContain('TetherSessionShareSkew');
    expect(rules.find((r) => r.alert === 'TetherConvergenceSlow' || r.alert === 'TetherSlowConvergence')!.expr).toMatch(/histogram_quantile\(0\.99,/);
  });

  it.skipIf(spawnSync('promtool', ['--version']).error !== undefined)('promtool accepts the rules', () => {
    const r = spawnSync('promtool', ['check', 'rules', ALERTS], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
