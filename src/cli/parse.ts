import { InvalidArgumentError } from 'commander';

// Option values checked as commander parses them: a bad value is a usage error (exit 2).

export function rate(value: string): number {
  const x = Number(value);
  if (!Number.isFinite(x) || x < 0 || x > 1) throw new InvalidArgumentError('a share of rows between 0 and 1, e.g. 0.05');
  return x;
}

export function positiveInt(value: string): number {
  const x = Number(value);
  if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError('a whole number of at least 1');
  return x;
}

export function nonNegative(value: string): number {
  const x = Number(value);
  if (!Number.isFinite(x) || x < 0) throw new InvalidArgumentError('a number of seconds, 0 or more');
  return x;
}

export function oneOf<T extends string>(...allowed: T[]) {
  return (value: string): T => {
    if (!(allowed as string[]).includes(value)) throw new InvalidArgumentError(`one of ${allowed.join(', ')}`);
    return value as T;
  };
}

export function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}
