/**
 * One data row's result as the results API reads it (decodeResultRows): numbered from 1 in the
 * upload, scores already printed as float4 (shortestFloat4); `error` instead of a prediction when
 * the row could not be scored.
 */
export interface PredictionRow {
  row_no: number;
  value: number | null;
  scores: number[] | null;
  passthrough: string[] | null;
  error: string | null;
  /** A failed row's input as uploaded, when asked for (?only=errors) and stored. */
  record?: Uint8Array;
  /** A compare job's rows: the second model's prediction (null where it could not score the row). */
  compare_value?: number | null;
  compare_scores?: number[] | null;
}
