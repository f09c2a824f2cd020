// Softmax (multinomial logistic) regression by batch gradient descent on z-scored features:
//   p = softmax(W·x + b),  J = −1/m Σ log p[y],  W := W − α/m Σ (p − onehot(y)) xᵀ
import type { SoftmaxModel } from './export.js';
import type { GradientDescentOptions } from './linearRegression.js';

export function softmax(z: number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export function predictProba(model: SoftmaxModel, x: number[][]): number[][] {
  return x.map((r) => softmax(model.weights.map((w, k) => w.reduce((s, v, j) => s + v * r[j], model.bias[k]))));
}

/** `y` holds class indices 0..classes−1. */
export function trainSoftmax(x: number[][], y: number[], classes: number, opts: GradientDescentOptions): SoftmaxModel & { loss: number } {
  const m = x.length;
  const f = x[0].length;
  const model: SoftmaxModel = { weights: Array.from({ length: classes }, () => new Array<number>(f).fill(0)), bias: new Array<number>(classes).fill(0) };
  for (let it = 0; it < opts.iterations; it++) {
    const gw = Array.from({ length: classes }, () => new Array<number>(f).fill(0));
    const gb = new Array<number>(classes).fill(0);
    const p = predictProba(model, x);
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < classes; k++) {
        const err = p[i][k] - (y[i] === k ? 1 : 0);
        gb[k] += err;
        for (let j = 0; j < f; j++) gw[k][j] += err * x[i][j];
      }
    }
    for (let k = 0; k < classes; k++) {
      model.bias[k] -= (opts.alpha / m) * gb[k];
      for (let j = 0; j < f; j++) model.weights[k][j] -= (opts.alpha / m) * gw[k][j];
    }
  }
  const loss = -predictProba(model, x).reduce((s, p, i) => s + Math.log(Math.max(p[y[i]], 1e-12)), 0) / m;
  return { ...model, loss };
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export function classificationMetrics(predicted: number[], actual: number[], classNames: string[]): { accuracy: number; perClass: Record<string, ClassMetrics> } {
  const correct = predicted.filter((p, i) => p === actual[i]).length;
  const perClass: Record<string, ClassMetrics> = {};
  classNames.forEach((name, k) => {
    const tp = predicted.filter((p, i) => p === k && actual[i] === k).length;
    const predictedK = predicted.filter((p) => p === k).length;
    const support = actual.filter((a) => a === k).length;
    const precision = predictedK ? tp / predictedK : 0;
    const recall = support ? tp / support : 0;
    perClass[name] = { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, support };
  });
  return { accuracy: correct / actual.length, perClass };
}

export const argmax = (v: number[]) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);
