import cliProgress from 'cli-progress';
import { bytes, n, percent, seconds } from './format.js';
import type { Output } from './output.js';

// One progress interface, two renderers (as wrangler does): cli-progress bars on a terminal, kept
// on screen one under the other (upload, scoring, download); elsewhere plain lines, at most one
// per bar every PLAIN_EVERY_MS and a last one when the bar ends, never an escape code. Under
// --json nothing is shown.

export type BarKind = 'upload' | 'scoring' | 'download';

export interface BarState {
  value: number;
  total: number | null;
  /** upload: bytes per second; scoring and download: rows per second. Null: estimate from what is seen. */
  rate?: number | null;
  etaSeconds?: number | null;
  failed?: number;
  /** download: bytes written. */
  bytes?: number;
}

export interface Bar {
  update(s: BarState): void;
  /** Draws the last state and leaves it on screen. */
  done(s?: BarState): void;
}

export interface Progress {
  bar(kind: BarKind, label?: string): Bar;
  stop(): void;
}

const PLAIN_EVERY_MS = 5_000;
const LABEL_WIDTH = 9;

export function createProgress(out: Output): Progress {
  if (out.json) return { bar: () => ({ update() {}, done() {} }), stop() {} };
  return out.interactive ? new TerminalProgress(out) : new PlainProgress(out);
}

/** Estimates rate and ETA from the values seen since the bar started, when the server does not say. */
class Clock {
  private readonly t0 = Date.now();
  private v0: number | null = null;
  private tFirst = 0;
  elapsed = () => (Date.now() - this.t0) / 1000;
  estimate(s: BarState): { rate: number | null; eta: number | null } {
    if (this.v0 === null) (this.v0 = s.value), (this.tFirst = Date.now());
    const dt = (Date.now() - this.tFirst) / 1000;
    const measured = dt > 0.2 && s.value > this.v0 ? (s.value - this.v0) / dt : null;
    // All of it in one step (a small file) from nothing: the average since the bar appeared.
    const whole = this.v0 === 0 && s.value > 0 && this.elapsed() > 0 ? s.value / this.elapsed() : null;
    const rate = s.rate ?? measured ?? whole;
    const eta = s.etaSeconds ?? (rate && s.total !== null ? Math.max(0, s.total - s.value) / rate : s.total !== null && s.value >= s.total ? 0 : null);
    return { rate, eta };
  }
}

function describe(kind: BarKind, s: BarState, rate: number | null, eta: number | null): string[] {
  const parts: string[] = [];
  if (kind === 'upload') {
    parts.push(`${bytes(s.value)} / ${s.total === null ? '?' : bytes(s.total)}`, `${rate === null ? '?' : bytes(rate)}/s`, `ETA ${seconds(eta)}`);
  } else {
    parts.push(`${n(s.value)} / ${s.total === null ? '?' : n(s.total)} rows`, `${rate === null ? '?' : n(rate)} rows/s`);
    if (kind === 'scoring') parts.push(`ETA ${seconds(eta)}`, `${n(s.failed ?? 0)} failed`);
    else parts.push(bytes(s.bytes ?? 0));
  }
  return parts;
}

class TerminalProgress implements Progress {
  private readonly multi: cliProgress.MultiBar;
  constructor(out: Output) {
    this.multi = new cliProgress.MultiBar(
      {
        stream: out.io.stderr as NodeJS.WritableStream as never,
        format: '{label} {bar} {pct} | {details}',
        barsize: 30,
        barCompleteChar: '\u2588',
        barIncompleteChar: '\u2591',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        autopadding: false,
        fps: 8,
      },
      cliProgress.Presets.shades_classic,
    );
  }
  bar(kind: BarKind, label: string = kind): Bar {
    const clock = new Clock();
    const payload = (s: BarState) => {
      const { rate, eta } = clock.estimate(s);
      const fraction = s.total ? Math.min(1, s.value / s.total) : s.total === 0 ? 1 : null;
      return { label: label.padEnd(LABEL_WIDTH), pct: percent(fraction), details: describe(kind, s, rate, eta).join(' | ') };
    };
    const first = { value: 0, total: null } as BarState;
    const b = this.multi.create(1, 0, payload(first));
    const apply = (s: BarState) => {
      b.setTotal(s.total && s.total > 0 ? s.total : 1);
      b.update(s.total === null ? 0 : s.total === 0 ? 1 : Math.min(s.value, s.total), payload(s));
    };
    let last = first;
    return {
      update: (s) => apply((last = s)),
      done: (s) => {
        apply(s ?? last);
        this.multi.update(); // draw now, not at the next tick
      },
    };
  }
  private stopped = false;
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.multi.stop(); // shows the cursor again
  }
}

class PlainProgress implements Progress {
  constructor(private readonly out: Output) {}
  bar(kind: BarKind, label: string = kind): Bar {
    const clock = new Clock();
    let shown = 0;
    let last: BarState = { value: 0, total: null };
    let finished = false;
    const print = (s: BarState, final: boolean) => {
      const { rate, eta } = clock.estimate(s);
      const fraction = s.total ? Math.min(1, s.value / s.total) : s.total === 0 ? 1 : null;
      const details = describe(kind, s, rate, eta).filter((d) => !(final && d.startsWith('ETA')));
      this.out.note(`${label}: ${percent(fraction).trim()} ${details.join(', ')}${final ? `, ${seconds(clock.elapsed())}` : ''}`);
    };
    return {
      update: (s) => {
        last = s;
        clock.estimate(s); // the first state seen is where the rate is measured from
        if (Date.now() - shown >= PLAIN_EVERY_MS) {
          if (shown) print(s, false); // no line at 0%: the first is due a period in
          shown = Date.now();
        }
      },
      done: (s) => {
        if (finished) return;
        finished = true;
        print(s ?? last, true);
      },
    };
  }
  stop() {}
}
