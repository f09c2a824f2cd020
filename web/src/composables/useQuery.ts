import { ref, shallowRef, watch, type Ref, type WatchSource } from 'vue';
import { describeError } from '../api/http';

// One query's state as refs: data, loading, error (as a sentence to show), refresh. It reruns when
// a source it watches changes and skips while the key is null (a route parameter not there yet);
// an answer to an earlier key that arrives late is dropped.

export interface Query<T> {
  data: Ref<T | null>;
  loading: Ref<boolean>;
  error: Ref<string | null>;
  refresh(): Promise<void>;
}

export function useQuery<K, T>(key: WatchSource<K | null>, load: (key: K) => Promise<T>): Query<T> {
  const data = shallowRef<T | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  let current = 0;
  let lastKey: K | null = null;

  async function run(k: K | null) {
    lastKey = k;
    const mine = ++current;
    if (k === null) {
      data.value = null;
      return;
    }
    loading.value = true;
    try {
      const d = await load(k);
      if (mine === current) {
        data.value = d;
        error.value = null;
      }
    } catch (err) {
      if (mine === current) error.value = describeError(err);
    } finally {
      if (mine === current) loading.value = false;
    }
  }

  watch(key, (k) => void run(k), { immediate: true });
  return { data, loading, error, refresh: () => run(lastKey) };
}

/** A button's action: busy while it runs, its error as a sentence, its result. */
export function useAction<A extends unknown[], T>(fn: (...args: A) => Promise<T>) {
  const busy = ref(false);
  const error = ref<string | null>(null);
  async function run(...args: A): Promise<T | undefined> {
    busy.value = true;
    error.value = null;
    try {
      return await fn(...args);
    } catch (err) {
      error.value = describeError(err);
      return undefined;
    } finally {
      busy.value = false;
    }
  }
  return { busy, error, run };
}
