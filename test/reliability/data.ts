import { fixedWeights, mlpClassifier } from '../fixtures/onnxBuilder.js';

// Inputs for the reliability tests and `npm run chaos` (no vitest here: the chaos script imports it).

/** 4 features → two hidden layers of `hidden` → 3 classes: ~hidden² multiply-adds per row. */
export function slowClassifier(hidden = 2048) {
  const layers = [
    { weights: fixedWeights(hidden, 4, 1), bias: new Array(hidden).fill(0.01) },
    { weights: fixedWeights(hidden, hidden, 2).map((r) => r.map((v) => v / hidden)), bias: new Array(hidden).fill(0) },
    { weights: fixedWeights(3, hidden, 3).map((r) => r.map((v) => v / hidden)), bias: [0.1, 0, -0.1] },
  ];
  return {
    onnx: mlpClassifier(layers, { softmax: true }),
    signature: { columns: ['a', 'b', 'c', 'd'], task: 'classification', labels: ['x', 'y', 'z'], passthrough: ['id'] },
  };
}

/** N data rows; row r carries id r so results can be matched to input. */
export function rowsCsv(n: number, from = 1): string {
  let s = 'id,a,b,c,d\n';
  for (let r = from; r < from + n; r++) s += `${r},${(r % 97) / 10},${(r % 13) - 6},${(r * 7) % 31},${r % 2}\n`;
  return s;
}

