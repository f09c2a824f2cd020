// The titanic-like scikit-learn pipeline for the bench (issue 13): one graph input per column, of
// their own types — pclass int64, sex and embarked strings, age float32 and fare float64 with
// missing values (imputed by the graph from NaN), alone bool — one-hot, scale, concat, a linear
// classifier. Built with onnx-proto like every other fixture (test/fixtures/sklearnPipelines.ts).
import { seededRandom } from '../train/datasets.js';
import { titanicClassifier } from '../../test/fixtures/sklearnPipelines.js';

export function pipelineModel(): { onnx: Uint8Array; signature: Record<string, unknown> } {
  // No columns: every input is fed from the column of its name; NaN for a missing number.
  return { onnx: titanicClassifier(), signature: { task: 'classification', missing: 'nan', passthrough: ['id'] } };
}

/** The header, then `rows` rows of the pipeline's columns (about 1 in 5 ages and 1 in 20 fares missing) in ~1 MB buffers, as csvBuffers. */
export function pipelineCsvBuffers(rows: number, seed = 1): Buffer[] {
  const rand = seededRandom(seed);
  const out: Buffer[] = [Buffer.from('id,pclass,sex,embarked,age,fare,alone\n')];
  let lines: string[] = [];
  let bytes = 0;
  for (let i = 1; i <= rows; i++) {
    const age = rand() < 0.2 ? '' : (1 + rand() * 79).toFixed(1);
    const fare = rand() < 0.05 ? '' : (rand() * 250).toFixed(2);
    const line = `${i},${1 + Math.floor(rand() * 3)},${rand() < 0.35 ? 'female' : 'male'},${'CQS'[Math.floor(rand() * 3)]},${age},${fare},${rand() < 0.6 ? 'true' : 'false'}`;
    lines.push(line);
    bytes += line.length + 1;
    if (bytes > 1e6) {
      out.push(Buffer.from(lines.join('\n') + '\n'));
      lines = [];
      bytes = 0;
    }
  }
  if (lines.length) out.push(Buffer.from(lines.join('\n') + '\n'));
  return out;
}
