import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

// What deploy/monitoring's Grafana dashboard and Prometheus alert rules read, for the tests that
// hold them to the metric contract: test/observability/monitoringFiles.test.ts (every series is in
// docs/observability.md's table) and the metrics test (every series appears in a real scrape).

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const MONITORING_DIR = path.join(ROOT, 'deploy/monitoring');
export const DASHBOARD_FILE = path.join(MONITORING_DIR, 'grafana/dashboards/sluice.json');
export const ALERTS_FILE = path.join(MONITORING_DIR, 'alerts.yml');
export const OBSERVABILITY_DOC = path.join(ROOT, 'docs/observability.md');

/** Series Prometheus makes itself (per scrape target), which no Sluice process exports. */
export const PROMETHEUS_OWN_SERIES = ['up'] as const;

export interface Expression {
  /** Where it comes from: "dashboard: <panel title>" or "alert: <alert name>". */
  where: string;
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every PromQL expression of the dashboard's panels (collapsed rows' panels included). */
export function dashboardExpressions(file = DASHBOARD_FILE): Expression[] {
  const dash = JSON.parse(readFileSync(file, 'utf8')) as { panels: Panel[] };
  const out: Expression[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `dashboard: ${p.title}`, expr: t.expr });
      if (p.panels) walk(p.panels);
    }
  };
  walk(dash.panels);
  return out;
}

/** Every alerting and recording rule's expression in alerts.yml. */
export function alertExpressions(file = ALERTS_FILE): Expression[] {
  const doc = YAML.parse(readFileSync(file, 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert: ${r.alert ?? r.record}`, expr: String(r.expr) })));
}

/** Grafana's variables replaced by what Prometheus accepts in their place (a range, a data source). */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_)?interval|\$__range/g, '5m').replace(/\$\{[^}]*\}|\$\w+/g, '5m');
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * The metric names an expression selects, as written (histogram suffixes kept). A small reading of
 * PromQL rather than a parser: strings, label matchers, ranges and grouping clauses are removed,
 * then every identifier that is not a keyword and is not followed by "(" (a function or an
 * aggregation) names a series. Enough for the expressions these files hold, whose names are
 * written out (never selected by {__name__=~...}, which this would not see).
 */
export function seriesInExpression(expr: string): string[] {
  const e = withoutGrafanaVariables(expr)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of e.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    if (!KEYWORDS.has(m[1].toLowerCase())) names.add(m[1]);
  }
  return [...names];
}

/** A histogram's _bucket/_sum/_count series named by the histogram (the name a scrape's # TYPE line gives). */
export function seriesBase(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}

/**
 * The metric names the Grafana dashboard and the alert rules use, sorted and unique, as base names:
 * a histogram's _bucket/_sum/_count series are given as the histogram's name (so each matches a
 * metric family, a `# TYPE` line, in a scrape). No contract series ends in _bucket, _sum or _count
 * by itself, so nothing else is shortened. Prometheus's own `up` is left out (PROMETHEUS_OWN_SERIES).
 */
export function referencedSeries(): string[] {
  const all = [...dashboardExpressions(), ...alertExpressions()].flatMap((x) => seriesInExpression(x.expr)).map(seriesBase);
  return [...new Set(all)].filter((n) => !(PROMETHEUS_OWN_SERIES as readonly string[]).includes(n)).sort();
}

/** Each referenced series (as written) with the panels and alerts that use it: for failure messages. */
export function seriesUses(): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  for (const x of [...dashboardExpressions(), ...alertExpressions()]) {
    for (const n of seriesInExpression(x.expr)) uses.set(n, [...(uses.get(n) ?? []), x.where]);
  }
  return uses;
}

export const CONTRACT_HEADING = '### Series (the contract)';

/**
 * The metric contract: the series names in the table under "### Series (the contract)" in
 * docs/observability.md (rows whose first cell is a name in backticks, e.g.
 * "| `sluice_ready` | gauge | ..."), in document order. Other tables of the file are not read.
 */
export function contractSeries(file = OBSERVABILITY_DOC): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.trim() === CONTRACT_HEADING);
  if (start < 0) throw new Error(`${file} has no "${CONTRACT_HEADING}" section`);
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,3} /.test(line)) break;
    const m = /^\|\s*`([a-zA-Z_:][\w:]*)`\s*\|/.exec(line);
    if (m) names.push(m[1]);
  }
  return names;
}
