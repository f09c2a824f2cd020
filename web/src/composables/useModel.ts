import { computed, type Ref } from 'vue';
import { useSluiceApi } from '../api/sluiceApi';
import type { Evaluation, Model, ModelVersion } from '../api/types';
import { useQuery } from './useQuery';

// A model's card (GET /v1/models/{name}): versions with signature, feeds, evaluations; aliases with
// their targets and recent history. Alias changes answer the alias alone, so the card is read again.

export function latestEvaluation(v: ModelVersion | undefined): Evaluation | null {
  return v?.evaluations[0]?.metrics ?? null;
}

/** Recorded evaluations of every version in time order, for the chart: one figure per task. */
export function evaluationSeries(model: Model | null) {
  const points = (model?.versions ?? [])
    .flatMap((v) => v.evaluations.map((e) => ({ v: v.version, at: Date.parse(e.created_at) / 1000, m: e.metrics })))
    .sort((a, b) => a.at - b.at);
  const classification = points.some((p) => p.m.task === 'classification');
  const pick = (name: string) => points.map((p) => ((p.m as Record<string, unknown>)[name] as number | null | undefined) ?? null);
  const series = classification
    ? [
        { label: 'accuracy', values: pick('accuracy') },
        { label: 'macro F1', values: pick('macro_f1') },
      ]
    : [
        { label: 'RMSE', values: pick('rmse') },
        { label: 'R²', values: pick('r2') },
      ];
  return { x: points.map((p) => p.at), series, versions: points.map((p) => p.v) };
}

export function useModel(name: Ref<string>) {
  const api = useSluiceApi();
  const q = useQuery(() => name.value || null, (n) => api.models.get(n));
  const byVersion = computed(() => new Map((q.data.value?.versions ?? []).map((v) => [v.version, v])));
  return { ...q, byVersion, evaluations: computed(() => evaluationSeries(q.data.value)) };
}
