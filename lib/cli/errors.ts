import { ConfigError } from '../config';
import { activeModelParameterName } from '../naming';
import { UsageError } from './args';

/**
 * How every operator command fails: one or two lines that say what is missing and how to give it, and an exit code
 * (2 for a bad command line or configuration, 1 for everything else). AWS SDK errors are recognised by name — the
 * SDK's own (`CredentialsProviderError`, "Region is missing") and the services' error codes — and explained once,
 * here, for every command. Anything unexpected is still one line, with DEBUG=1 to see the stack.
 */

/** A failure the operator can act on; its message already says how. */
export class OperatorError extends Error {
  override readonly name: string = 'OperatorError';
}

/** What a command was working on, for the hints: the environment and the Region it was talking to. */
export interface AwsTarget {
  readonly envName?: string;
  readonly region?: string;
}

const deployHint = (target: AwsTarget) =>
  `npx cdk deploy --all -c envName=${target.envName ?? '<envName>'}` +
  (target.region ? ` -c region=${target.region}` : '');
const where = (target: AwsTarget) => (target.region ? ` in ${target.region}` : '');
const firstLine = (text: string, max = 300) => {
  const line = text.split('\n')[0]?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line;
};

export const REGION_MISSING =
  'No AWS Region given.\n' +
  'Pass --region <region> (where the stacks are deployed, e.g. us-east-1) or set AWS_REGION=us-east-1 (or a region in your AWS profile).';

const CREDENTIAL_NAMES = new Set(['CredentialsProviderError']);
const EXPIRED_NAMES = new Set(['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired', 'RequestExpired']);
const REJECTED_NAMES = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
]);
const DENIED_NAMES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AuthorizationError',
  'AuthorizationErrorException',
  'UnauthorizedOperation',
]);
const NOT_FOUND_NAMES = new Set([
  'ResourceNotFoundException',
  'StateMachineDoesNotExist',
  'ExecutionDoesNotExist',
  'NoSuchBucket',
]);
const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH']);

const errorCode = (error: Error): string | undefined => {
  const code: unknown = Reflect.get(error, 'code');
  return typeof code === 'string' ? code : undefined;
};

/**
 * One or two lines for an AWS SDK error the operator can fix (region, credentials, permissions, a stack or parameter
 * that is not where the command looked); undefined for any other error.
 */
export function explainAwsError(error: unknown, target: AwsTarget = {}): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { name, message } = error;
  if (message === 'Region is missing') return REGION_MISSING;
  if (EXPIRED_NAMES.has(name) || (/Token|Credentials/.test(name) && /expired/i.test(message))) {
    return (
      `Your AWS credentials have expired (${name}: ${firstLine(message, 160)}).\n` +
      'Refresh them (aws sso login, with AWS_PROFILE set; or new temporary keys), then retry.'
    );
  }
  if (CREDENTIAL_NAMES.has(name)) {
    return (
      `No AWS credentials found (${firstLine(message, 160)}).\n` +
      'Run aws configure (or aws sso login), or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.'
    );
  }
  if (REJECTED_NAMES.has(name)) {
    return (
      `AWS rejected the credentials (${name}: ${firstLine(message, 160)}).\n` +
      'Check AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; aws sts get-caller-identity shows who you are.'
    );
  }
  if (DENIED_NAMES.has(name)) {
    return (
      `Access denied${where(target)}: ${firstLine(message)}\n` +
      'Use credentials whose IAM policy allows this action (e.g. AWS_PROFILE=<admin profile>); aws sts get-caller-identity shows who you are.'
    );
  }
  if (name === 'ParameterNotFound') {
    const parameter = target.envName ? activeModelParameterName(target.envName) : 'the active-model parameter';
    return (
      `Parameter ${parameter} not found${where(target)}: environment "${target.envName ?? '?'}" has no Api stack there.\n` +
      `Check --env and --region (or AWS_REGION), or deploy it: ${deployHint(target)}`
    );
  }
  const stack = /Stack with id (\S+) does not exist/.exec(message);
  if (stack) {
    return (
      `Stack ${stack[1]} is not deployed${where(target)}.\n` +
      `Check --env and --region (or AWS_REGION), or deploy it: ${deployHint(target)}`
    );
  }
  if (NOT_FOUND_NAMES.has(name)) {
    return (
      `${name}${where(target)}: ${firstLine(message)}\n` +
      `Check --env and --region (or AWS_REGION): the environment's stacks must be deployed there (${deployHint(target)}).`
    );
  }
  const code = errorCode(error);
  if ((code && NETWORK_CODES.has(code)) || name === 'TimeoutError') {
    return (
      `Cannot reach AWS${where(target)} (${code ?? name}: ${firstLine(message, 160)}).\n` +
      'Check the Region name (--region / AWS_REGION), your network and any proxy (HTTPS_PROXY).'
    );
  }
  return undefined;
}

/** Runs AWS work for `target`, turning the errors explainAwsError knows into an OperatorError that names the fix. */
export async function withAwsHints<T>(target: AwsTarget, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const explained = explainAwsError(error, target);
    if (explained === undefined) throw error;
    throw new OperatorError(explained, { cause: error });
  }
}

/**
 * The Region a client will call, from its own resolution chain (`--region`, AWS_REGION, the profile), before any
 * request is sent; an OperatorError saying how to give one when there is none.
 */
export async function resolvedRegion(client: { config: { region: () => Promise<string> } }): Promise<string> {
  try {
    return await client.config.region();
  } catch (error) {
    if (error instanceof Error && error.message === 'Region is missing') throw new OperatorError(REGION_MISSING);
    throw error;
  }
}

export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Environment variables (DEBUG). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

const processIo: CommandIo = {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
  env: process.env,
};

/**
 * Runs one operator command: `body` returns its exit code (0 success); a thrown error becomes its message (with the
 * usage hint for a bad command line) on stderr and a non-zero exit code. Returns the exit code.
 */
export async function runCommand(
  command: string,
  body: () => Promise<number>,
  io: CommandIo = processIo,
): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\nRun ${command} -- --help for the usage.`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 2;
    }
    if (error instanceof OperatorError) {
      io.err(error.message);
      return 1;
    }
    const explained = explainAwsError(error);
    if (explained !== undefined) {
      io.err(explained);
      return 1;
    }
    const debug = io.env['DEBUG'] !== undefined && io.env['DEBUG'] !== '' && io.env['DEBUG'] !== '0';
    if (debug && error instanceof Error && error.stack) io.err(error.stack);
    else {
      const text = error instanceof Error ? `${error.name}: ${firstLine(error.message)}` : String(error);
      io.err(`${text}\nUnexpected error: set DEBUG=1 to see the stack trace.`);
    }
    return 1;
  }
}
