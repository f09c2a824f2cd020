import { computed, type Ref } from 'vue';
import { useSluiceApi } from '../api/sluiceApi';
import type { Job, ResultRow } from '../api/types';
import { useQuery } from './useQuery';

// The first rows of a job's results (a JSON page) and its webhook deliveries, read again when the
// job moves to another status (and so once when it ends).

export const PREVIEW_ROWS = 20;

export function useResultsPreview(job: Ref<Job | null>) {
  const api = useSluiceApi();
  const q = useQuery(
    () => {
      const j = job.value;
      if (!j || j.rows.succeeded + j.rows.failed === 0) return null;
      return `${j.id}|${j.status}`;
    },
    (key) => api.jobs.results(key.split('|')[0], PREVIEW_ROWS),
  );
  /** The table's columns: row, passthrough, prediction, each class's probability, the comparison, error. */
  const columns = computed(() => {
    const rows = (q.data.value?.data ?? []) as (ResultRow & Record<string, unknown>)[];
    const pass = new Set<string>();
    const probs = new Set<string>();
    let compare = false;
    for (const r of rows) {
      for (const k of Object.keys(r.passthrough ?? {})) pass.add(k);
      for (const k of Object.keys(r.probabilities ?? {})) probs.add(k);
      if ('compare_prediction' in r) compare = true;
    }
    return { passthrough: [...pass], probabilities: [...probs], compare };
  });
  return { ...q, columns };
}

export function useDeliveries(job: Ref<Job | null>) {
  const api = useSluiceApi();
  return useQuery(
    () => (job.value ? `${job.value.id}|${job.value.status}` : null),
    (key) => api.jobs.deliveries(key.split('|')[0]),
  );
}
