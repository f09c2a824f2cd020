// Linear regression by batch gradient descent, on features already z-scored (so one learning
// rate suits every feature):
//   h(x) = θ0 + θ·x,  J(θ) = 1/2m Σ (h(x) − y)²,  θj := θj − α/m Σ (h(x) − y)·xj
import type { LinearModel } from './export.js';

export interface GradientDescentOptions {
  alpha: number;
  iterations: number;
}

export function trainLinearRegression(x: number[][], y: number[], opts: GradientDescentOptions): LinearModel & { cost: number } {
  const m = x.length;
  const f = x[0].length;
  const theta = new Array<number>(f).fill(0);
  let theta0 = 0;
  const predict = (r: number[]) => r.reduce((s, v, j) => s + v * theta[j], theta0);
  for (let it = 0; it < opts.iterations; it++) {
    const grad = new Array<number>(f).fill(0);
    let grad0 = 0;
    for (let i = 0; i < m; i++) {
      const err = predict(x[i]) - y[i];
      grad0 += err;
      for (let j = 0; j < f; j++) grad[j] += err * x[i][j];
    }
    theta0 -= (opts.alpha / m) * grad0;
    for (let j = 0; j < f; j++) theta[j] -= (opts.alpha / m) * grad[j];
  }
  const cost = x.reduce((s, r, i) => s + (predict(r) - y[i]) ** 2, 0) / (2 * m);
  return { weights: theta, bias: theta0, cost };
}

export function predictLinear(model: LinearModel, x: number[][]): number[] {
  return x.map((r) => r.reduce((s, v, j) => s + v * model.weights[j], model.bias));
}

export function regressionMetrics(predicted: number[], actual: number[]): { rmse: number; r2: number } {
  const n = actual.length;
  const mean = actual.reduce((a, b) => a + b, 0) / n;
  const ssRes = actual.reduce((s, y, i) => s + (y - predicted[i]) ** 2, 0);
  const ssTot = actual.reduce((s, y) => s + (y - mean) ** 2, 0);
  return { rmse: Math.sqrt(ssRes / n), r2: 1 - ssRes / ssTot };
}
