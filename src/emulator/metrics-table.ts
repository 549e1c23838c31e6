/**
 * The demo's metrics table: what the receiver got on /v1/metrics, summed
 * per environment (its `service.instance.id`), from the independently
 * decoded points. Apart from cli.ts so the demo calls it in one line.
 */
import type { DecodedPoint } from './otlp-decode.js';

/**
 * Delta sums added up; cumulative sums and gauges: each series' last value,
 * added over the series; histograms as count and mean.
 */
export function metricsTable(points: readonly DecodedPoint[]): string[] {
  if (points.length === 0) return ['Metrics: none arrived'];
  const envs = new Map<string, DecodedPoint[]>();
  for (const p of points) {
    const env = String(p.resource['service.instance.id'] ?? '?');
    envs.set(env, [...(envs.get(env) ?? []), p]);
  }
  const out: string[] = [`Metrics (${envs.size} environment(s)):`];
  for (const [env, list] of envs) {
    out.push(`  environment ${env.slice(0, 8)}`);
    const rows = new Map<string, string>();
    const names = [...new Set(list.map((p) => p.name))].sort();
    for (const name of names) {
      const of = list.filter((p) => p.name === name);
      const first = of[0] as DecodedPoint;
      if (first.kind === 'histogram') {
        const count = of.reduce((s, p) => s + p.count, 0);
        const sum = of.reduce((s, p) => s + p.sum, 0);
        const mean = count > 0 ? sum / count : 0;
        rows.set(name, `count ${count}, mean ${fmt(mean)} ${first.unit}`);
      } else if (first.temporality === 1) {
        rows.set(
          name,
          `${fmt(of.reduce((s, p) => s + p.value, 0))} ${first.unit}`
        );
      } else {
        // Cumulative: the last value of each series, summed.
        const last = new Map<string, number>();
        for (const p of of) last.set(JSON.stringify(p.attributes), p.value);
        const v = [...last.values()].reduce((s, n) => s + n, 0);
        rows.set(name, `${fmt(v)} ${first.unit}`);
      }
    }
    const width = Math.max(...[...rows.keys()].map((k) => k.length));
    for (const [name, value] of rows)
      out.push(`    ${name.padEnd(width)}  ${value}`);
  }
  return out;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(4);
}
