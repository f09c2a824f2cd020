// The floor for single items: the benchmark model called synchronously inside an Express handler,
// nothing stored, no queue. Started as its own process by the bench; prints "floor listening <port>".
import express from 'express';
import * as ort from 'onnxruntime-node';
import { benchModel, COLUMNS, LABELS } from './common.js';

const { onnx, signature } = benchModel();
const mean = signature.mean as number[];
const std = signature.std as number[];
const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
const app = express();
app.use(express.json());
app.post('/v1/predictions', async (req, res) => {
  const inputs = req.body.inputs as Record<string, number>[];
  const x = new Float32Array(inputs.length * 20);
  inputs.forEach((r, i) => COLUMNS.forEach((c, j) => (x[i * 20 + j] = (Number(r[c]) - mean[j]) / std[j])));
  const out = await session.run({ input: new ort.Tensor('float32', x, [inputs.length, 20]) });
  const p = out.probabilities.data as Float32Array;
  res.json({
    predictions: inputs.map((_, i) => {
      const s = Array.from(p.subarray(i * 3, i * 3 + 3));
      return { prediction: LABELS[s.indexOf(Math.max(...s))], probabilities: Object.fromEntries(LABELS.map((l, k) => [l, s[k]])) };
    }),
  });
});
const port = Number(process.env.PORT ?? 0);
const server = app.listen(port, '127.0.0.1', () => {
  const listening = (server.address() as { port: number }).port;
  console.log(`floor listening ${listening}`);
  process.send?.({ ready: true, port: listening }); // to bench/run.ts, when it started us
  process.channel?.unref();
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
