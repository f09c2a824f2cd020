import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The worker's model cache (MODEL_CACHE_DIR) cannot be created or written. Without this check a
 * worker that cannot write its cache (an unprivileged user over a read-only image, a relative
 * path resolved inside the application's folder) announced itself ready and then failed every
 * job with `model_load_failed`, logging nothing.
 */
export class ModelCacheDirError extends Error {
  constructor(
    readonly dir: string,
    readonly code: string,
  ) {
    super(
      `MODEL_CACHE_DIR is not writable by this process (${code}${code === 'EACCES' || code === 'EPERM' ? ': permission denied' : code === 'EROFS' ? ': read-only file system' : ''}): ` +
        `the worker keeps the model files it scores with there. Set MODEL_CACHE_DIR to an absolute directory this user can create and write ` +
        `(the image uses /var/cache/sluice/models; mount a volume there when the root file system is read-only). Configured: "${dir}".`,
    );
    this.name = 'ModelCacheDirError';
  }
}

/**
 * Creates the cache directory if needed and writes and removes a probe file in it, so that a
 * worker that could not load any model refuses to start instead of announcing itself ready.
 * The error names the setting and the errno code only: no stack, no other path than the one the
 * operator configured.
 */
export async function checkModelCacheDir(dir: string): Promise<void> {
  const probe = path.join(dir, `.probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
  } catch (err) {
    throw new ModelCacheDirError(dir, (err as NodeJS.ErrnoException).code ?? 'unknown error');
  }
  await rm(probe, { force: true });
}
