import { unwrap, type Transport } from '../transport.js';
import type { Job, Prediction, PredictionRequest } from '../types.js';

export type PredictionAnswer = { done: true; prediction: Prediction } | { done: false; job: Job };

/** client.predictions: score a few records now. */
export class Predictions {
  constructor(private readonly t: Transport) {}

  /** 200 with the predictions inline, or 202 (not done within `wait`): the job to wait for. */
  async create(body: PredictionRequest): Promise<PredictionAnswer> {
    const { data, error, response } = await this.t.api.POST('/v1/predictions', { body });
    if (!response.ok) return unwrap(Promise.resolve({ error, response }));
    return response.status === 200 ? { done: true, prediction: data as Prediction } : { done: false, job: data as Job };
  }
}
