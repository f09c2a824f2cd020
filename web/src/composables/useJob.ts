import { computed, onScopeDispose, ref, shallowRef, watch, type Ref } from 'vue';
import { jobProgress } from '@client/lib/progress';
import { subscribe } from '../api/events';
import { describeError } from '../api/http';
import { useSluiceApi } from '../api/sluiceApi';
import { isFinalStatus, type Job } from '../api/types';

// One job, live: read once, then followed over its event stream (GET /v1/jobs/{id}/events) until
// its final event. Each progress event adds a sample of rows/s since the previous one (the chart of
// rows/s over time); at most 600 are kept. If the browser gives up on the stream (an api that
// refuses it), the job is polled every 2 s instead until it ends.

export interface RateSample {
  /** Seconds since the job started. */
  t: number;
  rowsPerSecond: number;
}

const MAX_SAMPLES = 600;
const POLL_MS = 2000;

export function useJob(id: Ref<string | null>) {
  const api = useSluiceApi();
  const job = shallowRef<Job | null>(null);
  const error = ref<string | null>(null);
  const live = ref<'connecting' | 'open' | 'closed'>('connecting');
  const samples = shallowRef<RateSample[]>([]);
  let last: { at: number; rows: number } | null = null;
  let stop: (() => void) | null = null;
  let poll: ReturnType<typeof setTimeout> | null = null;

  function accept(j: Job) {
    if (j.id !== id.value) return;
    const p = jobProgress(j);
    const at = j.progress.updated_at ? Date.parse(j.progress.updated_at) : Date.now();
    const start = j.progress.started_at ? Date.parse(j.progress.started_at) : null;
    if (last && start !== null && at > last.at && p.rowsDone >= last.rows) {
      const next = [...samples.value, { t: (at - start) / 1000, rowsPerSecond: ((p.rowsDone - last.rows) * 1000) / (at - last.at) }];
      samples.value = next.length > MAX_SAMPLES ? next.slice(-MAX_SAMPLES) : next;
    }
    if (!last || at > last.at) last = { at, rows: p.rowsDone };
    job.value = j;
  }

  function stopFollowing() {
    stop?.();
    stop = null;
    if (poll) clearTimeout(poll);
    poll = null;
  }

  function pollLater() {
    if (poll || !id.value) return;
    poll = setTimeout(async () => {
      poll = null;
      if (!id.value) return;
      try {
        accept(await api.jobs.get(id.value));
      } catch (err) {
        error.value = describeError(err);
      }
      if (job.value && !isFinalStatus(job.value.status)) pollLater();
    }, POLL_MS);
  }

  async function load(jobId: string) {
    stopFollowing();
    job.value = null;
    samples.value = [];
    last = null;
    error.value = null;
    let first: Job;
    try {
      first = await api.jobs.get(jobId);
    } catch (err) {
      error.value = describeError(err);
      return;
    }
    accept(first);
    if (isFinalStatus(first.status)) return;
    stop = subscribe(
      api.jobs.eventsUrl(jobId),
      {
        event: (_type, j) => accept(j),
        state(s) {
          live.value = s;
          if (s === 'closed' && job.value && !isFinalStatus(job.value.status)) pollLater();
        },
      },
      { endsOnFinal: true },
    );
  }

  watch(id, (v) => (v ? void load(v) : stopFollowing()), { immediate: true });
  onScopeDispose(stopFollowing);

  return {
    job,
    error,
    live,
    samples,
    progress: computed(() => (job.value ? jobProgress(job.value) : null)),
    final: computed(() => !!job.value && isFinalStatus(job.value.status)),
    refresh: async () => {
      if (id.value) accept(await api.jobs.get(id.value));
    },
    replace: (j: Job) => accept(j),
  };
}
