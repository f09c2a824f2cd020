import { onScopeDispose, ref, shallowRef, triggerRef, watch, type Ref } from 'vue';
import { subscribe } from '../api/events';
import { describeError } from '../api/http';
import { useSluiceApi } from '../api/sluiceApi';
import type { Job, JobStatus } from '../api/types';

// The jobs list: a page of GET /v1/jobs (filtered by status and model, paged by cursor), kept
// current by the tenant's event stream. The stream is opened before the list is read (as
// docs/events.md says), so no change falls between the two. A job the stream names replaces its
// row; a new job matching the filters goes on top of the first page. The API gives at most 200
// jobs a request: a larger page is read in requests of 200, each shown as it arrives.

export interface JobFilters {
  status?: JobStatus;
  model?: string;
  limit: number;
}

const API_MAX = 200;
/** Rows added live on top of the first page, at most, beyond the page size (bounded memory). */
const LIVE_EXTRA = 100;

function matches(job: Job, f: JobFilters): boolean {
  if (f.status && job.status !== f.status) return false;
  if (f.model) {
    const [name, version] = f.model.split(':');
    if (job.model.name !== name || (version !== undefined && String(job.model.version) !== version)) return false;
  }
  return true;
}

export function useJobs(filters: Ref<JobFilters>) {
  const api = useSluiceApi();
  const jobs = shallowRef<Job[]>([]);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const live = ref<'connecting' | 'open' | 'closed'>('connecting');
  /** Cursors of the pages before this one ([] on the first page), and of the next one. */
  const before = ref<(string | undefined)[]>([]);
  const cursor = ref<string | undefined>(undefined);
  const nextCursor = ref<string | null>(null);
  let index = new Map<string, number>();
  let generation = 0;

  const reindex = () => (index = new Map(jobs.value.map((j, i) => [j.id, i])));

  const stop = subscribe('/v1/events', {
    event(_type, job) {
      const i = index.get(job.id);
      if (i !== undefined) {
        jobs.value[i] = job;
        triggerRef(jobs);
      } else if (before.value.length === 0 && matches(job, filters.value) && jobs.value.length < filters.value.limit + LIVE_EXTRA) {
        jobs.value = [job, ...jobs.value];
        reindex();
      }
    },
    state(s) {
      live.value = s;
    },
  });
  onScopeDispose(stop);

  async function load() {
    const mine = ++generation;
    const f = filters.value;
    loading.value = true;
    try {
      const got: Job[] = [];
      let c = cursor.value;
      let next: string | null = null;
      do {
        const page = await api.jobs.list({ status: f.status, model: f.model || undefined, limit: Math.min(API_MAX, f.limit - got.length), cursor: c });
        if (mine !== generation) return;
        got.push(...page.data);
        next = page.next_cursor;
        c = next ?? undefined;
        // Each API page is shown as it comes: the rows render while the next page is read.
        performance.mark('sluice:jobs-data');
        jobs.value = [...got];
        reindex();
      } while (next && got.length < f.limit);
      nextCursor.value = next;
      error.value = null;
    } catch (err) {
      if (mine === generation) error.value = describeError(err);
    } finally {
      if (mine === generation) loading.value = false;
    }
  }

  watch(
    filters,
    () => {
      before.value = [];
      cursor.value = undefined;
      void load();
    },
    { immediate: true, deep: true },
  );

  return {
    jobs,
    loading,
    error,
    live,
    hasNext: () => nextCursor.value !== null,
    hasPrevious: () => before.value.length > 0,
    next() {
      if (nextCursor.value === null) return;
      before.value = [...before.value, cursor.value];
      cursor.value = nextCursor.value;
      void load();
    },
    previous() {
      if (!before.value.length) return;
      cursor.value = before.value[before.value.length - 1];
      before.value = before.value.slice(0, -1);
      void load();
    },
    refresh: load,
  };
}
