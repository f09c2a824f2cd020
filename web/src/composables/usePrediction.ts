import { ref, shallowRef } from 'vue';
import { describeError } from '../api/http';
import { useSluiceApi } from '../api/sluiceApi';
import type { Prediction } from '../api/types';

// One prediction from a form: the values typed per column, converted to what each column reads
// (numbers for numeric inputs, true/false for booleans, text otherwise; an empty field is a
// missing value), sent with POST /v1/predictions and waited for (up to 10 s).

export type FieldKind = 'number' | 'bool' | 'text';
export const kindOf = (dtype: string): FieldKind => (dtype === 'bool' ? 'bool' : dtype === 'string' ? 'text' : 'number');

export function usePrediction() {
  const api = useSluiceApi();
  const result = shallowRef<Prediction | null>(null);
  const pending = ref<string | null>(null);
  const error = ref<string | null>(null);
  const busy = ref(false);

  async function predict(model: string, fields: { name: string; kind: FieldKind; value: string }[]) {
    busy.value = true;
    error.value = null;
    pending.value = null;
    try {
      const input: Record<string, string | number | null> = {};
      for (const f of fields) {
        const v = f.value.trim();
        input[f.name] = v === '' ? null : f.kind === 'number' && Number.isFinite(Number(v)) ? Number(v) : v;
      }
      const answer = await api.predictions.create({ model, inputs: [input], wait: 10 });
      if ('predictions' in answer) result.value = answer as Prediction;
      else pending.value = (answer as { id: string }).id;
    } catch (err) {
      error.value = describeError(err);
    } finally {
      busy.value = false;
    }
  }
  return { result, pending, error, busy, predict };
}
