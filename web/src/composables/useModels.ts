import { computed, type Ref } from 'vue';
import { useSluiceApi } from '../api/sluiceApi';
import type { ModelSummary, ModelVersion } from '../api/types';
import { useQuery } from './useQuery';

// The tenant's models, and the references a form can offer for them: `name` (the latest version),
// `name@alias` and `name:version`, each resolved here to the version it stands for.

export interface ModelRef {
  ref: string;
  label: string;
  name: string;
  version: number;
}

export function modelRefs(models: readonly ModelSummary[]): ModelRef[] {
  const out: ModelRef[] = [];
  for (const m of models) {
    out.push({ ref: m.name, label: `${m.name} (latest: v${m.latest_version})`, name: m.name, version: m.latest_version });
    for (const [alias, v] of Object.entries(m.aliases)) out.push({ ref: `${m.name}@${alias}`, label: `${m.name}@${alias} (v${v})`, name: m.name, version: v });
    for (let v = m.latest_version; v >= 1; v--) out.push({ ref: `${m.name}:${v}`, label: `${m.name}:${v}`, name: m.name, version: v });
  }
  return out;
}

export function useModels() {
  const api = useSluiceApi();
  const q = useQuery(
    () => 'all',
    async () => {
      const all: ModelSummary[] = [];
      let cursor: string | undefined;
      do {
        const page = await api.models.list(cursor);
        all.push(...page.data);
        cursor = page.next_cursor ?? undefined;
      } while (cursor && all.length < 1000);
      return all;
    },
  );
  return { ...q, refs: computed(() => modelRefs(q.data.value ?? [])) };
}

/** The columns an upload for this version must carry (fed to the model, then passed through), and each fed column's type. */
export function neededColumns(v: ModelVersion): { name: string; type: string; passthrough: boolean }[] {
  const seen = new Map<string, { name: string; type: string; passthrough: boolean }>();
  for (const feed of v.feeds) {
    const cols = Array.isArray(feed.columns) ? (feed.columns as string[]) : [];
    for (const c of cols) if (!seen.has(c)) seen.set(c, { name: c, type: typeof feed.type === 'string' ? feed.type : 'float32', passthrough: false });
  }
  if (!seen.size) for (const c of v.signature.columns ?? []) seen.set(c, { name: c, type: v.signature.dtype ?? 'float32', passthrough: false });
  for (const c of v.signature.passthrough ?? []) if (!seen.has(c)) seen.set(c, { name: c, type: 'string', passthrough: true });
  return [...seen.values()];
}

/** The version a reference picked in a form stands for (null until one is picked). */
export function useVersionOf(refs: Ref<ModelRef[]>, picked: Ref<string>) {
  const api = useSluiceApi();
  return useQuery(
    () => {
      const r = refs.value.find((x) => x.ref === picked.value);
      return r ? `${r.name}\u0000${r.version}` : null;
    },
    (key) => {
      const [name, v] = key.split('\u0000');
      return api.models.version(name, Number(v));
    },
  );
}
