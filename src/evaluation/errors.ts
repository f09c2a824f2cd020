/** Two partials of different kinds (classification and regression) cannot be merged: the job mixed tasks. */
export class PartialMismatchError extends Error {
  override name = 'PartialMismatchError';
  constructor(what: string, a: string, b: string) {
    super(`cannot merge a ${a} ${what} partial with a ${b} one`);
  }
}
