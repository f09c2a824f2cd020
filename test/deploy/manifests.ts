import path from 'node:path';
import { renderKustomization, type K8sObject } from './kustomize.js';

// The rendered Kubernetes manifests (deploy/k8s), and ways to look into them, for the manifest
// checks and the KEDA key test.

export const K8S_DIR = path.resolve(import.meta.dirname, '../../deploy/k8s');
export const OVERLAYS = ['dev', 'prod', 'gpu'] as const;
export type Overlay = (typeof OVERLAYS)[number];

export const renderOverlay = (overlay: Overlay): K8sObject[] => renderKustomization(path.join(K8S_DIR, 'overlays', overlay));

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const hits = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (hits.length !== 1) throw new Error(`${hits.length} ${kind} objects named ${name}`);
  return hits[0];
}

export const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

/** The data of the ConfigMap every process reads. */
export const sluiceConfig = (objects: K8sObject[]) => find(objects, 'ConfigMap', 'sluice-config').data as Record<string, string>;

export interface Trigger {
  type: string;
  name?: string;
  metricType?: string;
  metadata: Record<string, string>;
  authenticationRef?: { name: string };
}

export const triggersOf = (scaledObject: K8sObject) => (scaledObject.spec as { triggers: Trigger[] }).triggers;

// Pod templates, loosely typed: the checks read what they need and the schemas vouch for the rest.
export type PodSpec = any;
export type Container = any;

/** The pod template's spec of a Deployment or Job. */
export const podSpecOf = (o: K8sObject): PodSpec => (o.spec as any).template.spec;
export const podLabelsOf = (o: K8sObject): Record<string, string> => (o.spec as any).template.metadata.labels;
