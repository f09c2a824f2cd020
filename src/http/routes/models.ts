import type { Router } from 'express';
import { z } from 'zod';
import type pg from 'pg';
import type { AliasChangeRow, StoredTarget } from '../../db/aliasChangeRow.js';
import type { TargetRow } from '../../db/aliasTargetSql.js';
import type { EvaluationRow } from '../../db/evaluationRow.js';
import { listAliasChanges } from '../../db/listAliasChanges.js';
import { listAliasTargets } from '../../db/listAliasTargets.js';
import { listModels } from '../../db/listModels.js';
import { listModelVersions, type VersionRow } from '../../db/listModelVersions.js';
import { listRecentAliasChanges } from '../../db/listRecentAliasChanges.js';
import { listVersionEvaluations } from '../../db/listVersionEvaluations.js';
import { selectLatestEvaluations } from '../../db/selectLatestEvaluations.js';
import { selectVersionsByNumber, type NumberedVersionRow } from '../../db/selectVersionsByNumber.js';
import { setModelAlias, type AliasDecision } from '../../db/setModelAlias.js';
import { HttpError } from '../../errors.js';
import { canonicalTarget, sameTarget, versionsGainingShare } from '../../models/canary.js';
import { registerVersion } from '../../models/register.js';
import { inputFeeds, neededColumns } from '../../models/inputs.js';
import type { RunPlan } from '../../models/types.js';
import type { Evaluation } from '../../evaluation/report.js';
import { SignatureSchema, type Signature } from '../../models/signature.js';
import { decodeCursor, page, PageQuery } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { multipartParts } from '../multipart.js';
import { defineRoute } from '../route.js';
import {
  Alias as AliasView, AliasChange, AliasChangeList, AliasRequest, Model, ModelAlias, ModelList, ModelVersion, ModelVersionFormRequest, ModelVersionList,
} from '../schemas.js';

const Name = z.string().regex(/^[A-Za-z0-9][\w.-]{0,127}$/, 'letters, digits, "_", "-" and ".", up to 128, starting with a letter or digit');
const Alias = z.string().regex(/^[A-Za-z][\w.-]{0,63}$/, 'a letter, then letters, digits, "_", "-" or "."');
const VersionNo = z.coerce.number().int().min(1).max(1e9);


// What the list cursors hold: the last model's name, the last version's number, the last change's id.
const ModelCursor = z.object({ n: Name }).strict();
const VersionCursor = z.object({ v: z.number().int().min(1).max(1e9) }).strict();
const ChangeCursor = z.object({ c: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }).strict();

/** How many evaluations a version shows, and changes an alias shows, on the model card. */
const CARD_EVALUATIONS = 5;
const CARD_CHANGES = 5;

/** What a version's card shows beside its row: its recorded evaluations and the aliases routing to it. */
interface CardContext {
  evaluations: Map<number, EvaluationRow[]>;
  targets: TargetRow[];
}

async function cardContext(pool: pg.Pool, tenantId: string, name: string, rows: VersionRow[], targets?: TargetRow[]): Promise<CardContext> {
  const [evals, aliases] = await Promise.all([
    listVersionEvaluations(pool, tenantId, name, rows.map((r) => r.version), CARD_EVALUATIONS),
    targets ?? listAliasTargets(pool, tenantId, name),
  ]);
  const evaluations = new Map<number, EvaluationRow[]>();
  for (const e of evals) evaluations.set(e.version, [...(evaluations.get(e.version) ?? []), e]);
  return { evaluations, targets: aliases };
}

