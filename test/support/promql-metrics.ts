/**
 * The metric names a PromQL expression reads, from Prometheus's own grammar
 * (@prometheus-io/lezer-promql, the parser of Prometheus's web UI): every VectorSelector's
 * Identifier. A syntax error is reported, not guessed around. Grafana's variables are
 * interpolated first, as Grafana does before a query reaches Prometheus.
 */
import { parser } from '@prometheus-io/lezer-promql';

export interface PromqlNames {
  metrics: string[];
  /** Where the parser found a syntax error (empty when it parsed). */
  errors: string[];
}

/** `$__rate_interval`, `[$__interval]`, `"$service"`, `${var}` → something Prometheus would get. */
export function interpolateGrafana(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{?(\w+)\}?/g, 'x');
}

export function promqlMetrics(expr: string): PromqlNames {
  const tree = parser.parse(expr);
  const metrics = new Set<string>();
  const errors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`syntax error at ${node.from}: …${expr.slice(Math.max(0, node.from - 20), node.from)}⟨here⟩${expr.slice(node.from, node.from + 20)}…`);
      if (node.type.name === 'Identifier' && node.node.parent?.type.name === 'VectorSelector') metrics.add(expr.slice(node.from, node.to));
      // A selector written only with matchers: {__name__="x"}.
      if (node.type.name === 'LabelName' && expr.slice(node.from, node.to) === '__name__') {
        const m = /^__name__\s*=\s*"([^"]+)"/.exec(expr.slice(node.from));
        if (m) metrics.add(m[1]!);
      }
    },
  });
  return { metrics: [...metrics], errors };
}

/** Metric names a live `/metrics` exposition declares (`# TYPE`), with a histogram's `_bucket`, `_sum`, `_count`. */
export function exportedMetricNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [name, type] = [m[1]!, m[2]!];
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}
