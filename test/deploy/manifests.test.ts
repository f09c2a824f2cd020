import { readFileSync } from 'node:fs';
import path from 'node:path';
import { QueueKeys } from 'bullmq';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { QUEUES } from '../../src/queue/queues.js';
import { applyJsonPatch, containersOf, JsonPatchError, KustomizeSubsetError, renderKustomization, type K8sObject } from './kustomize.js';
import { find, K8S_DIR, ofKind, OVERLAYS, podLabelsOf, podSpecOf, renderOverlay, sluiceConfig, triggersOf, type Container, type Overlay, type PodSpec } from './manifests.js';
import { checkStrictly } from './strictFields.js';

// deploy/k8s rendered as `kubectl kustomize` would (test/deploy/kustomize.ts, the subset the
// overlays keep to), every object validated against the Kubernetes schemas (kubernetes-models)
// and the KEDA CRD's (@kubernetes-models/keda), then read for what schemas cannot see: names that
// must meet (selectors, ports, ConfigMaps and Secrets), timings that must nest (grace periods,
// proxy timeouts), and the Redis keys KEDA watches, computed with BullMQ's own key layout.

const ROOT = path.resolve(import.meta.dirname, '../..');

// Every kind the manifests use, with the class that validates it: anything else fails the test.
const MODELS: Record<string, { new (data: any): { validate(): void } }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/Ingress': Ingress,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

/** The Secret the manifests reference and never contain: its keys are those of the documented example. */
const SECRET = 'sluice-secrets';
const secretKeys = readFileSync(path.join(K8S_DIR, 'secrets.example/secrets.env.example'), 'utf8')
  .split('\n').filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => l.slice(0, l.indexOf('=')));
/** Other Secrets made outside these manifests, and where docs/deploy.md says so. */
const EXTERNAL_SECRETS = new Set(['sluice-tls']);

/** The uid each image runs as (its `useradd --uid`), which the pods' runAsUser must name. */
function imageUid(dockerfile: string): number {
  const text = readFileSync(path.join(ROOT, dockerfile), 'utf8');
  const uid = /useradd\b[^\n]*--uid (\d+)/.exec(text)?.[1];
  const user = /^USER (\S+)/m.exec(text)?.[1];
  if (!uid || !user) throw new Error(`${dockerfile}: no useradd --uid or USER line`);
  return Number(uid);
}

/** nginx's size syntax (client_max_body_size): bytes, or k/m/g multiples of 1024. */
function nginxBytes(v: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(v.trim());
  if (!m) throw new Error(`not an nginx size: ${v}`);
  return Number(m[1]) * 1024 ** ' kmg'.indexOf(m[2].toLowerCase() || ' ');
}

const workloads = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');

/** The environment a container starts with: its ConfigMap, its literal variables, placeholders for its Secret's. */
function containerEnv(objects: K8sObject[], c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, find(objects, 'ConfigMap', from.configMapRef.name).data);
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) env[e.name] = placeholder(e.valueFrom.secretKeyRef.key);
  }
  return env;
}

/** What a Secret's value looks like, enough for src/config.ts to accept it. */
function placeholder(key: string): string {
  if (key === 'SECRETS_KEY') return Buffer.alloc(32, 7).toString('base64');
  if (key.endsWith('DATABASE_URL')) return 'postgres://sluice@postgres.example.internal:5432/sluice';
  if (key === 'REDIS_URL') return 'redis://redis.sluice.svc.cluster.local:6379';
  return 'secret';
}

