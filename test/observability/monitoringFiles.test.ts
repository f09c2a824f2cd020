import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ALERTS_FILE, alertExpressions, contractSeries, DASHBOARD_FILE, dashboardExpressions, MONITORING_DIR, PROMETHEUS_OWN_SERIES,
  referencedSeries, ROOT, seriesBase, seriesInExpression, seriesUses, withoutGrafanaVariables,
} from '../helpers/monitoring.js';

// deploy/monitoring (the Grafana dashboard, the alert rules, Prometheus's configuration) and the
// compose monitoring profile, checked without Docker: with Debian's promtool (config, rules, the
// rules' unit tests in alerts.test.yml, and every dashboard query's PromQL), and against the metric
// contract, the series table of docs/observability.md.

const run = promisify(execFile);
const promtool = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: MONITORING_DIR });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
};

const temp = mkdtempSync(path.join(tmpdir(), 'sluice-monitoring-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; title: string; panels: Panel[]; templating: { list: { name: string; type: string; query: string }[] } };
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const graphs = panels.filter((p) => p.type !== 'row');

describe('Grafana dashboard', () => {
  it('is a dashboard with the panels an operator needs', () => {
    expect(dashboard).toMatchObject({ uid: 'sluice', title: 'Sluice' });
    const titles = graphs.map((p) => p.title);
    for (const t of [
      'Backlog by queue', 'Oldest waiting job', 'Rows scored / s', 'Stage latency p50', 'Stage latency p95', 'Row error ratio',
      'Job failure ratio', 'Webhook attempts / s by outcome', 'Webhook deliveries / s by result', 'Single-prediction latency',
      'HTTP 5xx / s', 'Postgres pool', 'Event loop lag',
    ]) expect(titles, `panel "${t}"`).toContain(t);
    // p50 and p99 of single predictions, p50 and p95 of the stages.
    const exprOf = (title: string) => graphs.find((p) => p.title === title)!.targets!.map((t) => t.expr).join('\n');
    expect(exprOf('Single-prediction latency')).toMatch(/histogram_quantile\(0\.5,[\s\S]*histogram_quantile\(0\.99,/);
    expect(exprOf('Stage latency p50')).toContain('histogram_quantile(0.5, sum by (le, stage) (rate(sluice_worker_stage_duration_seconds_bucket');
    expect(exprOf('Stage latency p95')).toContain('histogram_quantile(0.95, sum by (le, stage)');
  });

  it('is well formed: unique ids, panels on the 24-column grid without overlaps, queries on the data source variable', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const cells = new Map<string, string>();
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, `${p.title} fits the grid`).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
        const other = cells.get(`${i},${j}`);
        expect(other, `${p.title} overlaps ${other}`).toBeUndefined();
        cells.set(`${i},${j}`, p.title);
      }
    }
    for (const p of graphs) {
      expect(p.targets?.length, `${p.title} has queries`).toBeGreaterThan(0);
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, `${p.title} refIds`).toBe(refIds.length);
    }
  });

  it('every query is valid PromQL (promtool, as recording rules, with Grafana variables filled in)', async () => {
    const exprs = dashboardExpressions();
    expect(exprs.length).toBeGreaterThan(30);
    const rules = { groups: [{ name: 'dashboard', rules: exprs.map((x, i) => ({ record: `dashboard:query_${i}`, expr: withoutGrafanaVariables(x.expr) })) }] };
    const file = path.join(temp, 'dashboard-queries.yml');
    writeFileSync(file, YAML.stringify(rules));
    expect(await promtool('check', 'rules', file)).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});

describe('Prometheus alert rules', () => {
  const doc = YAML.parse(readFileSync(ALERTS_FILE, 'utf8')) as {
    groups: { rules: { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
  };
  const rules = doc.groups.flatMap((g) => g.rules);

  it('pass promtool check rules', async () => {
    expect(await promtool('check', 'rules', 'alerts.yml')).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('cover what issue 17 asks for, each with for, a severity, a summary, a description and a runbook', () => {
    const names = rules.map((r) => r.alert);
    for (const n of ['SluiceBacklogGrowing', 'SluiceOldestWaitingJobTooOld', 'SluiceJobStalled', 'SluiceWebhookFailureRate', 'SluiceHttp5xxRate', 'SluiceWorkerNotReady', 'SluiceRedisWithoutPersistence']) {
      expect(names).toContain(n);
    }
    for (const r of rules) {
      expect(r.for, `${r.alert} for`).toMatch(/^\d+[smh]$/);
      expect(['page', 'warning'], `${r.alert} severity`).toContain(r.labels?.severity);
      for (const a of ['summary', 'description', 'runbook']) expect(r.annotations?.[a], `${r.alert} ${a}`).toMatch(/\S{3}/);
    }
    const byName = new Map(rules.map((r) => [r.alert, r]));
    expect(byName.get('SluiceBacklogGrowing')!.for).toBe('10m');
    // "oldest waiting job > N min", N = 15 written where it is edited.
    expect(byName.get('SluiceOldestWaitingJobTooOld')!.expr).toMatch(/> 15 \* 60\b/);
    expect(byName.get('SluiceWorkerNotReady')!.expr).toMatch(/sluice_ready\{job="sluice-worker"\} == 0 or up\{job="sluice-worker"\} == 0/);
    expect(byName.get('SluiceRedisWithoutPersistence')!.expr).toContain('sluice_redis_persistence_enabled) == 0');
  });

  it('pass their unit tests (promtool test rules alerts.test.yml), which exercise every alert firing', async () => {
    expect(await promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
    const tests = YAML.parse(readFileSync(path.join(MONITORING_DIR, 'alerts.test.yml'), 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const fired = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    expect([...fired].sort()).toEqual(rules.map((r) => r.alert).sort());
  });
});

describe('Prometheus configuration', () => {
  it('passes promtool check config, rule files included (a copy in a temporary folder, as compose mounts them)', async () => {
    copyFileSync(path.join(MONITORING_DIR, 'prometheus.yml'), path.join(temp, 'prometheus.yml'));
    copyFileSync(ALERTS_FILE, path.join(temp, 'alerts.yml'));
    const out = await promtool('check', 'config', path.join(temp, 'prometheus.yml'));
    expect(out).toContain('SUCCESS: 1 rule files found');
    expect(out).toContain('is valid prometheus config file syntax');
  });

  it('scrapes the api on 9464 and the workers on 9465 by compose service name, under the job names the rules use', () => {
    const cfg = YAML.parse(readFileSync(path.join(MONITORING_DIR, 'prometheus.yml'), 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[] };
    expect(cfg.rule_files).toEqual(['alerts.yml']);
    const job = (n: string) => cfg.scrape_configs.find((s) => s.job_name === n)!.dns_sd_configs![0];
    expect(job('sluice-api')).toMatchObject({ names: ['api'], port: 9464 });
    expect(job('sluice-worker')).toMatchObject({ names: expect.arrayContaining(['worker']), port: 9465 });
  });
});

describe('the metric contract', () => {
  const contract = contractSeries();

  it('docs/observability.md lists it as a table', () => {
    expect(contract.length).toBeGreaterThan(30);
    expect(new Set(contract).size).toBe(contract.length);
    for (const n of contract) {
      expect(n, 'Prometheus naming: snake_case, no histogram suffix').toMatch(/^[a-z][a-z0-9_]*$/);
      expect(n).not.toMatch(/_(bucket|sum|count)$/);
    }
  });

  it('the dashboard and the alert rules read only series in it', () => {
    const referenced = referencedSeries();
    expect(referenced).toContain('sluice_rows_scored_total');
    expect(referenced).toContain('sluice_worker_stage_duration_seconds'); // read through its _bucket series
    const uses = seriesUses();
    const strays = [...uses.keys()]
      .filter((n) => !(PROMETHEUS_OWN_SERIES as readonly string[]).includes(n) && !contract.includes(seriesBase(n)))
      .map((n) => `${n} (${uses.get(n)!.join('; ')})`);
    expect(strays, 'series outside the contract').toEqual([]);
    // Histogram suffixes only on histograms: a _count of a counter would be a typo.
    for (const n of uses.keys()) if (n !== seriesBase(n)) expect(contract, n).toContain(seriesBase(n));
  });

  it('the helper reads every query and rule, and each one selects at least one series', () => {
    expect(dashboardExpressions().length).toBe(graphs.reduce((n, p) => n + (p.targets?.length ?? 0), 0));
    expect(alertExpressions().length).toBe((YAML.parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { rules: unknown[] }[] }).groups.reduce((n, g) => n + g.rules.length, 0));
    for (const x of [...dashboardExpressions(), ...alertExpressions()]) expect(seriesInExpression(x.expr).length, x.where).toBeGreaterThan(0);
  });
});

describe('docker compose monitoring profile', () => {
  const compose = YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { profiles?: string[]; image?: string; ports?: string[]; expose?: string[]; environment?: Record<string, string>; volumes?: string[] }>;
  };
  const s = compose.services;

  it('starts Prometheus, Grafana and Jaeger only with --profile monitoring, their UIs on localhost only', () => {
    for (const n of ['prometheus', 'grafana', 'jaeger']) {
      expect(s[n]?.profiles, n).toEqual(['monitoring']);
      for (const p of s[n].ports ?? []) expect(p, `${n} publishes on 127.0.0.1 only`).toMatch(/^127\.0\.0\.1:/);
    }
    expect(s.prometheus.image).toMatch(/^prom\/prometheus:/);
    expect(s.grafana.image).toMatch(/^grafana\/grafana:/);
    expect(s.jaeger.image).toMatch(/^jaegertracing\/all-in-one:/);
    expect(s.jaeger.expose).toContain('4318');
    for (const n of ['api', 'worker', 'redis', 'postgres']) expect(s[n].profiles, n).toBeUndefined();
  });

  it('exposes the metrics ports on the compose network without publishing them, and leaves tracing off unless asked', () => {
    expect(s.api.expose).toContain('9464');
    expect(s.worker.expose).toContain('9465');
    for (const n of ['api', 'worker']) {
      expect((s[n].ports ?? []).join(' '), n).not.toMatch(/946[45]/);
      expect(s[n].environment?.OTEL_EXPORTER_OTLP_ENDPOINT, n).toBe('${OTEL_EXPORTER_OTLP_ENDPOINT:-}');
    }
    expect(s.api.environment).toMatchObject({ METRICS_PORT: '9464', OTEL_SERVICE_NAME: 'sluice-api', DATABASE_URL: expect.any(String) });
    expect(s.worker.environment).toMatchObject({ WORKER_METRICS_PORT: '9465', OTEL_SERVICE_NAME: 'sluice-worker', DATABASE_URL: expect.any(String) });
  });

  it('mounts files that exist where Prometheus and Grafana look for them', () => {
    const mounts = [...s.prometheus.volumes!, ...s.grafana.volumes!].filter((v) => v.startsWith('./'));
    for (const m of mounts) expect(existsSync(path.join(ROOT, m.split(':')[0])), m).toBe(true);
    expect(s.prometheus.volumes).toContain('./deploy/monitoring/alerts.yml:/etc/prometheus/alerts.yml:ro');
    const provider = YAML.parse(readFileSync(path.join(MONITORING_DIR, 'grafana/provisioning/dashboards/sluice.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
    expect(s.grafana.volumes).toContain(`./deploy/monitoring/grafana/dashboards:${provider.providers[0].options.path}:ro`);
    const sources = YAML.parse(readFileSync(path.join(MONITORING_DIR, 'grafana/provisioning/datasources/sluice.yml'), 'utf8')) as { datasources: { type: string; url: string; isDefault?: boolean }[] };
    expect(sources.datasources).toContainEqual(expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true }));
    expect(sources.datasources).toContainEqual(expect.objectContaining({ type: 'jaeger', url: 'http://jaeger:16686' }));
  });
});
