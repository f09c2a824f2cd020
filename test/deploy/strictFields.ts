import path from 'node:path';
import ts from 'typescript';
import type { K8sObject } from './kustomize.js';

// The Kubernetes schemas kubernetes-models validates against allow fields they do not define (the
// API server drops those, or warns), so `readinessprobe:` or a misplaced `resources:` would pass
// .validate() silently. `kubectl apply --validate=strict` refuses them; so does this check, with
// the TypeScript compiler: every object is written out as an object literal typed by its kind's
// interface from the same packages, and TypeScript's excess-property check names each field the
// interface does not have, at any depth (a wrong type is reported too).

const ROOT = path.resolve(import.meta.dirname, '../..');

const TYPES: Record<string, [module: string, type: string]> = {
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'INamespace'],
  'v1/ServiceAccount': ['kubernetes-models/v1/ServiceAccount', 'IServiceAccount'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  'batch/v1/Job': ['kubernetes-models/batch/v1/Job', 'IJob'],
  'networking.k8s.io/v1/Ingress': ['kubernetes-models/networking.k8s.io/v1/Ingress', 'IIngress'],
  'autoscaling/v2/HorizontalPodAutoscaler': ['kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', 'IHorizontalPodAutoscaler'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'],
  'keda.sh/v1alpha1/ScaledObject': ['@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', 'IScaledObject'],
  'keda.sh/v1alpha1/TriggerAuthentication': ['@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication', 'ITriggerAuthentication'],
};

export interface StrictProblem {
  /** The object's index in the list checked (-1: not inside any object). */
  index: number;
  message: string;
}

/** The problems of every object, each field unknown to its kind's schema or ill typed; none when all are known and well typed. */
export function checkStrictly(objects: K8sObject[]): StrictProblem[] {
  const used = new Map<string, string>();
  const declarations = objects.map((o, i) => {
    const key = `${o.apiVersion}/${o.kind}`;
    const t = TYPES[key];
    if (!t) return `// ${key} has no type here\nexport const o${i}: never = null as never; throw new Error(${JSON.stringify(`${key} has no type`)});`;
    const alias = `T${Object.keys(TYPES).indexOf(key)}`;
    used.set(alias, `import type { ${t[1]} as ${alias} } from '${t[0]}';`);
    return `export const o${i}: ${alias} = ${JSON.stringify(o)};`;
  });
  // Each object on its own line, after the imports: a diagnostic's line names its object.
  const header = [...used.values()];
  const source = [...header, ...declarations].join('\n');
  const file = path.join(ROOT, 'test/deploy/.strict-fields.ts');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: [] };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) => (name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (d.file?.fileName !== file || d.start === undefined) return { index: -1, message };
    const line = d.file.getLineAndCharacterOfPosition(d.start).line - header.length;
    return { index: line < objects.length ? line : -1, message };
  });
}