function versionView(r: VersionRow, card: CardContext): z.input<typeof ModelVersion> {
  return {
    name: r.name, version: r.version, created_at: r.created_at.toISOString(), sha256: r.sha256, size_bytes: r.size_bytes,
    signature: r.signature as z.input<typeof SignatureSchema>, inputs: r.io.inputs, outputs: r.io.outputs, rewrites: r.io.rewrites,
    metrics: r.metrics, description: r.description, aliases: r.aliases ?? [],
    // How each graph input is fed: from which columns, with which type and missing policy.
    feeds: inputFeeds(r.io.plan as RunPlan, r.signature as Signature),
    evaluations: (card.evaluations.get(r.version) ?? []).map((e) => ({
      id: String(e.id), job_id: e.job_id, dataset_digest: e.dataset_digest, label_column: e.label_column, rows: e.rows, metrics: e.metrics as Evaluation, created_at: e.created_at.toISOString(),
    })),
    alias_weights: card.targets.flatMap((t) => {
      const mine = t.versions.find((e) => e.version === r.version);
      return mine ? [{ alias: t.alias, weight: mine.weight, share: mine.weight / t.versions.reduce((sum, e) => sum + e.weight, 0) }] : [];
    }),
  };
}

function aliasView(name: string, alias: string, target: StoredTarget, updatedAt: Date): z.output<typeof AliasView> {
  return { name, alias, version: target[0].version, versions: target.map((e) => ({ version: e.version, weight: e.weight })), updated_at: updatedAt.toISOString() };
}

function changeView(name: string, c: AliasChangeRow): z.input<typeof AliasChange> {
  return {
    id: String(c.id), object: 'alias_change', name, alias: c.alias, action: c.action, from: c.from_target, to: c.to_target,
    by: { key_id: c.key_id, key_prefix: c.key_prefix }, at: c.created_at.toISOString(), guard: c.guard as z.input<typeof AliasChange>['guard'],
  };
}

function modelAliasView(t: TargetRow, changes: AliasChangeRow[], name: string): z.input<typeof ModelAlias> {
  return { alias: t.alias, version: t.versions[0].version, versions: t.versions, updated_at: t.updated_at.toISOString(), recent_changes: changes.filter((c) => c.alias === t.alias).map((c) => changeView(name, c)) };
}

/** The versions a target names, each of which must exist: a 404 naming the ones that do not. */
async function versionsOf(c: pg.ClientBase, modelId: number, name: string, target: StoredTarget): Promise<NumberedVersionRow[]> {
  const rows = await selectVersionsByNumber(c, modelId, target.map((e) => e.version));
  const missing = target.map((e) => e.version).filter((v) => !rows.some((r) => r.version === v));
  if (missing.length) {
    throw new HttpError('model_not_found', `There is no version ${missing.join(', ')} of model "${name}". GET /v1/models/${name}/versions lists its versions.`);
  }
  return rows;
}

/**
 * Every version of a split reads only columns the heaviest one reads: requests through the alias
 * are written for the version it stands for (the heaviest), so they fit a candidate that needs
 * the same columns or fewer (a model trained on a subset of the features), whichever is drawn. A
 * candidate needing a column the main version does not would fail the requests that lack it.
 */
function assertCanariesFit(name: string, rows: NumberedVersionRow[], heaviest: number) {
  const cols = rows.map((r) => ({ version: r.version, columns: neededColumns(r.io.plan as RunPlan, r.signature as Signature) }));
  const main = cols.find((c) => c.version === heaviest)!;
  const reads = new Set(main.columns);
  for (const other of cols) {
    const more = other.columns.filter((c) => !reads.has(c));
    if (!more.length) continue;
    throw new HttpError(
      'incompatible_models',
      `Version ${other.version} of model "${name}" reads ${more.map((c) => `"${c}"`).join(', ')}, which version ${heaviest} (the heaviest, what requests through the alias are written for) does not: a request would fail whenever version ${other.version} is drawn. Give the candidates only columns the main version reads, or send the new columns first and make the version that reads them the heaviest.`,
      { versions: [heaviest, other.version], columns: { [heaviest]: main.columns, [other.version]: other.columns } },
    );
  }
}

type Guard = NonNullable<NonNullable<z.output<typeof AliasRequest>['require']>['evaluation']>;

