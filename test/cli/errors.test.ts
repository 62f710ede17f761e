import { AccessDeniedException, ResourceNotFoundException } from '@aws-sdk/client-bedrock';
import { CloudFormationServiceException } from '@aws-sdk/client-cloudformation';
import { ExecutionDoesNotExist } from '@aws-sdk/client-sfn';
import { ParameterNotFound } from '@aws-sdk/client-ssm';
import { UsageError } from '../../lib/cli/args';
import { explainAwsError, OperatorError, REGION_MISSING, runCommand, withAwsHints } from '../../lib/cli/errors';
import { ConfigError } from '../../lib/config';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
/** What the SDK throws itself (not a service exception): a plain Error with a name, as @smithy/property-provider does. */
const sdkError = (name: string, message: string) => Object.assign(new Error(message), { name });
const target = { envName: 'qa', region: 'us-west-2' };

describe('explainAwsError', () => {
  it.each<[string, unknown, RegExp]>([
    ['region missing', new Error('Region is missing'), /^No AWS Region given\.\nPass --region <region> .* AWS_REGION=/],
    [
      'no credentials',
      sdkError('CredentialsProviderError', 'Could not load credentials from any providers'),
      /^No AWS credentials found \(Could not load credentials from any providers\)\.\nRun aws configure .*AWS_PROFILE/,
    ],
    [
      'expired SSO token',
      sdkError('CredentialsProviderError', 'The SSO session associated with this profile has expired.'),
      /^Your AWS credentials have expired .*\nRefresh them \(aws sso login/,
    ],
    [
      'expired keys',
      sdkError('ExpiredTokenException', 'The security token included in the request is expired'),
      /^Your AWS credentials have expired \(ExpiredTokenException/,
    ],
    [
      'rejected keys',
      sdkError('UnrecognizedClientException', 'The security token included in the request is invalid.'),
      /^AWS rejected the credentials \(UnrecognizedClientException: .*\)\.\nCheck AWS_PROFILE or AWS_ACCESS_KEY_ID/,
    ],
    [
      'access denied',
      new AccessDeniedException({
        message: 'not authorized to perform: bedrock:ListCustomModelDeployments',
        ...meta(403),
      }),
      /^Access denied in us-west-2: not authorized to perform: bedrock:ListCustomModelDeployments\nUse credentials whose IAM policy allows/,
    ],
    [
      'parameter not found',
      new ParameterNotFound({ message: '', ...meta(400) }),
      /^Parameter \/intent-router\/qa\/active-model not found in us-west-2: environment "qa" has no Api stack there\.\nCheck --env and --region \(or AWS_REGION\), or deploy it: npx cdk deploy --all -c envName=qa -c region=us-west-2$/,
    ],
    [
      'stack not found',
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        message: 'Stack with id IntentRouter-qa-Api does not exist',
        ...meta(400),
      }),
      /^Stack IntentRouter-qa-Api is not deployed in us-west-2\.\nCheck --env and --region .*-c envName=qa/,
    ],
    [
      'resource not found',
      new ResourceNotFoundException({ message: 'Deployment not found', ...meta(404) }),
      /^ResourceNotFoundException in us-west-2: Deployment not found\nCheck --env and --region/,
    ],
    [
      'execution not found',
      new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', ...meta(400) }),
      /^ExecutionDoesNotExist in us-west-2/,
    ],
    [
      'network',
      Object.assign(new Error('getaddrinfo ENOTFOUND ssm.us-eats-1.amazonaws.com'), { code: 'ENOTFOUND' }),
      /^Cannot reach AWS in us-west-2 \(ENOTFOUND: .*\)\.\nCheck the Region name/,
    ],
  ])('explains %s in two lines', (_, error, message) => {
    const text = explainAwsError(error, target);
    expect(text).toMatch(message);
    expect(text?.split('\n')).toHaveLength(2);
  });

  it('leaves other errors alone', () => {
    expect(explainAwsError(new TypeError('x is undefined'))).toBeUndefined();
    expect(explainAwsError('a string')).toBeUndefined();
  });

  it('withAwsHints turns known errors into an OperatorError and lets the others through', async () => {
    const denied = new AccessDeniedException({ message: 'no', ...meta(403) });
    await expect(withAwsHints(target, () => Promise.reject(denied))).rejects.toThrow(OperatorError);
    const other = new TypeError('bug');
    await expect(withAwsHints(target, () => Promise.reject(other))).rejects.toBe(other);
  });
});

describe('runCommand', () => {
  const run = async (error: unknown, env: Record<string, string> = {}) => {
    const err: string[] = [];
    const code = await runCommand('npm run x', () => Promise.reject(error), {
      out: () => undefined,
      err: (t) => err.push(t),
      env,
    });
    return { code, err: err.join('\n') };
  };

  it('prints a usage error with the way to the help, exit 2', async () => {
    expect(await run(new UsageError('--env needs a value'))).toEqual({
      code: 2,
      err: '--env needs a value\nRun npm run x -- --help for the usage.',
    });
  });

  it('prints a config error as is, exit 2; an operator error as is, exit 1', async () => {
    expect(await run(new ConfigError(['envName: bad']))).toEqual({
      code: 2,
      err: 'Invalid configuration (CDK context):\n  - envName: bad',
    });
    expect(await run(new OperatorError('Cannot roll back: nothing to roll back to.'))).toEqual({
      code: 1,
      err: 'Cannot roll back: nothing to roll back to.',
    });
  });

  it('explains an AWS error that escaped, exit 1', async () => {
    expect(await run(new Error('Region is missing'))).toEqual({ code: 1, err: REGION_MISSING });
  });

  it('prints an unexpected error as one line plus the DEBUG hint, and the stack only with DEBUG=1', async () => {
    const bug = new TypeError('Cannot read properties of undefined (reading "x")\n    at somewhere');
    expect(await run(bug)).toEqual({
      code: 1,
      err: 'TypeError: Cannot read properties of undefined (reading "x")\nUnexpected error: set DEBUG=1 to see the stack trace.',
    });
    const debug = await run(bug, { DEBUG: '1' });
    expect(debug.code).toBe(1);
    expect(debug.err).toMatch(/^TypeError: .*\n {4}at /);
  });

  it('returns the body’s exit code', async () => {
    expect(await runCommand('npm run x', async () => 3)).toBe(3);
  });
});
