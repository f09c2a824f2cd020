// An evaluation or compare job's figures for one chunk, taken as its rows are scored (thread.ts):
// counts and sums only (src/evaluation), stored with the chunk's results and merged when the job
// ends (src/jobs/jobMetrics.ts), so the figures never cost a second pass over the data.
import { createAgreement, type AgreementPartial } from '../evaluation/agreement.js';
import { createEvaluator, type EvalTask, type Scored } from '../evaluation/evaluator.js';
import type { EvalPartial } from '../evaluation/partial.js';
import type { Signature } from '../models/signature.js';
import type { RunPlan } from '../models/types.js';

export interface ChunkMetrics {
  /** The job's model against the labels. */
  evaluation?: EvalPartial;
  /** A compare job's second model against the labels. */
  compare_evaluation?: EvalPartial;
  /** How often the two models agree. */
  agreement?: AgreementPartial;
}

interface Model {
  plan: RunPlan;
  signature: Signature;
}

/** The class names a model's indices stand for (null: the index is the class). */
export const classLabels = (m: Model): string[] | null => (m.signature.task === 'classification' ? (m.plan.labels ?? m.signature.labels ?? null) : null);

export function evalTask(m: Model, decimal: '.' | ','): EvalTask {
  return m.signature.task === 'classification' ? { task: 'classification', labels: classLabels(m) } : { task: 'regression', decimal };
}

/**
 * The second model's classes in the first one's index space, so "the two agree" compares class
 * names, not positions (two versions may list their classes in different orders). Classes only the
 * second model knows follow the first one's.
 */
export function compareLabelSpace(a: string[] | null, b: string[] | null): { labels: string[] | null; remap: Int32Array | null } {
  if (!a || !b) return { labels: b, remap: null };
  const labels = [...a];
  const remap = new Int32Array(b.length);
  b.forEach((l, k) => {
    let at = labels.indexOf(l);
    if (at < 0) at = labels.push(l) - 1;
    remap[k] = at;
  });
  return { labels, remap };
}

/** One part's evaluator(s) and agreement, fed one row at a time. */
export function chunkMeasures(task: Model & { labelColumn?: string }, compare: Model | undefined, decimal: '.' | ',') {
  const labelled = task.labelColumn !== undefined;
  const missing = task.signature.missing_values;
  const evaluation = labelled ? createEvaluator(evalTask(task, decimal), missing) : null;
  const compareEvaluation = labelled && compare ? createEvaluator(evalTask(compare, decimal), missing) : null;
  const agreement = compare ? createAgreement(task.signature.task === 'classification' ? 'classification' : 'regression') : null;
  const { remap } = compare ? compareLabelSpace(classLabels(task), classLabels(compare)) : { remap: null };
  return {
    /** A row: its label cell (null when absent), and each model's prediction (null when it failed). */
    add(label: string | null, pred: Scored | null, comparePred: Scored | null) {
      evaluation?.add(label, pred);
      compareEvaluation?.add(label, comparePred);
      if (agreement) {
        const b = remap && comparePred && comparePred.value !== null ? { value: remap[comparePred.value] ?? -1, scores: comparePred.scores } : comparePred;
        agreement.add(pred, b);
      }
    },
    partial(): ChunkMetrics {
      return {
        ...(evaluation ? { evaluation: evaluation.partial() } : {}),
        ...(compareEvaluation ? { compare_evaluation: compareEvaluation.partial() } : {}),
        ...(agreement ? { agreement: agreement.partial() } : {}),
      };
    },
  };
}