/**
 * The promotion guard: every version the change gives a larger share of traffic (a version new to
 * the alias included) must have a latest recorded evaluation whose figure is within the bounds.
 * Refused (409 promotion_guard_failed) with what was found for each version that fails; else the
 * guard as recorded with the change.
 */
async function checkGuard(c: pg.ClientBase, modelId: number, name: string, from: StoredTarget | null, to: StoredTarget, g: Guard): Promise<Record<string, unknown>> {
  const promoted = versionsGainingShare(from, to);
  const latest = promoted.length ? await selectLatestEvaluations(c, modelId, promoted) : [];
  const checked: { version: number; value: number; evaluation_id: string }[] = [];
  const failed: { version: number; value: number | null; evaluation_id: string | null; job_id: string | null; evaluated_at: string | null; reason: string }[] = [];
  const bounds = [g.min !== undefined ? `at least ${g.min}` : '', g.max !== undefined ? `at most ${g.max}` : ''].filter(Boolean).join(' and ');
  for (const v of promoted) {
    const e = latest.find((x) => x.version === v);
    const raw = e?.metrics[g.metric];
    const value = typeof raw === 'number' && Number.isFinite(raw) ? raw : null;
    const found = { version: v, value, evaluation_id: e ? String(e.id) : null, job_id: e?.job_id ?? null, evaluated_at: e?.created_at.toISOString() ?? null };
    if (!e) {
      failed.push({ ...found, reason: `version ${v} has no recorded evaluation: run an evaluation job with record=true (POST /v1/jobs?model=${name}:${v}&label_column=…&record=true) first` });
    } else if (value === null) {
      failed.push({ ...found, reason: `version ${v}'s latest recorded evaluation (job ${e.job_id}) has no ${g.metric}` });
    } else if ((g.min !== undefined && value < g.min) || (g.max !== undefined && value > g.max)) {
      failed.push({ ...found, reason: `version ${v}'s latest recorded evaluation (job ${e.job_id}) has ${g.metric} ${value}, not ${bounds}` });
    } else checked.push({ version: v, value, evaluation_id: String(e.id) });
  }
  if (failed.length) {
    throw new HttpError('promotion_guard_failed', `The promotion guard refused the change (${g.metric} ${bounds}): ${failed.map((f) => f.reason).join('; ')}.`, {
      guard: { metric: g.metric, min: g.min, max: g.max },
      versions: failed,
    });
  }
  return { metric: g.metric, ...(g.min !== undefined && { min: g.min }), ...(g.max !== undefined && { max: g.max }), checked };
}

