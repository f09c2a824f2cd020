// The floor for single items: the benchmark model called inside an Express handler, nothing
// stored, no queue. Started as its own process by the bench, which it tells when it is ready.
import express from 'express';
import { benchScorer, listenForBench } from './floorParts.js';

const score = await benchScorer();
const app = express();
app.use(express.json());
app.post('/v1/predictions', async (req, res) => {
  res.json({ predictions: await score(req.body.inputs as Record<string, number>[]) });
});
const server = listenForBench(app, Number(process.env.PORT ?? 0));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
