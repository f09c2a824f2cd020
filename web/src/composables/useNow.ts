import { computed, onScopeDispose, ref, type ComputedRef } from 'vue';

// One clock for every "3 min ago" on the page: a single interval shared by all who read it,
// stopped when the last reader goes. `stepMs` rounds it, so a list of 1,000 jobs re-renders its
// ages every 10 s rather than every second.

const now = ref(Date.now());
let timer: ReturnType<typeof setInterval> | null = null;
let readers = 0;

export function useNow(stepMs = 1000): ComputedRef<number> {
  readers++;
  if (!timer) timer = setInterval(() => (now.value = Date.now()), 1000);
  onScopeDispose(() => {
    if (--readers === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  });
  return computed(() => Math.floor(now.value / stepMs) * stepMs);
}
