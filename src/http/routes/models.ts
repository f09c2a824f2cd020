import type { Router } from 'express';
import { z } from 'zod';
import { listModels } from '../../db/listModels.js';
import { listModelVersions, type VersionRow } from '../../db/listModelVersions.js';
import { setModelAlias } from '../../db/setModelAlias.js';
import { HttpError } from '../../errors.js';
import { registerVersion } from '../../models/register.js';
import { inputFeeds } from '../../models/inputs.js';
import type { RunPlan } from '../../models/types.js';
import { SignatureSchema, type Signature } from '../../models/signature.js';
import { decodeCursor, page, PageQuery } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { multipartParts } from '../multipart.js';
import { defineRoute } from '../route.js';
import { Alias as AliasView, AliasRequest, Model, ModelList, ModelVersion, ModelVersionFormRequest, ModelVersionList } from '../schemas.js';

const Name = z.string().regex(/^[A-Za-z0-9][\w.-]{0,127}$/, 'letters, digits, "_", "-" and ".", up to 128, starting with a letter or digit');
const Alias = z.string().regex(/^[A-Za-z][\w.-]{0,63}$/, 'a letter, then letters, digits, "_", "-" or "."');
const VersionNo = z.coerce.number().int().min(1).max(1e9);


// What the list cursors hold: the last model's name, the last version's number.
const ModelCursor = z.object({ n: Name }).strict();
const VersionCursor = z.object({ v: z.number().int().min(1).max(1e9) }).strict();

function versionView(r: VersionRow): z.input<typeof ModelVersion> {
  return {
    name: r.name, version: r.version, created_at: r.created_at.toISOString(), sha256: r.sha256, size_bytes: r.size_bytes,
    signature: r.signature as z.input<typeof SignatureSchema>, inputs: r.io.inputs, outputs: r.io.outputs, rewrites: r.io.rewrites,
    metrics: r.metrics, description: r.description, aliases: r.aliases ?? [],
    // How each graph input is fed: from which columns, with which type and missing policy.
    feeds: inputFeeds(r.io.plan as RunPlan, r.signature as Signature),
  };
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
      res.json(page(rows, query.limit, versionView, (r) => ({ v: r.version })));
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
      res.status(201).location(`/v1/models/${params.name}/versions/${version}`).json(versionView(row));
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
    { method: 'get', path: '/models/:name', scope: 'models:read', tags: ['models'], operationId: 'getModel', summary: 'A model: its versions and aliases', params: z.object({ name: Name }), responses: { 200: { description: 'the model', schema: Model }, 404: { description: 'model_not_found: no such model' } } },
    async (_req, res, { params, auth }) => {
      const rows = await listModelVersions(pool, auth.tenantId, params.name);
      if (!rows.length) throw new HttpError('model_not_found', `There is no model "${params.name}". GET /v1/models lists your models.`);
      const aliases = Object.fromEntries(rows.flatMap((r) => (r.aliases ?? []).map((a) => [a, r.version])));
      res.json({ name: params.name, latest_version: rows.at(-1)!.version, aliases, versions: rows.map(versionView) });
    },
  );

  defineRoute(
    router,
    { method: 'get', path: '/models/:name/versions/:version', scope: 'models:read', tags: ['models'], operationId: 'getModelVersion', summary: 'One version: signature, inputs/outputs, metrics', params: z.object({ name: Name, version: VersionNo }), responses: { 200: { description: 'the version', schema: ModelVersion }, 404: { description: 'model_not_found: no such version' } } },
    async (_req, res, { params, auth }) => {
      const [row] = await listModelVersions(pool, auth.tenantId, params.name, params.version);
      if (!row) throw new HttpError('model_not_found', `There is no version ${params.version} of model "${params.name}".`);
      res.json(versionView(row));
    },
  );

  defineRoute(
    router,
    {
      method: 'put', path: '/models/:name/aliases/:alias', scope: 'models:write', tags: ['models'], operationId: 'setModelAlias',
      summary: 'Point an alias (e.g. production) at a version. Running jobs keep the version they pinned.',
      params: z.object({ name: Name, alias: Alias }), body: AliasRequest,
      responses: { 200: { description: 'alias set', schema: AliasView }, 404: { description: 'model_not_found: no such model or version' } },
    },
    async (_req, res, { params, body, auth }) => {
      if (!(await setModelAlias(pool, auth.tenantId, params.name, params.alias, body.version))) throw new HttpError('model_not_found', `There is no version ${body.version} of model "${params.name}".`);
      deps.lookups.forgetModels(auth.tenantId); // a job submitted here next pins the new version; elsewhere on NOTIFY
      res.json({ name: params.name, alias: params.alias, version: body.version } satisfies z.output<typeof AliasView>);
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
