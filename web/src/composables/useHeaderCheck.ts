import { ref, watch, type Ref } from 'vue';

// The client-side check of an upload's header against the columns the model needs, before any
// byte is sent. It reads only the start of the file (File.stream(), cancelled once the first line
// is read, at most 1 MiB), gunzipping it first for .gz files (DecompressionStream), so a 10 GB
// file costs no more than a small one. Names match as the api matches them: ignoring case and
// Unicode normalisation form.

export interface HeaderCheck {
  header: string[];
  missing: string[];
  ignored: string[];
  /** Why the header could not be read (not a CSV, nothing in the first MiB). */
  problem: string | null;
}

const MAX_HEADER_BYTES = 1024 * 1024;
const norm = (s: string) => s.normalize('NFC').trim().toLowerCase();
const DELIMS: Record<string, string> = { ',': ',', ';': ';', tab: '\t' };

/** The first line of the file (through gzip when it is compressed), never more than 1 MiB. */
export async function readFirstLine(file: Blob & { name?: string }): Promise<string> {
  let stream: ReadableStream<Uint8Array> = file.stream();
  if (/\.gz$/i.test(file.name ?? '')) stream = stream.pipeThrough(new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
  const reader = stream.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>).getReader();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
      const end = firstRecordEnd(text);
      if (end >= 0) return text.slice(0, end);
      if (text.length > MAX_HEADER_BYTES) throw new Error('No end of the header line in the first MiB of the file.');
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text;
}

/** Where the first record ends: the first line break outside double quotes, or -1. */
function firstRecordEnd(s: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) return i;
  }
  return -1;
}

/** The cells of one CSV record (RFC 4180 quoting). */
export function splitRecord(line: string, delimiter: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) cells.push(cell), (cell = '');
    else cell += c;
  }
  cells.push(cell);
  return cells;
}

export function headerOf(firstLine: string, fileName: string, delimiter: string): string[] {
  const line = firstLine.replace(/^\uFEFF/, '');
  if (/\.(jsonl|ndjson)(\.gz)?$/i.test(fileName)) {
    const rec: unknown = JSON.parse(line);
    if (!rec || typeof rec !== 'object' || Array.isArray(rec)) throw new Error('The first line is not a JSON object.');
    return Object.keys(rec);
  }
  return splitRecord(line, DELIMS[delimiter] ?? ',').map((c) => c.trim());
}

export function compareHeader(header: string[], needed: string[], used: string[] = []): Omit<HeaderCheck, 'problem'> {
  const have = new Set(header.map(norm));
  const want = new Set([...needed, ...used].map(norm));
  return { header, missing: needed.filter((c) => !have.has(norm(c))), ignored: header.filter((c) => c !== '' && !want.has(norm(c))) };
}

export function useHeaderCheck(file: Ref<File | null>, delimiter: Ref<string>, needed: Ref<string[] | null>, used: Ref<string[]>) {
  const result = ref<HeaderCheck | null>(null);
  const header = ref<string[] | null>(null);
  const problem = ref<string | null>(null);

  watch(
    [file, delimiter],
    async ([f, d]) => {
      header.value = null;
      problem.value = null;
      if (!f) return;
      try {
        header.value = headerOf(await readFirstLine(f), f.name, d);
      } catch (err) {
        problem.value = `The header could not be read: ${(err as Error).message}`;
      }
    },
    { immediate: true },
  );

  watch(
    [header, problem, needed, used],
    () => {
      if (problem.value) result.value = { header: [], missing: [], ignored: [], problem: problem.value };
      else if (header.value && needed.value) result.value = { ...compareHeader(header.value, needed.value, used.value), problem: null };
      else result.value = null;
    },
    { immediate: true },
  );
  return result;
}