export function registerModelRoutes(router: Router, deps: AppDeps) {
  const { pool, config } = deps;

  // Declared before the POST of the same path: test/security/isolation.test.ts calls routes in
  // this order, and the POST makes the other tenant's own model of that name.
  defineRoute(
    router,
    {
      method: 'get', path: '/models/:name/versions', scope: 'models:read', tags: ['models'], operationId: 'listModelVersions', summary: "A model's versions, oldest first",
      params: z.object({ name: Name }), query: z.object(PageQuery),
      responses: { 200: { description: 'a page of versions; next_cursor is null on the last page', schema: ModelVersionList }, 404: { description: 'model_not_found: no such model' } },
    },
    async (_req, res, { params, query, auth }) => {
      const after = query.cursor ? decodeCursor(query.cursor, VersionCursor).v : null;
      const rows = await listModelVersions(pool, auth.tenantId, params.name, { limit: query.limit + 1, after });
      if (!rows.length && after === null) throw new HttpError('model_not_found', `There is no model "${params.name}". GET /v1/models lists your models.`);
      const card = await cardContext(pool, auth.tenantId, params.name, rows.slice(0, query.limit));
      res.json(page(rows, query.limit, (r) => versionView(r, card), (r) => ({ v: r.version })));
    },
  );

  defineRoute(
    router,
    {
      method: 'post', path: '/models/:name/versions', scope: 'models:write', tags: ['models'], operationId: 'registerModelVersion',
      summary: 'Register a new version of a model: an ONNX file and its signature (multipart fields "model" and "signature"; optional "metrics" JSON and "description")',
      params: z.object({ name: Name }),
      requestBody: { content: { 'multipart/form-data': { schema: ModelVersionFormRequest } } },
      responses: { 201: { description: 'registered', schema: ModelVersion }, 413: { description: 'payload_too_large: the model is over MAX_MODEL_BYTES' }, 415: { description: 'unsupported_media_type: not multipart/form-data' }, 422: { description: 'invalid_model, invalid_signature, signature_mismatch: the model does not load or the signature does not fit it' } },
    },
    async (req, res, { params, auth }) => {
      if (!req.is('multipart/form-data')) throw new HttpError('unsupported_media_type', 'Send the model as multipart/form-data with fields "model" (the .onnx file) and "signature" (JSON).');
      let model: Buffer | undefined;
      const fields: Record<string, string> = {};
      for await (const part of multipartParts(req, { fileSize: config.intake.maxModelBytes, files: 1, fields: 8, fieldSize: 4 * 1024 * 1024 }, { fields: ['signature', 'metrics', 'description'], files: ['model'] })) {
        // Only the expected parts get here, and a file over fileSize fails its stream with a 413.
        if (part.kind === 'field') fields[part.name] = part.value!;
        else {
          const bufs: Buffer[] = [];
          for await (const b of part.stream!) bufs.push(b as Buffer);
          model = Buffer.concat(bufs);
        }
      }
      if (!model?.length) throw new HttpError('validation_failed', 'The form needs a non-empty file field "model" holding the .onnx file.');
      const signature = parseJsonField(fields.signature, 'signature', true);
      const sig = SignatureSchema.safeParse(signature);
      if (!sig.success) {
        const errors = sig.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        throw new HttpError('invalid_signature', `The signature is invalid: ${errors[0].path ? `"${errors[0].path}": ` : ''}${errors[0].message}.`, { errors });
      }
      const metrics = parseJsonField(fields.metrics, 'metrics', false);
      if (metrics !== undefined && (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics))) throw new HttpError('validation_failed', 'The "metrics" field must be a JSON object.');
      const { version } = await registerVersion(pool, {
        tenantId: auth.tenantId, name: params.name, bytes: model, signature: sig.data,
        metrics: (metrics as Record<string, unknown>) ?? null, description: fields.description ?? null, loadTimeoutMs: config.intake.modelLoadTimeoutMs, maxColumns: config.intake.maxColumns,
      });
      deps.lookups.forgetModels(auth.tenantId); // "name" now means this version here at once; elsewhere on NOTIFY
      const [row] = await listModelVersions(pool, auth.tenantId, params.name, version);
      res.status(201).location(`/v1/models/${params.name}/versions/${version}`).json(versionView(row, await cardContext(pool, auth.tenantId, params.name, [row])));
    },
  );

  defineRoute(
    router,
    {
      method: 'get', path: '/models', scope: 'models:read', tags: ['models'], operationId: 'listModels', summary: "The tenant's models by name, with their latest version and aliases",
      query: z.object(PageQuery), responses: { 200: { description: 'a page of models; next_cursor is null on the last page', schema: ModelList } },
    },
    async (_req, res, { query, auth }) => {
      const after = query.cursor ? decodeCursor(query.cursor, ModelCursor).n : null;
      const rows = await listModels(pool, auth.tenantId, { limit: query.limit + 1, after });
      res.json(page(rows, query.limit, (m) => m, (m) => ({ n: m.name })));
    },
  );

  defineRoute(
    router,
    {
      method: 'get', path: '/models/:name', scope: 'models:read', tags: ['models'], operationId: 'getModel',
      summary: "A model's card: its versions (schema, description, recorded evaluations, the aliases routing to each) and its aliases (target, weights, recent history)",
      params: z.object({ name: Name }), responses: { 200: { description: 'the model', schema: Model }, 404: { description: 'model_not_found: no such model' } },
    },
    async (_req, res, { params, auth }) => {
      const [rows, targets, changes] = await Promise.all([
        listModelVersions(pool, auth.tenantId, params.name),
        listAliasTargets(pool, auth.tenantId, params.name),
        listRecentAliasChanges(pool, auth.tenantId, params.name, CARD_CHANGES),
      ]);
      if (!rows.length) throw new HttpError('model_not_found', `There is no model "${params.name}". GET /v1/models lists your models.`);
      const card = await cardContext(pool, auth.tenantId, params.name, rows, targets);
      const aliases = Object.fromEntries(targets.map((t) => [t.alias, t.versions[0].version]));
      res.json({
        name: params.name, latest_version: rows.at(-1)!.version, aliases,
        alias_details: targets.map((t) => modelAliasView(t, changes, params.name)), versions: rows.map((r) => versionView(r, card)),
      } satisfies z.input<typeof Model>);
    },
  );

  defineRoute(
    router,
    {
      method: 'get', path: '/models/:name/versions/:version', scope: 'models:read', tags: ['models'], operationId: 'getModelVersion',
      summary: "One version's card: signature, inputs/outputs, description, metrics, recorded evaluations, the aliases routing to it",
      params: z.object({ name: Name, version: VersionNo }), responses: { 200: { description: 'the version', schema: ModelVersion }, 404: { description: 'model_not_found: no such version' } },
    },
    async (_req, res, { params, auth }) => {
      const [row] = await listModelVersions(pool, auth.tenantId, params.name, params.version);
      if (!row) throw new HttpError('model_not_found', `There is no version ${params.version} of model "${params.name}".`);
      res.json(versionView(row, await cardContext(pool, auth.tenantId, params.name, [row])));
    },
  );

  defineRoute(
    router,
    {
      method: 'put', path: '/models/:name/aliases/:alias', scope: 'models:write', tags: ['models'], operationId: 'setModelAlias',
      summary:
        'Point an alias (e.g. production) at a version, or split it between versions by weight (a canary). Optionally guarded by recorded evaluations. Recorded in the alias history; running jobs keep the version they pinned.',
      params: z.object({ name: Name, alias: Alias }), body: AliasRequest,
      responses: {
        200: { description: 'the alias as it now is (unchanged and nothing recorded when it already had this target)', schema: AliasView },
        404: { description: 'model_not_found: no such model or version' },
        409: { description: 'promotion_guard_failed: a version the change promotes has no recorded evaluation, or one outside the bounds (`versions` says what was found)' },
        422: { description: 'incompatible_models: a version of the split reads a column the heaviest version does not' },
      },
    },
    async (_req, res, { params, body, auth }) => {
      const to = canonicalTarget(body.version !== undefined ? [{ version: body.version, weight: 1 }] : body.versions!);
      const done = await setModelAlias(pool, auth, params.name, params.alias, async (c, { modelId, current }): Promise<AliasDecision | null> => {
        const rows = await versionsOf(c, modelId, params.name, to);
        if (rows.length > 1) assertCanariesFit(params.name, rows, to[0].version);
        const guard = body.require ? await checkGuard(c, modelId, params.name, current, to, body.require.evaluation) : null;
        if (sameTarget(current, to)) return null; // PUT is idempotent: nothing changes, nothing is recorded
        return { action: to.length > 1 ? 'split' : 'set', to, versionId: rows.find((r) => r.version === to[0].version)!.id, guard };
      });
      if (!done) throw new HttpError('model_not_found', `There is no model "${params.name}". GET /v1/models lists your models.`);
      if (done.change) deps.lookups.forgetModels(auth.tenantId); // a request here next sees the new target; elsewhere on NOTIFY
      res.json(aliasView(params.name, params.alias, done.target, done.updatedAt));
    },
  );

  defineRoute(
    router,
    {
      method: 'get', path: '/models/:name/aliases/:alias/history', scope: 'models:read', tags: ['models'], operationId: 'listAliasHistory',
      summary: "An alias's changes, newest first: who (the API key), when, from which target to which, and the action (set, split, rollback)",
      params: z.object({ name: Name, alias: Alias }), query: z.object(PageQuery),
      responses: { 200: { description: 'a page of changes; next_cursor is null on the last page', schema: AliasChangeList }, 404: { description: 'model_not_found: no such model or alias' } },
    },
    async (_req, res, { params, query, auth }) => {
      const before = query.cursor ? decodeCursor(query.cursor, ChangeCursor).c : null;
      const rows = await listAliasChanges(pool, auth.tenantId, params.name, params.alias, { limit: query.limit + 1, before });
      // No change recorded: an alias set before history was kept has none; no alias is a 404.
      if (!rows.length && before === null && !(await listAliasTargets(pool, auth.tenantId, params.name)).some((t) => t.alias === params.alias)) {
        throw new HttpError('model_not_found', `There is no alias "${params.alias}" of model "${params.name}". GET /v1/models/${params.name} lists its aliases.`);
      }
      res.json(page(rows, query.limit, (r) => changeView(params.name, r), (r) => ({ c: r.id })));
    },
  );

  defineRoute(
    router,
    {
      method: 'post', path: '/models/:name/aliases/:alias/rollback', scope: 'models:write', tags: ['models'], operationId: 'rollbackModelAlias',
      summary: 'Return an alias to its target before its latest change, in one step (recorded as a rollback; a second rollback undoes the first). No promotion guard applies.',
      params: z.object({ name: Name, alias: Alias }),
      responses: {
        200: { description: 'the alias as it now is', schema: AliasView },
        404: { description: 'model_not_found: no such model or alias' },
        409: { description: 'nothing_to_roll_back: no change of the alias was recorded, or its latest change created it' },
      },
    },
    async (_req, res, { params, auth }) => {
      const done = await setModelAlias(pool, auth, params.name, params.alias, async (c, { modelId, current, latest }): Promise<AliasDecision> => {
        if (!current) throw new HttpError('model_not_found', `There is no alias "${params.alias}" of model "${params.name}". GET /v1/models/${params.name} lists its aliases.`);
        if (!latest) {
          throw new HttpError('nothing_to_roll_back', `No change of alias "${params.alias}" was recorded, so there is no earlier target to return to; set the one you want with PUT /v1/models/${params.name}/aliases/${params.alias}.`);
        }
        // The latest recorded change is undone, unless the alias was moved since without being
        // recorded (by a release that kept no history): then that move is the one undone.
        const previous = sameTarget(latest.to_target, current) ? latest.from_target : latest.to_target;
        if (!previous) {
          throw new HttpError('nothing_to_roll_back', `Alias "${params.alias}" was created by its latest change, so there is no earlier target to return to; set the one you want with PUT /v1/models/${params.name}/aliases/${params.alias}.`);
        }
        const to = canonicalTarget(previous);
        const rows = await versionsOf(c, modelId, params.name, to);
        return { action: 'rollback', to, versionId: rows.find((r) => r.version === to[0].version)!.id, guard: null };
      });
      if (!done) throw new HttpError('model_not_found', `There is no model "${params.name}". GET /v1/models lists your models.`);
      deps.lookups.forgetModels(auth.tenantId); // a request here next sees the restored target; elsewhere on NOTIFY
      res.json(aliasView(params.name, params.alias, done.target, done.updatedAt));
    },
  );
}

function parseJsonField(raw: string | undefined, name: string, required: boolean): unknown {
  if (raw === undefined) {
    if (required) throw new HttpError('validation_failed', `The form needs a field "${name}" holding JSON.`);
    return undefined;
  }
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(name === 'signature' ? 'invalid_signature' : 'validation_failed', `The "${name}" field is not valid JSON.`);
  }
}
