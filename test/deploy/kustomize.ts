import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

// `kubectl kustomize` for the subset of kustomize deploy/k8s keeps to, so CI renders the overlays
// without a kustomize binary. Every field outside the subset is refused, never ignored: a
// kustomization that renders here renders the same with kustomize.
//
// The subset, in kustomize's own order of application (api/internal/target/kusttarget.go,
// configureBuiltinTransformers: patches, namespace, …, replicas, images), each kustomization's
// resources rendered first (a directory is rendered as its own kustomization, then transformed by
// the one that lists it):
//  - resources: YAML files (several documents each) and directories holding a kustomization.yaml
//  - patches: JSON 6902 patches only (RFC 6902 add, remove, replace, test; RFC 6901 pointers),
//    inline (`patch`) or from a file (`path`), on the one object a `target` of group, version,
//    kind, name, namespace names (selectors and name patterns are outside the subset)
//  - namespace: set on every namespaced object; a Namespace object must already bear that name
//    (kustomize would rename it: outside the subset)
//  - replicas: spec.replicas of the named Deployment/StatefulSet/ReplicaSet
//  - images: name → newName/newTag/digest, on every container and init container

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
};

export class KustomizeSubsetError extends Error {}
export class JsonPatchError extends Error {}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'patches', 'namespace', 'replicas', 'images']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'StorageClass', 'IngressClass', 'PersistentVolume']);
const REPLICATED = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);

interface PatchTarget { group?: string; version?: string; kind?: string; name?: string; namespace?: string }
interface Operation { op: string; path: string; value?: unknown; from?: string }

/** The objects `kubectl kustomize dir` prints (kustomize may sort them by kind; these keep the order of the files). */
export function renderKustomization(dir: string): K8sObject[] {
  const file = path.join(dir, 'kustomization.yaml');
  const k = parseYaml(readFileSync(file, 'utf8')) as Record<string, any>;
  for (const field of Object.keys(k)) {
    if (!SUPPORTED.has(field)) throw new KustomizeSubsetError(`${file}: "${field}" is outside the kustomize subset test/deploy/kustomize.ts renders`);
  }
  let objects: K8sObject[] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const p = path.resolve(dir, r);
    objects.push(...(statSync(p).isDirectory() ? renderKustomization(p) : readObjects(p)));
  }
  objects = structuredClone(objects);

  for (const [i, patch] of ((k.patches ?? []) as Record<string, any>[]).entries()) {
    const where = `${file}: patches[${i}]`;
    for (const field of Object.keys(patch)) if (!['target', 'patch', 'path'].includes(field)) throw new KustomizeSubsetError(`${where}: "${field}" is outside the subset`);
    const target = patch.target as PatchTarget | undefined;
    if (!target) throw new KustomizeSubsetError(`${where}: a strategic-merge patch (no target) is outside the subset`);
    for (const field of Object.keys(target)) if (!['group', 'version', 'kind', 'name', 'namespace'].includes(field)) throw new KustomizeSubsetError(`${where}: target.${field} is outside the subset`);
    // kustomize reads target names as regular expressions: plain names only (no "." or other
    // metacharacter), which mean the same as a pattern and as a name.
    for (const field of ['name', 'namespace'] as const) {
      const v = target[field];
      if (v !== undefined && !/^[a-z0-9-]+$/.test(v)) throw new KustomizeSubsetError(`${where}: target.${field} "${v}" would be a pattern to kustomize, outside the subset`);
    }
    const ops = parseYaml(patch.patch ?? readFileSync(path.resolve(dir, patch.path), 'utf8'));
    if (!Array.isArray(ops)) throw new KustomizeSubsetError(`${where}: not a JSON 6902 operation list (a strategic-merge patch is outside the subset)`);
    const matches = objects.filter((o) => targets(target, o));
    if (matches.length !== 1) throw new KustomizeSubsetError(`${where}: the target names ${matches.length} objects, not one`);
    const at = objects.indexOf(matches[0]);
    objects[at] = applyJsonPatch(matches[0], ops as Operation[]) as K8sObject;
  }

  if (k.namespace !== undefined) {
    for (const o of objects) {
      if (o.kind === 'Namespace') {
        if (o.metadata.name !== k.namespace) throw new KustomizeSubsetError(`${file}: renaming Namespace ${o.metadata.name} to ${k.namespace} is outside the subset`);
      } else if (!CLUSTER_SCOPED.has(o.kind)) {
        o.metadata.namespace = k.namespace;
      }
    }
  }

  for (const r of (k.replicas ?? []) as { name: string; count: number }[]) {
    const hits = objects.filter((o) => REPLICATED.has(o.kind) && o.metadata.name === r.name);
    if (hits.length === 0) throw new KustomizeSubsetError(`${file}: replicas names ${r.name}, which is not here`);
    for (const o of hits) (o.spec as Record<string, unknown>).replicas = r.count;
  }

  for (const img of (k.images ?? []) as { name: string; newName?: string; newTag?: string; digest?: string }[]) {
    for (const o of objects) for (const c of containersOf(o)) c.image = retag(c.image, img);
  }
  return objects;
}

function readObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d, i) => {
    if (d.errors.length) throw new KustomizeSubsetError(`${file}: document ${i + 1}: ${d.errors[0].message}`);
    return d.toJS() as K8sObject;
  }).filter((o) => o !== null);
}

function targets(t: PatchTarget, o: K8sObject): boolean {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  return (t.group === undefined || t.group === group) && (t.version === undefined || t.version === version) && (t.kind === undefined || t.kind === o.kind)
    && (t.name === undefined || t.name === o.metadata.name) && (t.namespace === undefined || t.namespace === o.metadata.namespace);
}

/** Every container and init container of an object, wherever its pod template sits (Deployment, Job, CronJob...). */
// Loosely typed: the checks read what they need and the schemas vouch for the rest.
export function containersOf(o: unknown): { name: string; image: string; [field: string]: any }[] {
  const found: { name: string; image: string }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    for (const [key, child] of Object.entries(v)) {
      if ((key === 'containers' || key === 'initContainers') && Array.isArray(child)) found.push(...child);
      else walk(child);
    }
  };
  walk(o);
  return found;
}

/** kustomize's image transformer: `name[:tag][@digest]` whose name is `img.name` gets the new name, tag or digest. */
function retag(image: string, img: { name: string; newName?: string; newTag?: string; digest?: string }): string {
  const at = image.indexOf('@');
  const beforeDigest = at < 0 ? image : image.slice(0, at);
  const colon = beforeDigest.lastIndexOf(':');
  const hasTag = colon > beforeDigest.lastIndexOf('/');
  const name = hasTag ? beforeDigest.slice(0, colon) : beforeDigest;
  if (name !== img.name) return image;
  const tag = hasTag ? beforeDigest.slice(colon) : '';
  const digest = at < 0 ? '' : image.slice(at);
  const newName = img.newName ?? name;
  if (img.digest) return `${newName}@${img.digest}`;
  if (img.newTag) return `${newName}:${img.newTag}`;
  return newName + tag + digest;
}

// RFC 6902 (JSON Patch) over RFC 6901 (JSON Pointer): add, remove, replace, test. The document is
// copied, never changed in place; any failure (a missing path, a failed test) throws.

function pointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new JsonPatchError(`"${p}" is not a JSON pointer`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: unknown[], token: string, forAdd: boolean, p: string): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new JsonPatchError(`${p}: "${token}" is not an array index`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new JsonPatchError(`${p}: index ${i} is out of range (length ${arr.length})`);
  return i;
}

/** The container the last token of `p` is in. */
function parentOf(doc: unknown, tokens: string[], p: string): unknown {
  let v = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(v)) v = v[arrayIndex(v, t, false, p)];
    else if (v && typeof v === 'object' && Object.hasOwn(v, t)) v = (v as Record<string, unknown>)[t];
    else throw new JsonPatchError(`${p}: "${t}" does not exist`);
  }
  if (!v || typeof v !== 'object') throw new JsonPatchError(`${p}: the parent is not an object or array`);
  return v;
}

function get(doc: unknown, p: string): unknown {
  const tokens = pointer(p);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, p);
  const last = tokens.at(-1)!;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false, p)];
  if (!Object.hasOwn(parent as object, last)) throw new JsonPatchError(`${p} does not exist`);
  return (parent as Record<string, unknown>)[last];
}

export function applyJsonPatch(document: unknown, ops: Operation[]): unknown {
  let doc = structuredClone(document);
  for (const o of ops) {
    const tokens = pointer(o.path);
    const value = structuredClone(o.value);
    if (o.op === 'test') {
      if (!isDeepStrictEqual(get(doc, o.path), o.value)) throw new JsonPatchError(`test ${o.path}: found ${JSON.stringify(get(doc, o.path))}, not ${JSON.stringify(o.value)}`);
      continue;
    }
    if (!['add', 'remove', 'replace'].includes(o.op)) throw new JsonPatchError(`op "${o.op}" is outside the subset (add, remove, replace, test)`);
    if ((o.op === 'add' || o.op === 'replace') && !('value' in o)) throw new JsonPatchError(`${o.op} ${o.path}: no value`);
    if (tokens.length === 0) {
      if (o.op === 'remove') throw new JsonPatchError('removing the whole document');
      doc = value;
      continue;
    }
    const parent = parentOf(doc, tokens, o.path);
    const last = tokens.at(-1)!;
    if (Array.isArray(parent)) {
      const i = arrayIndex(parent, last, o.op === 'add', o.path);
      if (o.op === 'add') parent.splice(i, 0, value);
      else if (o.op === 'remove') parent.splice(i, 1);
      else parent[i] = value;
    } else {
      const obj = parent as Record<string, unknown>;
      if (o.op !== 'add' && !Object.hasOwn(obj, last)) throw new JsonPatchError(`${o.op} ${o.path}: it does not exist`);
      if (o.op === 'remove') delete obj[last];
      else obj[last] = value;
    }
  }
  return doc;
}
