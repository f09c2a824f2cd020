import { ref } from 'vue';
import { describeError } from '../api/http';
import { useSluiceApi } from '../api/sluiceApi';
import { UploadAbortedError } from '../api/upload';
import type { Job } from '../api/types';

// An upload in progress as a person follows it: bytes sent of the total, speed over the last
// seconds (MB/s), time left at that speed; stoppable.

export interface UploadState {
  sentBytes: number;
  totalBytes: number;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
}

const WINDOW_MS = 3000;

export function useUpload() {
  const api = useSluiceApi();
  const state = ref<UploadState | null>(null);
  const busy = ref(false);
  const error = ref<string | null>(null);
  let ctrl: AbortController | null = null;

  async function start(file: File, fields: Record<string, string | undefined>): Promise<Job | null> {
    ctrl = new AbortController();
    busy.value = true;
    error.value = null;
    const seen: { at: number; bytes: number }[] = [{ at: performance.now(), bytes: 0 }];
    state.value = { sentBytes: 0, totalBytes: file.size, bytesPerSecond: null, etaSeconds: null };
    try {
      return await api.jobs.upload({
        file,
        fields,
        signal: ctrl.signal,
        onProgress({ sentBytes, totalBytes }) {
          const at = performance.now();
          seen.push({ at, bytes: sentBytes });
          while (seen.length > 2 && at - seen[0].at > WINDOW_MS) seen.shift();
          const dt = (at - seen[0].at) / 1000;
          const bytesPerSecond = dt > 0.2 ? (sentBytes - seen[0].bytes) / dt : null;
          state.value = { sentBytes, totalBytes, bytesPerSecond, etaSeconds: bytesPerSecond ? (totalBytes - sentBytes) / bytesPerSecond : null };
        },
      });
    } catch (err) {
      error.value = err instanceof UploadAbortedError ? 'The upload was stopped; nothing was submitted.' : describeError(err);
      return null;
    } finally {
      busy.value = false;
      ctrl = null;
    }
  }

  return { state, busy, error, start, stop: () => ctrl?.abort() };
}
