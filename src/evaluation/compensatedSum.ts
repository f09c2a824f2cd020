/**
 * Neumaier's compensated sum: a per-chunk sum of a million residuals stays within a few ulps of the
 * exact sum, whatever the order of the rows, so chunk partials merged in any order agree with a
 * direct computation far below 1e-12. Two fields on one object: adding allocates nothing.
 */
export class CompensatedSum {
  private sum = 0;
  private c = 0;

  add(x: number): void {
    const t = this.sum + x;
    this.c += Math.abs(this.sum) >= Math.abs(x) ? this.sum - t + x : x - t + this.sum;
    this.sum = t;
  }

  get value(): number {
    return this.sum + this.c;
  }
}
