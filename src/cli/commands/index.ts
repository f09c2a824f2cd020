import type { CommandSpec } from '../command.js';
import { aliasSet } from './alias/set.js';
import { jobsCancel } from './jobs/cancel.js';
import { jobsLs } from './jobs/ls.js';
import { jobsResults } from './jobs/results.js';
import { jobsShow } from './jobs/show.js';
import { jobsWait } from './jobs/wait.js';
import { keysCreate } from './keys/create.js';
import { keysLs } from './keys/ls.js';
import { keysRevoke } from './keys/revoke.js';
import { login } from './login.js';
import { modelsLs } from './models/ls.js';
import { modelsPush } from './models/push.js';
import { modelsShow } from './models/show.js';
import { predict } from './predict.js';
import { submit } from './submit.js';

// Every command of `sluice`, in the order --help lists them.

export const GROUPS = [
  { name: 'models', summary: 'Register model versions, list and show models', examples: ['sluice models push model.onnx --name penguins --signature sig.json', 'sluice models ls'] },
  { name: 'alias', summary: 'Point aliases (production, canary, …) at model versions', examples: ['sluice alias set penguins production 2'] },
  { name: 'jobs', summary: 'List, show, watch, cancel jobs and download their results', examples: ['sluice jobs ls --status running', 'sluice jobs wait "$JOB" --out results.csv'] },
  { name: 'keys', summary: "Manage your tenant's API keys (admin scope)", examples: ['sluice keys create --scopes jobs:write,jobs:read', 'sluice keys ls'] },
];

export const COMMANDS: CommandSpec[] = [
  login,
  submit,
  predict,
  modelsPush,
  modelsLs,
  modelsShow,
  aliasSet,
  jobsLs,
  jobsShow,
  jobsWait,
  jobsCancel,
  jobsResults,
  keysCreate,
  keysLs,
  keysRevoke,
];
