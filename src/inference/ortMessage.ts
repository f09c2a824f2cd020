// onnxruntime's messages as users may read them (issue 12 item 2): its errors quote absolute
// paths (the model file, a resolved external-data location, the working directory) and its own
// source files (`/onnxruntime_src/onnxruntime/core/…/initializer.cc:44 onnxruntime::Initializer::
// Initializer(…)`). Neither may reach a response, a job error or a result row: every place that
// turns an onnxruntime (or file system) error into user-facing text passes it through here.
// Plain string work with no imports, so the inference threads' bundle takes it as is.

// A source location, `…/file.cc:123 `, then the C++ function it names when one follows
// (`virtual T* ns::Class::fn(args) const `, or a bare CamelCase name like `ValidateExternalDataPathFromDir `).
const SOURCE_LOCATION = /(?:\/[^\s"']*\/)?[\w-]+\.(?:cc|cpp|cxx|c|h|hpp):\d+\s*(?:(?:virtual\s+)?(?:[\w:<>*&]+\s+)?[\w:~<>]*::[\w~<>]+\((?:[^()]|\([^()]*\))*\)(?:\s*const)?\s*|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+\s+)?/g;
// An absolute path: starts a word (after a space, quote, bracket or '='), so URLs (`https://…`) stay.
const ABSOLUTE_PATH = /(?<=^|[\s"'(=[])\/[^\s"'()<>,;\]]*/g;

/**
 * The message without onnxruntime source locations and with every absolute path cut to its last
 * component (`"/srv/app/.env" does not exist` → `".env" does not exist`). `named` maps exact
 * strings (e.g. a model file's path) to what to say instead, applied first.
 */
export function scrubOrtMessage(message: string, named: Record<string, string> = {}): string {
  let out = message;
  for (const [from, to] of Object.entries(named).sort((a, b) => b[0].length - a[0].length)) if (from) out = out.split(from).join(to);
  out = out.replace(SOURCE_LOCATION, '');
  out = out.replace(ABSOLUTE_PATH, (p) => p.replace(/\/+$/, '').split('/').pop() || '.');
  return out.trim();
}
