import { z } from 'zod';

// The shapes of the figures the API shows (an evaluation, an agreement summary), for the OpenAPI
// document and the types of src/evaluation. Kept apart from the code that computes them, which
// runs in the inference threads: their bundle (src/inference/pool.ts) then needs no zod.

const Count = z.number().int().min(0);
const Figure = z.number().nullable();

const countsShape = {
  rows_evaluated: Count.describe('Rows with a known label and a prediction: the rows the figures cover'),
  missing_label: Count.describe('Scored rows whose label cell was empty or a missing-value text; left out'),
  unknown_label: Count.describe('Scored rows whose label is not a class (classification) or not a number (regression); left out'),
  unknown_label_examples: z.array(z.string()).describe('A few of those labels (the first distinct ones in text order, each cut to 100 characters)'),
  unscored: Count.describe('Rows that failed to score; left out'),
};

const PerClass = z.object({
  label: z.string(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: Count.describe('Rows of this class in the labels'),
});

export const ClassificationEvaluationSchema = z
  .object({
    task: z.literal('classification'),
    ...countsShape,
    accuracy: Figure,
    macro_f1: Figure.describe('Unweighted mean of the per-class F1'),
    weighted_f1: Figure.describe('Mean of the per-class F1 weighted by support'),
    log_loss: Figure.describe('Mean −ln p(true class), p clipped to [1e-15, 1]; null unless every evaluated row had probabilities'),
    per_class: z.array(PerClass).describe('Every class seen in the labels or the predictions, in class order; a ratio with nothing to divide is 0'),
    confusion_matrix: z
      .object({ labels: z.array(z.string()), counts: z.array(z.array(Count)) })
      .describe('counts[i][j]: rows whose label is labels[i] and whose prediction is labels[j]'),
  })
  .meta({ id: 'ClassificationEvaluation', description: "A classifier's figures on a labelled upload" });

export const RegressionEvaluationSchema = z
  .object({
    task: z.literal('regression'),
    ...countsShape,
    rmse: Figure,
    mae: Figure,
    r2: Figure.describe('1 − SSE / SS_tot; null when the labels do not vary'),
    mean_residual: Figure.describe('Mean of label − prediction'),
    residual_histogram: z
      .array(z.object({ from: z.number().nullable(), to: z.number().nullable(), count: Count.min(1) }))
      .describe(
        'Residuals (label − prediction) in fixed bins, non-empty ones in ascending order: one bin for exactly 0, then bins of |residual| with edges 2^(k/2) ([from, to) for positive, (from, to] for negative residuals); null is an open end',
      ),
  })
  .meta({ id: 'RegressionEvaluation', description: "A regressor's figures on a labelled upload" });

export const EvaluationSchema = z
  .discriminatedUnion('task', [ClassificationEvaluationSchema, RegressionEvaluationSchema])
  .meta({ id: 'Evaluation', description: "A model's figures against the upload's label column, computed while scoring" });

export type ClassificationEvaluation = z.infer<typeof ClassificationEvaluationSchema>;
export type RegressionEvaluation = z.infer<typeof RegressionEvaluationSchema>;
export type Evaluation = z.infer<typeof EvaluationSchema>;

// Compare jobs' agreement.
const agreementShape = {
  rows: Count.describe('Rows both models scored'),
  unscored: Count.describe('Rows either model failed to score; left out'),
  agreement_rate: z.number().min(0).max(1).nullable().describe('Share of those rows where the two agree; null when there were none'),
};

export const ClassificationAgreementSchema = z
  .object({
    task: z.literal('classification'),
    ...agreementShape,
    disagreement_matrix: z
      .object({ labels_a: z.array(z.string()), labels_b: z.array(z.string()), counts: z.array(z.array(Count)) })
      .describe("counts[i][j]: rows model a put in labels_a[i] and model b in labels_b[j]; the classes either model predicted (both axes alike when the models share their labels)"),
  })
  .meta({ id: 'ClassificationAgreement', description: 'How often two classifiers predict the same class' });

export const RegressionAgreementSchema = z
  .object({
    task: z.literal('regression'),
    ...agreementShape,
    mean_absolute_difference: z.number().nullable(),
    max_absolute_difference: z.number().nullable(),
  })
  .meta({ id: 'RegressionAgreement', description: 'How close two regressors are; they agree on a row when |a − b| ≤ 1e-6·max(1, |a|)' });

export const AgreementSummarySchema = z
  .discriminatedUnion('task', [ClassificationAgreementSchema, RegressionAgreementSchema])
  .meta({ id: 'AgreementSummary', description: 'Two model versions scored on the same rows: how often they agree' });

export type AgreementSummary = z.infer<typeof AgreementSummarySchema>;