const preStopSleepMs = (c: Container): number => {
  const cmd: string[] | undefined = c.lifecycle?.preStop?.exec?.command;
  if (cmd) return cmd[0] === 'sleep' ? Number(cmd[1]) * 1000 : NaN;
  return (c.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
};

const portOf = (c: Container, port: string | number): number | undefined =>
  typeof port === 'number' ? c.ports?.find((p: any) => p.containerPort === port)?.containerPort : c.ports?.find((p: any) => p.name === port)?.containerPort;

const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

describe.each(OVERLAYS)('overlay %s', (overlay: Overlay) => {
  const objects = renderOverlay(overlay);
  const config = sluiceConfig(objects);
  const deployment = (name: string) => find(objects, 'Deployment', name);
  const container = (name: string, c: string): Container => podSpecOf(deployment(name)).containers.find((x: Container) => x.name === c);

  it('renders objects that the Kubernetes and KEDA schemas accept', () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `${o.apiVersion} ${o.kind} has no model here`).toBeDefined();
      expect(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
  });

  it('puts everything in the sluice namespace, each name once per kind', () => {
    expect(find(objects, 'Namespace', 'sluice')).toBeDefined();
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('sluice');
    const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives every process settings src/config.ts accepts, from ConfigMaps that are here and Secret keys that are documented', () => {
    for (const w of workloads(objects)) {
      for (const c of containersOf(w)) {
        for (const from of c.envFrom ?? []) {
          expect(from.secretRef, `${w.metadata.name}: a whole Secret as environment`).toBeUndefined();
          expect(() => find(objects, 'ConfigMap', from.configMapRef.name)).not.toThrow();
        }
        for (const e of (c.env ?? []) as any[]) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) {
            expect(ref.name, `${w.metadata.name} ${e.name}`).toBe(SECRET);
            expect(secretKeys, `${w.metadata.name} ${e.name}: key ${ref.key} is not in secrets.env.example`).toContain(ref.key);
          }
          expect(e.valueFrom?.configMapKeyRef, 'single ConfigMap keys are not used').toBeUndefined();
        }
        expect(() => loadConfig(containerEnv(objects, c)), `${w.metadata.name}/${c.name}`).not.toThrow();
      }
    }
    for (const t of ofKind(objects, 'TriggerAuthentication')) {
      for (const ref of (t.spec as any).secretTargetRef) {
        expect(ref.name).toBe(SECRET);
        expect(secretKeys).toContain(ref.key);
      }
    }
    for (const ing of ofKind(objects, 'Ingress')) for (const tls of (ing.spec as any).tls ?? []) expect(EXTERNAL_SECRETS.has(tls.secretName), tls.secretName).toBe(true);
  });

  it('runs every pod unprivileged, as the image user, on a read-only root with its writable places mounted, within resources', () => {
    for (const w of workloads(objects)) {
      const spec: PodSpec = podSpecOf(w);
      const gpu = containersOf(w).some((c) => c.image.includes('sluice-gpu'));
      expect(spec.securityContext, w.metadata.name).toMatchObject({ runAsNonRoot: true, runAsUser: imageUid(gpu ? 'Dockerfile.gpu' : 'Dockerfile'), seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.serviceAccountName).toBe(find(objects, 'ServiceAccount', 'sluice').metadata.name);
      const emptyDirs = new Set(spec.volumes.filter((v: any) => v.emptyDir).map((v: any) => v.name));
      for (const c of containersOf(w)) {
        expect(c.securityContext, `${w.metadata.name}/${c.name}`).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        const mounts = new Map<string, string>(c.volumeMounts.map((m: any) => [m.mountPath, m.name]));
        expect(emptyDirs.has(mounts.get('/tmp')), `${w.metadata.name}: /tmp (tsx's compile cache)`).toBe(true);
        const env = containerEnv(objects, c);
        if (!/^webhooks$/.test(env.WORKER_QUEUES ?? '') && c.command.includes('workers/predict.ts')) {
          expect(emptyDirs.has(mounts.get(env.MODEL_CACHE_DIR)), `${w.metadata.name}: MODEL_CACHE_DIR`).toBe(true);
        }
        for (const k of ['requests', 'limits']) for (const r of ['cpu', 'memory']) expect(c.resources?.[k]?.[r], `${w.metadata.name} ${k}.${r}`).toBeDefined();
      }
    }
  });

  it('keeps the api serving through a rollout: probes on the public port, preStop, grace above SHUTDOWN_GRACE_MS, maxUnavailable 0', () => {
    const api = deployment('sluice-api');
    const c = container('sluice-api', 'api');
    const env = containerEnv(objects, c);
    expect(portOf(c, 'http')).toBe(Number(env.PORT));
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.startupProbe.httpGet.port).toBe('http');
    expect(preStopSleepMs(c)).toBeGreaterThanOrEqual(3000);
    expect((api.spec as any).strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
    // No count in the Deployment: its HPA owns it.
    expect((api.spec as any).replicas).toBeUndefined();
    expect(portOf(c, 'metrics')).toBe(Number(config.METRICS_PORT));
    expect((api.spec as any).template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': config.METRICS_PORT, 'prometheus.io/path': '/metrics' });
  });

  it('gives every pod more time to stop than its process takes (preStop + drain + SHUTDOWN_GRACE_MS)', () => {
    for (const d of ofKind(objects, 'Deployment')) {
      for (const c of containersOf(d)) {
        const env = containerEnv(objects, c);
        const cfg = loadConfig(env);
        const needs = preStopSleepMs(c) + (c.command.includes('src/server.ts') ? cfg.worker.shutdownDrainMs : 0) + cfg.worker.shutdownGraceMs;
        expect(podSpecOf(d).terminationGracePeriodSeconds * 1000, d.metadata.name).toBeGreaterThan(needs);
      }
    }
  });

  it('probes the workers on their metrics port, where /healthz and /readyz are', () => {
    for (const name of ['sluice-worker', 'sluice-webhooks']) {
      const d = deployment(name);
      const [c] = containersOf(d);
      const port = Number(containerEnv(objects, c).WORKER_METRICS_PORT);
      expect(containerEnv(objects, c).METRICS_ENABLED).toBe('true');
      expect(portOf(c, 'metrics')).toBe(port);
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
      // On GPUs a surge pod would wait for the GPU its predecessor holds: one leaves first there.
      expect((d.spec as any).strategy.rollingUpdate).toEqual(overlay === 'gpu' && name === 'sluice-worker' ? { maxUnavailable: 1, maxSurge: 0 } : { maxUnavailable: 0, maxSurge: expect.anything() });
      expect((d.spec as any).template.metadata.annotations['prometheus.io/port']).toBe(String(port));
    }
    expect(containerEnv(objects, container('sluice-worker', 'worker')).WORKER_QUEUES).toBe('predict');
    expect(containerEnv(objects, container('sluice-webhooks', 'webhooks')).WORKER_QUEUES).toBe('webhooks');
  });

  it('wires Service, Ingress, HPA and PodDisruptionBudgets to pods and ports that exist', () => {
    const deployments = ofKind(objects, 'Deployment');
    for (const s of ofKind(objects, 'Service')) {
      const spec = s.spec as any;
      const pods = deployments.filter((d) => selects(spec.selector, podLabelsOf(d)));
      expect(pods.map((d) => d.metadata.name), `Service ${s.metadata.name}`).toEqual(['sluice-api']);
      for (const p of spec.ports) expect(portOf(containersOf(pods[0])[0], p.targetPort), `${s.metadata.name} ${p.name}`).toBeDefined();
    }
    for (const ing of ofKind(objects, 'Ingress')) {
      for (const rule of (ing.spec as any).rules) for (const p of rule.http.paths) {
        const svc = find(objects, 'Service', p.backend.service.name);
        expect((svc.spec as any).ports.map((x: any) => x.name)).toContain(p.backend.service.port.name);
      }
    }
    for (const h of ofKind(objects, 'HorizontalPodAutoscaler')) {
      const spec = h.spec as any;
      const target = find(objects, spec.scaleTargetRef.kind, spec.scaleTargetRef.name);
      expect(spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } } }]);
      // CPU utilisation is a share of the request: every container needs one.
      for (const c of containersOf(target)) expect(c.resources.requests.cpu).toBeDefined();
      expect(spec.minReplicas).toBeLessThanOrEqual(spec.maxReplicas);
    }
    const pdbs = ofKind(objects, 'PodDisruptionBudget');
    for (const d of deployments) {
      expect(pdbs.filter((p) => selects((p.spec as any).selector.matchLabels, podLabelsOf(d))).length, `PDB for ${d.metadata.name}`).toBe(1);
    }
    for (const d of [...deployments, ...ofKind(objects, 'Job')]) expect(selects((d.spec as any).selector?.matchLabels ?? {}, podLabelsOf(d))).toBe(true);
  });

  it('lets uploads stream and SSE flow through the Ingress: no buffering, body size above MAX_UPLOAD_BYTES, read timeout above the heartbeat and longest wait', () => {
    const a = find(objects, 'Ingress', 'sluice-api').metadata.annotations!;
    const cfg = loadConfig(containerEnv(objects, container('sluice-api', 'api')));
    expect(a['nginx.ingress.kubernetes.io/proxy-request-buffering']).toBe('off');
    expect(a['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
    expect(nginxBytes(a['nginx.ingress.kubernetes.io/proxy-body-size'])).toBeGreaterThan(cfg.intake.maxUploadBytes);
    const readMs = Number(a['nginx.ingress.kubernetes.io/proxy-read-timeout']) * 1000;
    expect(readMs).toBeGreaterThan(cfg.sse.heartbeatMs);
    expect(readMs).toBeGreaterThan(cfg.intake.maxWaitSeconds * 1000);
    expect((find(objects, 'Ingress', 'sluice-api').spec as any).ingressClassName).toBe('nginx');
  });

  it('scales the workers with KEDA on the BullMQ lists of the predict queues, named as BullMQ names them under REDIS_PREFIX', () => {
    const so = find(objects, 'ScaledObject', 'sluice-worker');
    const spec = so.spec as any;
    const target = find(objects, 'Deployment', spec.scaleTargetRef.name);
    expect(target.metadata.name).toBe('sluice-worker');
    expect((target.spec as any).replicas, 'KEDA owns the count').toBeUndefined();
    const worker = containersOf(target)[0];
    const env = containerEnv(objects, worker);
    // The prefix as the processes splice it (src/config.ts), the key as BullMQ builds it.
    const keys = new QueueKeys(loadConfig(env).redisPrefix);
    const redis = triggersOf(so).filter((t) => t.type === 'redis');
    expect(redis.map((t) => t.metadata.listName)).toEqual([
      keys.toKey(QUEUES.predict, 'wait'),
      keys.toKey(QUEUES.interactive, 'wait'),
      keys.toKey(QUEUES.predict, 'active'),
    ]);
    expect(redis[0].metadata.listName).toBe(`${config.REDIS_PREFIX}:predict:wait`);
    for (const t of redis) {
      // KEDA reads *FromEnv from the target's container: the variable must be there.
      for (const [k, v] of Object.entries(t.metadata)) if (k.endsWith('FromEnv')) expect(env[v], `${t.name}: ${k} ${v}`).toMatch(/^[\w.-]+:\d+$/);
      expect(Number(t.metadata.listLength)).toBeGreaterThan(0);
      expect(find(objects, 'TriggerAuthentication', t.authenticationRef!.name)).toBeDefined();
    }
    expect(spec.minReplicaCount).toBe(overlay === 'dev' ? 0 : 1);
    expect(spec.maxReplicaCount).toBeGreaterThan(spec.minReplicaCount);
    const age = triggersOf(so).filter((t) => t.type === 'prometheus');
    if (overlay === 'dev') expect(age).toEqual([]);
    else {
      expect(age).toHaveLength(1);
      expect(age[0].metricType).toBe('Value');
      expect(age[0].metadata.query).toBe(`max(sluice_queue_oldest_waiting_age_seconds{queue="${QUEUES.predict}"})`);
    }
  });

  it('has a migrate Job for the first release step, with the namespace and config it needs', () => {
    const job = find(objects, 'Job', 'sluice-migrate');
    const [c] = containersOf(job);
    expect(c.command).toEqual(['node', '--import', 'tsx', 'scripts/migrate.ts']);
    expect(c.env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.key).toBe('MIGRATE_DATABASE_URL');
    expect(podSpecOf(job).restartPolicy).toBe('Never');
    const prepare = objects.filter((o) => o.metadata.labels?.['sluice.dev/release-step'] === 'prepare').map((o) => `${o.kind}/${o.metadata.name}`);
    expect(prepare.sort()).toEqual(['ConfigMap/sluice-config', 'Job/sluice-migrate', 'Namespace/sluice', 'ServiceAccount/sluice']);
    // Every image the release runs is the one the Job migrates for (the GPU image is built from the same tree).
    const tag = (image: string) => image.split(':').at(-1);
    for (const d of ofKind(objects, 'Deployment')) for (const x of containersOf(d)) expect(tag(x.image)).toBe(tag(c.image));
  });

  it('names images as the overlay says', () => {
    const images = new Set(objects.flatMap((o) => containersOf(o).map((c) => c.image)));
    if (overlay === 'dev') expect([...images]).toEqual(['sluice']);
    if (overlay === 'prod') expect([...images]).toEqual(['registry.example.com/sluice:0.1.0']);
    if (overlay === 'gpu') {
      expect([...images].sort()).toEqual(['registry.example.com/sluice-gpu:0.1.0', 'registry.example.com/sluice:0.1.0']);
      const c = container('sluice-worker', 'worker');
      expect(c.image).toBe('registry.example.com/sluice-gpu:0.1.0');
      expect(loadConfig(containerEnv(objects, c)).worker.executionProvider).toBe('cuda');
      expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
      expect(podSpecOf(deployment('sluice-worker')).tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
      expect(podSpecOf(deployment('sluice-worker')).nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
      // Only the workers move to GPU nodes.
      for (const name of ['sluice-api', 'sluice-webhooks']) expect(containersOf(deployment(name))[0].image).toBe('registry.example.com/sluice:0.1.0');
    }
  });
});

it('uses no field the schemas do not know, in any overlay (as kubectl apply --validate=strict)', () => {
  // One compilation for all overlays, with one broken object that must be the only one reported.
  const all = OVERLAYS.flatMap((overlay) => renderOverlay(overlay).map((o) => ({ overlay, o })));
  const broken = structuredClone(find(renderOverlay('prod'), 'Deployment', 'sluice-api')) as any;
  broken.spec.template.spec.containers[0].readinessprobe = broken.spec.template.spec.containers[0].readinessProbe;
  broken.spec.template.spec.terminationGracePeriodSeconds = '45';
  const problems = checkStrictly([...all.map((x) => x.o), broken]);
  const ours = problems.filter((p) => p.index !== all.length).map((p) => `${all[p.index]?.overlay ?? '?'}: ${all[p.index]?.o.kind ?? ''} ${all[p.index]?.o.metadata.name ?? ''}: ${p.message}`);
  expect(ours).toEqual([]);
  const caught = problems.filter((p) => p.index === all.length).map((p) => p.message).join('\n');
  expect(caught).toMatch(/'"?readinessprobe"?' does not exist/);
  expect(caught).toMatch(/'string' is not assignable to type 'number'/);
}, 60_000);

describe('the secret generator example', () => {
  it('generates the Secret the manifests name, under that very name, from the documented keys', () => {
    const k = parseYaml(readFileSync(path.join(K8S_DIR, 'secrets.example/kustomization.yaml'), 'utf8'));
    expect(k).toMatchObject({ namespace: 'sluice', generatorOptions: { disableNameSuffixHash: true }, secretGenerator: [{ name: SECRET, envs: ['secrets.env'] }] });
    expect(secretKeys.sort()).toEqual(['DATABASE_URL', 'MIGRATE_DATABASE_URL', 'REDIS_PASSWORD', 'REDIS_URL', 'SECRETS_KEY']);
  });
});

describe('the kustomize subset renderer', () => {
  it('applies RFC 6902 operations exactly and refuses what fails', () => {
    const doc = { a: [1, 2], 'b/c': { '~d': 1 } };
    expect(applyJsonPatch(doc, [{ op: 'add', path: '/a/1', value: 9 }, { op: 'add', path: '/a/-', value: 3 }, { op: 'replace', path: '/b~1c/~0d', value: 2 }, { op: 'remove', path: '/a/0' }, { op: 'test', path: '/a', value: [9, 2, 3] }]))
      .toEqual({ a: [9, 2, 3], 'b/c': { '~d': 2 } });
    expect(doc).toEqual({ a: [1, 2], 'b/c': { '~d': 1 } });
    expect(() => applyJsonPatch(doc, [{ op: 'replace', path: '/missing', value: 1 }])).toThrow(JsonPatchError);
    expect(() => applyJsonPatch(doc, [{ op: 'remove', path: '/a/2' }])).toThrow(JsonPatchError);
    expect(() => applyJsonPatch(doc, [{ op: 'test', path: '/a/0', value: 2 }])).toThrow(JsonPatchError);
    expect(() => applyJsonPatch(doc, [{ op: 'move', path: '/x', from: '/a' }])).toThrow(JsonPatchError);
  });

  it('refuses kustomization fields outside the subset rather than ignoring them', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync(path.join((await import('node:os')).tmpdir(), 'sluice-kustomize-'));
    try {
      writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources: []\nnamePrefix: x-\n');
      expect(() => renderKustomization(dir)).toThrow(KustomizeSubsetError);
      writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources: []\npatches:\n  - path: p.yaml\n');
      expect(() => renderKustomization(dir)).toThrow(/strategic-merge/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
