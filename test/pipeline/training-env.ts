import { DEFAULT_PRICES } from '../../lambda/core/prices';

/** What the training construct sets on its functions (values as in a dev deployment). */
export const TRAINING_ENV = {
  ENV_NAME: 'dev',
  CUSTOMIZATION_ROLE_ARN: 'arn:aws:iam::123456789012:role/customization',
  FINE_TUNING_ROLE_ARN: 'arn:aws:iam::123456789012:role/fine-tuning',
  EVALUATION_ROLE_ARN: 'arn:aws:iam::123456789012:role/evaluation',
  STUDENT_MODEL_ID: 'amazon.nova-micro-v1:0:128k',
  TEACHER_MODEL_ID: 'us.amazon.nova-premier-v1:0',
  BASELINE_MODEL_ID: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
  JUDGE_MODEL_ID: 'us.meta.llama3-3-70b-instruct-v1:0',
  MAX_RESPONSE_LENGTH_FOR_INFERENCE: '1000',
  DATASET_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/1111-2222',
  DATASET_BUCKET: 'dataset-bucket',
  EVALUATION_CONCURRENCY: '4',
  PRICE_TABLE: JSON.stringify(DEFAULT_PRICES),
  MIN_JUDGE_SCORE: '4',
  MAX_JUDGE_GAP_TO_BASELINE: '0.25',
  MIN_DOMINANT_AGREEMENT: '0.85',
  MIN_VALID_REPLY_RATE: '0.98',
  MAX_JUDGE_DROP_TO_INCUMBENT: '0.1',
  MAX_AGREEMENT_DROP_TO_INCUMBENT: '0.03',
  MAX_WEIGHT_ERROR_RISE_TO_INCUMBENT: '0.02',
  TRAINING_PROMPT_VERSIONS: JSON.stringify(['student-v2']),
  GATE_CONFIDENCE: '0.95',
  INCONCLUSIVE_GATE: 'keepIncumbent',
  ACTIVE_MODEL_PARAMETER_NAME: '/intent-router/dev/active-model',
  TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:topic',
  CANARY_SHARE: '0.1',
  CANARY_MINUTES: '60',
  CANARY_MAX_MINUTES: '180',
  CANARY_CHECK_MINUTES: '5',
  CANARY_MIN_QUERIES: '300',
  CANARY_SHADOW_MIN_SAMPLES: '30',
  CANARY_INCONCLUSIVE: 'keepIncumbent',
  CANARY_METRICS: JSON.stringify({
    namespace: 'DistilledIntentRouter',
    queries: { metricName: 'Queries', dimensions: { service: 'intent-router', Variant: 'candidate' } },
    shadowSamples: {
      metricName: 'ShadowDominantAgreement',
      dimensions: { service: 'intent-router-shadow', Variant: 'candidate' },
    },
  }),
  EXECUTION_TIMEOUT_MINUTES: String(24 * 60 + 65),
  CANARY_ALARM_NAMES:
    'IntentRouter-dev-Canary-InvalidReplies,IntentRouter-dev-Canary-Fallbacks,IntentRouter-dev-Canary-LatencyP99,' +
    'IntentRouter-dev-Canary-ShadowAgreement',
  API_STACK_NAME: 'IntentRouter-dev-Api',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

export const BUCKET = TRAINING_ENV.DATASET_BUCKET;
export const MODEL_ARN = 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abcdef123456';
export const DEPLOYMENT_ARN = 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456';
export const JOB_ARN =
  'arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/xyz789';

/** Weights in the order visual, audio, transcription, metadata. */
export const label = (v: number, a: number, t: number, m: number) => ({
  visual: v,
  audio: a,
  transcription: t,
  metadata: m,
});

/** Three held-out queries with the teacher's labels, one per dominant modality but transcription. */
export const THREE_QUERIES = [
  ['red car driving', label(0.9, 0, 0, 0.1)],
  ['dog barking loudly', label(0.3, 0.6, 0, 0.1)],
  ['Taylor Swift', label(0.3, 0, 0.1, 0.6)],
] as const;
