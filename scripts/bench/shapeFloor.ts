// Issue 19's goals against what the fixed shape itself allows: the shape floor (shapeFloorApi.ts and
// shapeFloorWorker.ts: Express → pg INSERT committed → BullMQ → a worker scoring with onnxruntime →
// pg UPDATE committed → Redis PUBLISH → the answer, with the product's packages and none of Sluice's
// code) measured as Sluice is (one client back to back, the open loop, saturation; `repeats` times,
// medians), and all three (Sluice, the shape floor, the in-handler floor) paired request by request
// for a lone prediction, so the drift of this machine between minutes falls on each alike.
import { cpuPerUnit, cpuSnapshot, type CpuSnapshot } from './cpu.js';
import { dropRedisPrefix, median, startApi, startProcess, startWorker, type Tenant } from './common.js';
import { lonePaired, openLoop, saturation, type OpenLoop, type Saturation } from './online.js';

export interface ShapeFloorRun {
  sequential: Saturation;
  openLoop: OpenLoop;
  saturation: Saturation;
  cpuMsPerPrediction: CpuSnapshot;
}

export interface ShapeFloorFigures {
  runs: ShapeFloorRun[];
  /** Medians over the runs. */
  sequentialP50: number;
  openLoopP50: number;
  openLoopP99: number;
  saturationPerSecond: number;
  /** Lone predictions paired: Sluice, the shape floor, the in-handler floor, in that order. */
  paired: { rounds: number; p50: number[]; diff: number[]; diff95: [number, number][] };
}

export async function measureShapeFloor(
  env: Record<string, string>, tenant: Tenant, dbName: string,
  o: { rate: number; clients: number; seconds: number; repeats: number; pairedRounds: number },
): Promise<ShapeFloorFigures> {
  const shapeEnv = { ...env, REDIS_PREFIX: `${env.REDIS_PREFIX}-shape`, PORT: '0' };
  const api = startProcess('scripts/bench/shapeFloorApi.ts', shapeEnv);
  const url = `http://127.0.0.1:${Number((await api.ready()).port)}`;
  const worker = startProcess('scripts/bench/shapeFloorWorker.ts', shapeEnv);
  await worker.ready();
  const runs: ShapeFloorRun[] = [];
  let paired: ShapeFloorFigures['paired'];
  try {
    await openLoop(url, {}, 50, 1, 0);
    const roles = { api: api.pid, worker: worker.pid, bench: process.pid };
    for (let i = 0; i < o.repeats; i++) {
      const sequential = await saturation(url, {}, 1, Math.min(3, o.seconds), 0);
      const ol = await openLoop(url, {}, o.rate, o.seconds);
      const before = cpuSnapshot(roles, dbName);
      const sat = await saturation(url, {}, o.clients, o.seconds);
      runs.push({ sequential, openLoop: ol, saturation: sat, cpuMsPerPrediction: cpuPerUnit(before, cpuSnapshot(roles, dbName), sat.ok + sat.errors) });
    }
    const sluiceApi = await startApi(env);
    const sluiceWorker = await startWorker(env);
    const floor = startProcess('scripts/bench/floorServer.ts', { PORT: '0' });
    try {
      const floorUrl = `http://127.0.0.1:${Number((await floor.ready()).port)}`;
      paired = { rounds: o.pairedRounds, ...(await lonePaired([sluiceApi.url, url, floorUrl], tenant.auth, o.pairedRounds)) };
    } finally {
      await Promise.all([floor.stop(), sluiceWorker.stop().then(() => sluiceApi.stop())]);
    }
  } finally {
    await worker.stop();
    await api.stop();
    await dropRedisPrefix(shapeEnv.REDIS_PREFIX);
  }
  return {
    runs, paired,
    sequentialP50: median(runs.map((r) => r.sequential.p50)),
    openLoopP50: median(runs.map((r) => r.openLoop.p50)),
    openLoopP99: median(runs.map((r) => r.openLoop.p99)),
    saturationPerSecond: median(runs.map((r) => r.saturation.perSecond)),
  };
}
