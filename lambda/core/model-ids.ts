import { CUSTOM_MODEL_DEPLOYMENT_ARN } from './active-model';

/**
 * Bedrock model identifiers: plain foundation-model ids (`amazon.nova-micro-v1:0`), context variants
 * (`amazon.nova-micro-v1:0:128k`), cross-Region inference profiles (`us.amazon.nova-premier-v1:0`) and ARNs of each.
 * Pure functions, used both at synth (IAM resources) and at run time (preflight, prices).
 */

/** Destination Regions of the cross-Region (geographic) inference profiles, by id prefix. */
export const PROFILE_REGIONS: Readonly<Record<string, readonly string[]>> = {
  us: ['us-east-1', 'us-east-2', 'us-west-2'],
  'us-gov': ['us-gov-east-1', 'us-gov-west-1'],
  eu: ['eu-central-1', 'eu-north-1', 'eu-west-1', 'eu-west-3'],
  apac: ['ap-northeast-1', 'ap-northeast-2', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2'],
  jp: ['ap-northeast-1', 'ap-northeast-3'],
  au: ['ap-southeast-2', 'ap-southeast-4'],
  ca: ['ca-central-1'],
};
// UNVERIFIED beyond `us.`: the destination lists of the other geographies change over time; `us.` is from the reference.

export interface ParsedModelId {
  /** The id as given (ARNs reduced to their resource id). */
  readonly id: string;
  /** The foundation model behind it, without profile prefix or context variant (`amazon.nova-micro-v1:0`). */
  readonly foundationModelId: string;
  /** The id with its context variant (`amazon.nova-micro-v1:0:128k`), without profile prefix. */
  readonly modelIdWithVariant: string;
  /** Present for a cross-Region inference profile: its prefix and destination Regions. */
  readonly profile?: { readonly prefix: string; readonly regions: readonly string[] };
}

const ARN = /^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d{0,12}:(foundation-model|inference-profile)\/(.+)$/;

export function parseModelId(modelId: string): ParsedModelId {
  const arn = ARN.exec(modelId);
  const id = arn?.[2] ?? modelId;
  const dot = id.indexOf('.');
  const prefix = dot > 0 ? id.slice(0, dot) : '';
  const regions = PROFILE_REGIONS[prefix];
  const withoutProfile = regions ? id.slice(dot + 1) : id;
  // `provider.model-vN:M[:variant]` — the variant (e.g. `128k`) follows the second colon.
  const parts = withoutProfile.split(':');
  const foundationModelId = parts.length > 2 ? parts.slice(0, 2).join(':') : withoutProfile;
  return {
    id,
    foundationModelId,
    modelIdWithVariant: withoutProfile,
    ...(regions ? { profile: { prefix, regions } } : {}),
  };
}

/**
 * The default teacher: Amazon Nova Pro, ACTIVE, and a documented distillation teacher for Nova Micro (Nova v1 roles:
 * Pro is teacher and student, Premier teacher only, Lite and Micro students only;
 * https://docs.aws.amazon.com/nova/latest/userguide/customization.html and
 * https://docs.aws.amazon.com/bedrock/latest/userguide/prequisites-model-distillation.html). The case study used Nova
 * Premier, Legacy since its end of life on 14 Sept 2026: accounts that still have it set
 * `-c teacherModelId=us.amazon.nova-premier-v1:0`.
 */
export const DEFAULT_TEACHER_MODEL_ID = 'us.amazon.nova-pro-v1:0';

/**
 * Regions with on-demand deployment of custom models (docs/aws-facts.md §4): the student can only be served there, so
 * the config refuses any other region at synth and Preflight at run time.
 */
export const DEPLOYMENT_REGIONS = ['us-east-1', 'us-west-2'] as const;

/** True for an ARN of an on-demand custom-model deployment (what the router invokes once a student is promoted). */
export const isCustomModelDeploymentArn = (id: string): boolean => CUSTOM_MODEL_DEPLOYMENT_ARN.test(id);
