// Whether this process records traces. Set once, before anything is built (by startTracing in the
// entry points, or by a test), so instrumented code can skip even the no-op API's calls when off.
let on = false;

export const tracingOn = (): boolean => on;

/** For startTracing and the test helper only. */
export function setTracingOn(value: boolean): void {
  on = value;
}
