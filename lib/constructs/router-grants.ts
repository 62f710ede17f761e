import { ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { isCustomModelDeploymentArn, parseModelId } from '../../lambda/core/model-ids';
import type { AppConfig } from '../config';
import { projectTags, shadowQueueName } from '../naming';

/**
 * What the router function may do, and the names it reaches resources of the pipeline stack by (the stacks share no
 * exports).
 */

/**
 * The router's permissions. Bedrock: custom-model deployments of this account and region plus the fallback model; KMS:
 * the project's keys, through Bedrock only (the distilled model's encryption) and, with the production loop, SQS; SQS:
 * the shadow queue; SSM: its one parameter.
 */
export function grantRouterAccess(
  router: lambda.IFunction,
  props: { readonly config: AppConfig; readonly activeModel: ssm.IStringParameter },
): void {
  const stack = Stack.of(router);
  const role = router.role;
  if (!role) throw new Error('the router function has no role');
  const deployments = stack.formatArn({
    service: 'bedrock',
    resource: 'custom-model-deployment',
    resourceName: '*',
  });
  router.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'InvokePromotedStudent',
      actions: ['bedrock:InvokeModel'],
      resources: [deployments],
    }),
  );
  const fallback = fallbackModelArns(stack, props.config.fallbackModelId);
  if (fallback.length > 0) {
    router.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'InvokeFallbackModel', actions: ['bedrock:InvokeModel'], resources: fallback }),
    );
  }
  // The pipeline creates the distilled model with customModelKmsKeyId = its dataset bucket's key, so invoking the
  // deployment makes Bedrock use that key on the caller's behalf (Amazon Nova user guide, "Permissions and key
  // policies for custom Amazon Nova models", PermissionsModelInvocation: kms:Decrypt and kms:GenerateDataKey via
  // bedrock.<region>). The key lives in the pipeline stack and the stacks share no exports, so it is named by the
  // project's tags (lib/naming.ts projectTags, on every resource of both stacks) and usable only through Bedrock.
  const projectKeys = stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
  router.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'DecryptDistilledModel',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [projectKeys],
      conditions: projectKeyViaService(stack, props.config, 'bedrock'),
    }),
  );
  if (props.config.shadowSampleRate > 0) {
    // The shadow hand-off: one queue of the pipeline stack, known by its conventional name (no exports). SQS
    // encrypts each message with the queue's key on the sender's behalf: GenerateDataKey (and Decrypt, for the
    // data key SQS reuses) through SQS only, on keys tagged with this project and environment.
    router.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SendShadowSamples',
        actions: ['sqs:SendMessage'],
        resources: [shadowQueueArn(stack, props.config.envName)],
      }),
    );
    router.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'EncryptShadowSamples',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [projectKeys],
        conditions: projectKeyViaService(stack, props.config, 'sqs'),
      }),
    );
  }
  router.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadActiveModel',
      actions: ['ssm:GetParameter'],
      resources: [props.activeModel.parameterArn],
    }),
  );
  Validations.of(role).acknowledge({
    // The finding names the ARN as cdk-nag prints it: unresolved pseudo parameters as <AWS::…>.
    id: `AwsSolutions-IAM5[Resource::arn:${shown(stack.partition, 'Partition')}:bedrock:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:custom-model-deployment/*]`,
    reason:
      'The promoted student is a custom-model deployment the pipeline creates at run time: its ARN is only known then ' +
      '(read from the active-model parameter). Limited to deployments of this account and Region.',
  });
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:${shown(stack.partition, 'Partition')}:kms:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:key/*]`,
    reason:
      "The distilled model is encrypted with the pipeline stack's dataset key, and the shadow queue with the " +
      "pipeline stack's queue key; the router stack cannot reference their ARNs (the stacks share no exports, by " +
      'design). Narrowed to keys tagged with this project and environment (aws:ResourceTag/Project, ' +
      'aws:ResourceTag/Environment), used only through Bedrock or SQS in this Region (kms:ViaService), in this account.',
  });
}

/**
 * The one kms:ViaService condition of the router's key grants: keys tagged with this project and environment, used
 * only by `service` in this Region on the router's behalf.
 */
export function projectKeyViaService(
  stack: Stack,
  config: Pick<AppConfig, 'envName'>,
  service: 'bedrock' | 'sqs',
): Record<string, Record<string, string>> {
  return {
    StringEquals: {
      'kms:ViaService': `${service}.${stack.region}.amazonaws.com`,
      ...Object.fromEntries(
        Object.entries(projectTags(config)).map(([tag, value]) => [`aws:ResourceTag/${tag}`, value]),
      ),
    },
  };
}

/** The shadow queue's ARN and URL, built from its conventional name (lib/naming.ts shadowQueueName). */
export const shadowQueueArn = (stack: Stack, envName: string) =>
  stack.formatArn({ service: 'sqs', resource: shadowQueueName(envName), arnFormat: ArnFormat.NO_RESOURCE_NAME });
export const shadowQueueUrl = (stack: Stack, envName: string) =>
  `https://sqs.${stack.region}.${stack.urlSuffix}/${stack.account}/${shadowQueueName(envName)}`;

const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);

/** The ARNs that let the router invoke the fallback model: a profile and its foundation models in each destination. */
export function fallbackModelArns(stack: Stack, modelId: string | undefined): string[] {
  if (!modelId || isCustomModelDeploymentArn(modelId)) return []; // deployments are covered by the deployment grant
  const parsed = parseModelId(modelId);
  if (!parsed.profile) {
    return [
      stack.formatArn({ service: 'bedrock', account: '', resource: 'foundation-model', resourceName: parsed.id }),
    ];
  }
  return [
    stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: parsed.id }),
    ...parsed.profile.regions.map((region) =>
      stack.formatArn({
        service: 'bedrock',
        region,
        account: '',
        resource: 'foundation-model',
        resourceName: parsed.foundationModelId,
      }),
    ),
  ];
}
